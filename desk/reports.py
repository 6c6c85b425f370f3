"""Managers' reports: desk status, SLA risk, statistics, one ticket's timeline, the daily digest.

Data only: the Slack layer formats it. Everything is aggregated in the database (GROUP BY with
conditional counts) so a report costs a few index scans whatever the size of the history; the
stats read covering indexes (ix_tickets_created_stats, ix_tickets_resolved_stats) without touching
the table. On PostgreSQL medians are percentile_cont's, from the two middle values the database
picks (see `_middles`); SQLite, which has neither ordered-set aggregates nor time zones, gets the
window's rows and a Python median.

Definitions (the same everywhere):
- open: status open, acknowledged or waiting_customer;
- unanswered: open with no first response yet; at risk when due within `horizon` from now,
  breached when already past due;
- SLA met %: of the tickets opened in the window whose SLA is decided (answered, or deadline
  passed), the share answered by the deadline; tickets still running are left out;
- first response time: real (wall-clock) seconds from creation to the first response;
- self-service rate: of the problems that ended in the window, the share solved without a ticket
  (a troubleshooting step or a knowledge article) rather than opened as one;
- reopen rate: tickets reopened in the window, against tickets resolved in it (by their
  `resolved` events, so a resolution reopened since still counts as one);
- resolution time: real seconds from creation to resolution, of the tickets resolved in the
  window (median, by category and by priority);
- per agent: acknowledgements, replies to customers and resolutions done in the window by people
  (actors `origin:who`; customers and the SLA sweep left out);
- the stats window runs from local midnight (policy timezone) `days - 1` days ago until `now`, so
  `days=1` is today so far and `daily_sla_met` has exactly `days` entries, one per local day.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from desk.policy import PRIORITIES, Policy
from desk.serialize import iso, ticket_json
from desk.tickets import OPEN_STATUSES, TicketService
from storage.models import Feedback, OutboxMessage, SelfServiceResolution, Ticket, TicketEvent

MAX_DAYS = 365


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


@dataclass(frozen=True)
class Breakdown:
    opened: int
    resolved: int
    sla_met_pct: float | None
    median_first_response_seconds: float | None


@dataclass(frozen=True)
class StatsReport:
    days: int
    since: datetime  # local midnight, in the policy timezone
    opened: int
    resolved: int
    self_service_solved: int
    median_first_response_seconds: float | None
    sla_met_pct: float | None
    csat_average: float | None
    csat_count: int
    by_category: dict[str, Breakdown]
    by_priority: dict[str, Breakdown]
    daily_sla_met: list[tuple[date, float | None]]
    # The life of tickets after they open (desk/reports.py definitions above).
    self_service_rate_pct: float | None = None
    top_articles: list[tuple[str, int]] = field(default_factory=list)  # slug, times it solved a problem
    reopened: int = 0
    reopen_rate_pct: float | None = None
    resolution_median_by_category: dict[str, float | None] = field(default_factory=dict)
    resolution_median_by_priority: dict[str, float | None] = field(default_factory=dict)
    agents: list[AgentCounts] = field(default_factory=list)
    # Next-response compliance and time waiting on the customer need the lifecycle's own records
    # (next-response clocks, waiting periods) on the tickets; None until those fields exist.
    next_response_met_pct: float | None = None
    waiting_customer_seconds: float | None = None


@dataclass(frozen=True)
class AgentCounts:
    actor: str  # as on the audit trail: `slack:U123`, `api:dara`
    acknowledged: int
    replies: int
    resolved: int


TOP_ARTICLES = 5
AGENT_KINDS = ("acknowledged", "agent_reply", "resolved")


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


def _pct(met: int, decided: int) -> float | None:
    return 100.0 * met / decided if decided else None


def _ordered(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The policy's names in its order, then any others found in the data (renamed since)."""
    names = list(known)
    names += sorted(set(seen) - set(names))
    return names


# percentile_cont over seconds made the database convert every row's interval to a number first
# (EXTRACT returns numeric, turned into float8 through text), which cost more than the scans. The
# two middle intervals are picked instead (ordered as intervals: the same order, since a difference
# of timestamps has no months) and interpolated here exactly as percentile_cont does it:
# `lower + (upper - lower) * 0.5`, where for an odd count both are the middle value.
# percentile_disc(p) takes the row at ceil(p * n): n/2 and n/2 + 1 for an even n, the middle twice
# for an odd one (the 1e-12 moves ceil past n/2 without reaching n/2 + 1 for any n below 5e11).
_MIDDLES = [0.5, 0.5 + 1e-12]


def _middles(interval: ColumnElement[Any]) -> ColumnElement[Any]:
    fractions = bindparam("middles", _MIDDLES, type_=ARRAY(Float), unique=True)
    return func.percentile_disc(fractions).within_group(interval)


def _median_of(middles: Sequence[timedelta | None] | None) -> float | None:
    """percentile_cont's median from the two middle intervals (None when there were no values)."""
    lower, upper = middles or (None, None)
    if lower is None or upper is None:
        return None
    # Whole microseconds divided once: the same rounding as numeric to float8.
    low, high = lower / timedelta(seconds=1), upper / timedelta(seconds=1)
    return low + (high - low) * 0.5


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
    open_by_priority = {name: by_priority.get(name, 0) for name in _ordered(PRIORITIES, by_priority)}
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


# -- statistics --------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Opened-ticket figures of one category, priority, day, or of all."""

    opened: int = 0
    decided: int = 0
    met: int = 0
    median: float | None = None


_ALL = ("all", None)


def _local_midnights(since: datetime, days: int, tz: tzinfo) -> list[datetime]:
    """The UTC instants at which each of the window's local days begins, first day included."""
    first_day = since.astimezone(tz).date()
    return [
        datetime.combine(first_day + timedelta(days=offset), time(0), tzinfo=tz).astimezone(UTC)
        for offset in range(days)
    ]


async def _cohort_postgres(
    session: AsyncSession, *, since: datetime, now: datetime, policy: Policy, days: int
) -> dict[tuple[str, Any], _Group]:
    """Two index-only passes over the window's tickets (ix_tickets_created_stats): the counts per
    category, priority and local day (a hash aggregate, rolled up here), then the medians of the
    answered ones per category, priority and all (GROUPING SETS; medians need sorting, so the
    30-odd days are left out of it: no report shows a day's median). The local day is found with
    width_bucket against the window's local midnights: converting every row with timezone() cost
    more than the rest of the query."""
    midnights = _local_midnights(since, days, policy.tz)
    first_day = midnights[0].astimezone(policy.tz).date()
    thresholds = bindparam("midnights", midnights, type_=ARRAY(TIMESTAMP(timezone=True)))
    in_window = and_(Ticket.created_at >= since, Ticket.created_at <= now)
    decided = or_(Ticket.first_response_at.is_not(None), Ticket.response_due_at <= now)
    met = Ticket.first_response_at <= Ticket.response_due_at
    day = func.width_bucket(Ticket.created_at, thresholds)
    counts = (
        select(
            Ticket.category,
            Ticket.priority,
            day,
            func.count(),
            func.count().filter(decided),
            func.count().filter(met),
        )
        .where(in_window)
        .group_by(Ticket.category, Ticket.priority, day)
    )
    groups: dict[tuple[str, Any], _Group] = {}
    for category, priority, bucket, opened, n_decided, n_met in await session.execute(counts):
        # width_bucket counts the midnights at or before the ticket's creation: 1 on the first day.
        local_day = first_day + timedelta(days=int(bucket) - 1)
        for key in (("category", category), ("priority", priority), ("day", local_day), _ALL):
            group = groups.setdefault(key, _Group())
            group.opened += int(opened)
            group.decided += int(n_decided)
            group.met += int(n_met)
    medians = (
        select(
            func.grouping(Ticket.category, Ticket.priority),
            Ticket.category,
            Ticket.priority,
            _middles(Ticket.first_response_at - Ticket.created_at),
        )
        .where(in_window, Ticket.first_response_at.is_not(None))
        .group_by(func.grouping_sets(tuple_(Ticket.category), tuple_(Ticket.priority), tuple_()))
    )
    # grouping() bits, left to right: category, priority (1 = rolled up).
    for bits, category, priority, middles in await session.execute(medians):
        key = {0b01: ("category", category), 0b10: ("priority", priority), 0b11: _ALL}[bits]
        groups.setdefault(key, _Group()).median = _median_of(middles)
    return groups


async def _cohort_python(
    session: AsyncSession, *, since: datetime, now: datetime, policy: Policy, days: int
) -> dict[tuple[str, Any], _Group]:
    """The same figures from the window's rows, for SQLite (no percentile_cont, no time zones)."""
    query = select(
        Ticket.category, Ticket.priority, Ticket.created_at, Ticket.response_due_at, Ticket.first_response_at
    ).where(Ticket.created_at >= since, Ticket.created_at <= now)
    tz = policy.tz
    groups: dict[tuple[str, Any], _Group] = {}
    waits: dict[tuple[str, Any], list[float]] = {}
    for category, priority, created, due, first in await session.execute(query):
        keys = (("category", category), ("priority", priority), ("day", created.astimezone(tz).date()), _ALL)
        for key in keys:
            group = groups.setdefault(key, _Group())
            group.opened += 1
            if first is not None or due <= now:
                group.decided += 1
            if first is not None:
                if first <= due:
                    group.met += 1
                waits.setdefault(key, []).append((first - created).total_seconds())
    for key, values in waits.items():
        groups[key].median = statistics.median(values)
    return groups


async def stats_report(session: AsyncSession, *, now: datetime, days: int, policy: Policy) -> StatsReport:
    """Figures of the last `days` local days (today included, up to `now`)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS}, got {days!r}")
    tz = policy.tz
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(0), tzinfo=tz)
    since_utc = since.astimezone(UTC)

    cohort = _cohort_postgres if session.get_bind().dialect.name == "postgresql" else _cohort_python
    groups = await cohort(session, since=since_utc, now=now, policy=policy, days=days)

    resolved_by, resolution = await _resolved_figures(session, since=since_utc, now=now)
    resolved = sum(count for (kind, _), count in resolved_by.items() if kind == "category")

    # Ratings and self-service in one round trip: two small index scans.
    self_service_count = (
        select(func.count())
        .select_from(SelfServiceResolution)
        .where(SelfServiceResolution.at >= since_utc, SelfServiceResolution.at <= now)
        .scalar_subquery()
    )
    csat_count, csat_average, self_service = (
        await session.execute(
            select(func.count(Feedback.rating), func.avg(Feedback.rating), self_service_count).where(
                Feedback.created_at >= since_utc, Feedback.created_at <= now
            )
        )
    ).one()

    life = await _life_figures(session, since=since_utc, now=now, resolution=resolution)

    def breakdown(kind: str, name: str) -> Breakdown:
        group = groups.get((kind, name), _Group())
        return Breakdown(
            opened=group.opened,
            resolved=resolved_by.get((kind, name), 0),
            sla_met_pct=_pct(group.met, group.decided),
            median_first_response_seconds=group.median,
        )

    def names(kind: str, known: Iterable[str]) -> list[str]:
        seen = [key for k, key in list(groups) + list(resolved_by) if k == kind]
        return _ordered(known, seen)

    total = groups.get(_ALL, _Group())
    daily = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        group = groups.get(("day", day), _Group())
        daily.append((day, _pct(group.met, group.decided)))
    return StatsReport(
        days=days,
        since=since,
        opened=total.opened,
        resolved=resolved,
        self_service_solved=int(self_service),
        median_first_response_seconds=total.median,
        sla_met_pct=_pct(total.met, total.decided),
        csat_average=float(csat_average) if csat_average is not None else None,
        csat_count=int(csat_count),
        by_category={n: breakdown("category", n) for n in names("category", policy.categories)},
        by_priority={n: breakdown("priority", n) for n in names("priority", policy.sla.priorities)},
        daily_sla_met=daily,
        self_service_rate_pct=_pct(int(self_service), int(self_service) + total.opened),
        top_articles=life.top_articles,
        reopened=life.reopened,
        reopen_rate_pct=_pct(life.reopened, life.resolutions),
        resolution_median_by_category={
            n: life.resolution.get(("category", n)) for n in names("category", policy.categories)
        },
        resolution_median_by_priority={
            n: life.resolution.get(("priority", n)) for n in names("priority", policy.sla.priorities)
        },
        agents=life.agents,
    )


@dataclass(frozen=True)
class _Life:
    top_articles: list[tuple[str, int]]
    reopened: int
    resolutions: int  # tickets with a `resolved` event in the window
    resolution: dict[tuple[str, str], float | None]
    agents: list[AgentCounts]


async def _life_figures(
    session: AsyncSession,
    *,
    since: datetime,
    now: datetime,
    resolution: dict[tuple[str, str], float | None],
) -> _Life:
    """Articles that solved problems, reopenings, resolution times and agents' work in the window."""
    solved_by = func.count().label("solved")
    articles = (
        await session.execute(
            select(SelfServiceResolution.article, solved_by)
            .where(
                SelfServiceResolution.at >= since,
                SelfServiceResolution.at <= now,
                SelfServiceResolution.article.is_not(None),
            )
            .group_by(SelfServiceResolution.article)
            .order_by(solved_by.desc(), SelfServiceResolution.article)
            .limit(TOP_ARTICLES)
        )
    ).all()
    in_window = and_(TicketEvent.at >= since, TicketEvent.at <= now)
    reopened, resolutions = (
        await session.execute(
            select(
                func.count(func.distinct(case((TicketEvent.kind == "reopened", TicketEvent.ticket_id)))),
                func.count(func.distinct(case((TicketEvent.kind == "resolved", TicketEvent.ticket_id)))),
            ).where(TicketEvent.kind.in_(("reopened", "resolved")), in_window)
        )
    ).one()
    # People act as `origin:who` (`slack:U123`, `api:dara`); the sweep is `sla`, customers `customer:ID`.
    people = and_(TicketEvent.actor.like("%:%"), ~TicketEvent.actor.like("customer:%"))
    rows = await session.execute(
        select(TicketEvent.actor, TicketEvent.kind, func.count())
        .where(TicketEvent.kind.in_(AGENT_KINDS), in_window, people)
        .group_by(TicketEvent.actor, TicketEvent.kind)
    )
    per_agent: dict[str, dict[str, int]] = {}
    for actor, kind, count in rows:
        per_agent.setdefault(str(actor), {})[str(kind)] = int(count)
    agents = [
        AgentCounts(actor, c.get("acknowledged", 0), c.get("agent_reply", 0), c.get("resolved", 0))
        for actor, c in per_agent.items()
    ]
    agents.sort(key=lambda a: (-(a.acknowledged + a.replies + a.resolved), a.actor))
    return _Life(
        top_articles=[(str(slug), int(n)) for slug, n in articles],
        reopened=int(reopened),
        resolutions=int(resolutions),
        resolution=resolution,
        agents=agents,
    )


async def _resolved_figures(
    session: AsyncSession, *, since: datetime, now: datetime
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], float | None]]:
    """Of the tickets resolved in the window, by category and by priority: how many, and the
    median seconds from creation to resolution. One index-only scan of ix_tickets_resolved_stats."""
    window = and_(Ticket.resolved_at >= since, Ticket.resolved_at <= now)
    counts: dict[tuple[str, str], int] = {}
    medians: dict[tuple[str, str], float | None] = {}
    if session.get_bind().dialect.name == "postgresql":
        query = (
            select(
                func.grouping(Ticket.category),
                Ticket.category,
                Ticket.priority,
                func.count(),
                _middles(Ticket.resolved_at - Ticket.created_at),
            )
            .where(window)
            .group_by(func.grouping_sets(tuple_(Ticket.category), tuple_(Ticket.priority)))
        )
        for by_priority, category, priority, count, middles in await session.execute(query):
            key = ("priority", str(priority)) if by_priority else ("category", str(category))
            counts[key] = int(count)
            medians[key] = _median_of(middles)
        return counts, medians
    waits: dict[tuple[str, str], list[float]] = {}
    rows = select(Ticket.category, Ticket.priority, Ticket.created_at, Ticket.resolved_at).where(window)
    for category, priority, created, done in await session.execute(rows):
        if done is None:  # never: the window filters on it; says so to the type checker
            continue
        seconds_taken = (done - created).total_seconds()
        for key in (("category", category), ("priority", priority)):
            counts[key] = counts.get(key, 0) + 1
            waits.setdefault(key, []).append(seconds_taken)
    return counts, {key: statistics.median(values) for key, values in waits.items()}


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


# -- digest -------------------------------------------------------------------------------------------


def span(seconds: float | None) -> str:
    """A duration as people read it in a report: `45m`, `3h 05m`, `2d 4h`."""
    if seconds is None:
        return "n/a"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    return f"{hours // 24}d {hours % 24}h"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def digest_text(status: StatusReport, stats: StatsReport, *, policy: Policy) -> str:
    """A short plain-text summary for the managers' channel (one fact per line)."""
    tz = policy.tz
    since = stats.since.astimezone(tz)
    period = "today" if stats.days == 1 else f"last {stats.days} days, since {since:%a %d %b}"
    breached = status.breached_total if status.breached_total is not None else len(status.breached)
    at_risk = status.at_risk_total if status.at_risk_total is not None else len(status.at_risk)
    priorities = ", ".join(f"{count} {name}" for name, count in status.open_by_priority.items() if count)
    tiers = ", ".join(f"tier {tier}: {count}" for tier, count in status.open_by_tier.items())
    lines = [f"{policy.company} support digest ({period})"]
    open_line = f"Open tickets: {status.open_total}"
    if status.open_total:
        open_line += f" ({priorities}; {tiers})"
    lines.append(open_line)
    lines.append(f"SLA now: {breached} breached, {at_risk} at risk within the hour")
    for brief in status.breached[:3]:
        lines.append(
            f"  breached #{brief.id} {brief.priority}, due {brief.response_due_at.astimezone(tz):%a %d %b %H:%M}: "
            f"{brief.subject[:60]}"
        )
    if status.oldest is not None:
        oldest = status.oldest
        lines.append(
            f"Oldest open: #{oldest.id} ({oldest.priority}, {oldest.status}) "
            f"since {oldest.created_at.astimezone(tz):%a %d %b %H:%M}"
        )
    lines.append(
        f"Opened {stats.opened}, resolved {stats.resolved}, solved by self-service {stats.self_service_solved}"
    )
    lines.append(
        f"First response median {span(stats.median_first_response_seconds)}, "
        f"SLA met {percent(stats.sla_met_pct)}"
    )
    high = policy.feedback.scale[1]
    if stats.csat_count:
        assert stats.csat_average is not None
        lines.append(f"CSAT {stats.csat_average:.2f} of {high} from {stats.csat_count} ratings")
    else:
        lines.append("CSAT: no ratings")
    if status.dead_letters:
        lines.append(f"Undelivered notifications (dead letters): {status.dead_letters}")
    return "\n".join(lines)


def life_text(stats: StatsReport) -> list[str]:
    """The life of tickets in plain text: self-service, reopenings, resolution times, agents."""
    lines = [
        f"Self-service {percent(stats.self_service_rate_pct)} ({stats.self_service_solved} solved without a ticket)"
    ]
    if stats.top_articles:
        lines.append("Top articles: " + ", ".join(f"{slug} {n}" for slug, n in stats.top_articles))
    lines.append(f"Reopened {stats.reopened} ({percent(stats.reopen_rate_pct)} of resolutions)")
    lines.append(
        "Resolution time by category: "
        + ", ".join(f"{n} {span(s)}" for n, s in stats.resolution_median_by_category.items())
    )
    lines.append(
        "Resolution time by priority: "
        + ", ".join(f"{n} {span(s)}" for n, s in stats.resolution_median_by_priority.items())
    )
    if stats.next_response_met_pct is not None:
        lines.append(f"Next responses on time {percent(stats.next_response_met_pct)}")
    if stats.waiting_customer_seconds is not None:
        lines.append(f"Time waiting on customers {span(stats.waiting_customer_seconds)}")
    for agent in stats.agents[:10]:
        lines.append(
            f"  {agent.actor}: {agent.acknowledged} acknowledged, {agent.replies} replies, {agent.resolved} resolved"
        )
    return lines


def weekly_text(status: StatusReport, stats: StatsReport, *, policy: Policy) -> str:
    """The managers' weekly report: the digest's figures over seven days, and the life of tickets."""
    digest = digest_text(status, stats, policy=policy).splitlines()
    since = stats.since.astimezone(policy.tz)
    head = f"{policy.company} weekly support report (7 days from {since:%a %d %b})"
    return "\n".join([head, *digest[1:], *life_text(stats)])
