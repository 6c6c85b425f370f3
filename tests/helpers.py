"""Test helpers shared by the test modules: a frozen clock, the in-memory test channel, settings."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from aiohttp import web

from actions.messages import Incoming, Reply
from bot.services import Services
from bot.settings import load_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
PP = ZoneInfo("Asia/Phnom_Penh")  # the shipped policy's timezone


def pp(*args: int) -> datetime:
    """A time in Phnom Penh: `pp(2026, 11, 30, 10, 0)`."""
    return datetime(*args, tzinfo=PP)  # type: ignore[misc]


def need(condition: bool, what: str) -> None:
    """Skip on a laptop without `what`; in CI (CI=true) a missing dependency is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true")
    pytest.skip(f"{what} not available")


@dataclass
class FrozenClock:
    """The time the app sees; tests move it explicitly."""

    at: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 3, 0, tzinfo=UTC))  # Mon 10:00 PP

    def __call__(self) -> datetime:
        return self.at

    def set(self, value: datetime) -> None:
        assert value.tzinfo is not None
        self.at = value.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


# Signs the web chat session ids the test apps mint (instead of a secret file under var/).
SESSION_SECRET = "test-session-secret-0123456789abcdef"
# For REST callers that name their own senders, as scripted test customers do.
REST_TOKEN = "test-rest-token-0123456789abcdef"
REST_AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}


def settings_for(url: str, **extra: Any) -> Any:
    """Settings for a test app: scripted customers type faster than people, so the abuse limits
    are off unless a test turns them on (`SUPPORTBOT_RATE_LIMITS="on"`)."""
    extra.setdefault("SUPPORTBOT_SESSION_SECRET", SESSION_SECRET)
    extra.setdefault("SUPPORTBOT_REST_TOKEN", REST_TOKEN)
    extra.setdefault("SUPPORTBOT_RATE_LIMITS", "off")
    return load_settings(DATABASE_URL=url, **extra)


@dataclass
class TestChannel:
    """Push a customer's message, get the bot's replies (errbot's testbot, for this engine)."""

    services: Services
    sender: str = "customer-1"
    channel: str = "webchat"
    display_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. {"language": "km"}, as a channel sends
    last: list[Reply] = field(default_factory=list)

    __test__ = False  # not a test class

    async def say(self, text: str, *, message_id: str | None = None) -> list[Reply]:
        self.last = await self.services.engine.handle(
            Incoming(
                channel=self.channel,
                sender=self.sender,
                text=text,
                message_id=message_id,
                display_name=self.display_name,
                metadata=dict(self.metadata),
            )
        )
        return self.last

    async def press(self, title_start: str) -> list[Reply]:
        """Press the button of the last replies whose title starts with `title_start`."""
        for reply in self.last:
            for button in reply.buttons:
                if button.title.startswith(title_start):
                    return await self.say(button.payload)
        titles = [b.title for r in self.last for b in r.buttons]
        raise AssertionError(f"no button starting {title_start!r}; buttons: {titles}")

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    @property
    def buttons(self) -> list[str]:
        return [b.title for r in self.last for b in r.buttons]


# docs/reference.md section 5: the keys of a ticket in /api/tickets/{id}.
TICKET_KEYS = frozenset(
    {
        "id",
        "category",
        "priority",
        "status",
        "tier",
        "channel",
        "customer",
        "subject",
        "description",
        "troubleshooting",
        "exclusion",
        "language",
        "created_at",
        "response_due_at",
        "first_response_at",
        "resolved_at",
        "sla_state",
        "events",
    }
)


@asynccontextmanager
async def served_on_loopback(asgi: Any) -> AsyncIterator[str]:
    """The real app on uvicorn on a free port of 127.0.0.1; yields its base URL."""
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=0, lifespan="on", log_level="warning", timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def text_of(replies: list[dict[str, Any]]) -> str:
    """The texts of a list of wire replies (REST or socket.io), one per line."""
    return "\n".join(r["text"] for r in replies)


def ticket_id_in(replies: list[dict[str, Any]]) -> int:
    """The ticket number the bot announced in `replies`."""
    match = re.search(r"ticket #(\d+)", text_of(replies))
    assert match, text_of(replies)
    return int(match.group(1))


async def eventually(check: Callable[[], Any], *, within: float = 10.0, what: str = "the condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy; its result."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def aiohttp_on_loopback(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve a fake platform API (aiohttp) on a free port of 127.0.0.1; its runner and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@dataclass
class Failure:
    """A failure a fake platform API was told to answer with (`fail_next`)."""

    method: str  # "*" for every method
    status: int
    retry_after: int | None
    remaining: int | None  # None: until `recover()`
    description: str | None = None


def next_failure(failures: list[Failure], method: str) -> Failure | None:
    """The failure due for a call of `method`, counted down (and dropped once used up)."""
    for failure in failures:
        if failure.method in ("*", method):
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    failures.remove(failure)
            return failure
    return None


async def arrivals(queue: asyncio.Queue[Any], wait: float) -> list[Any]:
    """What arrives in `queue` until `wait` seconds pass with nothing new (expected: nothing)."""
    got = []
    try:
        while True:
            got.append(await asyncio.wait_for(queue.get(), wait))
    except TimeoutError:
        return got
