"""Connections kept open from one customer's turn to the next.

Taking a connection from SQLAlchemy's pool and giving it back costs about 90 µs of the event
loop's time (the pool's queue, its events, a `Connection` made and closed, two calls into its
synchronous core), near a tenth of a whole turn. Turns are many and alike, so they keep their own
few connections open instead: a turn takes a started `AsyncConnection` from here, begins and ends
its transaction on it, and leaves it for the next turn.

At most `size` are open at once (on PostgreSQL `TURN_CONNECTIONS`, so that turns never take the
whole pool; on SQLite one, since its write lock lets one turn at a time); a turn beyond that waits.
A connection is closed rather than kept when its turn failed, when SQLAlchemy invalidated it,
when the server closed it (asyncpg sees the socket close), after `recycle` seconds (as the pool's
`pool_recycle`), or when it was made in another event loop. `close()` closes them all, before the
engine is disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def closed_by_server(driver: Any) -> bool:
    """The server closed this driver connection (asyncpg sees the socket close; SQLite's never is)."""
    is_closed = getattr(driver, "is_closed", None)
    return is_closed is not None and bool(is_closed())


@dataclass(slots=True)
class _Kept:
    conn: AsyncConnection
    driver: Any  # the driver's own connection (asyncpg's, or storage/sqlite_driver.py's)
    loop: asyncio.AbstractEventLoop
    made: float


class KeptConnections:
    """Started connections of `engine`, at most `size` at once, reused turn after turn."""

    def __init__(self, engine: AsyncEngine, size: int, recycle: float) -> None:
        self.engine = engine
        self.recycle = recycle
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Kept] = []  # the most recently used last: it is taken first

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A started connection, outside any transaction; kept for the next turn if the block ends
        without an error and the connection is still sound, closed otherwise."""
        async with self._slots:
            kept = await self._take()
            try:
                yield kept.conn
            except BaseException:
                # Closing a connection the failure broke may fail too; the turn's error is the one
                # to raise, and the pool drops such a connection anyway.
                with contextlib.suppress(Exception):
                    await kept.conn.close()
                raise
            if kept.conn.in_transaction() or not self._sound(kept):
                await kept.conn.close()
            else:
                self._idle.append(kept)

    async def _take(self) -> _Kept:
        while self._idle:
            kept = self._idle.pop()
            if self._sound(kept):
                return kept
            if kept.loop is asyncio.get_running_loop():
                await kept.conn.close()
            # One made in another event loop (a test's, a finished command's) cannot be closed
            # from this one; it is let go of.
        conn = self.engine.connect()
        await conn.start()
        raw = await conn.get_raw_connection()
        return _Kept(conn, raw.driver_connection, asyncio.get_running_loop(), time.monotonic())

    def _sound(self, kept: _Kept) -> bool:
        conn = kept.conn
        if conn.closed or conn.invalidated or kept.loop is not asyncio.get_running_loop():
            return False
        if time.monotonic() - kept.made > self.recycle:
            return False
        return not closed_by_server(kept.driver)

    async def close(self) -> None:
        """Close the kept connections (the ones of this event loop; others are let go of)."""
        idle, self._idle = self._idle, []
        for kept in idle:
            if kept.loop is asyncio.get_running_loop():
                await kept.conn.close()
