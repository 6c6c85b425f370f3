"""Managers' reports on both databases: status, SLA risk, timeline, digest; the PNG chart."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.services import Services
from desk.chart import BAR, sla_chart_png
from desk.digest import digest_text
from desk.reports import StatusReport, TicketBrief, sla_report, status_report, ticket_timeline
from desk.stats import Breakdown, StatsReport, stats_report
from desk.tickets import OPEN_STATUSES
from storage.models import Base, OutboxMessage
from tests.desk.scripted_desk import NOW, Desk, pp
from tests.helpers import FrozenClock

# -- status and SLA -------------------------------------------------------------------------------


async def status_desk(services: Services, clock: FrozenClock) -> dict[str, int]:
    desk = Desk(services, clock)
    t: dict[str, int] = {}
    t["G"] = await desk.open(pp(2026, 11, 20, 9, 0), "medium", "infrastructure")  # the oldest open
    await desk.do("acknowledge", t["G"], pp(2026, 11, 20, 9, 30))
    await desk.do("escalate", t["G"], pp(2026, 11, 20, 10, 0))
    t["H"] = await desk.open(pp(2026, 11, 19, 9, 0), "high")  # resolved: not open
    await desk.do("resolve", t["H"], pp(2026, 11, 19, 10, 0))
    t["F"] = await desk.open(pp(2026, 11, 26, 9, 0), "low", "billing")
    await desk.do("acknowledge", t["F"], pp(2026, 11, 26, 10, 0))
    t["D"] = await desk.open(pp(2026, 11, 30, 7, 0), "critical")  # due 08:00: breached
    t["C"] = await desk.open(pp(2026, 11, 30, 8, 0), "critical", "security")  # due 09:00: breached
    t["E"] = await desk.open(pp(2026, 11, 30, 8, 0), "high")  # due 12:00: running
    t["I"] = await desk.open(pp(2026, 11, 30, 9, 20), "critical")
    await desk.do("escalate", t["I"], pp(2026, 11, 30, 9, 40))  # unanswered: due again 10:40
    t["A"] = await desk.open(pp(2026, 11, 30, 9, 30), "critical")  # due 10:30: at risk
    t["B"] = await desk.open(pp(2026, 11, 30, 9, 50), "critical", "billing")  # due 10:50: at risk
    dead = OutboxMessage(kind="agent", target="#support-tier1", payload={}, created_at=NOW, dead_at=NOW)
    delivered_then_dead = OutboxMessage(
        kind="agent", target="#support-tier1", payload={}, created_at=NOW, dead_at=NOW, delivered_at=NOW
    )
    await desk.add(dead, delivered_then_dead)
    clock.set(NOW)
    return t


def ids(briefs: list[TicketBrief]) -> list[int]:
    return [b.id for b in briefs]


async def test_status_report(services: Services, clock: FrozenClock) -> None:
    t = await status_desk(services, clock)
    async with services.db.reader() as session:
        report = await status_report(session, now=NOW)
        capped = await status_report(session, now=NOW, limit=2)
    assert report.open_total == 8
    assert report.open_by_priority == {"critical": 5, "high": 1, "medium": 1, "low": 1}
    assert list(report.open_by_priority) == ["critical", "high", "medium", "low"]
    assert report.open_by_tier == {1: 6, 2: 2}
    assert ids(report.at_risk) == [t["A"], t["I"], t["B"]]
    assert ids(report.breached) == [t["D"], t["C"]]
    assert (report.at_risk_total, report.breached_total) == (3, 2)
    assert report.dead_letters == 1
    oldest = report.oldest
    assert oldest is not None
    assert (oldest.id, oldest.priority, oldest.category, oldest.tier, oldest.status) == (
        t["G"],
        "medium",
        "infrastructure",
        2,
        "acknowledged",
    )
    assert oldest.created_at == pp(2026, 11, 20, 9, 0)
    assert oldest.first_response_at == pp(2026, 11, 20, 9, 30)
    escalated = report.at_risk[1]
    assert escalated.response_due_at == pp(2026, 11, 30, 10, 40)
    assert escalated.tier == 2
    assert escalated.first_response_at is None
    assert ids(capped.at_risk) == [t["A"], t["I"]]
    assert ids(capped.breached) == [t["D"], t["C"]]
    assert (capped.at_risk_total, capped.breached_total) == (3, 2)


async def test_sla_report_horizon_and_answers(services: Services, clock: FrozenClock) -> None:
    t = await status_desk(services, clock)
    async with services.db.reader() as session:
        report = await sla_report(session, now=NOW)
        wider = await sla_report(session, now=NOW, horizon=timedelta(hours=3))
        later = await sla_report(session, now=pp(2026, 11, 30, 10, 45))
    assert ids(report.at_risk) == [t["A"], t["I"], t["B"]]
    assert ids(report.breached) == [t["D"], t["C"]]
    assert ids(wider.at_risk) == [t["A"], t["I"], t["B"], t["E"]]  # E is due at 12:00
    assert ids(later.breached) == [t["D"], t["C"], t["A"], t["I"]]
    assert ids(later.at_risk) == [t["B"]]
    # An answer takes a ticket off both lists, whatever its deadline.
    desk = Desk(services, clock)
    await desk.do("acknowledge", t["A"], pp(2026, 11, 30, 10, 5))
    await desk.do("resolve", t["D"], pp(2026, 11, 30, 10, 5))
    async with services.db.reader() as session:
        after = await sla_report(session, now=NOW)
        status = await status_report(session, now=NOW)
    assert ids(after.at_risk) == [t["I"], t["B"]]
    assert ids(after.breached) == [t["C"]]
    assert status.open_total == 7


async def test_empty_desk(services: Services) -> None:
    async with services.db.reader() as session:
        status = await status_report(session, now=NOW)
        stats = await stats_report(session, now=NOW, days=3, policy=services.policy)
    assert status == StatusReport(
        open_total=0,
        open_by_priority={"critical": 0, "high": 0, "medium": 0, "low": 0},
        open_by_tier={},
        at_risk=[],
        breached=[],
        oldest=None,
        dead_letters=0,
        at_risk_total=0,
        breached_total=0,
    )
    empty = Breakdown(opened=0, resolved=0, sla_met_pct=None, median_first_response_seconds=None)
    assert stats.opened == stats.resolved == stats.csat_count == stats.self_service_solved == 0
    assert stats.sla_met_pct is stats.median_first_response_seconds is stats.csat_average is None
    assert stats.by_category == dict.fromkeys(["technical", "billing", "infrastructure", "security"], empty)
    assert stats.by_priority == dict.fromkeys(["critical", "high", "medium", "low"], empty)
    assert stats.daily_sla_met == [
        (date(2026, 11, 28), None),
        (date(2026, 11, 29), None),
        (date(2026, 11, 30), None),
    ]
    text = digest_text(status, stats, policy=services.policy)
    assert "Open tickets: 0" in text
    assert "CSAT: no ratings" in text


# -- timeline ---------------------------------------------------------------------------------------


async def test_ticket_timeline_counts_business_time(services: Services, clock: FrozenClock) -> None:
    desk = Desk(services, clock)
    high = await desk.open(pp(2026, 12, 4, 17, 0), "high")  # Friday 17:00
    critical = await desk.open(pp(2026, 12, 5, 22, 0), "critical")  # Saturday 22:00, 24x7 clock
    async with services.db.reader() as session:
        monday = await ticket_timeline(session, high, now=pp(2026, 12, 7, 9, 0), tickets=services.tickets)
        sunday = await ticket_timeline(
            session, critical, now=pp(2026, 12, 6, 0, 30), tickets=services.tickets
        )
        missing = await ticket_timeline(session, 999_999, now=NOW, tickets=services.tickets)
    assert missing is None
    assert monday is not None
    assert monday["id"] == high
    assert monday["business_time_used_seconds"] == 2 * 3600  # Fri 17-18 and Mon 08-09
    assert monday["sla_clock"] == "business"
    assert monday["sla_state"] == "running"
    assert datetime.fromisoformat(monday["response_due_at"]) == pp(2026, 12, 7, 11, 0)
    assert [e["kind"] for e in monday["events"]] == ["created"]
    assert monday["customer"]["name"] == "Sokha"
    assert sunday is not None
    assert sunday["business_time_used_seconds"] == 2.5 * 3600
    assert sunday["sla_clock"] == "24x7"
    assert sunday["sla_state"] == "breached"

    await desk.do("acknowledge", high, pp(2026, 12, 7, 9, 30))
    async with services.db.reader() as session:
        later = await ticket_timeline(session, high, now=pp(2026, 12, 8, 15, 0), tickets=services.tickets)
    assert later is not None
    assert later["business_time_used_seconds"] == 2.5 * 3600  # stopped at the first response
    assert later["sla_state"] == "met"
    assert [e["kind"] for e in later["events"]] == ["created", "acknowledged"]
    assert later["status"] == "acknowledged"


# -- digest ----------------------------------------------------------------------------------------


async def test_digest_from_reports(services: Services, clock: FrozenClock) -> None:
    await status_desk(services, clock)
    async with services.db.reader() as session:
        status = await status_report(session, now=NOW)
        stats = await stats_report(session, now=NOW, days=7, policy=services.policy)
    text = digest_text(status, stats, policy=services.policy)
    assert text.startswith("I One Tech Solutions support digest (last 7 days, since Tue 24 Nov)")
    assert "Open tickets: 8 (5 critical, 1 high, 1 medium, 1 low; tier 1: 6, tier 2: 2)" in text
    assert "SLA now: 2 breached, 3 at risk within the hour" in text
    assert "Undelivered notifications (dead letters): 1" in text
    assert "Opened 7, resolved 0, solved by self-service 0" in text


def test_digest_text() -> None:
    from desk.policy import load_policy

    policy = load_policy()
    brief = TicketBrief(
        id=42,
        priority="critical",
        category="technical",
        tier=1,
        status="open",
        subject="ERP down",
        created_at=datetime(2026, 11, 30, 1, 0, tzinfo=UTC),
        response_due_at=datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        first_response_at=None,
    )
    status = StatusReport(
        open_total=12,
        open_by_priority={"critical": 1, "high": 3, "medium": 8, "low": 0},
        open_by_tier={1: 10, 2: 2},
        at_risk=[],
        breached=[brief],
        oldest=brief,
        dead_letters=0,
    )
    stats = StatsReport(
        days=1,
        since=pp(2026, 11, 30, 0, 0),
        opened=20,
        resolved=18,
        self_service_solved=4,
        median_first_response_seconds=2520.0,
        sla_met_pct=95.0,
        csat_average=4.5,
        csat_count=12,
        by_category={},
        by_priority={},
        daily_sla_met=[(date(2026, 11, 30), 95.0)],
    )
    text = digest_text(status, stats, policy=policy)
    assert text.splitlines() == [
        "I One Tech Solutions support digest (today)",
        "Open tickets: 12 (1 critical, 3 high, 8 medium; tier 1: 10, tier 2: 2)",
        "SLA now: 1 breached, 0 at risk within the hour",
        "  breached #42 critical, due Mon 30 Nov 09:00: ERP down",
        "Oldest open: #42 (critical, open) since Mon 30 Nov 08:00",
        "Opened 20, resolved 18, solved by self-service 4",
        "First response median 42m, SLA met 95.0%",
        "CSAT 4.50 of 5 from 12 ratings",
    ]


# -- chart -----------------------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw scanlines (filter byte + RGB) of an 8-bit RGB PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    kinds = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        kinds.append(kind)
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height, depth, color_type = struct.unpack(">IIBB", header[:10])
    assert (depth, color_type) == (8, 2)
    return width, height, zlib.decompress(idat)


def pixel(raw: bytes, width: int, x: int, y: int) -> tuple[int, ...]:
    start = y * (1 + width * 3) + 1 + x * 3
    return tuple(raw[start : start + 3])


@pytest.mark.parametrize("days", [0, 1, 7, 30, 365])
def test_chart_is_a_png(days: int) -> None:
    first = date(2026, 1, 1)
    daily = [(first + timedelta(days=i), None if i % 5 == 2 else float(i * 7 % 101)) for i in range(days)]
    data = sla_chart_png(daily)
    width, height, raw = decode_png(data)
    assert (width, height) == (600, 300)
    assert len(raw) == height * (1 + width * 3)
    assert all(raw[y * (1 + width * 3)] == 0 for y in range(height))  # filter bytes


def test_chart_draws_bars_where_there_is_data() -> None:
    daily = [(date(2026, 11, 29), 100.0), (date(2026, 11, 30), None)]
    width, height, raw = decode_png(sla_chart_png(daily, title="Two days"))
    middle = height // 2
    columns = [pixel(raw, width, x, middle) for x in range(width)]
    bar_columns = [x for x, color in enumerate(columns) if color == BAR]
    assert bar_columns, "no bar drawn"
    assert max(bar_columns) < width // 2 + 25  # only the first day has a bar
    assert min(bar_columns) > 50


# -- indexes -------------------------------------------------------------------------------------------


def test_open_tickets_index_names_the_open_statuses() -> None:
    """ix_tickets_open's predicate must list exactly OPEN_STATUSES, or the reports miss it."""
    [index] = [i for i in Base.metadata.tables["tickets"].indexes if i.name == "ix_tickets_open"]
    for dialect in ("postgresql", "sqlite"):
        predicate = str(index.dialect_options[dialect]["where"])
        assert predicate == "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_STATUSES))


async def test_oldest_open_ticket_uses_the_open_index(sqlite_services: Services, clock: FrozenClock) -> None:
    ticket_id = await Desk(sqlite_services, clock).open(pp(2026, 11, 30, 9, 0), "high")
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    engine = sqlite_services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with sqlite_services.db.reader() as session:
            await status_report(session, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [(oldest, parameters)] = [(s, p) for s, p in statements if "ORDER BY tickets.created_at" in s]
    # SQLite refuses INDEXED BY ("no query solution") when the query does not imply the
    # partial index's predicate: the statuses must reach it as the same literals.
    forced = oldest.replace("FROM tickets", "FROM tickets INDEXED BY ix_tickets_open", 1)
    async with sqlite_services.db.reader() as session:
        connection = await session.connection()
        plan = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + forced, parameters)).all()
        [row] = (await connection.exec_driver_sql(forced, parameters)).all()
    assert "ix_tickets_open" in " ".join(str(step[-1]) for step in plan)
    assert row[0] == ticket_id
