"""Maintenance announcements (policy section 6) on both databases: at each lead time once per
eligible customer, "under way" once at the start, opted-out, silent and cancelled skipped, two
replicas at once (PostgreSQL); and the web chat greeting while a window is active."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.jobs import run_announcements
from bot.notices import render
from bot.services import Services
from desk import maintenance
from desk.announce import announce_due
from storage.db import Database
from storage.models import Conversation, Customer, MaintenanceWindow, OutboxMessage
from tests.helpers import FrozenClock, TestChannel

PP = ZoneInfo("Asia/Phnom_Penh")
TWO_DAYS = int(timedelta(days=2).total_seconds())
HOUR = 3600


def pp(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PP)


def key_parts(row: OutboxMessage) -> list[str]:
    """`maint:WINDOW:LEAD_SECONDS:CUSTOMER` split."""
    assert row.dedupe_key is not None
    return row.dedupe_key.split(":")


async def customer(
    db: Database,
    now: datetime,
    external_id: str,
    *,
    channel: str = "webchat",
    announcements: bool = True,
    last_talked: timedelta | None = timedelta(days=1),
) -> int:
    async with db.session() as session:
        row = Customer(channel=channel, external_id=external_id, announcements=announcements, created_at=now)
        session.add(row)
        await session.flush()
        if last_talked is not None:
            session.add(
                Conversation(
                    channel=channel,
                    sender=external_id,
                    customer_id=row.id,
                    state={},
                    created_at=now - last_talked,
                    updated_at=now - last_talked,
                )
            )
        return row.id


async def schedule(db: Database, now: datetime, starts_at: datetime, hours: int = 2, **kw: str) -> int:
    async with db.session() as session:
        window = await maintenance.schedule(
            session,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            message=kw.get("message", "Upgrade of the billing database."),
            created_by="U-MANAGER",
            now=now,
        )
        return window.id


async def announcements(db: Database) -> list[OutboxMessage]:
    async with db.reader() as session:
        query = (
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("maint:%")).order_by(OutboxMessage.id)
        )
        return list((await session.execute(query)).scalars())


async def test_each_lead_time_once_per_eligible_customer(services: Services, clock: FrozenClock) -> None:
    db, policy = services.db, services.policy
    t0 = clock()  # Mon 30 Nov, 10:00 in Phnom Penh
    sokha = await customer(db, t0, "sokha")
    # A Telegram chat lasts: its customer hears about maintenance however long ago they wrote.
    dara = await customer(db, t0, "dara", channel="telegram", last_talked=timedelta(days=200))
    await customer(db, t0, "opted-out", announcements=False)
    await customer(db, t0, "silent", last_talked=timedelta(days=91))
    await customer(db, t0, "never-talked", last_talked=None)
    start = pp(2026, 12, 2, 12, 0)
    window = await schedule(db, t0, start)

    async def at(when: datetime) -> int:
        clock.set(when)
        return await announce_due(db, policy=policy, now=when)

    assert await at(t0) == 0
    assert await at(start - timedelta(days=2, seconds=1)) == 0
    assert await at(start - timedelta(days=2)) == 2
    rows = await announcements(db)
    assert sorted((r.target, r.dedupe_key) for r in rows) == [
        ("telegram:dara", f"maint:{window}:{TWO_DAYS}:{dara}"),
        ("webchat:sokha", f"maint:{window}:{TWO_DAYS}:{sokha}"),
    ]
    assert {r.kind for r in rows} == {"customer"}
    assert render(rows[0].payload, policy)["text"] == (
        "Scheduled maintenance: Upgrade of the billing database, from Wed 2 Dec, 12:00 to Wed 2 Dec, 14:00 "
        "(Phnom Penh time). Some services may be unavailable then."
    )
    for later in (timedelta(days=2) - timedelta(minutes=1), timedelta(days=1), timedelta(minutes=61)):
        assert await at(start - later) == 0

    assert await at(start - timedelta(hours=1)) == 2
    assert await at(start - timedelta(minutes=59)) == 0
    assert await at(start - timedelta(seconds=1)) == 0

    assert await at(start) == 2  # "under way", once
    assert await at(start + timedelta(minutes=30)) == 0
    assert await at(start + timedelta(hours=2)) == 0  # over

    per_customer = Counter((r.target, key_parts(r)[2]) for r in await announcements(db))
    assert per_customer == {
        (target, lead): 1
        for target in ("webchat:sokha", "telegram:dara")
        for lead in (str(TWO_DAYS), str(HOUR), "0")
    }
    under_way = [r for r in await announcements(db) if key_parts(r)[2] == "0"]
    assert render(under_way[0].payload, policy)["text"].startswith(
        "Scheduled maintenance is under way: Upgrade of the billing database, until Wed 2 Dec, 14:00"
    )


async def test_a_late_window_sends_only_the_latest_announcement(
    services: Services, clock: FrozenClock
) -> None:
    """Scheduled 30 minutes ahead (or after downtime): one announcement, not a burst of stale ones."""
    db = services.db
    await customer(db, clock(), "sokha")
    window = await schedule(db, clock(), clock() + timedelta(minutes=30))
    assert await run_announcements(services) == 1
    assert [key_parts(r)[:3] for r in await announcements(db)] == [["maint", str(window), str(HOUR)]]
    assert await run_announcements(services) == 0


async def test_cancelled_window_is_not_announced(services: Services, clock: FrozenClock) -> None:
    db = services.db
    await customer(db, clock(), "sokha")
    window = await schedule(db, clock(), clock() + timedelta(minutes=30))
    async with db.session() as session:
        await maintenance.cancel(session, window, now=clock())
    assert await run_announcements(services) == 0
    clock.advance(minutes=30)
    assert await run_announcements(services) == 0
    assert await announcements(db) == []


async def test_two_replicas_announce_each_message_once(services: Services, clock: FrozenClock) -> None:
    """Two runs at once (two engines on PostgreSQL, one process's writer lock on SQLite)."""
    db, policy = services.db, services.policy
    now = clock()
    async with db.session() as session:
        for n in range(300):
            row = Customer(channel="webchat", external_id=f"c{n}", created_at=now)
            session.add(row)
            await session.flush()
            session.add(
                Conversation(channel="webchat", sender=f"c{n}", customer_id=row.id, state={}, updated_at=now)
            )
    await schedule(db, now, now + timedelta(minutes=30))
    await schedule(db, now, now + timedelta(days=1))
    replicas = [db, db] if db.is_sqlite else [Database(db.url), Database(db.url)]
    try:
        sent = await asyncio.gather(*(announce_due(r, policy=policy, now=now) for r in replicas))
    finally:
        if not db.is_sqlite:
            for replica in replicas:
                await replica.dispose()
    assert sum(sent) == 600
    rows = await announcements(db)
    assert len(rows) == 600
    assert len({r.dedupe_key for r in rows}) == 600
    assert await announce_due(db, policy=policy, now=now) == 0


async def test_greeting_mentions_maintenance_under_way(bot: TestChannel, clock: FrozenClock) -> None:
    await bot.say("hello")
    assert "Maintenance" not in bot.text
    start = clock() + timedelta(hours=1)
    async with bot.services.db.session() as session:
        await maintenance.schedule(
            session,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            message="Network switch replacement",
            created_by="U-MANAGER",
            now=clock(),
        )
    await bot.say("hello")
    assert "Maintenance" not in bot.text  # scheduled, not under way yet
    clock.set(start + timedelta(minutes=5))
    await bot.say("hello")
    assert "Maintenance is under way until Mon 30 Nov, 13:00: Network switch replacement" in bot.text
    assert bot.text.startswith("Hello!") and bot.text.endswith("How can I help you today?")
    clock.set(start + timedelta(hours=2))
    await bot.say("hello")
    assert "Maintenance" not in bot.text


async def test_window_rows_are_read_fresh(services: Services, clock: FrozenClock) -> None:
    """The announcement re-reads the window in its own transaction (a cancel in between counts)."""
    db = services.db
    await customer(db, clock(), "sokha")
    window = await schedule(db, clock(), clock() + timedelta(hours=1))
    async with db.session() as session:
        row = await session.get(MaintenanceWindow, window)
        assert row is not None
        row.message = "Changed message."
    assert await run_announcements(services) == 1
    [announcement] = await announcements(db)
    assert "Changed message" in render(announcement.payload, services.policy)["text"]
