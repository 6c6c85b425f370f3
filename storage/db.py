"""The database handle: one async engine and a session factory per process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import json_columns, sqlite_driver
from storage.kept import KeptConnections, closed_by_server


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes writers wait, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# PostgreSQL: the connections a process keeps open. Beyond them the pool opens more for a burst
# (overflow), but closes each one as soon as it is given back, and a new connection costs a server
# process, the driver's setup queries and its prepared statements again. Customers' turns are the
# bursts, so they keep TURN_CONNECTIONS open for themselves and wait for a free one beyond that
# (storage/kept.py), leaving the rest to deliveries, jobs and the API. Letting 50 concurrent
# customers' turns overflow the pool opened and closed 36 connections a second and put p99 at
# 300 ms in bench/webchat.py.
POOL_SIZE = 20
TURN_CONNECTIONS = 16
POOL_RECYCLE = 1800  # seconds: connections are retired before middleboxes forget them


# JSON columns through orjson (storage/json_columns.py): every turn reads and writes them.
JSON_CODEC: dict[str, Any] = {"json_serializer": json_columns.dumps, "json_deserializer": json_columns.loads}


def make_engine(url: str) -> AsyncEngine:
    """An engine for `url`, creating the folder of a SQLite file when needed. SQLite URLs (any
    driver named, `sqlite+aiosqlite` in most settings) are served by storage/sqlite_driver.py."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # pool_reset_on_return=None: every user rolls back or commits before giving a connection
        # back (SQLAlchemy's Connection closes its transaction, the turn path its own), so the
        # pool's extra ROLLBACK, one more trip to a worker thread per reader, does nothing.
        engine = create_async_engine(
            parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}"),
            connect_args={"timeout": 30},
            pool_reset_on_return=None,
            **JSON_CODEC,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: on asyncpg it is three round trips (BEGIN, a ping, ROLLBACK) before every
    # transaction, where a customer's whole turn takes four. A connection the server closed (a restart,
    # an idle timeout) is found without a round trip, since asyncpg sees the socket close, and
    # replaced at checkout; `pool_recycle` retires connections before middleboxes forget them.
    engine = create_async_engine(
        url, pool_size=POOL_SIZE, max_overflow=30, pool_recycle=POOL_RECYCLE, **JSON_CODEC
    )
    event.listen(engine.sync_engine.pool, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # The asyncpg adapter's `driver_connection` (SQLAlchemy's AdaptedConnection) is asyncpg's own.
    if closed_by_server(getattr(dbapi_connection, "driver_connection", None)):
        raise DisconnectionError("the server closed this connection")


class Database:
    """Engine + session factory; `session()` is the unit of work (commit on success)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer: serialising writes in-process avoids "database is locked"
        # storms under concurrent customers. PostgreSQL needs no such lock.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        # Customers' turns keep their connections open (storage/kept.py); on SQLite the write lock
        # lets one turn at a time, so one is enough.
        self.turn_connections = KeptConnections(
            self.engine, 1 if self.is_sqlite else TURN_CONNECTIONS, recycle=POOL_RECYCLE
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Held around a write transaction: SQLite's one writer at a time, nothing on PostgreSQL."""
        if self._write_lock is None:
            yield
        else:
            async with self._write_lock:
                with sqlite_driver.writer():
                    yield

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed when the block ends, rolled back on error."""
        async with self.writing(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that does not take the SQLite write lock."""
        async with self.sessions() as session:
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.turn_connections.close()
        await self.engine.dispose()
