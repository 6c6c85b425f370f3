"""What bench/sla.py times: the SLA sweep (and its locking query alone) on the open desk, and the
managers' reports; each call's milliseconds over several runs after a warm-up, with EXPLAIN of
the statements on request."""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, text

from bench.sla_tickets import NOW, NUDGE_AFTER
from desk.reports import sla_report, status_report, ticket_timeline
from desk.stats import stats_report
from desk.tickets import TicketService
from storage.db import Database
from storage.models import Ticket


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
