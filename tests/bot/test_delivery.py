"""The outbox delivery job: once per row, leases that never run out under a slow platform,
retries with backoff, 429 waits, dead letters (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from bot.delivery import WAITING, NotReady, OutboxDelivery, RetryAfter, Undeliverable
from bot.services import Services
from desk import outbox
from storage.models import OutboxMessage
from tests.helpers import FrozenClock


async def enqueue(services: Services, clock: FrozenClock, count: int) -> list[int]:
    async with services.db.session() as session:
        rows = [
            outbox.enqueue(session, kind="agent", target="#support-tier1", payload={"n": n}, now=clock())
            for n in range(count)
        ]
        await session.flush()
        return [row.id for row in rows]


async def rows(services: Services) -> list[OutboxMessage]:
    async with services.db.reader() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_a_slow_platform_gets_the_rest_handed_back_not_sent_twice(
    services: Services, clock: FrozenClock
) -> None:
    ids = await enqueue(services, clock, 6)
    sent: Counter[int] = Counter()

    async def slow(row: OutboxMessage) -> None:
        await asyncio.sleep(0.12)
        sent[row.id] += 1

    delivery = OutboxDelivery(services.db, {"agent": slow}, lease=timedelta(seconds=0.4), now=clock)
    first = await delivery.run_once()
    assert 0 < first < 6  # half the lease spent: the rest were handed back
    waiting = [r for r in await rows(services) if r.delivered_at is None]
    assert len(waiting) == 6 - first
    assert all(r.next_attempt_at <= clock() for r in waiting)  # due again at once, not leased
    while await delivery.run_once():
        pass
    assert sorted(sent) == ids and set(sent.values()) == {1}
    assert all(r.delivered_at is not None for r in await rows(services))


async def test_failures_back_off_then_dead_letter(services: Services, clock: FrozenClock) -> None:
    [row_id] = await enqueue(services, clock, 1)

    async def broken(row: OutboxMessage) -> None:
        raise ConnectionError("platform down")

    delivery = OutboxDelivery(services.db, {"agent": broken}, max_attempts=3, now=clock)
    for attempt in range(1, 4):
        assert await delivery.run_once() == 0
        [row] = await rows(services)
        assert row.attempts == attempt and "platform down" in (row.last_error or "")
        clock.advance(minutes=15)  # past any backoff
    [row] = await rows(services)
    assert row.dead_at is not None and row.delivered_at is None
    assert await delivery.run_once() == 0  # a dead letter is not tried again
    assert row.id == row_id


async def test_429_waits_for_retry_after_without_counting_a_failure(
    services: Services, clock: FrozenClock
) -> None:
    await enqueue(services, clock, 1)
    answers = [RetryAfter(30), None]

    async def limited(row: OutboxMessage) -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    delivery = OutboxDelivery(services.db, {"agent": limited}, now=clock)
    assert await delivery.run_once() == 0
    [row] = await rows(services)
    assert row.attempts == 0 and row.next_attempt_at == clock() + timedelta(seconds=30)
    clock.advance(seconds=29)
    assert await delivery.run_once() == 0  # not before Retry-After
    clock.advance(seconds=1)
    assert await delivery.run_once() == 1


async def test_a_notice_past_its_expiry_is_dropped_not_sent_late(
    services: Services, clock: FrozenClock
) -> None:
    """A maintenance announcement waiting for a web chat customer who comes back after the window."""
    async with services.db.session() as session:
        for hours in (1, 3):
            expires = (clock() + timedelta(hours=hours)).isoformat()
            payload = {"text": f"maintenance ending in {hours} h", "expires_at": expires}
            outbox.enqueue(session, kind="customer", target="webchat:away", payload=payload, now=clock())
    sent: list[str] = []

    async def push(row: OutboxMessage) -> None:
        sent.append(row.payload["text"])

    clock.advance(hours=2)  # the customer is back: the first window is over, the second is not
    assert await OutboxDelivery(services.db, {"customer": push}, now=clock).run_once() == 1
    assert sent == ["maintenance ending in 3 h"]
    expired, delivered = await rows(services)
    assert expired.dead_at is not None and (expired.last_error or "").startswith("undeliverable: expired")
    assert delivered.delivered_at is not None


async def test_undeliverable_is_dead_at_once(services: Services, clock: FrozenClock) -> None:
    await enqueue(services, clock, 1)

    async def blocked(row: OutboxMessage) -> None:
        raise Undeliverable("Forbidden: bot was blocked by the user")

    assert await OutboxDelivery(services.db, {"agent": blocked}, now=clock).run_once() == 0
    [row] = await rows(services)
    assert row.dead_at is not None and row.attempts == 0 and "blocked" in (row.last_error or "")


async def test_deliveries_are_marked_together_and_an_absent_recipient_at_once(
    services: Services, clock: FrozenClock
) -> None:
    """One UPDATE marks a batch of deliveries (each a transaction of its own queued behind every
    customer's turn on SQLite); a recipient found away is marked WAITING before the next send."""
    ids = await enqueue(services, clock, 12)
    away = ids[3]
    marks: list[int] = []

    def count_marks(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX "):
            marks.append(1)

    async def send(row: OutboxMessage) -> None:
        if row.id == away:
            raise NotReady(retry_in=30)
        if row.id == away + 1:  # by now the absent recipient's row says so
            [waiting] = [r for r in await rows(services) if r.id == away]
            assert waiting.last_error == WAITING and waiting.delivered_at is None

    engine = services.db.engine.sync_engine
    delivery = OutboxDelivery(services.db, {"agent": send}, now=clock)
    event.listen(engine, "before_cursor_execute", count_marks)
    try:
        assert await delivery.run_once() == 11
    finally:
        event.remove(engine, "before_cursor_execute", count_marks)
    # The claim's lease, the away row, the other eleven (first three, then eight) in two UPDATEs.
    assert len(marks) == 4  # one per row would be 13
    stored = {r.id: r for r in await rows(services)}
    assert all(stored[i].delivered_at == clock() for i in ids if i != away)
    assert stored[away].delivered_at is None
    assert stored[away].next_attempt_at == clock() + timedelta(seconds=30)
