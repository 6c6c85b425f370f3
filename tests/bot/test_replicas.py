"""Several replicas: two real `supportbot serve` processes on one PostgreSQL and one Redis.

Each test starts two processes (replica A and replica B) as a user would, on the session's
PostgreSQL database and the local Redis under a key prefix of its own (deleted afterwards).
Slack and Telegram are fakes on loopback speaking their wire formats; requests to the replicas
are signed as Slack signs them, or carry Telegram's webhook secret.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis
import redis.asyncio as aioredis
import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.channels.telegram import wire
from storage.models import InboundMessage, OutboxMessage
from tests.bot.slack.conftest import MANAGER, MANAGERS, TIER1, event_body, signed, slack_env, thread_reply
from tests.bot.slack.fake_slack import TEAM, FakeSlack
from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import PUBLIC_URL
from tests.bot.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.helpers import arrivals, eventually, need

pytestmark = pytest.mark.postgres

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
CLI = [sys.executable, "-m", "bot.cli"]
# Variables of docs/reference.md section 2 (and the test suite's own) that must not leak into a run.
_OURS = ("DATABASE_URL", "REDIS_URL", "SUPPORTBOT_", "NLU_", "RASA_", "SLACK_", "TELEGRAM_")
START_TIMEOUT = 120.0  # a replica loads the NLU model and connects; the machine may be busy
CROSS_REPLICA = 2.0  # seconds within which a message pushed through B must reach the socket on A
QUIET = 1.0  # nothing more within this long: delivered exactly once


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    need(_redis_available(), f"Redis at {REDIS_URL}")
    prefix = f"supportbot-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def environment(pg_url: str, model_path: Path, redis_prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        {
            "DATABASE_URL": pg_url,
            "REDIS_URL": REDIS_URL,
            "SUPPORTBOT_REDIS_PREFIX": redis_prefix,
            "SUPPORTBOT_NLU_MODEL": str(model_path),
            "NLU_BACKEND": "embedded",
            "SUPPORTBOT_CORS_ORIGINS": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# -- the replicas ----------------------------------------------------------------------------------


@dataclass
class Replica:
    name: str
    url: str
    process: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _healthy(replica: Replica, http: httpx.AsyncClient) -> bool:
    if replica.process.returncode is not None:
        raise AssertionError(f"replica {replica.name} exited:\n{replica.output()}")
    try:
        return (await http.get(f"{replica.url}/healthz", timeout=5)).status_code == 200
    except httpx.TransportError:
        return False


@asynccontextmanager
async def replicas(env: dict[str, str], tmp_path: Path) -> AsyncIterator[tuple[Replica, Replica]]:
    """Replicas A and B of `supportbot serve`, started together, each on its own port."""
    started: list[Replica] = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = tmp_path / f"replica-{name}.log"
            with log.open("w", encoding="utf-8") as out:
                process = await asyncio.create_subprocess_exec(
                    *CLI,
                    "serve",
                    "--port",
                    str(port),
                    env=env,
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Replica(name, f"http://127.0.0.1:{port}", process, log))
        async with httpx.AsyncClient() as http:
            for replica in started:
                await eventually(
                    lambda r=replica: _healthy(r, http), within=START_TIMEOUT, what=f"replica {replica.name}"
                )
        yield started[0], started[1]
    finally:
        for replica in started:
            if replica.process.returncode is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            try:
                await asyncio.wait_for(replica.process.wait(), 30)
            except TimeoutError:
                replica.process.kill()
                await replica.process.wait()
    for replica in started:
        assert "Traceback" not in replica.output(), replica.output()


# -- a web chat customer on the socket ------------------------------------------------------------------


@dataclass
class Customer:
    """A Rasa web widget: `session_request`, `user_uttered`, collects `bot_uttered`."""

    url: str
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    confirms: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    session_id: str = ""

    async def connect(self, session_id: str) -> None:
        self.sio.on("bot_uttered", self.inbox.put_nowait)
        self.sio.on("session_confirm", self.confirms.put_nowait)
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=10)
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirms.get(), 10)

    async def say(self, message: str) -> None:
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id})

    async def next(self, wait: float) -> dict[str, Any]:
        return await asyncio.wait_for(self.inbox.get(), wait)


async def _post_signed(http: httpx.AsyncClient, url: str, body: str, content_type: str) -> httpx.Response:
    return await http.post(
        f"{url}/slack/events", content=body, headers={"Content-Type": content_type, **signed(body)}
    )


def _support_command(fake: FakeSlack, text: str) -> str:
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": TEAM,
            "team_domain": "ionetech",
            "channel_id": fake.channel_id(MANAGERS),
            "channel_name": MANAGERS.removeprefix("#"),
            "user_id": MANAGER,
            "user_name": MANAGER.lower(),
            "command": "/support",
            "text": text,
            "api_app_id": "A0SUPPORT",
            "is_enterprise_install": "false",
            "response_url": fake.response_url("command"),
            "trigger_id": "1.2.3",
        }
    )


# -- web chat across replicas ----------------------------------------------------------------------


async def test_an_agent_reply_and_an_announcement_made_on_b_reach_the_open_socket_on_a(
    environment: dict[str, str], tmp_path: Path
) -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        env = {**environment, **slack_env(fake)}
        async with replicas(env, tmp_path) as (a, b), httpx.AsyncClient() as http:
            customer = Customer(a.url)
            await customer.connect("s-replicas-1")
            try:
                await customer.say("i need a real person, the ERP keeps logging me out every 5 min!!")
                await customer.say("/human_handoff")
                await customer.say("Dara Sok, dara.sok@example.com")  # how to reach them: the handoff asks
                opened = await eventually(
                    lambda: _ticket_in(customer), within=20, what="the ticket number in the bot's replies"
                )
                ticket_id = int(opened)
                [root] = await eventually(
                    lambda: fake.ticket_posts(TIER1, ticket_id), within=20, what="the ticket's post in Slack"
                )
                await arrivals(customer.inbox, 0.5)  # whatever else the bot said at the handoff

                # The agent answers in the ticket's thread; Slack's request reaches replica B.
                reply = thread_reply(
                    root.channel, root.ts, "We restarted the session server, please log in again"
                )
                body = json.dumps(event_body(reply))
                response = await _post_signed(http, b.url, body, "application/json")
                assert response.status_code == 200, response.text
                pushed = await customer.next(wait=CROSS_REPLICA)
                assert pushed["text"] == "Dara Sok: We restarted the session server, please log in again"
                assert await arrivals(customer.inbox, QUIET) == [], "the reply must arrive exactly once"

                # A manager schedules maintenance that is under way now, through replica B.
                now = datetime.now(UTC)
                start = (now - timedelta(minutes=1)).isoformat(timespec="seconds")
                end = (now + timedelta(hours=2)).isoformat(timespec="seconds")
                form = _support_command(fake, f'maintenance add {start} {end} "ERP database upgrade"')
                response = await _post_signed(http, b.url, form, "application/x-www-form-urlencoded")
                assert response.status_code == 200, response.text
                assert "Scheduled maintenance #" in response.json()["text"]
                notice = await customer.next(wait=CROSS_REPLICA)
                assert notice["text"].startswith("Scheduled maintenance is under way: ERP database upgrade")
                assert await arrivals(customer.inbox, QUIET) == [], (
                    "the announcement must arrive exactly once"
                )
            finally:
                await customer.sio.disconnect()
        # Each replica said at start that it shares socket.io through Redis.
        for replica in (a, b):
            assert '"webchat_redis"' in replica.output(), replica.output()
    finally:
        await fake.stop()


def _ticket_in(customer: Customer) -> str | None:
    """The ticket number the bot announced, from what has arrived so far (kept in the inbox)."""
    seen: list[dict[str, Any]] = []
    while not customer.inbox.empty():
        seen.append(customer.inbox.get_nowait())
    for message in seen:
        customer.inbox.put_nowait(message)
    for message in seen:
        found = re.search(r"ticket #(\d+)", str(message.get("text", "")))
        if found:
            return found.group(1)
    return None


# -- Telegram webhook across replicas ------------------------------------------------------------------

CHAT = 555_015
OTHER_CHAT = 555_016


async def test_telegram_updates_of_one_chat_shuffled_across_replicas_are_answered_in_order(
    environment: dict[str, str], pg_url: str, tmp_path: Path
) -> None:
    async with tg.FakeBotApi() as api:
        env = {
            **environment,
            "TELEGRAM_BOT_TOKEN": tg.TOKEN,
            "TELEGRAM_API_URL": api.url,
            "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_URL": PUBLIC_URL,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        }
        async with replicas(env, tmp_path) as (a, b):
            await api.wait_for("setWebhook", count=2, timeout=60)

            async def deliver(replica: Replica, update: dict[str, Any]) -> int:
                status, _ = await api.deliver_webhook(update, url=f"{replica.url}/telegram/webhook")
                return status

            # Both replicas have answered someone before (warm, as in production).
            assert await deliver(a, tg.text_update(CHAT, "/start")) == 200
            assert await deliver(b, tg.text_update(OTHER_CHAT, "/start")) == 200
            said = [
                "my printer is jammed again!!",
                "the invoice screen stays blank after I log in",
                "hello?? anyone there",
                "I restarted the pc twice already",
                "nevermind, when are you open on saturday",
                "thx",
            ]
            updates = [tg.text_update(CHAT, text) for text in said]  # consecutive update ids
            shuffled = random.Random(15).sample(updates, len(updates))
            assert shuffled != updates
            statuses = await asyncio.gather(
                *(deliver((a, b)[index % 2], update) for index, update in enumerate(shuffled))
            )
            assert statuses == [200] * len(updates)
            rows, handled = await eventually(lambda: _answers(pg_url), within=20, what="every answer sent")

    expected = [updates[0]["update_id"] - 2, *(u["update_id"] for u in updates)]
    # Each update handled once, and the answers written in update_id order: the turns ran in order.
    assert sorted(int(m) for m in handled) == expected
    answered = [int(str(row.dedupe_key).split(":")[2]) for row in rows]
    assert answered == sorted(answered) and sorted(set(answered)) == expected, answered
    # Every answer was sent, once. The order of sending is not asserted: the outbox keeps a chat's
    # order within one process, but another replica's outbox job may send a later answer first.
    assert all(row.delivered_at is not None for row in rows), rows
    written = [
        tg.parse_html(message["text"])[0] if message["parse_mode"] == "HTML" else message["text"]
        for row in rows
        for message in wire.messages_for(row.payload)
    ]
    assert sorted(message["text"] for message in api.messages(CHAT)) == sorted(written)


async def _answers(url: str) -> tuple[list[Any], list[str]] | None:
    """The chat's answers in the outbox (in the order written) and the updates handled, once
    every answer has been sent; None before."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            query = (
                select(OutboxMessage.dedupe_key, OutboxMessage.payload, OutboxMessage.delivered_at)
                .where(OutboxMessage.target == f"telegram:{CHAT}")
                .order_by(OutboxMessage.id)
            )
            rows = list((await connection.execute(query)).all())
            handled = select(InboundMessage.message_id).where(
                InboundMessage.channel == "telegram", InboundMessage.sender == str(CHAT)
            )
            updates = list((await connection.execute(handled)).scalars())
    finally:
        await engine.dispose()
    if len(updates) < 7 or any(row.delivered_at is None for row in rows):
        return None
    return rows, updates
