"""kill -9 of a real `supportbot serve` while Slack is taking its time to answer a post: the post
reached Slack, the process died before it knew. The next process finds the post in the channel's
history (by the outbox row's id in its metadata) and does not post the ticket again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.bot.slack.conftest import SECRET, TIER1
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import eventually

CLI = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[3]  # the code under test, whatever is installed
_OURS = ("DATABASE_URL", "SUPPORTBOT_", "NLU_", "RASA_", "SLACK_", "TELEGRAM_")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(env: dict[str, str], port: int, cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        server = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--port", str(port), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, within=120, what="supportbot serve to answer /healthz")
    return server


async def test_kill_9_during_a_slow_post_then_restart_posts_once(
    fake_slack: FakeSlack, model_path: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'supportbot.db'}",
        "SUPPORTBOT_NLU_MODEL": str(model_path),
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "SUPPORTBOT_OUTBOX_LEASE": "4s",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    port = _free_port()
    log = tmp_path / "serve.log"
    fake_slack.lag("chat.postMessage", 60)  # posted at once, answered a minute later
    first = await _serve(env, port, tmp_path, log)
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                json={
                    "sender": "crash-customer-1",
                    # Says what it is about and how to reach them: the ticket opens at once.
                    "message": "I want to talk to a person about our ERP, sokha@example.com",
                },
                timeout=30,
            )
        assert answer.status_code == 200
        await eventually(lambda: fake_slack.messages, within=60, what="the ticket's post to reach Slack")
    finally:
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 30)
    [card] = fake_slack.messages
    assert card.blocks and card.thread_ts is None

    fake_slack.lags.clear()
    second = await _serve(env, port, tmp_path, log)
    try:
        await eventually(
            lambda: fake_slack.thread(TIER1, card.ts),
            within=90,
            what="the handoff notice in the card's thread",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    roots = [m for m in fake_slack.messages if m.thread_ts is None]
    assert roots == [card], log.read_text()[-3000:]  # the card, once
    [notice] = fake_slack.thread(TIER1, card.ts)
    assert "asked to talk to a person" in notice.text
    assert fake_slack.calls_to("conversations.history")
