"""The connections customers' turns keep open (storage/kept.py), on SQLite and PostgreSQL: taken
from the pool once, reused turn after turn, replaced when a turn failed or they grew old, closed
with the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from actions.messages import Reply
from bot.services import Services
from tests.helpers import TestChannel

INTAKE = ["our ERP keeps crashing since this morning", '/choose_priority{"priority":"high"}', "/affirm"]


@contextmanager
def pool_events(services: Services) -> Iterator[dict[str, int]]:
    """How many times the pool gives a connection out and takes one back while the block runs."""
    pool = services.db.engine.sync_engine.pool
    seen = {"checkout": 0, "checkin": 0}

    def checkout(*_: Any) -> None:
        seen["checkout"] += 1

    def checkin(*_: Any) -> None:
        seen["checkin"] += 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def test_turns_reuse_the_connection_the_last_turn_left(services: Services) -> None:
    bot = TestChannel(services)
    await bot.say("hello")  # the first turn opens it
    with pool_events(services) as seen:
        for text in INTAKE:
            assert await bot.say(text)
        assert await TestChannel(services, sender="another").say("hello")
    assert seen == {"checkout": 0, "checkin": 0}


async def test_a_failed_turn_closes_its_connection_and_the_next_takes_a_new_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = TestChannel(services)
    await bot.say("hello")
    respond = services.engine.flows.respond

    async def fail(turn: Any) -> list[Reply]:
        raise RuntimeError("the flow broke")

    with pool_events(services) as seen:
        monkeypatch.setattr(services.engine.flows, "respond", fail)
        with pytest.raises(RuntimeError):
            await bot.say(INTAKE[0])
        monkeypatch.setattr(services.engine.flows, "respond", respond)
        assert seen == {"checkout": 0, "checkin": 1}  # given back to the pool, not kept
        assert await bot.say(INTAKE[0])
        assert await bot.say(INTAKE[1])
    assert seen == {"checkout": 1, "checkin": 1}


async def test_a_connection_older_than_the_recycle_time_is_replaced(services: Services) -> None:
    bot = TestChannel(services)
    await bot.say("hello")
    services.db.turn_connections.recycle = 0
    with pool_events(services) as seen:
        await bot.say(INTAKE[0])
        await bot.say(INTAKE[1])
    # The kept one was given back, too old; each turn then took a new one and gave it back at its
    # end, too old to keep in turn.
    assert seen == {"checkout": 2, "checkin": 3}


async def test_closing_the_database_gives_the_kept_connections_back(services: Services) -> None:
    await TestChannel(services).say("hello")
    pool = services.db.engine.sync_engine.pool
    assert pool.checkedout() == 1
    await services.db.turn_connections.close()
    assert pool.checkedout() == 0
    assert await TestChannel(services).say("hello again")  # and a later turn opens one again
