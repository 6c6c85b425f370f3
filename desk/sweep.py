"""The SLA sweep: reminders at `warn_at`, breach notices and automatic escalation at the deadline.

The sweep looks only at tickets whose `sla_check_at` has come (the reminder time, then the
deadline), soonest first, in batches. On PostgreSQL each batch is locked with
`FOR UPDATE SKIP LOCKED`, so several replicas share the work and never handle a ticket twice; the
ticket's bookkeeping (`reminded_tier`, `breached_tier`, `sla_check_at`) changes in the same
transaction as the notices it causes. Every notice also carries a `dedupe_key` inserted with
`ON CONFLICT DO NOTHING`, a second guard that can never abort the rest of the batch.

After downtime one sweep catches up: a ticket already past its deadline gets its breach notice
and escalation, not a stale reminder (the audit event says the reminder was skipped).

The same ladder serves every response clock: the first response (round 0) and each next
response (round 1, 2, ...: a customer wrote after an answer). Notices of a next-response round
carry the round in their `dedupe_key`, so each round is reminded and breached once per tier.
Reminders and breach notices mention the ticket's owner when it has one, else the channel.
The lifecycle (nudges, auto-resolution, closing: desk/lifecycle.py) runs with each sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.constants import Clock, OutboxEvent
from desk.lifecycle import sweep_lifecycle
from desk.owners import mention
from desk.tickets import TicketService
from storage.db import Database
from storage.models import Ticket, TicketEvent

log = structlog.get_logger(__name__)

ACTOR = "sla"
MENTION = "<!here>"  # Slack's mention of the people active in the tier channel (no owner)
_RUNNING = (Clock.FIRST_RESPONSE, Clock.NEXT_RESPONSE)


@dataclass
class SweepResult:
    """What one sweep did (reminders sent, automatic escalations, top-tier alerts)."""

    reminded: int = 0
    escalated: int = 0
    breached_top: int = 0
    breached: int = 0  # breach notices at any tier (escalated + breached_top)
    cleared: int = 0  # tickets taken off the sweep because they were answered or closed
    nudged: int = 0  # customers reminded of an agent's question (lifecycle)
    auto_resolved: int = 0  # tickets resolved after the customer's long silence
    closed: int = 0  # resolved tickets closed after `lifecycle.close_after`

    @property
    def total(self) -> int:
        return self.reminded + self.breached + self.cleared


async def _notice(
    session: AsyncSession,
    ticket: Ticket,
    *,
    event: str,
    target: str,
    dedupe_key: str,
    now: datetime,
    **data: Any,
) -> bool:
    """One agent notice about `ticket`, at most once per `dedupe_key`; True when written now."""
    inserted = await outbox.enqueue_once(
        session,
        [
            {
                "kind": outbox.AGENT,
                "target": target,
                "payload": {"event": event, "ticket_id": ticket.id, **data},
                "ticket_id": ticket.id,
                "dedupe_key": dedupe_key,
                "now": now,
            }
        ],
    )
    return bool(inserted)


def _audit(session: AsyncSession, ticket: Ticket, kind: str, now: datetime, **data: Any) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, at=now, kind=kind, actor=ACTOR, data=data))


def _round_key(ticket: Ticket) -> str:
    """Round 0 keeps the keys notices had before next-response clocks existed."""
    return f"{ticket.id}:r{ticket.response_round}" if ticket.response_round else str(ticket.id)


def _what(ticket: Ticket) -> str:
    if ticket.response_round:
        return "the customer's latest message has no answer yet"
    return "has no first response yet"


def _reminder_row(ticket: Ticket, tickets: TicketService, now: datetime) -> dict[str, Any]:
    tier = tickets.policy.escalation.tiers[ticket.tier]
    due = tickets.current(ticket)[0].isoformat()
    who = mention(ticket.owner)
    clock = Clock.NEXT_RESPONSE if ticket.response_round else Clock.FIRST_RESPONSE
    return {
        "kind": outbox.AGENT,
        "target": tier.slack_channel,
        "payload": {
            "event": OutboxEvent.SLA_REMINDER,
            "ticket_id": ticket.id,
            "tier": ticket.tier,
            "priority": ticket.priority,
            "response_due_at": due,
            "mention": who,
            "owner": ticket.owner,
            "clock": clock,
            "round": ticket.response_round,
            "channel": tier.slack_channel,
            "thread": True,
            "text": (
                f"{who} Reminder: ticket #{ticket.id} ({ticket.priority}): {_what(ticket)}; "
                f"the response is due by {due}."
            ),
        },
        "ticket_id": ticket.id,
        "dedupe_key": f"sla:reminder:{_round_key(ticket)}:{ticket.tier}",
        "now": now,
    }


async def _remind_all(session: AsyncSession, due: list[Ticket], tickets: TicketService, now: datetime) -> int:
    """The reminders of a whole batch in one insert: a sweep often has many at once."""
    rows = [_reminder_row(ticket, tickets, now) for ticket in due]
    sent = set(await outbox.enqueue_once(session, rows))
    for ticket, row in zip(due, rows, strict=True):
        if row["dedupe_key"] in sent:
            _audit(
                session,
                ticket,
                "sla_reminder",
                now,
                tier=ticket.tier,
                response_due_at=row["payload"]["response_due_at"],
                round=ticket.response_round,
            )
        ticket.reminded_tier = ticket.tier
        ticket.sla_check_at = tickets.current(ticket)[0]
    return len(sent)


async def _breach(
    session: AsyncSession, ticket: Ticket, tickets: TicketService, now: datetime, result: SweepResult
) -> None:
    policy = tickets.policy
    tier = ticket.tier
    channel = policy.escalation.tiers[tier].slack_channel
    due = tickets.current(ticket)[0].isoformat()
    who = mention(ticket.owner)
    # After downtime the reminder time may have passed unseen: a reminder now would be stale.
    skipped_reminder = ticket.reminded_tier < tier
    top = tier >= policy.max_tier
    sent = await _notice(
        session,
        ticket,
        event=OutboxEvent.SLA_BREACH,
        target=channel,
        dedupe_key=f"sla:breach:{_round_key(ticket)}:{tier}",
        now=now,
        tier=tier,
        priority=ticket.priority,
        response_due_at=due,
        mention=who,
        owner=ticket.owner,
        clock=Clock.NEXT_RESPONSE if ticket.response_round else Clock.FIRST_RESPONSE,
        round=ticket.response_round,
        thread=True,
        escalating_to=None if top else tier + 1,
        text=(
            f"{who} SLA breached: ticket #{ticket.id} ({ticket.priority}) got no "
            f"{'answer to the customer' if ticket.response_round else 'first response'} by {due}."
            + (" It goes to the managers." if top else f" Escalating it to tier {tier + 1}.")
        ),
    )
    ticket.breached_tier = tier
    if skipped_reminder:
        ticket.reminded_tier = tier
    if sent:
        result.breached += 1
        ticket.sla_breaches += 1  # on record for good, whatever the next clock does
        _audit(
            session,
            ticket,
            "sla_breached",
            now,
            tier=tier,
            response_due_at=due,
            reminder_skipped=skipped_reminder,
            round=ticket.response_round,
        )
    if not top:
        # The ticket row is locked and its tier unchanged: the escalation from this tier has not
        # happened, whatever the dedupe guard said about the notice.
        await tickets.escalate(session, ticket.id, actor=ACTOR, now=now, reason="response deadline missed")
        result.escalated += 1
        return
    ticket.sla_check_at = None
    alerted = await _notice(
        session,
        ticket,
        event=OutboxEvent.SLA_BREACH_TOP_TIER,
        target=policy.escalation.managers_channel,
        dedupe_key=f"sla:top:{_round_key(ticket)}",
        now=now,
        tier=tier,
        priority=ticket.priority,
        response_due_at=due,
        text=(
            f"Ticket #{ticket.id} ({ticket.priority}) missed its response deadline at the top tier "
            f"({policy.escalation.tiers[tier].name}) and still has "
            + (
                "no answer to the customer's latest message."
                if ticket.response_round
                else "no first response."
            )
        ),
    )
    if alerted:
        result.breached_top += 1


async def _check(
    session: AsyncSession,
    ticket: Ticket,
    tickets: TicketService,
    now: datetime,
    result: SweepResult,
    reminders: list[Ticket],
) -> None:
    """Do what is due for one locked ticket (reminders are collected for one insert per batch)."""
    if tickets.running_clock(ticket) not in _RUNNING:
        ticket.sla_check_at = None  # answered, waiting on the customer, or resolved
        result.cleared += 1
        return
    due, warn, _ = tickets.current(ticket)
    if now < due:
        if ticket.reminded_tier >= ticket.tier:
            ticket.sla_check_at = due
        elif now < warn:
            ticket.sla_check_at = warn  # looked too early (moved by hand)
        else:
            reminders.append(ticket)
        return
    if ticket.breached_tier >= ticket.tier:
        ticket.sla_check_at = None  # breached and handled at this tier already
        return
    await _breach(session, ticket, tickets, now, result)


async def sweep(db: Database, *, tickets: TicketService, now: datetime, batch: int = 500) -> SweepResult:
    """Send every reminder, breach notice and escalation due at `now`; safe to run anywhere, any time."""
    result = SweepResult()
    while True:
        async with db.session() as session:
            query = (
                select(Ticket)
                .where(Ticket.sla_check_at.is_not(None), Ticket.sla_check_at <= now)
                .order_by(Ticket.sla_check_at, Ticket.id)
                .limit(batch)
            )
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            due = list((await session.execute(query)).scalars())
            reminders: list[Ticket] = []
            for ticket in due:
                await _check(session, ticket, tickets, now, result, reminders)
            result.reminded += await _remind_all(session, reminders, tickets, now)
            for ticket in due:
                if ticket.sla_check_at is not None and ticket.sla_check_at <= now:
                    # Never loop on a ticket: every branch above moves the check into the future.
                    log.error("sla_sweep_stuck", ticket_id=ticket.id, sla_check_at=str(ticket.sla_check_at))
                    ticket.sla_check_at = None
        if len(due) < batch:
            break
    life = await sweep_lifecycle(db, tickets=tickets, now=now, batch=batch)
    result.nudged, result.auto_resolved, result.closed = life.nudged, life.auto_resolved, life.closed
    if result.reminded or result.breached or result.escalated or result.breached_top:
        log.info(
            "sla_sweep",
            reminded=result.reminded,
            breached=result.breached,
            escalated=result.escalated,
            breached_top=result.breached_top,
        )
    return result
