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
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import structlog

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/sla.py` puts bench/ on the path, not the project
    sys.path.insert(0, str(ROOT))

from bench.postgres import drop_database  # noqa: E402
from bench.sla_load import (  # noqa: E402
    DATABASE,
    load_history,
    load_open_desk,
    reset_database,
    urls,
    without_stale_open,
)
from bench.sla_timing import bench_reports, bench_sweep, report_cases  # noqa: E402
from desk.policy import load_policy  # noqa: E402
from desk.sla import SlaClock  # noqa: E402
from desk.tickets import TicketService  # noqa: E402
from storage.db import Database  # noqa: E402


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
        await drop_database(DATABASE)

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
