"""SLA sweep and managers' reports on a large PostgreSQL desk.

    .venv/bin/python bench/sla.py [--open 100000] [--total 1000000] [--due 100] [--nudges 50] [--runs 9] [--explain]

Creates (drops and recreates) the database `supportbot_bench` next to SUPPORTBOT_BENCH_PG
(default postgresql+asyncpg://postgres@127.0.0.1:5432/test), migrates it, bulk-loads it with COPY
and times the real functions, printing medians over `--runs` runs (after one warm-up run):

1. the SLA sweep with `--open` open tickets, most not due, with the life after the first
   response in the mix (about a third of the answered tickets run a next-response clock, a
   quarter wait on the customer): nothing due, then `--due` reminders due (half of them on
   next-response clocks) and `--nudges` waiting customers to nudge (restored before every run),
   and the sweep's locking query on its own; `status_report` and `sla_report` on that desk too;
2. `status_report`, `sla_report`, `stats_report` (1, 30 and 365 days) and one ticket's timeline
   with `--total` tickets spread over two years, about 1.5 % of them open (mostly recent, some
   stale), one delivered outbox row per ticket plus a few dead letters, feedback on a quarter of
   the resolved tickets and a self-service resolution stream; then `status_report` again once
   every open ticket older than 30 days is closed (the case where "oldest open ticket" along
   `created_at` would have to walk past the whole closed history without ix_tickets_open).

Deadlines in the generated data are the policy targets on a 24x7 clock (close enough for query
shapes). `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every statement the reports run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from desk.policy import load_policy
from desk.reports import sla_report, status_report, ticket_timeline
from desk.sla import SlaClock
from desk.stats import stats_report
from desk.tickets import TicketService
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Ticket

ADMIN_URL = os.environ.get("SUPPORTBOT_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
DATABASE = "supportbot_bench"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 in Phnom Penh
CHUNK = 50_000

PRIORITIES = [("critical", 0.05, 1), ("high", 0.20, 4), ("medium", 0.45, 24), ("low", 0.30, 48)]
CATEGORIES = [("technical", 0.5), ("billing", 0.2), ("infrastructure", 0.15), ("security", 0.15)]
TICKET_COLUMNS = [
    "id",
    "category",
    "priority",
    "status",
    "tier",
    "channel",
    "customer_id",
    "subject",
    "description",
    "troubleshooting",
    "created_at",
    "clock_started_at",
    "response_due_at",
    "warn_due_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "sla_check_at",
    "reminded_tier",
    "breached_tier",
    "response_round",
    "next_response_due_at",
    "next_warn_at",
    "next_response_at",
    "sla_breaches",
    "paused_at",
    "paused_seconds",
    "clock_paused",
    "nudged_at",
    "lifecycle_check_at",
    "owner",
]
NUDGE_AFTER = timedelta(days=2)  # the shipped policy's lifecycle.nudge_after


def urls() -> tuple[str, str]:
    """(SQLAlchemy URL, asyncpg DSN) of the bench database."""
    url = make_url(ADMIN_URL).set(database=DATABASE)
    sa_url = url.render_as_string(hide_password=False)
    return sa_url, url.set(drivername="postgresql").render_as_string(hide_password=False)


def admin_dsn() -> str:
    return make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)


# -- data ------------------------------------------------------------------------------------------


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.priorities = [p for p, _, _ in PRIORITIES]
        self.priority_weights = [w for _, w, _ in PRIORITIES]
        self.targets = {p: timedelta(hours=h) for p, _, h in PRIORITIES}
        self.categories = [c for c, _ in CATEGORIES]
        self.category_weights = [w for _, w in CATEGORIES]

    def _basics(self, ticket_id: int, created: datetime, customers: int) -> dict[str, Any]:
        rng = self.rng
        priority = rng.choices(self.priorities, self.priority_weights)[0]
        category = rng.choices(self.categories, self.category_weights)[0]
        target = self.targets[priority]
        return {
            "id": ticket_id,
            "category": category,
            "priority": priority,
            "tier": 1,
            "channel": "webchat" if rng.random() < 0.7 else "telegram",
            "customer_id": rng.randint(1, customers),
            "subject": f"{category} issue {ticket_id}",
            "description": "Generated for the benchmark.",
            "troubleshooting": "[]",
            "created_at": created,
            "clock_started_at": created,
            "response_due_at": created + target,
            "warn_due_at": created + target * 0.75,
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
            "sla_check_at": None,
            "reminded_tier": 0,
            "breached_tier": 0,
            "response_round": 0,
            "next_response_due_at": None,
            "next_warn_at": None,
            "next_response_at": None,
            "sla_breaches": 0,
            "paused_at": None,
            "paused_seconds": 0,
            "clock_paused": False,
            "nudged_at": None,
            "lifecycle_check_at": None,
            "owner": f"slack:U{rng.randint(1, 40):03d}" if rng.random() < 0.5 else None,
            "target": target,
        }

    def _answer(self, row: dict[str, Any], now: datetime) -> datetime:
        delay = row["target"] * self.rng.uniform(0.03, 1.4)  # about 70 % within the target
        first = min(row["created_at"] + delay, now - timedelta(seconds=1))
        first = max(first, row["created_at"])
        row["first_response_at"] = first
        return first

    def done(self, ticket_id: int, created: datetime, customers: int, now: datetime) -> dict[str, Any]:
        row = self._basics(ticket_id, created, customers)
        first = self._answer(row, now)
        resolved = min(first + timedelta(hours=self.rng.uniform(0.1, 72)), now - timedelta(seconds=1))
        resolved = max(resolved, first)
        row["resolved_at"] = resolved
        if resolved < now - timedelta(days=7):
            row["status"], row["closed_at"] = "closed", resolved + timedelta(days=7)
        else:
            row["status"] = "resolved"
            row["lifecycle_check_at"] = resolved + timedelta(days=3)  # closes after lifecycle.close_after
        return row

    def open(self, ticket_id: int, created: datetime, customers: int, now: datetime) -> dict[str, Any]:
        rng = self.rng
        row = self._basics(ticket_id, created, customers)
        unanswered = rng.random() < (0.7 if now - created < timedelta(days=3) else 0.15)
        if unanswered:
            row["status"] = "open"
            if row["response_due_at"] <= now:  # breached: the sweep escalated it, maybe twice
                row["tier"] = rng.choices([2, 3], [0.7, 0.3])[0]
                row["reminded_tier"] = row["breached_tier"] = row["tier"] - 1
            if row["warn_due_at"] > now:
                row["sla_check_at"] = row["warn_due_at"]
            elif row["response_due_at"] > now:
                row["sla_check_at"], row["reminded_tier"] = row["response_due_at"], 1
        else:
            first = self._answer(row, now)
            row["status"] = rng.choices(["acknowledged", "waiting_customer", "open"], [0.6, 0.25, 0.15])[0]
            row["tier"] = rng.choices([1, 2, 3], [0.85, 0.12, 0.03])[0]
            if row["status"] == "waiting_customer":
                paused = first + (now - first) * rng.random()
                row["paused_at"], row["lifecycle_check_at"] = paused, paused + NUDGE_AFTER
            elif rng.random() < 0.35:  # the customer wrote again: a next-response clock runs
                said = first + (now - first) * rng.random()
                row["response_round"] = rng.randint(1, 3)
                row["next_response_due_at"] = said + row["target"]
                row["next_warn_at"] = said + row["target"] * 0.75
                if row["next_warn_at"] > now:
                    row["sla_check_at"] = row["next_warn_at"]
                elif row["next_response_due_at"] > now:
                    row["sla_check_at"], row["reminded_tier"] = row["next_response_due_at"], row["tier"]
                else:
                    row["sla_breaches"] = 1
                    row["breached_tier"] = row["reminded_tier"] = row["tier"]
        return row


def records(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in TICKET_COLUMNS) for row in rows]


async def copy(
    conn: asyncpg.Connection, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    count = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            await conn.copy_records_to_table(table, records=chunk, columns=columns)
            count += len(chunk)
            chunk = []
    if chunk:
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        count += len(chunk)
    return count


async def reset_database() -> None:
    admin = await asyncpg.connect(admin_dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, urls()[0])


async def load_customers(conn: asyncpg.Connection, customers: int) -> None:
    await copy(
        conn,
        "customers",
        ["id", "channel", "external_id", "name", "announcements", "created_at"],
        (
            (i, "webchat", f"c{i}", f"Customer {i}", True, NOW - timedelta(days=800))
            for i in range(1, customers + 1)
        ),
    )


async def finish_load(conn: asyncpg.Connection) -> None:
    for table in ("customers", "conversations", "tickets", "outbox", "feedback", "self_service_resolutions"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )
    await conn.execute("VACUUM ANALYZE")


async def load_open_desk(open_count: int, due: int, nudges: int, seed: int) -> tuple[list[int], list[int]]:
    """`open_count` open tickets from the last 10 days; `due` of them have their reminder due now
    (every other one on a next-response clock), the next `nudges` wait on a customer to nudge now."""
    gen = Generator(seed)
    conn = await asyncpg.connect(urls()[1])
    try:
        customers = max(1, open_count // 5)
        await load_customers(conn, customers)
        due_ids: list[int] = []
        nudge_ids: list[int] = []

        def rows() -> Iterator[tuple[Any, ...]]:
            for ticket_id in range(1, open_count + 1):
                created = NOW - timedelta(seconds=gen.rng.uniform(0, 10 * 86400))
                row = gen.open(ticket_id, created, customers, NOW)
                if ticket_id <= due:  # reminder due a moment ago, deadline still ahead
                    row.update(
                        status="open",
                        tier=1,
                        first_response_at=None,
                        warn_due_at=NOW - timedelta(seconds=gen.rng.uniform(1, 240)),
                        response_due_at=NOW + timedelta(minutes=20),
                        reminded_tier=0,
                        breached_tier=0,
                        response_round=0,
                        next_warn_at=None,
                        next_response_due_at=None,
                        paused_at=None,
                        lifecycle_check_at=None,
                    )
                    row["sla_check_at"] = row["warn_due_at"]
                    if ticket_id % 2:  # answered once; the customer's latest message waits
                        row.update(
                            first_response_at=NOW - timedelta(hours=2),
                            status="acknowledged",
                            response_round=1,
                            next_warn_at=row["warn_due_at"],
                            next_response_due_at=row["response_due_at"],
                            warn_due_at=NOW - timedelta(hours=3),
                            response_due_at=NOW - timedelta(hours=2),
                        )
                    due_ids.append(ticket_id)
                elif ticket_id <= due + nudges:  # asked two days ago and never answered
                    paused = NOW - NUDGE_AFTER - timedelta(seconds=gen.rng.uniform(1, 240))
                    row.update(status="waiting_customer", paused_at=paused, nudged_at=None, sla_check_at=None)
                    row["first_response_at"] = row["first_response_at"] or paused
                    row["lifecycle_check_at"] = paused + NUDGE_AFTER
                    nudge_ids.append(ticket_id)
                elif row["sla_check_at"] is not None and row["sla_check_at"] <= NOW:
                    row["sla_check_at"] = NOW + timedelta(seconds=gen.rng.uniform(60, 2 * 86400))
                elif row["first_response_at"] is None and row["sla_check_at"] is None:
                    # Breached at the top tier long ago: off the sweep, as the sweep leaves it.
                    row["tier"], row["breached_tier"], row["reminded_tier"] = 3, 3, 3
                if (
                    row["lifecycle_check_at"] is not None
                    and row["lifecycle_check_at"] <= NOW
                    and ticket_id > due + nudges
                ):
                    row["lifecycle_check_at"] = NOW + timedelta(seconds=gen.rng.uniform(60, 2 * 86400))
                yield tuple(row[c] for c in TICKET_COLUMNS)

        await copy(conn, "tickets", TICKET_COLUMNS, rows())
        await finish_load(conn)
        return due_ids, nudge_ids
    finally:
        await conn.close()


async def load_history(total: int, open_share: float, seed: int) -> dict[str, int]:
    """`total` tickets over two years, `open_share` of them open, with outbox, feedback, self-service."""
    gen = Generator(seed)
    rng = gen.rng
    span = 730 * 86400
    ages = sorted(rng.uniform(0, span) for _ in range(total))  # newest first
    open_target = round(total * open_share)
    recent_target = round(open_target * 0.85)
    stale_p = (open_target - recent_target) / max(1.0, total - recent_target / 0.8)
    customers = max(1, total // 20)
    conn = await asyncpg.connect(urls()[1])
    counts: dict[str, int] = {}
    try:
        await load_customers(conn, customers)
        conversations = 1000
        await copy(
            conn,
            "conversations",
            ["id", "channel", "sender", "state", "created_at", "updated_at"],
            ((i, "webchat", f"s{i}", "{}", NOW, NOW) for i in range(1, conversations + 1)),
        )
        opened = 0
        tickets: list[dict[str, Any]] = []
        for index, age in enumerate(ages):
            ticket_id = total - index  # ids ascend with creation time
            created = NOW - timedelta(seconds=age)
            recent = opened < recent_target
            is_open = rng.random() < 0.8 if recent else rng.random() < stale_p
            if is_open:
                opened += 1
                tickets.append(gen.open(ticket_id, created, customers, NOW))
            else:
                tickets.append(gen.done(ticket_id, created, customers, NOW))
        tickets.reverse()
        counts["tickets"] = await copy(conn, "tickets", TICKET_COLUMNS, iter(records(tickets)))
        counts["open"] = opened

        def outbox() -> Iterator[tuple[Any, ...]]:
            for i, row in enumerate(tickets, start=1):
                sent = row["created_at"] + timedelta(seconds=2)
                delivered = sent if sent < NOW else None
                dead = None
                if i % 25_000 == 0:  # a few dead letters
                    delivered, dead = None, sent
                yield (
                    i,
                    "agent",
                    "#support-tier1",
                    row["id"],
                    "{}",
                    row["created_at"],
                    1,
                    sent,
                    delivered,
                    dead,
                )

        counts["outbox"] = await copy(
            conn,
            "outbox",
            [
                "id",
                "kind",
                "target",
                "ticket_id",
                "payload",
                "created_at",
                "attempts",
                "next_attempt_at",
                "delivered_at",
                "dead_at",
            ],
            outbox(),
        )

        def feedback() -> Iterator[tuple[Any, ...]]:
            n = 0
            for row in tickets:
                if row["resolved_at"] is not None and rng.random() < 0.25:
                    n += 1
                    rating = rng.choices([1, 2, 3, 4, 5], [0.04, 0.06, 0.15, 0.35, 0.4])[0]
                    yield (n, row["id"], rating, row["resolved_at"] + timedelta(minutes=5))

        counts["feedback"] = await copy(
            conn, "feedback", ["id", "ticket_id", "rating", "created_at"], feedback()
        )

        def self_service() -> Iterator[tuple[Any, ...]]:
            for i in range(1, total // 8 + 1):
                at = NOW - timedelta(seconds=rng.uniform(0, span))
                yield (i, rng.randint(1, conversations), "webchat", "technical", "restart", at)

        counts["self_service"] = await copy(
            conn,
            "self_service_resolutions",
            ["id", "conversation_id", "channel", "category", "step", "at"],
            self_service(),
        )
        # A trail for the ticket whose timeline is timed.
        await conn.executemany(
            "INSERT INTO ticket_events (ticket_id, at, kind, actor, data) VALUES ($1, $2, $3, 'bench', '{}')",
            [
                (total, NOW - timedelta(minutes=30 - i), kind)
                for i, kind in enumerate(["created", "escalated"])
            ],
        )
        await finish_load(conn)
        return counts
    finally:
        await conn.close()


# -- timing -------------------------------------------------------------------------------------------


async def timed(
    runs: int, call: Callable[[], Awaitable[Any]], before: Callable[[], Awaitable[Any]] | None = None
) -> list[float]:
    """Milliseconds of `runs` calls after one warm-up call; `before` runs untimed before each."""
    out: list[float] = []
    for i in range(runs + 1):
        if before is not None:
            await before()
        began = time.perf_counter()
        await call()
        if i:
            out.append((time.perf_counter() - began) * 1000)
    return out


class Recorder:
    """Statements a block runs, to EXPLAIN them afterwards."""

    def __init__(self, db: Database) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.active = False
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.active and not statement.startswith("EXPLAIN"):
            self.statements.append((statement, parameters))

    async def explain(self, db: Database, title: str, call: Callable[[], Awaitable[Any]]) -> None:
        self.statements, self.active = [], True
        await call()
        self.active = False
        print(f"\n### {title}\n", file=sys.stderr)
        async with db.engine.connect() as conn:
            for statement, parameters in self.statements:
                plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print(statement, "\n", parameters, file=sys.stderr)
                print("\n".join(row[0] for row in plan), "\n", file=sys.stderr)


async def bench_sweep(
    db: Database, tickets: TicketService, due_ids: list[int], nudge_ids: list[int], runs: int
) -> list[tuple[str, list[float]]]:
    try:  # the real sweep; without it, its locking query alone is measured
        sweep: Callable[..., Awaitable[Any]] | None = importlib.import_module("desk.sweep").sweep
    except ImportError:
        sweep = None
    results: list[tuple[str, list[float]]] = []

    async def restore() -> None:
        async with db.session() as session:
            await session.execute(
                text(
                    "UPDATE tickets SET sla_check_at = CASE WHEN response_round > 0 THEN next_warn_at "
                    "ELSE warn_due_at END, tier = 1, reminded_tier = 0, breached_tier = 0 "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": due_ids},
            )
            await session.execute(
                text(
                    "UPDATE tickets SET status = 'waiting_customer', nudged_at = NULL, "
                    "lifecycle_check_at = paused_at + make_interval(secs => :nudge) WHERE id = ANY(:ids)"
                ),
                {"ids": nudge_ids, "nudge": NUDGE_AFTER.total_seconds()},
            )
            await session.execute(text("DELETE FROM outbox"))
            await session.execute(text("DELETE FROM ticket_events"))

    async def query_only() -> None:
        async with db.session() as session:
            query = (
                select(Ticket)
                .where(Ticket.sla_check_at.is_not(None), Ticket.sla_check_at <= NOW)
                .order_by(Ticket.sla_check_at, Ticket.id)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
            found = list((await session.execute(query)).scalars())
            assert len(found) == len(due_ids), (len(found), len(due_ids))
            await session.rollback()

    results.append(
        (
            f"sweep query alone (FOR UPDATE SKIP LOCKED, {len(due_ids)} due)",
            await timed(runs, query_only, restore),
        )
    )
    if sweep is None:
        return results
    extra: dict[str, Any] = {}
    if "policy" in inspect.signature(sweep).parameters:
        extra["policy"] = tickets.policy

    async def quiet() -> None:
        await sweep(db, tickets=tickets, now=NOW - timedelta(minutes=10), batch=500, **extra)

    async def busy() -> None:
        result = await sweep(db, tickets=tickets, now=NOW, batch=500, **extra)
        assert result.reminded == len(due_ids), result
        assert getattr(result, "nudged", len(nudge_ids)) == len(nudge_ids), result

    results.append(("sweep(), nothing due", await timed(runs, quiet, restore)))
    results.append(
        (
            f"sweep(), {len(due_ids)} reminders due (half next-response), {len(nudge_ids)} nudges",
            await timed(runs, busy, restore),
        )
    )
    await restore()
    return results


def report_cases(
    db: Database, tickets: TicketService, total: int
) -> dict[str, Callable[[], Awaitable[None]]]:
    policy = tickets.policy

    async def status() -> None:
        async with db.reader() as session:
            await status_report(session, now=NOW)

    async def sla() -> None:
        async with db.reader() as session:
            await sla_report(session, now=NOW)

    def stats(days: int) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            async with db.reader() as session:
                await stats_report(session, now=NOW, days=days, policy=policy)

        return call

    async def timeline() -> None:
        async with db.reader() as session:
            assert await ticket_timeline(session, total, now=NOW, tickets=tickets) is not None

    return {
        "status_report": status,
        "sla_report": sla,
        "stats_report(days=1)": stats(1),
        "stats_report(days=30)": stats(30),
        "stats_report(days=365)": stats(365),
        "ticket_timeline": timeline,
    }


async def bench_reports(
    db: Database, cases: dict[str, Callable[[], Awaitable[None]]], runs: int, explain: bool, suffix: str = ""
) -> list[tuple[str, list[float]]]:
    if explain:
        recorder = Recorder(db)
        for name, call in cases.items():
            await recorder.explain(db, name + suffix, call)
    return [(name + suffix, await timed(runs, call)) for name, call in cases.items()]


async def without_stale_open() -> int:
    """Close the open tickets older than 30 days: a tidy desk, where every open ticket is recent."""
    conn = await asyncpg.connect(urls()[1])
    try:
        status = await conn.execute(
            "UPDATE tickets SET status = 'closed', closed_at = $1 "
            "WHERE status IN ('open', 'acknowledged', 'waiting_customer') AND created_at < $2",
            NOW,
            NOW - timedelta(days=30),
        )
        await conn.execute("VACUUM ANALYZE tickets")
    finally:
        await conn.close()
    return int(status.split()[-1])


def table(title: str, rows: list[tuple[str, list[float]]], goals: dict[str, float]) -> None:
    print(f"\n{title}\n")
    print("| measurement | median ms | min ms | max ms | goal |")
    print("|---|---:|---:|---:|---|")
    for name, values in rows:
        goal = goals.get(name)
        verdict = (
            ""
            if goal is None
            else f"< {goal:.0f} ms {'ok' if statistics.median(values) < goal else 'MISSED'}"
        )
        print(
            f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} | {verdict} |"
        )


async def main_async(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    policy = load_policy()
    tickets = TicketService(policy, SlaClock(policy))
    sa_url, _ = urls()

    print(f"loading {args.open:,} open tickets...", file=sys.stderr)
    began = time.perf_counter()
    await reset_database()
    due_ids, nudge_ids = await load_open_desk(args.open, args.due, args.nudges, args.seed)
    print(f"  loaded in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    db = Database(sa_url)
    try:
        sweep_rows = await bench_sweep(db, tickets, due_ids, nudge_ids, args.runs)
        cases = report_cases(db, tickets, args.open)
        sweep_rows += await bench_reports(
            db,
            {name: cases[name] for name in ("status_report", "sla_report")},
            args.runs,
            args.explain,
            f", {args.open:,} open",
        )
    finally:
        await db.dispose()

    print(f"loading {args.total:,} tickets over two years...", file=sys.stderr)
    began = time.perf_counter()
    await reset_database()
    counts = await load_history(args.total, args.open_share, args.seed)
    print(f"  loaded in {time.perf_counter() - began:.1f}s: {counts}", file=sys.stderr)
    db = Database(sa_url)
    try:
        cases = report_cases(db, tickets, args.total)
        report_rows = await bench_reports(db, cases, args.runs, args.explain)
        tidied = await without_stale_open()
        print(f"closed {tidied:,} open tickets older than 30 days", file=sys.stderr)
        report_rows += await bench_reports(
            db,
            {"status_report": cases["status_report"]},
            args.runs,
            args.explain,
            ", no open ticket older than 30 days",
        )
    finally:
        await db.dispose()

    conn = await asyncpg.connect(urls()[1])
    try:
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    if not args.keep:
        admin = await asyncpg.connect(admin_dsn())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        finally:
            await admin.close()

    print(f"\nPostgreSQL {version}, {os.cpu_count()} cores; medians of {args.runs} runs after a warm-up")
    table(
        f"SLA sweep, {args.open:,} open tickets ({len(due_ids)} with a reminder due)",
        sweep_rows,
        {name: 50 for name, _ in sweep_rows if "sweep" in name},
    )
    table(
        f"Reports, {counts['tickets']:,} tickets over two years ({counts['open']:,} open), "
        f"{counts['outbox']:,} outbox rows, {counts['feedback']:,} ratings, {counts['self_service']:,} self-service",
        report_rows,
        {
            name: 200
            for name, _ in report_rows
            if name.startswith("status_report") or name == "stats_report(days=30)"
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=100_000, help="open tickets for the sweep")
    parser.add_argument("--due", type=int, default=100, help="of which with a reminder due")
    parser.add_argument("--nudges", type=int, default=50, help="and waiting customers to nudge")
    parser.add_argument("--total", type=int, default=1_000_000, help="tickets for the reports")
    parser.add_argument("--open-share", type=float, default=0.015, help="share of --total still open")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print query plans to stderr")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not 0 <= args.due <= min(args.open, 500):
        parser.error("--due must be between 0 and min(--open, 500), one sweep batch")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
