"""SQLite for SQLAlchemy's asyncio extension: the standard library's sqlite3, writers on the loop.

An asyncio driver for SQLite has to run sqlite3 somewhere: aiosqlite hands every call (a cursor,
a statement, a fetch, a commit) to its own thread and wakes the event loop with the answer, two
thread switches and a loop iteration each, where an indexed statement takes microseconds. SQLite
has one writer at a time and a writer holds the process's write lock (`Database.writing`)
meanwhile, so every other writer waits for those switches too.

This driver runs a writer's calls right where they are awaited (the lock is held, nobody else
could use the database file for writing anyway) and anyone else's in a worker thread, so a long
report query never stalls the loop. The price: a writer waiting for another process's lock (a CLI
command writing at the same moment) waits on the loop, up to busy_timeout.

It is SQLAlchemy's pysqlite dialect (the same SQL, types and transaction handling) over an
asyncio connection that implements SQLAlchemy's `AsyncIODBAPIConnection` protocol, adapted by its
generic asyncio connector as its own asyncio dialects are. Registered as `sqlite+supportbot`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncAdapt_dbapi_module
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool
from sqlalchemy.util import await_

DRIVER = "supportbot"
T = TypeVar("T")

# Set while a task holds the process's SQLite write lock: its calls run on the loop's thread.
_WRITER: ContextVar[bool] = ContextVar("supportbot_sqlite_writer", default=False)


@contextmanager
def writer() -> Iterator[None]:
    """Within this block the current task's statements run on the event loop's thread."""
    token = _WRITER.set(True)
    try:
        yield
    finally:
        _WRITER.reset(token)


async def _call(fn: Callable[..., T], *args: Any) -> T:
    if _WRITER.get():
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


class Cursor:
    """An asyncio cursor over a sqlite3 cursor (SQLAlchemy's `AsyncIODBAPICursor`)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cursor.close()

    @property
    def description(self) -> Any:
        return self.cursor.description

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self.cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self.cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self.cursor.arraysize = value

    async def execute(self, operation: str, parameters: Any = ()) -> Cursor:
        await _call(self.cursor.execute, operation, parameters)
        return self

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        await _call(self.cursor.executemany, operation, list(seq_of_parameters))
        return self

    async def fetchone(self) -> Any:
        return await _call(self.cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return await _call(self.cursor.fetchmany, size if size is not None else self.cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return await _call(self.cursor.fetchall)

    async def close(self) -> None:
        self.cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        return None


class Connection:
    """An asyncio connection over a sqlite3 connection (SQLAlchemy's `AsyncIODBAPIConnection`).

    `sqlite` is the standard library's connection itself, for statements a caller runs directly
    (storage/turns.py, under the write lock)."""

    def __init__(self, sqlite: sqlite3.Connection) -> None:
        self.sqlite = sqlite

    def cursor(self, *args: Any, **kwargs: Any) -> Cursor:
        return Cursor(self.sqlite.cursor())

    async def commit(self) -> None:
        await _call(self.sqlite.commit)

    async def rollback(self) -> None:
        await _call(self.sqlite.rollback)

    async def close(self) -> None:
        await _call(self.sqlite.close)

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self.sqlite.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.sqlite.create_function(*args, **kwargs)


async def connect(database: str, **kwargs: Any) -> Connection:
    # check_same_thread=False: a connection's calls run on the loop's thread or a worker's, one
    # at a time (SQLAlchemy gives a connection to one task at a time).
    kwargs["check_same_thread"] = False
    return Connection(await asyncio.to_thread(lambda: sqlite3.connect(database, **kwargs)))


class _AdaptedConnection(AsyncAdapt_dbapi_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self.driver_connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self.driver_connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.driver_connection.create_function(*args, **kwargs)


class _Module(AsyncAdapt_dbapi_module):
    """The DBAPI module SQLAlchemy sees: sqlite3's names and errors, connections from `connect`."""

    def __init__(self, driver: ModuleType) -> None:
        super().__init__(driver, dbapi_module=sqlite3)
        self.paramstyle = "qmark"
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "InterfaceError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "sqlite_version",
            "sqlite_version_info",
            "PARSE_COLNAMES",
            "PARSE_DECLTYPES",
            "Binary",
        ):
            setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kwargs: Any) -> _AdaptedConnection:
        connection: Any = await_(connect(*args, **kwargs))  # an AsyncIODBAPIConnection
        return _AdaptedConnection(self, connection)


class SQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite's dialect, asyncio edition: `create_async_engine("sqlite+supportbot:///file.db")`."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        import storage.sqlite_driver as module

        return _Module(module)

    @classmethod
    def get_pool_class(cls, url: URL) -> Any:
        # A task waiting for a connection awaits it; an in-memory database exists once per
        # connection, so it gets exactly one.
        if url.database in (None, "", ":memory:"):
            return StaticPool
        return AsyncAdaptedQueuePool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection.driver_connection


registry.register(f"sqlite.{DRIVER}", __name__, SQLiteDialect.__name__)
