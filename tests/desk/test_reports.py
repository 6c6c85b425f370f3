"""Managers' reports on both databases: status, SLA risk, stats, timeline, digest; the PNG chart."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import event

from bot.services import Services
from bot.slack.report_texts import stats_text
from desk import relay
from desk.chart import BAR, sla_chart_png
from desk.digest import digest_text
from desk.policy import SHIPPED_POLICY, parse_policy
from desk.reports import StatusReport, TicketBrief, sla_report, status_report, ticket_timeline
from desk.stats import AgentCounts, Breakdown, StatsReport, stats_report
from desk.tickets import OPEN_STATUSES, NewTicket
from storage.models import (
    Base,
    Conversation,
    Customer,
    Feedback,
    OutboxMessage,
    SelfServiceResolution,
    Ticket,
)
from tests.helpers import FrozenClock

PP = ZoneInfo("Asia/Phnom_Penh")


def pp(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PP)


NOW = pp(2026, 11, 30, 10, 0)  # Monday 10:00 in Phnom Penh (Nov 23-25: Water Festival holidays)


class Desk:
    """Makes tickets at chosen times through the real TicketService."""

    def __init__(self, services: Services, clock: FrozenClock) -> None:
        self.services = services
        self.clock = clock
        self.customer_id: int | None = None

    async def open(self, at: datetime, priority: str, category: str = "technical") -> int:
        self.clock.set(at)
        async with self.services.db.session() as session:
            if self.customer_id is None:
                customer = Customer(channel="webchat", external_id="cust-1", name="Sokha", created_at=at)
                session.add(customer)
                await session.flush()
                self.customer_id = customer.id
            else:
                found = await session.get(Customer, self.customer_id)
                assert found is not None
                customer = found
            new = NewTicket(
                category=category,
                priority=priority,
                channel="webchat",
                description=f"{priority} {category} problem",
                subject=f"{priority} {category} problem",
                troubleshooting=[],
            )
            ticket = await self.services.tickets.open(session, customer=customer, new=new, now=at)
            return ticket.id

    async def do(self, action: str, ticket_id: int, at: datetime) -> None:
        self.clock.set(at)
        async with self.services.db.session() as session:
            change = getattr(self.services.tickets, action)
            await change(session, ticket_id, actor="agent:U1", now=at)

    async def add(self, *rows: Any) -> None:
        async with self.services.db.session() as session:
            session.add_all(rows)


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


# -- stats ---------------------------------------------------------------------------------------------


async def stats_desk(services: Services, clock: FrozenClock) -> dict[str, int]:
    """Seven days to Monday 30 Nov 10:00: the window starts Tuesday 24 Nov 00:00 Phnom Penh time."""
    desk = Desk(services, clock)
    t: dict[str, int] = {}
    t["old"] = await desk.open(pp(2026, 11, 16, 9, 0), "high")  # opened and resolved before the window
    await desk.do("resolve", t["old"], pp(2026, 11, 17, 9, 0))
    t["T0"] = await desk.open(pp(2026, 11, 23, 23, 0), "critical")  # 1 hour before: resolved inside
    await desk.do("acknowledge", t["T0"], pp(2026, 11, 23, 23, 10))
    await desk.do("resolve", t["T0"], pp(2026, 11, 24, 9, 0))
    # 06:00 Tuesday in Phnom Penh is 23:00 Monday UTC: a Tuesday ticket.
    t["T1"] = await desk.open(pp(2026, 11, 24, 6, 0), "critical")
    await desk.do("acknowledge", t["T1"], pp(2026, 11, 24, 6, 30))  # met, 30 min
    await desk.do("resolve", t["T1"], pp(2026, 11, 24, 8, 0))
    t["T2"] = await desk.open(pp(2026, 11, 24, 11, 0), "critical", "billing")
    await desk.do("acknowledge", t["T2"], pp(2026, 11, 24, 12, 30))  # breached, 90 min
    t["T3"] = await desk.open(pp(2026, 11, 26, 9, 0), "high")  # due 13:00
    await desk.do("acknowledge", t["T3"], pp(2026, 11, 26, 10, 0))  # met, 60 min
    await desk.do("resolve", t["T3"], pp(2026, 11, 27, 9, 0))
    t["T4"] = await desk.open(pp(2026, 11, 27, 10, 0), "medium", "security")  # still running
    t["T5"] = await desk.open(pp(2026, 11, 29, 20, 0), "critical", "infrastructure")  # breached, unanswered
    t["T6"] = await desk.open(pp(2026, 11, 30, 9, 0), "low", "billing")
    await desk.do("resolve", t["T6"], pp(2026, 11, 30, 9, 30))  # met, 30 min
    conversation = Conversation(channel="webchat", sender="cust-1", state={})
    await desk.add(conversation)
    await desk.add(
        Feedback(ticket_id=t["T0"], rating=2, created_at=pp(2026, 11, 23, 23, 30)),  # before the window
        Feedback(ticket_id=t["T1"], rating=5, created_at=pp(2026, 11, 24, 12, 0)),
        Feedback(ticket_id=t["T3"], rating=4, created_at=pp(2026, 11, 27, 9, 5)),
        Feedback(ticket_id=t["T6"], rating=3, created_at=pp(2026, 11, 30, 9, 35)),
        *(
            SelfServiceResolution(
                conversation_id=conversation.id,
                channel="webchat",
                category="technical",
                step="restart",
                at=at,
            )
            for at in (pp(2026, 11, 20, 9, 0), pp(2026, 11, 25, 15, 0), pp(2026, 11, 28, 11, 0))
        ),
    )
    clock.set(NOW)
    return t


async def test_stats_report(services: Services, clock: FrozenClock) -> None:
    await stats_desk(services, clock)
    async with services.db.reader() as session:
        stats = await stats_report(session, now=NOW, days=7, policy=services.policy)
    assert stats.days == 7
    assert stats.since == pp(2026, 11, 24, 0, 0)
    assert stats.opened == 6
    assert stats.resolved == 4  # T0, T1, T3, T6
    assert stats.self_service_solved == 2
    assert stats.sla_met_pct == pytest.approx(60.0)  # T1, T3, T6 of T1, T2, T3, T5, T6
    assert stats.median_first_response_seconds == pytest.approx(2700.0)  # 30, 30, 60, 90 min
    assert stats.csat_count == 3
    assert stats.csat_average == pytest.approx(4.0)
    assert stats.by_category == {
        "technical": Breakdown(opened=2, resolved=3, sla_met_pct=100.0, median_first_response_seconds=2700.0),
        "billing": Breakdown(opened=2, resolved=1, sla_met_pct=50.0, median_first_response_seconds=3600.0),
        "infrastructure": Breakdown(
            opened=1, resolved=0, sla_met_pct=0.0, median_first_response_seconds=None
        ),
        "security": Breakdown(opened=1, resolved=0, sla_met_pct=None, median_first_response_seconds=None),
    }
    assert stats.by_priority["critical"].opened == 3
    assert stats.by_priority["critical"].resolved == 2  # T0, T1
    assert stats.by_priority["critical"].sla_met_pct == pytest.approx(100 / 3)
    assert stats.by_priority["critical"].median_first_response_seconds == pytest.approx(3600.0)
    assert stats.by_priority["high"] == Breakdown(
        opened=1, resolved=1, sla_met_pct=100.0, median_first_response_seconds=3600.0
    )
    assert stats.by_priority["medium"] == Breakdown(
        opened=1, resolved=0, sla_met_pct=None, median_first_response_seconds=None
    )
    assert stats.by_priority["low"] == Breakdown(
        opened=1, resolved=1, sla_met_pct=100.0, median_first_response_seconds=1800.0
    )
    assert stats.daily_sla_met == [
        (date(2026, 11, 24), 50.0),
        (date(2026, 11, 25), None),
        (date(2026, 11, 26), 100.0),
        (date(2026, 11, 27), None),  # T4 is still running
        (date(2026, 11, 28), None),
        (date(2026, 11, 29), 0.0),
        (date(2026, 11, 30), 100.0),
    ]


async def test_stats_days(services: Services, clock: FrozenClock) -> None:
    await stats_desk(services, clock)
    async with services.db.reader() as session:
        today = await stats_report(session, now=NOW, days=1, policy=services.policy)
        year = await stats_report(session, now=NOW, days=365, policy=services.policy)
        for bad in (0, 366, -1):
            with pytest.raises(ValueError, match="1 to 365"):
                await stats_report(session, now=NOW, days=bad, policy=services.policy)
    assert today.since == pp(2026, 11, 30, 0, 0)
    assert (today.opened, today.resolved, today.csat_count) == (1, 1, 1)
    assert today.daily_sla_met == [(date(2026, 11, 30), 100.0)]
    assert len(year.daily_sla_met) == 365
    assert year.daily_sla_met[0][0] == date(2025, 12, 1)
    assert year.daily_sla_met[-1][0] == date(2026, 11, 30)
    assert (year.opened, year.resolved, year.csat_count) == (8, 5, 4)
    assert year.sla_met_pct == pytest.approx(100 * 4 / 7)  # adds T0 (met) and the old ticket (breached)


async def test_stats_local_days_across_a_clock_change_and_exact_medians(
    services: Services, clock: FrozenClock
) -> None:
    """Local days follow the policy's time zone through a daylight-saving change (Santiago skips
    midnight on 6 Sep 2026), and an even count's median is the mean of the two middle values."""
    data = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    policy = parse_policy({**data, "timezone": "America/Santiago"})
    desk = Desk(services, clock)
    # (created, seconds to the first response, seconds to resolution); the deadline is 30 minutes.
    tickets = [
        (datetime(2026, 9, 5, 3, 59, tzinfo=UTC), None, None),  # 4 Sep 23:59: before the window
        (datetime(2026, 9, 6, 3, 59, tzinfo=UTC), 61.5, 61.25),  # 5 Sep 23:59 (UTC-4): met
        (datetime(2026, 9, 6, 4, 0, tzinfo=UTC), 2700.25, 100.5),  # 6 Sep 01:00 (UTC-3): late
        (datetime(2026, 9, 7, 2, 59, tzinfo=UTC), 900.0, None),  # 6 Sep 23:59: met
        (datetime(2026, 9, 7, 3, 0, tzinfo=UTC), 3600.000001, None),  # 7 Sep 00:00: late
    ]
    for created, wait, took in tickets:
        ticket_id = await desk.open(created, "critical")
        async with services.db.session() as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.response_due_at = created + timedelta(minutes=30)
            if wait is not None:
                ticket.first_response_at = created + timedelta(seconds=wait)
            if took is not None:
                ticket.resolved_at = created + timedelta(seconds=took)
    now = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)  # 7 Sep 12:00 in Santiago
    async with services.db.reader() as session:
        stats = await stats_report(session, now=now, days=3, policy=policy)
        today = await stats_report(session, now=now, days=1, policy=policy)
    assert stats.since == datetime(2026, 9, 5, 4, 0, tzinfo=UTC)
    assert stats.daily_sla_met == [
        (date(2026, 9, 5), 100.0),
        (date(2026, 9, 6), 50.0),
        (date(2026, 9, 7), 0.0),
    ]
    assert stats.opened == 4
    assert stats.median_first_response_seconds == 1800.125  # (900 + 2700.25) / 2
    assert stats.by_priority["critical"].median_first_response_seconds == 1800.125
    assert stats.by_category["technical"].median_first_response_seconds == 1800.125
    assert stats.resolved == 2
    assert stats.resolution_median_by_priority["critical"] == 80.875  # (61.25 + 100.5) / 2
    assert (today.opened, today.daily_sla_met) == (1, [(date(2026, 9, 7), 0.0)])
    assert today.median_first_response_seconds == 3600.000001


async def test_stats_report_the_life_of_tickets(services: Services, clock: FrozenClock) -> None:
    """Self-service by article, reopenings, resolution times and what each agent did."""
    t = await stats_desk(services, clock)
    desk = Desk(services, clock)
    await desk.do("reopen", t["T3"], pp(2026, 11, 28, 9, 0))  # resolved on the 27th, reopened
    async with services.db.session() as session:
        await relay.agent_reply(
            session,
            tickets=services.tickets,
            ticket_id=t["T4"],
            text="We are looking at it",
            agent=relay.Agent(actor="slack:U2", name="Dara"),
            now=pp(2026, 11, 28, 10, 0),
        )
    conversation = Conversation(channel="webchat", sender="cust-2", state={})
    await desk.add(conversation)
    await desk.add(
        *(
            SelfServiceResolution(
                conversation_id=conversation.id,
                channel="webchat",
                category=category,
                step="",
                at=at,
                article=slug,
            )
            for slug, category, at in (
                ("password-reset", "technical", pp(2026, 11, 25, 10, 0)),
                ("password-reset", "technical", pp(2026, 11, 26, 10, 0)),
                ("invoice-questions", "billing", pp(2026, 11, 27, 10, 0)),
                ("vpn-cannot-connect", "technical", pp(2026, 11, 20, 10, 0)),  # before the window
            )
        )
    )
    clock.set(NOW)
    async with services.db.reader() as session:
        stats = await stats_report(session, now=NOW, days=7, policy=services.policy)
    assert stats.self_service_solved == 5  # two troubleshooting steps, three articles
    assert stats.self_service_rate_pct == pytest.approx(100 * 5 / 11)  # against 6 tickets opened
    assert stats.top_articles == [("password-reset", 2), ("invoice-questions", 1)]
    assert stats.resolved == 3  # T0, T1, T6: T3 is open again
    assert stats.reopened == 1
    assert stats.reopen_rate_pct == pytest.approx(25.0)  # of T0, T1, T3, T6 resolved in the window
    # T0 took 10 h, T1 2 h (critical, technical); T6 30 min (low, billing).
    assert stats.resolution_median_by_category == {
        "technical": pytest.approx(6 * 3600),
        "billing": pytest.approx(1800),
        "infrastructure": None,
        "security": None,
    }
    assert stats.resolution_median_by_priority == {
        "critical": pytest.approx(6 * 3600),
        "high": None,
        "medium": None,
        "low": pytest.approx(1800),
    }
    assert stats.agents == [
        AgentCounts(actor="agent:U1", acknowledged=3, replies=0, resolved=4),  # T0's ack is before
        AgentCounts(actor="slack:U2", acknowledged=0, replies=1, resolved=0),
    ]
    assert stats.next_response_met_pct is None and stats.waiting_customer_seconds is None
    text = stats_text(stats, services.policy)
    assert "*Self-service* 45.5% (5 solved without a ticket)" in text
    assert "password-reset 2 · invoice-questions 1" in text
    assert "Reopened 1 (25.0% of resolutions)" in text
    assert "Technical issue 6h · Billing and financial issue 30m" in text
    assert "<@U2>: 0 acknowledged · 1 replies · 0 resolved" in text


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
