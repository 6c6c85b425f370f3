"""Managers' reports of the desk as it is now: status, SLA risk, one ticket's timeline.

Data only: the Slack layer formats it. Everything is aggregated in the database (GROUP BY with
conditional counts) so a report costs a few index scans whatever the size of the history.
The figures of a period are desk/stats.py's; the digest's text is desk/digest.py's.

Definitions (the same everywhere):
- open: status open, acknowledged or waiting_customer;
- unanswered: open with no first response yet; at risk when due within `horizon` from now,
  breached when already past due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from desk.policy import PRIORITIES
from desk.serialize import iso, ticket_json
from desk.tickets import OPEN_STATUSES, TicketService
from storage.models import OutboxMessage, Ticket


@dataclass(frozen=True)
class TicketBrief:
    id: int
    priority: str
    category: str
    tier: int
    status: str
    subject: str
    created_at: datetime
    response_due_at: datetime
    first_response_at: datetime | None


@dataclass(frozen=True)
class StatusReport:
    open_total: int
    open_by_priority: dict[str, int]  # every priority, most urgent first (0 when none)
    open_by_tier: dict[int, int]  # tiers that have open tickets, ascending
    at_risk: list[TicketBrief]  # soonest deadline first, at most `limit`
    breached: list[TicketBrief]  # longest overdue first, at most `limit`
    oldest: TicketBrief | None
    dead_letters: int
    # Added: how many there are in all, since the lists above are capped at `limit`.
    at_risk_total: int | None = None
    breached_total: int | None = None


@dataclass(frozen=True)
class SlaReport:
    at_risk: list[TicketBrief]
    breached: list[TicketBrief]
    at_risk_total: int | None = None
    breached_total: int | None = None


# -- shared pieces ---------------------------------------------------------------------------------

_BRIEF_COLUMNS = (
    Ticket.id,
    Ticket.priority,
    Ticket.category,
    Ticket.tier,
    Ticket.status,
    Ticket.subject,
    Ticket.created_at,
    Ticket.response_due_at,
    Ticket.first_response_at,
)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows matching `condition` (portable: FILTER needs SQLite 3.30)."""
    return func.count(case((condition, 1)))


def _is_open() -> ColumnElement[bool]:
    """Open statuses rendered as literals, so the planners can use the partial index of open
    tickets (ix_tickets_open), whose predicate they must match."""
    statuses: BindParameter[list[str]] = bindparam(
        "open_statuses", list(OPEN_STATUSES), expanding=True, literal_execute=True, unique=True
    )
    return Ticket.status.in_(statuses)


def _unanswered() -> ColumnElement[bool]:
    return and_(_is_open(), Ticket.first_response_at.is_(None))


async def _briefs(
    session: AsyncSession, where: ColumnElement[bool], *, order: Sequence[Any], limit: int
) -> list[TicketBrief]:
    query = select(*_BRIEF_COLUMNS).where(where).order_by(*order).limit(limit)
    return [TicketBrief(*row) for row in (await session.execute(query)).all()]


def in_policy_order(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The policy's names in its order, then any others found in the data (renamed since)."""
    names = list(known)
    names += sorted(set(seen) - set(names))
    return names


# -- status and SLA --------------------------------------------------------------------------------


async def _risk(
    session: AsyncSession, *, now: datetime, horizon: timedelta, limit: int
) -> tuple[list[TicketBrief], list[TicketBrief], int, int]:
    """Unanswered open tickets due within `horizon` and past due: lists (capped) and totals."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    until = now + horizon
    due = Ticket.response_due_at
    totals = select(_count_if(due >= now), _count_if(due < now)).where(_unanswered(), due < until)
    at_risk_total, breached_total = (await session.execute(totals)).one()
    order = (due, Ticket.id)
    at_risk = (
        await _briefs(session, and_(_unanswered(), due >= now, due < until), order=order, limit=limit)
        if at_risk_total
        else []
    )
    breached = (
        await _briefs(session, and_(_unanswered(), due < now), order=order, limit=limit)
        if breached_total
        else []
    )
    return at_risk, breached, int(at_risk_total), int(breached_total)


async def sla_report(
    session: AsyncSession, *, now: datetime, horizon: timedelta = timedelta(hours=1), limit: int = 20
) -> SlaReport:
    """Unanswered open tickets at risk (due within `horizon`) and breached, soonest deadline first."""
    at_risk, breached, at_risk_total, breached_total = await _risk(
        session, now=now, horizon=horizon, limit=limit
    )
    return SlaReport(
        at_risk=at_risk, breached=breached, at_risk_total=at_risk_total, breached_total=breached_total
    )


async def status_report(
    session: AsyncSession, *, now: datetime, horizon: timedelta = timedelta(hours=1), limit: int = 10
) -> StatusReport:
    """The desk right now: open tickets by priority and tier, SLA risk, the oldest, dead letters."""
    counts = (
        await session.execute(
            select(Ticket.priority, Ticket.tier, func.count())
            .where(_is_open())
            .group_by(Ticket.priority, Ticket.tier)
        )
    ).all()
    by_priority: dict[str, int] = {}
    by_tier: dict[int, int] = {}
    for priority, tier, count in counts:
        by_priority[priority] = by_priority.get(priority, 0) + count
        by_tier[tier] = by_tier.get(tier, 0) + count
    open_by_priority = {name: by_priority.get(name, 0) for name in in_policy_order(PRIORITIES, by_priority)}
    open_total = sum(by_priority.values())

    at_risk, breached, at_risk_total, breached_total = await _risk(
        session, now=now, horizon=horizon, limit=limit
    )
    oldest_list = (
        await _briefs(session, _is_open(), order=(Ticket.created_at, Ticket.id), limit=1)
        if open_total
        else []
    )
    dead_letters = (
        await session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_not(None))
        )
    ).scalar_one()
    return StatusReport(
        open_total=open_total,
        open_by_priority=open_by_priority,
        open_by_tier=dict(sorted(by_tier.items())),
        at_risk=at_risk,
        breached=breached,
        oldest=oldest_list[0] if oldest_list else None,
        dead_letters=int(dead_letters),
        at_risk_total=at_risk_total,
        breached_total=breached_total,
    )


# -- one ticket ----------------------------------------------------------------------------------------


async def ticket_timeline(
    session: AsyncSession, ticket_id: int, *, now: datetime, tickets: TicketService
) -> dict[str, Any] | None:
    """The ticket's JSON with its audit trail, plus SLA time used so far on its priority's clock."""
    ticket = await tickets.get(session, ticket_id, with_events=True)
    if ticket is None:
        return None
    out = ticket_json(ticket, service=tickets, now=now)
    rule = tickets.policy.sla.priorities.get(ticket.priority)
    clock = rule.clock if rule is not None else "24x7"
    end = ticket.first_response_at or now
    used = tickets.clock.elapsed(ticket.clock_started_at, end, clock=clock)
    out.update(
        clock_started_at=iso(ticket.clock_started_at),
        warn_due_at=iso(ticket.warn_due_at),
        closed_at=iso(ticket.closed_at),
        sla_clock=clock,
        business_time_used_seconds=used.total_seconds(),
        sla_state=tickets.sla_state(ticket, now),
    )
    return out
