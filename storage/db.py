"""The database handle: one async engine and a session factory per process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes writers wait, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# Set while a task holds the SQLite write lock (`Database.writing`): its statements run right here.
_ON_LOOP: ContextVar[bool] = ContextVar("supportbot_sqlite_on_loop", default=False)


class _WriterOnLoop(aiosqlite.Connection):
    """aiosqlite's connection, except that a writer's statements run on the event loop's thread.

    aiosqlite hands every call to its own thread and wakes the loop with the answer: two thread
    switches and a loop iteration, where an indexed statement takes microseconds. A writer holds
    the process's write lock meanwhile, so every other writer waits for those switches too: a turn
    that opens a ticket (a dozen ORM statements) took 5.4 ms that way and takes 2.5 ms inline.
    Writers therefore run inline; readers (reports, the API) keep the thread, so a long query
    never stalls the loop. The price: a writer waiting for another process's lock (a CLI command
    writing at the same moment) waits on the loop, up to busy_timeout, as the turn path does.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _ON_LOOP.get() and self._connection is not None:
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _sqlite_on_loop(dbapi_connection: Any, _record: Any) -> None:
    # The adapter's aiosqlite connection becomes a _WriterOnLoop: the same object and state, with
    # the one method above changed (aiosqlite's cursors call it for every statement and fetch).
    driver = dbapi_connection._connection
    if type(driver) is aiosqlite.Connection:
        driver.__class__ = _WriterOnLoop


# PostgreSQL: the connections a process keeps open. Beyond them the pool opens more for a burst
# (overflow), but closes each one as soon as it is given back, and a new connection costs a server
# process, the driver's setup queries and its prepared statements again. Customers' turns are the
# bursts, so they share TURN_CONNECTIONS of the kept ones and wait for a free one beyond that
# (storage/turns.py), leaving the rest to deliveries, jobs and the API. Letting 50 concurrent
# customers' turns overflow the pool opened and closed 36 connections a second and put p99 at
# 300 ms in bench/webchat.py.
POOL_SIZE = 20
TURN_CONNECTIONS = 16


def make_engine(url: str) -> AsyncEngine:
    """An engine for `url`, creating the folder of a SQLite file when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: writers' statements run on the event loop's thread
        # (`_WriterOnLoop`, and storage/turns.py), the rest in aiosqlite's, never both at once.
        # pool_reset_on_return=None: every user rolls back or commits before giving a connection
        # back (SQLAlchemy's Connection closes its transaction, the turn path its own), so the
        # pool's extra ROLLBACK, one more trip to aiosqlite's thread per turn, does nothing.
        engine = create_async_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_reset_on_return=None
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "connect", _sqlite_on_loop)
        return engine
    # No pre-ping: on asyncpg it is three round trips (BEGIN, a ping, ROLLBACK) before every
    # transaction, where a customer's whole turn takes four. A connection the server closed (a restart,
    # an idle timeout) is found without a round trip, since asyncpg sees the socket close, and
    # replaced at checkout; `pool_recycle` retires connections before middleboxes forget them.
    engine = create_async_engine(url, pool_size=POOL_SIZE, max_overflow=30, pool_recycle=1800)
    event.listen(engine.sync_engine.pool, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None and driver.is_closed():
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
                on_loop = _ON_LOOP.set(True)
                try:
                    yield
                finally:
                    _ON_LOOP.reset(on_loop)

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
        await self.engine.dispose()
