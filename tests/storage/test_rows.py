"""Rows written and read as plain SQL (storage/rows.py): stored exactly as the ORM stores them, in
the caller's transaction, and seen by the session as the ORM's own objects. On both databases,
through a plain session (`exec_driver_sql`) and through a customer's turn (the driver itself)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.messages import Reply
from bot.services import Services
from storage import rows
from storage.models import Customer, OutboxMessage, Ticket, TicketEvent
from tests.helpers import TestChannel
from tests.storage.test_turns import INTAKE

CREATED = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def ticket_values(customer_id: int) -> dict[str, Any]:
    return {
        "category": "technical",
        "priority": "high",
        "channel": "webchat",
        "customer_id": customer_id,
        "subject": "ERP down — “everyone” <b>",
        "description": "our ERP crashes for everyone since this morning\nsecond line",
        "troubleshooting": [
            {"step": "Restart the client", "answer": "no"},
            {"step": "Check VPN", "answer": "yes"},
        ],
        "exclusion": None,
        "created_at": CREATED,
        "clock_started_at": CREATED,
        "response_due_at": CREATED + timedelta(hours=4),
        "warn_due_at": CREATED + timedelta(hours=3),
        "sla_check_at": CREATED + timedelta(hours=3),
    }


@asynccontextmanager
async def writer(services: Services, path: str) -> AsyncIterator[AsyncSession]:
    """A session of the kind `path` names, committed when the block ends."""
    if path == "session":
        async with services.db.session() as session:
            yield session
    else:
        async with services.engine.turns.transaction() as turn:
            yield turn.session


async def a_customer(services: Services) -> int:
    async with services.db.session() as session:
        customer = Customer(channel="webchat", external_id="c-1", name="Sokha", created_at=CREATED)
        session.add(customer)
        await session.flush()
        return customer.id


async def count(services: Services, model: Any) -> int:
    async with services.db.reader() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def trail(services: Services) -> tuple[int, int, int]:
    """Tickets, audit events and outbox rows stored."""
    return (
        await count(services, Ticket),
        await count(services, TicketEvent),
        await count(services, OutboxMessage),
    )


@pytest.mark.parametrize("path", ["session", "turn"])
async def test_a_row_written_by_hand_reads_back_as_the_orm_writes_it(services: Services, path: str) -> None:
    customer_id = await a_customer(services)
    async with services.db.session() as session:
        by_orm = Ticket(**ticket_values(customer_id))
        session.add(by_orm)
    async with writer(services, path) as session:
        by_hand = await rows.insert(session, Ticket, ticket_values(customer_id))
        await rows.add(
            session,
            TicketEvent,
            {
                "ticket_id": by_hand.id,
                "at": CREATED,
                "kind": "created",
                "actor": "customer:1",
                "data": {"priority": "high", "n": [1, None]},
            },
        )
    assert by_hand.id != by_orm.id
    async with services.db.reader() as session:
        stored = {t.id: t for t in (await session.execute(select(Ticket))).scalars()}
        event = (await session.execute(select(TicketEvent))).scalar_one()
    columns = [c.name for c in Ticket.__table__.columns if c.name != "id"]
    # The model's defaults were filled in (status, tier, counters), as the ORM fills them.
    assert {c: getattr(stored[by_hand.id], c) for c in columns} == {
        c: getattr(stored[by_orm.id], c) for c in columns
    }
    # What RETURNING gave back went through the same conversions as an ORM load.
    assert {c: getattr(by_hand, c) for c in columns} == {c: getattr(stored[by_hand.id], c) for c in columns}
    assert by_hand.response_due_at == CREATED + timedelta(hours=4) and by_hand.status == "open"
    assert (event.ticket_id, event.at, event.data) == (
        by_hand.id,
        CREATED,
        {"priority": "high", "n": [1, None]},
    )


@pytest.mark.parametrize("path", ["session", "turn"])
async def test_rows_written_by_hand_roll_back_with_the_transaction(services: Services, path: str) -> None:
    customer_id = await a_customer(services)
    with pytest.raises(RuntimeError):
        async with writer(services, path) as session:
            ticket = await rows.insert(session, Ticket, ticket_values(customer_id))
            await rows.add(session, TicketEvent, {"ticket_id": ticket.id, "kind": "created", "actor": "x"})
            raise RuntimeError("the caller failed after the rows")
    assert await count(services, Ticket) == 0
    assert await count(services, TicketEvent) == 0


@pytest.mark.parametrize("path", ["session", "turn"])
async def test_a_row_inserted_by_hand_is_the_object_the_session_holds(services: Services, path: str) -> None:
    customer_id = await a_customer(services)
    async with writer(services, path) as session:
        written = await rows.insert(session, Ticket, ticket_values(customer_id))
        # The ORM sees it as its own, loaded object: no second copy, nothing left to write.
        assert (await session.execute(select(Ticket))).scalar_one() is written
        assert not session.new and not session.dirty
    async with services.db.reader() as session:
        again = (await session.execute(select(Ticket).where(Ticket.customer_id == customer_id))).scalar_one()
    assert again.id == written.id and again.troubleshooting == ticket_values(0)["troubleshooting"]


@pytest.mark.parametrize("path", ["session", "turn"])
async def test_a_row_inserted_within_a_limit_counts_with_values_converted_as_their_columns_convert_them(
    services: Services, path: str
) -> None:
    customer_id = await a_customer(services)
    async with writer(services, path) as session:

        async def opened(row: dict[str, Any], counted_for: int) -> Ticket | None:
            """At most two tickets of `counted_for`'s in the day before CREATED."""
            return await rows.insert_within(
                session,
                Ticket,
                row,
                limit=2,
                where="customer_id = {customer_id} AND created_at > {created_at}",
                customer_id=counted_for,
                created_at=CREATED - timedelta(days=1),
            )

        for hours in (30, 5, 0):  # opened 30 and 5 hours before CREATED, then at CREATED
            row = {**ticket_values(customer_id), "created_at": CREATED - timedelta(hours=hours)}
            written = await opened(row, customer_id)
            # The one from 30 hours before is outside the day: the third still fits in the limit.
            assert written is not None and written.created_at == row["created_at"]
        assert await opened(ticket_values(customer_id), customer_id) is None
        other = await opened(ticket_values(customer_id), customer_id + 1)  # counted for another
        assert other is not None
        assert (await session.execute(select(Ticket).where(Ticket.id == other.id))).scalar_one() is other
        assert not session.new and not session.dirty
    assert await count(services, Ticket) == 4


async def test_a_turn_that_fails_after_opening_its_ticket_leaves_no_ticket(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = TestChannel(services)
    for text in [*INTAKE, "Sokha Chan", "sokha@example.com"]:
        await bot.say(text)
    flows = services.engine.flows
    opened_text = flows.opened_text

    def fail(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("rendering broke after the ticket's rows were written")

    monkeypatch.setattr(flows, "opened_text", fail)
    with pytest.raises(RuntimeError):
        await bot.say("/affirm", message_id="confirm")
    assert (
        await count(services, Ticket),
        await count(services, TicketEvent),
        await count(services, OutboxMessage),
    ) == (
        0,
        0,
        0,
    )
    # Telegram or the widget sends the message again: this time one ticket, one event, one notice.
    monkeypatch.setattr(flows, "opened_text", opened_text)
    replies: list[Reply] = await bot.say("/affirm", message_id="confirm")
    assert "is open" in replies[0].text
    assert (
        await count(services, Ticket),
        await count(services, TicketEvent),
        await count(services, OutboxMessage),
    ) == (
        1,
        1,
        1,
    )
