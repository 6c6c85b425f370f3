"""Managers' statistics of a period: tickets opened and resolved, SLA met, response and
resolution times, ratings, self-service, reopenings and the agents' work.

Data only: the Slack layer formats it, desk/digest.py writes it as plain text. Everything is
aggregated in the database: the stats read covering indexes (ix_tickets_created_stats,
ix_tickets_resolved_stats) without touching the table. On PostgreSQL medians are
percentile_cont's, from the two middle values the database picks (see `_middles`); SQLite, which
has neither ordered-set aggregates nor time zones, gets the window's rows and a Python median.

Definitions (the same everywhere; open and unanswered as in desk/reports.py):
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

from sqlalchemy import ColumnElement, Float, and_, bindparam, case, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncSession

from desk.policy import Policy
from desk.reports import in_policy_order
from storage.models import Feedback, SelfServiceResolution, Ticket, TicketEvent

MAX_DAYS = 365


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
    # The life of tickets after they open (the definitions above).
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


def _pct(met: int, decided: int) -> float | None:
    return 100.0 * met / decided if decided else None


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
        return in_policy_order(known, seen)

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
