"""The SLA sweep on both databases: reminders, breaches, automatic escalation up the ladder,
catch-up after downtime, idempotence, two replicas at once (PostgreSQL), and the app's jobs."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from bot import app as app_module
from bot.app import create_app
from bot.jobs import run_digest
from bot.scheduler import Scheduler
from bot.services import Services
from desk.policy import SHIPPED_POLICY, Policy, parse_policy
from desk.sweep import SweepResult, sweep
from desk.tickets import NewTicket, TicketService
from nlu.embedded import EmbeddedNlu
from storage.db import Database
from storage.models import Customer, OutboxMessage, Ticket, TicketEvent
from tests.helpers import FrozenClock, settings_for

SLA_EVENTS = ("sla_reminder", "sla_breach", "ticket_escalated", "sla_breach_top_tier")


def seconds_policy() -> Policy:
    """The shipped policy with targets of seconds, every clock 24x7."""
    data = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["sla"]["priorities"] = {
        "critical": {"response": "40s", "clock": "24x7"},
        "high": {"response": "80s", "clock": "24x7"},
        "medium": {"response": "160s", "clock": "24x7"},
        "low": {"response": "320s", "clock": "24x7"},
    }
    return parse_policy(data)


@pytest.fixture
def rules() -> TicketService:
    return TicketService(seconds_policy())


def critical(description: str = "Our ERP is down for everyone.") -> NewTicket:
    return NewTicket(
        category="technical",
        priority="critical",
        channel="webchat",
        description=description,
        subject=description,
        troubleshooting=[],
    )


async def open_tickets(db: Database, rules: TicketService, now: datetime, count: int = 1) -> list[int]:
    async with db.session() as session:
        customer = Customer(channel="webchat", external_id=f"cust-{now.timestamp()}", created_at=now)
        session.add(customer)
        await session.flush()
        ids = []
        for n in range(count):
            ticket = await rules.open(session, customer=customer, new=critical(f"Outage {n}"), now=now)
            ids.append(ticket.id)
        return ids


async def sla_notices(db: Database, ticket_id: int | None = None) -> list[tuple[str, str, int | None]]:
    """(event, target, tier) of the SLA notices, oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.kind == "agent").order_by(OutboxMessage.id)
    if ticket_id is not None:
        query = query.where(OutboxMessage.ticket_id == ticket_id)
    async with db.reader() as session:
        rows = list((await session.execute(query)).scalars())
    return [
        (r.payload["event"], r.target, r.payload.get("tier"))
        for r in rows
        if r.payload.get("event") in SLA_EVENTS
    ]


async def audit(db: Database, ticket_id: int) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    async with db.reader() as session:
        return list((await session.execute(query)).scalars())


async def ticket(db: Database, ticket_id: int) -> Ticket:
    async with db.reader() as session:
        row = await session.get(Ticket, ticket_id)
        assert row is not None
        return row


async def run(services: Services, rules: TicketService, clock: FrozenClock, **kw: Any) -> SweepResult:
    return await sweep(services.db, tickets=rules, now=clock(), **kw)


# -- the ladder ------------------------------------------------------------------------------------


async def test_reminder_breach_and_escalation_up_the_ladder(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    db = services.db
    t0 = clock()
    [ticket_id] = await open_tickets(db, rules, t0)
    opened = await ticket(db, ticket_id)
    assert opened.warn_due_at == t0 + timedelta(seconds=30)
    assert opened.sla_check_at == opened.warn_due_at

    async def at(seconds: float) -> SweepResult:
        clock.set(t0 + timedelta(seconds=seconds))
        return await run(services, rules, clock)

    assert (await at(0)).total == 0
    assert (await at(29)).total == 0
    assert await sla_notices(db) == []

    result = await at(30)  # 75 % of 40 s
    assert (result.reminded, result.escalated, result.breached_top) == (1, 0, 0)
    assert await sla_notices(db) == [("sla_reminder", "#support-tier1", 1)]
    [reminder] = [o for o in await outbox_rows(db, ticket_id) if o.payload["event"] == "sla_reminder"]
    assert reminder.dedupe_key == f"sla:reminder:{ticket_id}:1"
    assert reminder.payload["thread"] is True
    assert reminder.payload["mention"]
    assert datetime.fromisoformat(reminder.payload["response_due_at"]) == t0 + timedelta(seconds=40)
    assert (await ticket(db, ticket_id)).sla_check_at == t0 + timedelta(seconds=40)
    assert (await at(31)).total == 0  # repeated sweeps add nothing
    assert (await at(39)).total == 0

    result = await at(40)  # the deadline: breach, and tier 2 gets the full target from now
    assert (result.reminded, result.escalated, result.breached_top) == (0, 1, 0)
    escalated = await ticket(db, ticket_id)
    assert (escalated.tier, escalated.breached_tier) == (2, 1)
    assert escalated.response_due_at == t0 + timedelta(seconds=80)
    assert escalated.sla_check_at == t0 + timedelta(seconds=70)
    assert (await sla_notices(db))[1:] == [
        ("sla_breach", "#support-tier1", 1),
        ("ticket_escalated", "#support-tier2", None),
    ]
    assert (await at(41)).total == 0

    assert (await at(70)).reminded == 1
    assert (await at(80)).escalated == 1
    assert (await ticket(db, ticket_id)).tier == 3
    assert (await at(110)).reminded == 1
    result = await at(120)
    assert (result.reminded, result.escalated, result.breached_top) == (0, 0, 1)
    final = await ticket(db, ticket_id)
    assert (final.tier, final.reminded_tier, final.breached_tier, final.sla_check_at) == (3, 3, 3, None)

    for later in (121, 600, 86_400):
        assert (await at(later)).total == 0
    assert await sla_notices(db) == [
        ("sla_reminder", "#support-tier1", 1),
        ("sla_breach", "#support-tier1", 1),
        ("ticket_escalated", "#support-tier2", None),
        ("sla_reminder", "#support-tier2", 2),
        ("sla_breach", "#support-tier2", 2),
        ("ticket_escalated", "#support-tier3", None),
        ("sla_reminder", "#support-tier3", 3),
        ("sla_breach", "#support-tier3", 3),
        ("sla_breach_top_tier", "#support-managers", 3),
    ]
    trail = [(e.kind, e.actor) for e in await audit(db, ticket_id) if e.kind != "created"]
    assert trail == [
        ("sla_reminder", "sla"),
        ("sla_breached", "sla"),
        ("escalated", "sla"),
        ("sla_reminder", "sla"),
        ("sla_breached", "sla"),
        ("escalated", "sla"),
        ("sla_reminder", "sla"),
        ("sla_breached", "sla"),
    ]
    keys = sorted(o.dedupe_key for o in await outbox_rows(db, ticket_id) if o.dedupe_key)
    assert keys == sorted(
        [f"sla:reminder:{ticket_id}:{t}" for t in (1, 2, 3)]
        + [f"sla:breach:{ticket_id}:{t}" for t in (1, 2, 3)]
        + [f"sla:top:{ticket_id}"]
    )


async def outbox_rows(db: Database, ticket_id: int) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id).order_by(OutboxMessage.id)
    async with db.reader() as session:
        return list((await session.execute(query)).scalars())


async def test_an_answered_ticket_gets_nothing(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    db = services.db
    t0 = clock()
    acknowledged, resolved, reminded = await open_tickets(db, rules, t0, count=3)
    clock.advance(seconds=10)
    async with db.session() as session:
        await rules.acknowledge(session, acknowledged, actor="agent:U1", now=clock())
        await rules.resolve(session, resolved, actor="agent:U1", now=clock())
    clock.set(t0 + timedelta(seconds=30))
    assert (await run(services, rules, clock)).reminded == 1
    clock.advance(seconds=5)
    async with db.session() as session:  # answered after its reminder: no breach follows
        await rules.record_first_response(session, reminded, actor="agent:U1", now=clock())
    for seconds in (40, 400, 4000):
        clock.set(t0 + timedelta(seconds=seconds))
        assert (await run(services, rules, clock)).total == 0
    assert await sla_notices(db, acknowledged) == []
    assert await sla_notices(db, resolved) == []
    assert await sla_notices(db, reminded) == [("sla_reminder", "#support-tier1", 1)]
    for ticket_id in (acknowledged, resolved, reminded):
        assert (await ticket(db, ticket_id)).sla_check_at is None


async def test_a_stale_check_of_an_answered_ticket_is_cleared(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    """Belt and braces: a ticket answered without clearing its check is taken off the sweep."""
    db = services.db
    [ticket_id] = await open_tickets(db, rules, clock())
    async with db.session() as session:
        await session.execute(
            update(Ticket).where(Ticket.id == ticket_id).values(status="closed", first_response_at=clock())
        )
    clock.advance(seconds=45)
    result = await run(services, rules, clock)
    assert (result.cleared, result.reminded, result.breached) == (1, 0, 0)
    assert (await ticket(db, ticket_id)).sla_check_at is None
    assert await sla_notices(db) == []


async def test_catch_up_after_downtime_sends_the_breach_not_a_stale_reminder(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    db = services.db
    t0 = clock()
    [ticket_id] = await open_tickets(db, rules, t0)
    clock.advance(minutes=10)  # the process was down through the reminder and the deadline
    result = await run(services, rules, clock)
    assert (result.reminded, result.escalated, result.breached_top) == (0, 1, 0)
    assert await sla_notices(db) == [
        ("sla_breach", "#support-tier1", 1),
        ("ticket_escalated", "#support-tier2", None),
    ]
    [breached] = [e for e in await audit(db, ticket_id) if e.kind == "sla_breached"]
    assert breached.data["reminder_skipped"] is True
    caught_up = await ticket(db, ticket_id)
    assert (caught_up.tier, caught_up.reminded_tier, caught_up.breached_tier) == (2, 1, 1)
    # Tier 2 gets its full target from the escalation, not from the missed deadline.
    assert caught_up.response_due_at == clock() + timedelta(seconds=40)
    assert (await run(services, rules, clock)).total == 0
    clock.advance(seconds=30)
    assert (await run(services, rules, clock)).reminded == 1
    assert (await sla_notices(db))[-1] == ("sla_reminder", "#support-tier2", 2)


async def test_long_downtime_climbs_one_tier_per_deadline(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    """Each escalation restarts the target, so one sweep after downtime moves a ticket one tier."""
    db = services.db
    [ticket_id] = await open_tickets(db, rules, clock())
    clock.advance(days=3)
    assert (await run(services, rules, clock)).escalated == 1
    assert (await ticket(db, ticket_id)).tier == 2


async def test_batches_cover_everything_due(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    db = services.db
    t0 = clock()
    ids = await open_tickets(db, rules, t0, count=23)
    clock.set(t0 + timedelta(seconds=30))
    assert (await run(services, rules, clock, batch=5)).reminded == 23
    clock.set(t0 + timedelta(seconds=40))
    assert (await run(services, rules, clock, batch=5)).escalated == 23
    for ticket_id in ids:
        assert (await ticket(db, ticket_id)).tier == 2


async def test_a_dedupe_row_already_there_does_not_lose_the_batch(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    """The unique key is the second guard: a conflicting row is skipped, the rest goes on."""
    db = services.db
    t0 = clock()
    first, second = await open_tickets(db, rules, t0, count=2)
    async with db.session() as session:
        session.add(
            OutboxMessage(
                kind="agent",
                target="#support-tier1",
                ticket_id=first,
                payload={"event": "sla_reminder", "ticket_id": first, "tier": 1},
                dedupe_key=f"sla:reminder:{first}:1",
                created_at=t0,
                next_attempt_at=t0,
            )
        )
    clock.set(t0 + timedelta(seconds=30))
    result = await run(services, rules, clock)
    assert result.reminded == 1
    assert [e.kind for e in await audit(db, second)] == ["created", "sla_reminder"]
    assert [e.kind for e in await audit(db, first)] == ["created"]
    for ticket_id in (first, second):
        row = await ticket(db, ticket_id)
        assert (row.reminded_tier, row.sla_check_at) == (1, t0 + timedelta(seconds=40))


# -- two replicas ----------------------------------------------------------------------------------


# Replicas share the work through PostgreSQL's row locks (SQLite has one writer): PostgreSQL only.
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_replicas_sweeping_at_once_send_each_notice_once(
    services: Services, rules: TicketService, clock: FrozenClock
) -> None:
    assert not services.db.is_sqlite
    t0 = clock()
    ids = set(await open_tickets(services.db, rules, t0, count=200))
    replicas = [Database(services.db.url), Database(services.db.url)]
    try:

        async def both(seconds: int) -> list[SweepResult]:
            now = t0 + timedelta(seconds=seconds)
            return list(
                await asyncio.gather(*(sweep(db, tickets=rules, now=now, batch=20) for db in replicas))
            )

        results = await both(30)
        assert sum(r.reminded for r in results) == 200
        results = await both(40)
        assert sum(r.escalated for r in results) == 200
        assert all(r.reminded == 0 and r.breached_top == 0 for r in results)
    finally:
        for db in replicas:
            await db.dispose()

    async with services.db.reader() as session:
        rows = list(
            (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "agent"))).scalars()
        )
        events = list((await session.execute(select(TicketEvent))).scalars())
        tickets = list((await session.execute(select(Ticket))).scalars())
    per_notice = Counter((r.payload["event"], r.ticket_id) for r in rows)
    for ticket_id in ids:
        assert per_notice[("sla_reminder", ticket_id)] == 1
        assert per_notice[("sla_breach", ticket_id)] == 1
        assert per_notice[("ticket_escalated", ticket_id)] == 1
    keys = Counter(r.dedupe_key for r in rows if r.dedupe_key)
    assert set(keys.values()) == {1} and len(keys) == 400
    per_event = Counter((e.kind, e.ticket_id) for e in events)
    for ticket_id in ids:
        assert per_event[("sla_reminder", ticket_id)] == 1
        assert per_event[("sla_breached", ticket_id)] == 1
        assert per_event[("escalated", ticket_id)] == 1
    assert {t.tier for t in tickets} == {2}


# -- the jobs in the app ---------------------------------------------------------------------------


async def test_the_app_registers_the_jobs_and_sweeps_at_start(
    db_url: str, nlu: EmbeddedNlu, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedulers: list[Scheduler] = []

    class Recording(Scheduler):
        def __init__(self) -> None:
            super().__init__()
            schedulers.append(self)

    monkeypatch.setattr(app_module, "Scheduler", Recording)
    settings = settings_for(db_url)
    # A critical ticket whose deadline passed while the app was down (shipped policy: 1 hour).
    db = Database(db_url)
    try:
        shipped = TicketService(parse_policy(yaml.safe_load(SHIPPED_POLICY.read_text("utf-8"))))
        [ticket_id] = await open_tickets(db, shipped, clock())
    finally:
        await db.dispose()
    clock.advance(hours=2)

    asgi = create_app(settings, nlu=nlu, now=clock)
    async with asgi.fastapi.router.lifespan_context(asgi.fastapi):
        [scheduler] = schedulers
        assert {"outbox", "sla_sweep", "maintenance_announcements", "daily_digest"} <= set(
            scheduler.job_names()
        )
        services: Services = asgi.fastapi.state.services
        for _ in range(100):
            if (await ticket(services.db, ticket_id)).tier == 2:
                break
            await asyncio.sleep(0.05)
        escalated = await ticket(services.db, ticket_id)
        assert (escalated.tier, escalated.breached_tier) == (2, 1)
        assert [e.actor for e in await audit(services.db, ticket_id) if e.kind == "escalated"] == ["sla"]
        job = scheduler._scheduler.get_job("daily_digest")
        assert job is not None
        fire = job.next_run_time.astimezone(services.policy.tz)
        assert (fire.hour, fire.minute) == (8, 30)


async def test_the_daily_digest_is_posted_once_per_local_day(services: Services, clock: FrozenClock) -> None:
    """Two replicas firing at 08:30 together: one digest (the second finds or loses the key)."""
    results = await asyncio.gather(run_digest(services), run_digest(services))
    assert sorted(results) == [False, True]
    assert await run_digest(services) is False
    clock.advance(days=1)
    assert await run_digest(services) is True
    async with services.db.reader() as session:
        rows = list(
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.dedupe_key.like("digest:%"))
                    .order_by(OutboxMessage.id)
                )
            ).scalars()
        )
    assert [r.dedupe_key for r in rows] == ["digest:2026-11-30", "digest:2026-12-01"]
    assert {(r.kind, r.target, r.payload["event"]) for r in rows} == {
        ("agent", "#support-managers", "digest")
    }
    assert all(r.payload["text"] for r in rows)


async def test_closing_the_scheduler_waits_for_runs_in_progress() -> None:
    """A run in flight finishes before the database closes; nothing starts after the shutdown."""
    scheduler = Scheduler()
    started = asyncio.Event()
    finished: list[str] = []

    async def slow() -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append("slow")

    scheduler.every(3600, "slow", slow, run_at_start=True)
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    await scheduler.aclose()
    assert finished == ["slow"]
    assert not scheduler._scheduler.running

    late = Scheduler()
    late.every(3600, "late", slow, run_at_start=True)
    late.start()
    late.shutdown()  # submitted at start, but the shutdown came before it ran
    await asyncio.sleep(0.3)
    await late.aclose()
    assert finished == ["slow"]
    assert not late._scheduler.running


async def test_the_digest_reports_yesterday_whole_day(services: Services, clock: FrozenClock) -> None:
    """At 08:30 the digest counts the tickets of the whole previous local day, not this morning's."""
    pp = services.policy.tz
    clock.set(datetime(2026, 11, 30, 14, 0, tzinfo=pp))  # Monday afternoon
    await open_tickets(services.db, services.tickets, clock(), count=2)
    clock.set(datetime(2026, 12, 1, 7, 0, tzinfo=pp))  # Tuesday, before the digest
    await open_tickets(services.db, services.tickets, clock(), count=1)
    clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=pp))
    assert await run_digest(services) is True
    async with services.db.reader() as session:
        row = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.dedupe_key == "digest:2026-12-01")
            )
        ).scalar_one()
    assert "Opened 2," in row.payload["text"]
