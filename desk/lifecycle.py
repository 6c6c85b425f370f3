"""The life of a ticket after the first response: waiting on the customer, owners, closing.

- `wait_on_customer`: an agent's question goes to the customer, the running response clock is
  held (desk/ticket_clocks.py moves its deadline on when they answer), and the conversation is the
  agents' so the answer reaches the ticket. After `lifecycle.nudge_after` of silence the customer
  is nudged; after `lifecycle.auto_resolve_after` the ticket resolves itself, telling both sides.
- A resolved ticket closes after `lifecycle.close_after` (until then the customer's message
  reopens it; after it, a message starts a new ticket linked to the old one: TicketService).
- `take` / `assign`: an owner, whom the SLA reminders mention.

`sweep_lifecycle` runs with the SLA sweep; like it, it reads only tickets whose
`lifecycle_check_at` has come, in batches locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.constants import OutboxEvent, TicketStatus
from desk.ticket_transitions import TicketError
from desk.tickets import TicketService
from storage.db import Database
from storage.models import Conversation, Customer, OutboxMessage, Ticket, TicketEvent

log = structlog.get_logger(__name__)

ACTOR = "lifecycle"
MAX_QUESTION = 2000
WAITABLE = (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED)


@dataclass
class LifecycleResult:
    nudged: int = 0
    auto_resolved: int = 0
    closed: int = 0


def _event(session: AsyncSession, ticket: Ticket, kind: str, actor: str, now: datetime, **data: Any) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, at=now, kind=kind, actor=actor, data=data))


def _notice(
    session: AsyncSession, tickets: TicketService, ticket: Ticket, event: str, now: datetime, **data: Any
) -> None:
    """A notice in the ticket's thread of its tier (the card is re-rendered with it)."""
    outbox.enqueue(
        session,
        kind=outbox.AGENT,
        target=tickets.policy.escalation.tiers[ticket.tier].slack_channel,
        now=now,
        ticket_id=ticket.id,
        payload={"event": event, "ticket_id": ticket.id, **data},
    )


async def _tell(session: AsyncSession, ticket: Ticket, message: str, now: datetime, **values: Any) -> bool:
    customer = await session.get(Customer, ticket.customer_id)
    if customer is None:
        return False
    outbox.enqueue(
        session,
        kind=outbox.CUSTOMER,
        now=now,
        ticket_id=ticket.id,
        target=outbox.customer_target(customer.channel, customer.external_id),
        payload=outbox.notice(message, ticket.language, **values),
    )
    return True


async def _attach_conversation(session: AsyncSession, ticket: Ticket) -> None:
    """The customer's next message goes to the ticket's agents, not to the assistant's flows."""
    if ticket.conversation_id is None:
        return
    query = select(Conversation).where(Conversation.id == ticket.conversation_id).with_for_update()
    conversation = (await session.execute(query)).scalar_one_or_none()
    if conversation is None:
        return
    conversation.handoff_ticket_id = ticket.id
    conversation.state = {**(conversation.state or {}), "handoff_acknowledged": True}


async def wait_on_customer(
    session: AsyncSession,
    *,
    tickets: TicketService,
    ticket_id: int,
    question: str,
    actor: str,
    agent_name: str | None,
    now: datetime,
) -> Ticket:
    """Ask the customer the agent's question and hold the response clock until they answer."""
    question = question.strip()[:MAX_QUESTION]
    if not question:
        raise TicketError("the question for the customer is empty")
    ticket = await tickets.locked(session, ticket_id)
    if ticket.status == TicketStatus.WAITING_CUSTOMER:
        raise TicketError(f"ticket #{ticket.id} is already waiting on the customer")
    if ticket.status not in WAITABLE:
        raise TicketError(f"ticket #{ticket.id} is {ticket.status}")
    running = tickets.running_clock(ticket)
    ticket.clock_paused = running is not None
    ticket.paused_at = now
    ticket.nudged_at = None
    ticket.status = TicketStatus.WAITING_CUSTOMER
    ticket.sla_check_at = None  # nothing is due while the clock is held
    ticket.lifecycle_check_at = now + tickets.policy.lifecycle.nudge_after
    name: str | dict[str, Any] = (agent_name or "").strip() or {"message": "lifecycle.agent"}
    _event(session, ticket, "waiting_customer", actor, now, question=question, clock=running)
    await _tell(session, ticket, "lifecycle.question", now, agent=name, id=ticket.id, question=question)
    await _attach_conversation(session, ticket)
    _notice(session, tickets, ticket, OutboxEvent.WAITING_CUSTOMER, now, question=question, actor=actor)
    return ticket


async def set_owner(
    session: AsyncSession, *, tickets: TicketService, ticket_id: int, owner: str, actor: str, now: datetime
) -> Ticket:
    """`Take it` (owner = the agent) or `/support assign` (owner chosen by a manager)."""
    ticket = await tickets.locked(session, ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise TicketError(f"ticket #{ticket.id} is closed")
    if ticket.owner == owner:
        raise TicketError(f"ticket #{ticket.id} is already owned by them")
    previous = ticket.owner
    ticket.owner = owner
    _event(session, ticket, "owner", actor, now, owner=owner, previous=previous)
    _notice(
        session, tickets, ticket, OutboxEvent.OWNER_CHANGED, now, owner=owner, previous=previous, actor=actor
    )
    return ticket


# -- the sweep ----------------------------------------------------------------------------------


async def _nudge(
    session: AsyncSession,
    tickets: TicketService,
    ticket: Ticket,
    now: datetime,
    question: str,
    writes: _Writes,
) -> None:
    policy = tickets.policy.lifecycle
    customer = writes.customers.get(ticket.customer_id)  # prefetched with the batch
    if customer is not None:
        payload = outbox.notice("lifecycle.nudge", ticket.language, id=ticket.id, question=question)
        target = outbox.customer_target(customer.channel, customer.external_id)
        writes.outbox.append(
            outbox.row(kind=outbox.CUSTOMER, target=target, now=now, ticket_id=ticket.id, payload=payload)
        )
    ticket.nudged_at = now
    assert ticket.paused_at is not None
    ticket.lifecycle_check_at = ticket.paused_at + policy.auto_resolve_after
    writes.event(ticket, "customer_nudged", now)
    writes.notice(tickets, ticket, OutboxEvent.CUSTOMER_NUDGED, now)


@dataclass
class _Writes:
    """A batch's new rows (messages, notices, audit events), inserted in one statement per table:
    through the unit of work they were one statement per row, a second per 40 nudges."""

    outbox: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[int, Customer] = field(default_factory=dict)

    def event(self, ticket: Ticket, kind: str, now: datetime, **data: Any) -> None:
        self.events.append({"ticket_id": ticket.id, "at": now, "kind": kind, "actor": ACTOR, "data": data})

    def notice(self, tickets: TicketService, ticket: Ticket, event: str, now: datetime) -> None:
        channel = tickets.policy.escalation.tiers[ticket.tier].slack_channel
        payload = {"event": event, "ticket_id": ticket.id}
        self.outbox.append(
            outbox.row(kind=outbox.AGENT, target=channel, now=now, ticket_id=ticket.id, payload=payload)
        )

    async def flush(self, session: AsyncSession) -> None:
        # As parameters of a cached statement (executemany), not literal VALUES compiled each time.
        if self.outbox:
            await session.execute(insert(OutboxMessage), self.outbox)
        if self.events:
            await session.execute(insert(TicketEvent), self.events)


async def _prefetch(session: AsyncSession, due: list[Ticket], writes: _Writes) -> dict[int, str]:
    """For a batch: the customers (into the session, for `_tell`) and the questions to nudge about.

    Two queries per batch instead of two per ticket: a sweep after downtime may nudge hundreds.
    """
    waiting = [
        t.id
        for t in due
        if t.status == TicketStatus.WAITING_CUSTOMER and t.nudged_at is None and t.paused_at is not None
    ]
    if not waiting:
        return {}
    customer_ids = {t.customer_id for t in due if t.id in set(waiting)}
    # Held by the writes: the session keeps loaded objects only while something refers to them.
    writes.customers = {
        c.id: c
        for c in (await session.execute(select(Customer).where(Customer.id.in_(customer_ids)))).scalars()
    }
    query = (
        select(TicketEvent.ticket_id, TicketEvent.data)
        .where(TicketEvent.ticket_id.in_(waiting), TicketEvent.kind == "waiting_customer")
        .order_by(TicketEvent.id)
    )
    questions: dict[int, str] = {}
    for ticket_id, data in (await session.execute(query)).all():
        questions[ticket_id] = str((data or {}).get("question") or "")  # the latest question wins
    return questions


async def _auto_resolve(session: AsyncSession, tickets: TicketService, ticket: Ticket, now: datetime) -> None:
    silence = tickets.policy.lifecycle.auto_resolve_after
    told = {
        "message": "lifecycle.auto_resolved",
        "values": {"silence": {"duration": silence.total_seconds()}},
    }
    await tickets.resolve(session, ticket.id, actor=ACTOR, now=now, told=told)
    _notice(session, tickets, ticket, OutboxEvent.AUTO_RESOLVED, now, silence_seconds=silence.total_seconds())


def _close(tickets: TicketService, ticket: Ticket, now: datetime, writes: _Writes) -> None:
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.lifecycle_check_at = None
    writes.event(ticket, "closed", now)
    writes.notice(tickets, ticket, OutboxEvent.TICKET_CLOSED, now)


async def _due(
    session: AsyncSession,
    tickets: TicketService,
    ticket: Ticket,
    now: datetime,
    result: LifecycleResult,
    questions: dict[int, str],
    writes: _Writes,
) -> None:
    """Do what has come for one locked ticket and say when to look again (None: never)."""
    policy = tickets.policy.lifecycle
    if ticket.status == TicketStatus.WAITING_CUSTOMER and ticket.paused_at is not None:
        if now >= ticket.paused_at + policy.auto_resolve_after:
            await _auto_resolve(session, tickets, ticket, now)
            result.auto_resolved += 1
        elif ticket.nudged_at is None and now >= ticket.paused_at + policy.nudge_after:
            await _nudge(session, tickets, ticket, now, questions.get(ticket.id, ""), writes)
            result.nudged += 1
        else:
            ticket.lifecycle_check_at = ticket.paused_at + (
                policy.auto_resolve_after if ticket.nudged_at else policy.nudge_after
            )
        return
    if ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None:
        closes = ticket.resolved_at + policy.close_after
        if now >= closes:
            _close(tickets, ticket, now, writes)
            result.closed += 1
        else:
            ticket.lifecycle_check_at = closes
        return
    ticket.lifecycle_check_at = None  # answered, reopened or closed by hand: nothing more to do


async def sweep_lifecycle(
    db: Database, *, tickets: TicketService, now: datetime, batch: int = 500
) -> LifecycleResult:
    """Nudge silent customers, resolve tickets after long silence, close resolved tickets."""
    result = LifecycleResult()
    while True:
        async with db.session() as session:
            query = (
                select(Ticket)
                .where(Ticket.lifecycle_check_at.is_not(None), Ticket.lifecycle_check_at <= now)
                .order_by(Ticket.lifecycle_check_at, Ticket.id)
                .limit(batch)
            )
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            due = list((await session.execute(query)).scalars())
            writes = _Writes()
            questions = await _prefetch(session, due, writes)
            for ticket in due:
                await _due(session, tickets, ticket, now, result, questions, writes)
                if ticket.lifecycle_check_at is not None and ticket.lifecycle_check_at <= now:
                    log.error("lifecycle_sweep_stuck", ticket_id=ticket.id)
                    ticket.lifecycle_check_at = None
            await writes.flush(session)
        if len(due) < batch:
            break
    if result.nudged or result.auto_resolved or result.closed:
        log.info(
            "lifecycle_sweep", nudged=result.nudged, auto_resolved=result.auto_resolved, closed=result.closed
        )
    return result
