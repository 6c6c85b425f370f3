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
from storage.models import Customer, OutboxMessage, Ticket
from storage.repositories import outbox as outbox_rows
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


async def test_transport_failures_retry_until_the_horizon_never_counting_to_dead(
    services: Services, clock: FrozenClock
) -> None:
    """Connection refused for twelve hours: retried all along (backoff capped), then delivered."""
    [row_id] = await enqueue(services, clock, 1)
    down = True
    sent: list[int] = []

    async def platform(row: OutboxMessage) -> None:
        if down:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)")
        sent.append(row.id)

    delivery = OutboxDelivery(
        services.db, {"agent": platform}, max_attempts=3, horizon=timedelta(days=2), now=clock
    )
    tries = 0
    for _ in range(12 * 12):  # 12 hours in steps of 5 minutes
        tries += await _due(services, clock)
        assert await delivery.run_once() == 0
        clock.advance(minutes=5)
    [row] = await rows(services)
    assert row.dead_at is None and row.attempts > 3
    assert "Connect call failed" in (row.last_error or "")
    assert row.next_attempt_at - clock() <= timedelta(seconds=300)  # the backoff is capped
    assert tries >= 12 * 12 * 0.9  # due again at least every five minutes all along
    down = False
    assert await delivery.run_once() == 1
    assert sent == [row_id]


async def _due(services: Services, clock: FrozenClock) -> int:
    return sum(r.next_attempt_at <= clock() for r in await rows(services) if r.delivered_at is None)


async def test_past_the_horizon_a_transport_failure_is_dead_with_its_reason(
    services: Services, clock: FrozenClock
) -> None:
    await enqueue(services, clock, 1)

    async def refused(row: OutboxMessage) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    delivery = OutboxDelivery(services.db, {"agent": refused}, horizon=timedelta(hours=1), now=clock)
    assert await delivery.run_once() == 0
    clock.advance(hours=1)
    assert await delivery.run_once() == 0
    [row] = await rows(services)
    assert row.dead_at is not None and row.dead_reason == "horizon"
    assert await outbox_rows.retry(services.db, dead=True, now=clock()) == 1
    [row] = await rows(services)
    assert row.dead_at is None and row.dead_reason is None and row.attempts == 0


async def test_unclassified_errors_count_and_dead_letter_after_max_attempts(
    services: Services, clock: FrozenClock
) -> None:
    [row_id] = await enqueue(services, clock, 1)

    async def broken(row: OutboxMessage) -> None:
        raise KeyError("ticket_id")  # a bug: no amount of waiting fixes it

    delivery = OutboxDelivery(services.db, {"agent": broken}, max_attempts=3, now=clock)
    for attempt in range(1, 4):
        assert await delivery.run_once() == 0
        [row] = await rows(services)
        assert row.attempts == attempt and "ticket_id" in (row.last_error or "")
        clock.advance(minutes=15)  # past any backoff
    [row] = await rows(services)
    assert row.dead_at is not None and row.delivered_at is None and row.dead_reason == "error"
    assert await delivery.run_once() == 0  # a dead letter is not tried again
    assert row.id == row_id


async def test_a_tickets_rows_go_out_in_order_after_a_failure(services: Services, clock: FrozenClock) -> None:
    """The card fails once: the ticket's reminder waits for it; another ticket's row does not."""
    async with services.db.session() as session:
        ticket_a = await _ticket(session, clock, "a")
        ticket_b = await _ticket(session, clock, "b")
        for event, ticket in (
            ("ticket_created", ticket_a),
            ("ticket_created", ticket_b),
            ("sla_reminder", ticket_a),
        ):
            outbox.enqueue(
                session,
                kind="agent",
                target="#support-tier1",
                payload={"event": event},
                now=clock(),
                ticket_id=ticket,
            )
    sent: list[tuple[int | None, str]] = []
    failures = {ticket_a: 2}

    async def platform(row: OutboxMessage) -> None:
        if failures.get(row.ticket_id or 0, 0) and row.payload["event"] == "ticket_created":
            failures[row.ticket_id or 0] -= 1
            raise TimeoutError("Slack did not answer")
        sent.append((row.ticket_id, row.payload["event"]))

    delivery = OutboxDelivery(services.db, {"agent": platform}, now=clock)
    assert await delivery.run_once() == 1  # ticket b's card; a's reminder held back behind its card
    assert sent == [(ticket_b, "ticket_created")]
    reminder = (await rows(services))[2]
    assert reminder.delivered_at is None and reminder.attempts == 0 and reminder.claimed_at is None
    assert await delivery.run_once() == 0  # a's card is backing off: its reminder is not claimed
    for _ in range(4):
        clock.advance(minutes=10)
        await delivery.run_once()
    assert sent == [(ticket_b, "ticket_created"), (ticket_a, "ticket_created"), (ticket_a, "sla_reminder")]


async def _ticket(session: Any, clock: FrozenClock, name: str) -> int:
    customer = Customer(channel="webchat", external_id=f"order-{name}", created_at=clock())
    session.add(customer)
    await session.flush()
    ticket = Ticket(
        category="technical",
        priority="high",
        channel="webchat",
        customer_id=customer.id,
        subject="printer",
        description="the printer on floor 2 jams",
        created_at=clock(),
        clock_started_at=clock(),
        response_due_at=clock() + timedelta(hours=4),
        warn_due_at=clock() + timedelta(hours=3),
    )
    session.add(ticket)
    await session.flush()
    return ticket.id


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
    assert row.dead_reason == "undeliverable"


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
