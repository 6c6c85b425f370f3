"""The channel registry and the pieces every channel shares: per-key locks, inbound
de-duplication, background tasks, Retry-After, ticket numbers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot import retry_after
from bot.channels import CHANNELS, BaseChannel, Channel, ChannelInfo, Registry
from bot.channels.keyed import KeyedLocks, Seen
from bot.services import Services
from bot.settings import Settings
from bot.tasks import Tasks
from desk import ticket_ids
from storage.models import OutboxMessage
from tests.helpers import settings_for


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return settings_for(f"sqlite+aiosqlite:///{tmp_path}/unused.db")


# -- the registry ------------------------------------------------------------------------------------


def test_the_registry_lists_the_channels_the_app_knows() -> None:
    assert CHANNELS.names() == ("webchat", "telegram", "slack", "cli")
    assert CHANNELS.lasting() == ("telegram",)
    assert CHANNELS.label("webchat") == "Web chat" and CHANNELS.label("email") is None
    assert "telegram" in CHANNELS and "email" not in CHANNELS


def test_the_registered_adapters_are_channels(settings: Settings) -> None:
    built = CHANNELS.build(settings)
    assert set(built) == {"webchat", "telegram"}
    for name, adapter in built.items():
        assert isinstance(adapter, Channel)
        assert adapter.info.name == name
    assert not built["webchat"].can_fetch_files


class Email(BaseChannel):
    """The outline of docs/channels.md's example, as little as a channel can be."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.info = EMAIL
        self.sent: list[OutboxMessage] = []

    async def send(self, row: OutboxMessage) -> None:
        self.sent.append(row)


EMAIL = ChannelInfo(name="email", label="Email", lasting=True, build=Email)


def test_a_new_channel_is_one_registration(settings: Settings) -> None:
    registry = Registry()
    registry.register(EMAIL)
    assert registry.names() == ("email",) and registry.lasting() == ("email",)
    [adapter] = registry.build(settings).values()
    assert isinstance(adapter, Channel) and adapter.wrap("app") == "app"
    with pytest.raises(ValueError, match="twice"):
        registry.register(EMAIL)
    for bad in ("e:mail", "a_channel_name_too_long"):
        with pytest.raises(ValueError, match="letters"):
            registry.register(ChannelInfo(name=bad, label="E", lasting=False))


async def test_a_channel_without_files_says_so(settings: Settings) -> None:
    with pytest.raises(LookupError):
        await Email(settings).fetch_file("any")


# -- per-key locks -----------------------------------------------------------------------------------


async def test_one_lock_per_key_forgotten_when_unused() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []

    async def turn(key: str, name: str, wait: float) -> None:
        async with locks[key]:
            order.append(f"{name} in")
            await asyncio.sleep(wait)
            order.append(f"{name} out")

    await asyncio.gather(turn("a", "first", 0.02), turn("a", "second", 0), turn("b", "other", 0))
    assert order.index("first out") < order.index("second in")
    assert order.index("other in") < order.index("first out")  # another key does not wait
    assert len(locks._locks) == 0


# -- inbound de-duplication --------------------------------------------------------------------------


async def test_an_inbound_message_is_seen_once_per_sender(services: Services) -> None:
    seen = Seen(services.db, "slack", services.engine.now)
    assert await seen.first_time("events", "Ev1")
    assert not await seen.first_time("events", "Ev1")
    assert await seen.first_time("someone-else", "Ev1")
    assert await seen.answered("events", "Ev1") == []
    assert await seen.answered("events", "Ev2") is None


# -- background tasks --------------------------------------------------------------------------------


async def test_tasks_finish_or_are_cancelled_at_shutdown() -> None:
    tasks = Tasks()
    quick = tasks.start(asyncio.sleep(0.01, "done"))
    stuck = tasks.start(asyncio.sleep(60))
    assert len(tasks) == 2
    await tasks.wait(0.1)
    assert quick.result() == "done" and stuck.cancelled()
    assert not tasks


async def test_tracking_marks_the_running_task() -> None:
    tasks = Tasks()
    inside: list[int] = []

    async def listener() -> None:
        async with tasks.tracking():
            inside.append(len(tasks))
            await asyncio.sleep(0.01)

    await asyncio.gather(listener(), listener())
    assert inside == [1, 2] and not tasks


# -- Retry-After -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(timedelta(seconds=7), 7.0), (3, 3.0), ("2.5", 2.5), ("soon", 30.0), (None, 30.0), (True, 30.0)],
)
def test_retry_after_seconds(value: Any, expected: float) -> None:
    assert retry_after.seconds(value) == expected


def test_retry_after_from_an_http_answer() -> None:
    assert retry_after.from_response(500, {"Retry-After": "7"}) is None
    limited = retry_after.from_response(429, {"retry-after": "0.2"})
    assert limited is not None and limited.seconds == 1  # whole seconds, at least one
    unreadable = retry_after.from_response(429, None)
    assert unreadable is not None and unreadable.seconds == retry_after.DEFAULT_SECONDS
    assert retry_after.header(5) == {"Retry-After": "5"}


# -- ticket numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        ("#42", 42),
        (" 42 ", 42),
        (42, 42),
        ("0", None),
        (0, None),
        (-3, None),
        (True, None),
        ("4x", None),
        ("²", None),
        ("1" * 16, None),
        (None, None),
        ("", None),
    ],
)
def test_ticket_ids(value: Any, expected: int | None) -> None:
    assert ticket_ids.parse(value) == expected
