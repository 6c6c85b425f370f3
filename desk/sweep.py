"""The SLA sweep: reminders at `warn_at`, breach notices and automatic escalation at the deadline.

The sweep looks only at tickets whose `sla_check_at` has come (the reminder time, then the
deadline), soonest first, in batches. On PostgreSQL each batch is locked with
`FOR UPDATE SKIP LOCKED`, so several replicas share the work and never handle a ticket twice; the
ticket's bookkeeping (`reminded_tier`, `breached_tier`, `sla_check_at`) changes in the same
transaction as the notices it causes. Every notice also carries a `dedupe_key` inserted with
`ON CONFLICT DO NOTHING`, a second guard that can never abort the rest of the batch.

After downtime one sweep catches up: a ticket already past its deadline gets its breach notice
and escalation, not a stale reminder (the audit event says the reminder was skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.constants import OutboxEvent
from desk.tickets import OPEN_STATUSES, TicketService
from storage.db import Database
from storage.models import Ticket, TicketEvent

log = structlog.get_logger(__name__)

ACTOR = "sla"
MENTION = "<!here>"  # Slack's mention of the people active in the tier channel


@dataclass
class SweepResult:
    """What one sweep did (reminders sent, automatic escalations, top-tier alerts)."""

    reminded: int = 0
    escalated: int = 0
    breached_top: int = 0
    breached: int = 0  # breach notices at any tier (escalated + breached_top)
    cleared: int = 0  # tickets taken off the sweep because they were answered or closed

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


def _reminder_row(ticket: Ticket, tickets: TicketService, now: datetime) -> dict[str, Any]:
    tier = tickets.policy.escalation.tiers[ticket.tier]
    due = ticket.response_due_at.isoformat()
    return {
        "kind": outbox.AGENT,
        "target": tier.slack_channel,
        "payload": {
            "event": OutboxEvent.SLA_REMINDER,
            "ticket_id": ticket.id,
            "tier": ticket.tier,
            "priority": ticket.priority,
            "response_due_at": due,
            "mention": MENTION,
            "channel": tier.slack_channel,
            "thread": True,
            "text": (
                f"{MENTION} Reminder: ticket #{ticket.id} ({ticket.priority}) has no first response yet; "
                f"the response is due by {due}."
            ),
        },
        "ticket_id": ticket.id,
        "dedupe_key": f"sla:reminder:{ticket.id}:{ticket.tier}",
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
            )
        ticket.reminded_tier = ticket.tier
        ticket.sla_check_at = ticket.response_due_at
    return len(sent)


async def _breach(
    session: AsyncSession, ticket: Ticket, tickets: TicketService, now: datetime, result: SweepResult
) -> None:
    policy = tickets.policy
    tier = ticket.tier
    channel = policy.escalation.tiers[tier].slack_channel
    due = ticket.response_due_at.isoformat()
    # After downtime the reminder time may have passed unseen: a reminder now would be stale.
    skipped_reminder = ticket.reminded_tier < tier
    top = tier >= policy.max_tier
    sent = await _notice(
        session,
        ticket,
        event=OutboxEvent.SLA_BREACH,
        target=channel,
        dedupe_key=f"sla:breach:{ticket.id}:{tier}",
        now=now,
        tier=tier,
        priority=ticket.priority,
        response_due_at=due,
        mention=MENTION,
        thread=True,
        escalating_to=None if top else tier + 1,
        text=(
            f"{MENTION} SLA breached: ticket #{ticket.id} ({ticket.priority}) got no first response "
            f"by {due}." + (" It goes to the managers." if top else f" Escalating it to tier {tier + 1}.")
        ),
    )
    ticket.breached_tier = tier
    if skipped_reminder:
        ticket.reminded_tier = tier
    if sent:
        result.breached += 1
        _audit(
            session,
            ticket,
            "sla_breached",
            now,
            tier=tier,
            response_due_at=due,
            reminder_skipped=skipped_reminder,
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
        dedupe_key=f"sla:top:{ticket.id}",
        now=now,
        tier=tier,
        priority=ticket.priority,
        response_due_at=due,
        text=(
            f"Ticket #{ticket.id} ({ticket.priority}) missed its response deadline at the top tier "
            f"({policy.escalation.tiers[tier].name}) and still has no first response."
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
    if ticket.first_response_at is not None or ticket.status not in OPEN_STATUSES:
        ticket.sla_check_at = None
        result.cleared += 1
        return
    if now < ticket.response_due_at:
        if ticket.reminded_tier >= ticket.tier:
            ticket.sla_check_at = ticket.response_due_at
        elif now < ticket.warn_due_at:
            ticket.sla_check_at = ticket.warn_due_at  # looked too early (moved by hand)
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
    if result.reminded or result.breached or result.escalated or result.breached_top:
        log.info(
            "sla_sweep",
            reminded=result.reminded,
            breached=result.breached,
            escalated=result.escalated,
            breached_top=result.breached_top,
        )
    return result
