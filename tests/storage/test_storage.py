"""The schema on SQLite and PostgreSQL: migrations match the models, times are UTC, constraints hold."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import sqlite_driver
from storage.db import Database, make_engine
from storage.migrate import downgrade, upgrade
from storage.models import Base, Customer, MaintenanceWindow, OutboxMessage

PP = ZoneInfo("Asia/Phnom_Penh")
TABLES = {t.name for t in Base.metadata.sorted_tables}


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def schema_diff(db_url: str) -> list[Any]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


async def table_names(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_tables)
    finally:
        await engine.dispose()


@pytest.fixture
async def sessions(db_url: str) -> Any:
    engine = make_engine(db_url)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(db_url: str) -> None:
    assert await schema_diff(db_url) == []
    assert TABLES <= await table_names(db_url)


async def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    try:
        await asyncio.to_thread(downgrade, db_url, "base")
        assert not (TABLES & await table_names(db_url))
        assert await schema_diff(db_url)  # the comparison sees the missing tables
    finally:
        await asyncio.to_thread(upgrade, db_url)  # the PostgreSQL database is shared by the session
    assert TABLES <= await table_names(db_url)
    assert await schema_diff(db_url) == []
    await asyncio.to_thread(upgrade, db_url)  # already at head: nothing to do, no error


async def test_datetimes_round_trip_as_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    starts = datetime(2026, 11, 30, 10, 0, 0, 123456, tzinfo=PP)
    ends = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
    async with sessions() as session, session.begin():
        window = MaintenanceWindow(starts_at=starts, ends_at=ends, message="Upgrade", created_at=starts)
        session.add(window)
        await session.flush()
        window_id = window.id
    async with sessions() as session:
        loaded = await session.get(MaintenanceWindow, window_id)
        assert loaded is not None
        assert loaded.starts_at == starts
        assert loaded.starts_at.utcoffset() == timedelta(0)
        assert loaded.starts_at.tzinfo is not None
        assert (loaded.starts_at.hour, loaded.starts_at.microsecond) == (3, 123456)
        assert loaded.ends_at == ends
        assert loaded.cancelled_at is None
        # Comparisons in SQL use the UTC instant, whatever zone the value was given in.
        query = select(MaintenanceWindow.id).where(
            MaintenanceWindow.starts_at < datetime(2026, 11, 30, 10, 30, tzinfo=PP),
            MaintenanceWindow.starts_at > datetime(2026, 11, 30, 2, 59, tzinfo=UTC),
        )
        assert (await session.execute(query)).scalars().all() == [window_id]


async def test_stored_value_is_the_utc_wall_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        session.add(
            MaintenanceWindow(
                starts_at=datetime(2026, 11, 30, 10, 0, tzinfo=PP),
                ends_at=datetime(2026, 11, 30, 12, 0, tzinfo=PP),
                message="Upgrade",
            )
        )
    async with sessions() as session:
        raw = (await session.execute(text("SELECT starts_at FROM maintenance_windows"))).scalar_one()
    if isinstance(raw, str):  # SQLite keeps the UTC wall time as text
        assert raw.startswith("2026-11-30 03:00:00")
    else:
        assert raw == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises((ValueError, StatementError), match="naive"):
        async with sessions() as session, session.begin():
            session.add(
                MaintenanceWindow(
                    starts_at=datetime(2026, 11, 30, 10, 0),
                    ends_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
                    message="Upgrade",
                )
            )
    async with sessions() as session:
        assert (await session.execute(select(MaintenanceWindow))).scalars().all() == []


async def test_customer_is_unique_per_channel_and_external_id(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(Customer(channel="webchat", external_id="abc"))
        session.add(Customer(channel="telegram", external_id="abc"))  # another channel: fine
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(Customer(channel="webchat", external_id="abc"))
    async with sessions() as session:
        rows = (await session.execute(select(Customer.channel).order_by(Customer.channel))).scalars().all()
        assert rows == ["telegram", "webchat"]


async def test_outbox_dedupe_key_is_unique(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        session.add(OutboxMessage(kind="agent", target="#support-tier1", payload={}, dedupe_key="remind:1:1"))
        # Rows without a key never collide.
        session.add(OutboxMessage(kind="agent", target="#support-tier1", payload={}))
        session.add(OutboxMessage(kind="agent", target="#support-tier1", payload={}))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(
                OutboxMessage(kind="agent", target="#support-tier2", payload={}, dedupe_key="remind:1:1")
            )
    async with sessions() as session:
        assert len((await session.execute(select(OutboxMessage))).scalars().all()) == 3


async def test_json_columns_keep_unicode(sessions: async_sessionmaker[AsyncSession]) -> None:
    payload = {"text": "សួស្តី — ticket #1 “fixed”", "n": [1, 2]}
    async with sessions() as session, session.begin():
        row = OutboxMessage(kind="customer", target="webchat:abc", payload=payload)
        session.add(row)
        await session.flush()
        row_id = row.id
    async with sessions() as session:
        loaded = await session.get(OutboxMessage, row_id)
        assert loaded is not None
        assert loaded.payload == payload


async def test_sqlite_writers_run_on_the_loop_thread_and_readers_in_a_worker(sqlite_url: str) -> None:
    """A writer holds the one write lock, so its statements skip the hand-off to a thread; a
    reader (a report, the API) runs in a worker thread, so a long query never stalls the loop."""
    db = Database(sqlite_url)
    loop_thread = threading.get_ident()

    async def executing_thread(session: AsyncSession) -> int:
        raw = await (await session.connection()).get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, sqlite_driver.Connection)
        driver.sqlite.create_function("executing_thread", 0, threading.get_ident)
        return int((await session.execute(text("SELECT executing_thread()"))).scalar_one())

    try:
        async with db.session() as session:
            assert await executing_thread(session) == loop_thread
            session.add(Customer(channel="webchat", external_id="on-loop", created_at=datetime.now(UTC)))
        async with db.reader() as session:
            assert await executing_thread(session) != loop_thread
            found = await session.execute(select(Customer.external_id))
            assert found.scalars().all() == ["on-loop"]
        # After a writer, the same pooled connection serves readers from a worker again.
        async with db.reader() as session:
            assert await executing_thread(session) != loop_thread
    finally:
        await db.dispose()


async def test_any_sqlite_driver_named_in_the_url_is_served_by_ours(tmp_path: Path) -> None:
    for driver in ("sqlite+aiosqlite", "sqlite", "sqlite+pysqlite"):
        engine = make_engine(f"{driver}:///{tmp_path}/any.db")
        try:
            assert engine.dialect.driver == sqlite_driver.DRIVER
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        finally:
            await engine.dispose()
