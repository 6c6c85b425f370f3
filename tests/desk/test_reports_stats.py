"""Managers' statistics on both databases: tickets opened and resolved, SLA met, response and
resolution medians, CSAT, self-service, reopenings and what each agent did, over days counted in
the policy's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from bot.services import Services
from bot.slack.report_texts import stats_text
from desk import relay
from desk.policy import SHIPPED_POLICY, parse_policy
from desk.stats import AgentCounts, Breakdown, stats_report
from storage.models import Conversation, Feedback, SelfServiceResolution, Ticket
from tests.desk.scripted_desk import NOW, Desk, pp
from tests.helpers import FrozenClock

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
