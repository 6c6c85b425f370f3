"""The conversation turn's own storage path: few round trips, plain SQL on the turn's connection.

A customer message reads and writes the same rows every time: the stored answer to a retried
message id, the conversation (locked on PostgreSQL, so replicas never interleave its turns) with
its customer, then the new state and the message id. Through the ORM's unit of work, loading and
saving a conversation took 1.2-1.4 ms of CPU; so here they are a few statements of driver SQL
(no compilation, no unit of work), in the same transaction as the `AsyncSession` the flows use:
a ticket opened in the turn still commits with the state, or not at all.

The loaded conversation and customer are ORM objects, detached until a flow or the desk asks for
the session (most turns never do), then persistent in it (the flows and the desk see one identity
map); the turn's changes to them are written with one UPDATE each at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, configure_mappers

from storage import sqlite_driver
from storage.db import Database
from storage.models import Conversation, Customer, InboundMessage, Ticket
from storage.recent import RecentRows
from storage.rows import Columns, attach, detached, placeholder, use_driver

_USED = "supportbot.turn_session_used"
# Conversations' and customers' objects kept for their next turn (storage/recent.py): how many,
# and for how many seconds.
RECENT = 2048
RECENT_SECONDS = 600


class _TurnSession(Session):
    """The flows' session in a turn; notes when it begins work on the turn's connection."""


@event.listens_for(_TurnSession, "after_begin")
def _session_began(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_USED] = True


@dataclass(slots=True)
class _Loaded:
    """A conversation or customer object of the turn, with its row as last read or written, and
    the columns the turn wrote."""

    instance: Any
    row: dict[str, Any]
    written: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class TicketLine:
    """One of the customer's tickets as their status question shows it: read, never changed."""

    id: int
    category: str
    priority: str
    status: str
    subject: str
    response_due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None


class TurnStore:
    """Opens a turn's transaction; one per `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        configure_mappers()  # here, not in the first customer's turn
        dialect = self.dialect = db.engine.dialect
        self.postgres = dialect.name == "postgresql"
        self.recent = RecentRows(RECENT, RECENT_SECONDS)
        self.conversations = Columns(Conversation.__table__, dialect)  # type: ignore[arg-type]
        self.customers = Columns(Customer.__table__, dialect)  # type: ignore[arg-type]
        self.replies = InboundMessage.__table__.c.replies.type.dialect_impl(dialect)
        self.replies_bind = self.replies.bind_processor(dialect)
        self.replies_result = self.replies.result_processor(dialect, None)
        p = self.placeholder
        conv_cols = ", ".join(f"c.{n}" for n in self.conversations.names)
        cust_cols = ", ".join(f"u.{n}" for n in self.customers.names)
        self.load_sql = (
            f"SELECT {conv_cols}, {cust_cols}, "
            f"(SELECT i.replies FROM inbound_messages i WHERE i.channel = {p(1)} AND i.sender = {p(2)} "
            f"AND i.message_id = {p(3)}) "
            "FROM conversations c LEFT JOIN customers u ON u.id = c.customer_id "
            f"WHERE c.channel = {p(1)} AND c.sender = {p(2)}" + (" FOR UPDATE OF c" if self.postgres else "")
        )
        self.lines = Columns(Ticket.__table__, dialect, [f.name for f in fields(TicketLine)])  # type: ignore[arg-type]
        self.lines_sql = f"SELECT {', '.join(self.lines.names)} FROM tickets WHERE customer_id = {p(1)}"
        self.seen_sql = (
            f"SELECT replies FROM inbound_messages WHERE channel = {p(1)} AND sender = {p(2)} "
            f"AND message_id = {p(3)}"
        )
        self.inbound_sql = (
            "INSERT INTO inbound_messages (channel, sender, message_id, received_at, replies) "
            f"VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(5)})"
        )

    def placeholder(self, n: int) -> str:
        """The n-th parameter (from 1): `$n` for asyncpg, `?n` for SQLite."""
        return placeholder(self.dialect, n)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TurnTransaction]:
        """One turn: committed when the block ends, rolled back on error."""
        # A connection the turns keep open from one to the next (storage/kept.py).
        async with self.db.writing(), self.db.turn_connections.connection() as conn:
            turn = TurnTransaction(self, conn)  # its first statement begins the transaction
            try:
                yield turn
                await turn.commit()
            except BaseException:
                await turn.rollback()
                raise
            finally:
                await turn.close()
            for instance, written in turn.written():
                self.recent.keep(instance, written)


def _begin(conn: Connection, sql: str, args: Sequence[Any]) -> tuple[Any, list[Any] | None]:
    """Begin the turn's transaction; give the driver's connection and, on asyncpg, the rows of the
    turn's first statement, run through the DBAPI cursor (PEP 249) in the same call into the
    synchronous core. SQLAlchemy's asyncpg adapter opens the transaction with its first statement,
    and that way it costs no second call (`exec_driver_sql` adds a result object and about 60 µs)."""
    if not conn.in_transaction():
        conn.begin()
    driver = conn.connection.driver_connection
    if not isinstance(driver, asyncpg.Connection) or driver.is_in_transaction():
        return driver, None
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, tuple(args))
        rows = list(cursor.fetchall()) if cursor.description is not None else []
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, tuple(args), exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()
    return driver, rows


def _commit(conn: Connection) -> None:
    conn.commit()


class _Statements:
    """Runs the turn's own statements as driver SQL on its connection, inside its transaction.

    On SQLite straight on the standard library's connection, on the loop's thread (the turn
    holds the write lock, see storage/sqlite_driver.py). On asyncpg straight on asyncpg's
    connection, in the transaction SQLAlchemy's adapter opened with the turn's first statement
    (`_begin`). Either way a statement costs 10-20 µs of CPU where SQLAlchemy's execution of
    driver SQL adds about 60. Another driver, or asyncpg outside a transaction, goes through
    `exec_driver_sql`. Errors are raised as SQLAlchemy raises them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.begun = False
        self.sqlite: sqlite3.Connection | None = None
        self.asyncpg: asyncpg.Connection | None = None

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """The statement's rows; none for a statement that returns none (an INSERT)."""
        if not self.begun:
            # The first statement begins the transaction. Each call into SQLAlchemy's synchronous
            # core is a greenlet switch: begin, the driver's connection and (on asyncpg) this
            # statement in one, the commit in another.
            driver, first = await self.conn.run_sync(_begin, sql, args)
            self.begun = True
            self.sqlite = driver.sqlite if isinstance(driver, sqlite_driver.Connection) else None
            self.asyncpg = driver if isinstance(driver, asyncpg.Connection) else None
            if first is not None:
                return first
        if self.sqlite is not None:
            try:
                return self.sqlite.execute(sql, tuple(args)).fetchall()
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(sql, tuple(args), exc) from exc
        if self.asyncpg is not None and self.asyncpg.is_in_transaction():
            try:
                rows: list[Any] = await self.asyncpg.fetch(sql, *args)
                return rows
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise IntegrityError(sql, tuple(args), exc) from exc
            except asyncpg.PostgresError as exc:
                raise DBAPIError(sql, tuple(args), exc) from exc
        result = await self.conn.exec_driver_sql(sql, tuple(args))
        return list(result.all()) if result.returns_rows else []


class TurnTransaction:
    """The turn's connection and transaction, and the session the flows and the desk write through."""

    def __init__(self, store: TurnStore, conn: AsyncConnection) -> None:
        self.store = store
        self.conn = conn
        self._session: AsyncSession | None = None
        self._loaded: dict[int, _Loaded] = {}  # by id(instance)
        self._statements = _Statements(conn)

    @property
    def session(self) -> AsyncSession:
        """The flows' and the desk's session, made when first asked for (most turns never do: the
        conversation and its customer are read and written here without it). The rows loaded so
        far join it, so that `session.get` finds them as the ORM would have loaded them."""
        if self._session is None:
            # It joins the connection's transaction, which the turn begins and ends: its commit
            # only flushes, its rollback (a failed flush) rolls the whole turn back.
            session = self._session = AsyncSession(
                bind=self.conn,
                expire_on_commit=False,
                sync_session_class=_TurnSession,
                join_transaction_mode="rollback_only",
            )
            # Rows the desk writes in the turn (a new ticket) take the turn's way. What the session
            # keeps refers to the connection only, never back to the session: a cycle would leave
            # each turn's session and objects to the garbage collector, whose full passes then
            # stall the loop.
            use_driver(session, self._statements.fetch)
            session.add_all([loaded.instance for loaded in self._loaded.values()])
        return self._session

    async def _fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """The statement's rows (none for an UPDATE or INSERT without RETURNING)."""
        return await self._statements.fetch(sql, args)

    async def seen(self, channel: str, sender: str, message_id: str) -> list[Any] | None:
        """The replies stored for a message id already handled, else None."""
        rows = await self._fetch(self.store.seen_sql, (channel, sender, message_id))
        return self._replies(rows[0][0]) if rows else None

    def _replies(self, value: Any) -> list[Any] | None:
        if value is None:
            return None
        process = self.store.replies_result
        replies: Any = process(value) if process is not None else value
        return list(replies)

    async def load(
        self, channel: str, sender: str, message_id: str | None
    ) -> tuple[Conversation | None, Customer | None, list[Any] | None]:
        """The conversation (locked on PostgreSQL) and its customer, in one statement together with
        the replies already stored for `message_id`; (None, None, replies?) for a new sender."""
        store = self.store
        rows = await self._fetch(store.load_sql, (channel, sender, message_id))
        if not rows:
            return None, None, (await self.seen(channel, sender, message_id)) if message_id else None
        row = rows[0]
        n = len(store.conversations.names)
        conversation = self._attach(Conversation, store.conversations.values(row))
        customer_values = store.customers.values(row, n)
        customer = self._attach(Customer, customer_values) if customer_values["id"] is not None else None
        return conversation, customer, self._replies(row[n + len(store.customers.names)])

    def _attach(self, model: Any, values: dict[str, Any]) -> Any:
        """An ORM object for a row read here, as if the ORM had loaded it: persistent in the session
        once there is one, detached with its identity until then (an earlier turn's object when
        the row is as it left it, storage/recent.py)."""
        if self._session is not None:
            instance = attach(self._session, model, values)
        else:
            instance = self.store.recent.take(model, values)
            if instance is None:
                instance = detached(model, values)
        self._loaded[id(instance)] = _Loaded(instance, values)
        return instance

    def written(self) -> list[tuple[Any, set[str]]]:
        """The conversation and customer objects of this turn, each with the attributes it wrote."""
        return [(loaded.instance, loaded.written) for loaded in self._loaded.values()]

    async def ticket_lines(
        self, customer_id: int, *, ticket_id: int | None = None, limit: int = 5
    ) -> list[TicketLine]:
        """The customer's newest tickets (or their ticket `ticket_id`), without ORM objects: a
        status question is asked in many turns and changes nothing."""
        if self._session is not None and self._session_used():
            await self._session.flush()  # as the ORM's query would: it sees what the turn added
        sql, args = self.store.lines_sql, [customer_id]
        if ticket_id is not None:
            sql, args = f"{sql} AND id = {self.store.placeholder(2)}", [customer_id, ticket_id]
        found = await self._fetch(f"{sql} ORDER BY created_at DESC, id DESC LIMIT {int(limit)}", args)
        return [TicketLine(**self.store.lines.values(row)) for row in found]

    async def create(
        self, channel: str, sender: str, *, now: datetime, conversation: Conversation | None
    ) -> tuple[Conversation, Customer]:
        """A new sender's customer (found when it exists) and conversation (created, or given its
        customer). A replica creating the same rows at the same moment makes this fail with
        IntegrityError, and the turn's second try finds them."""
        store = self.store
        values = await self._insert(
            "customers", store.customers, {"channel": channel, "external_id": sender, "created_at": now}
        )
        if values is None:  # the customer exists, its conversation did not
            rows = await self._fetch(
                f"SELECT {', '.join(store.customers.names)} FROM customers "
                f"WHERE channel = {store.placeholder(1)} AND external_id = {store.placeholder(2)}",
                (channel, sender),
            )
            values = store.customers.values(rows[0])
        customer: Customer = self._attach(Customer, values)
        if conversation is None:
            created = await self._insert(
                "conversations",
                store.conversations,
                {
                    "channel": channel,
                    "sender": sender,
                    "customer_id": customer.id,
                    "state": {},
                    "created_at": now,
                    "updated_at": now,
                },
            )
            assert created is not None
            conversation = self._attach(Conversation, created)
        else:
            conversation.customer_id = customer.id  # written by `save`
        return conversation, customer

    async def _insert(self, table: str, columns: Columns, given: dict[str, Any]) -> dict[str, Any] | None:
        """INSERT a row with the model's defaults for what is not given; its values, or None when
        the customer already exists."""
        row = {**columns.defaults(), **given}
        names = list(row)
        p = self.store.placeholder
        conflict = " ON CONFLICT (channel, external_id) DO NOTHING" if table == "customers" else ""
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(p(i) for i in range(1, len(names) + 1))})"
            f"{conflict} RETURNING {', '.join(columns.names)}"
        )
        rows = await self._fetch(sql, [columns.bind(n, row[n]) for n in names])
        return columns.values(rows[0]) if rows else None

    async def save(self) -> None:
        """Write the changed columns of the loaded conversation and customer, one UPDATE each."""
        for loaded in list(self._loaded.values()):
            instance, before = loaded.instance, loaded.row
            columns = self.store.conversations if isinstance(instance, Conversation) else self.store.customers
            table = "conversations" if isinstance(instance, Conversation) else "customers"
            changed = {n: v for n in columns.names if (v := getattr(instance, n)) != before[n] and n != "id"}
            if self._session is not None and instance in self._session:
                # The rest of the session flushes without them: their changes are written here.
                self._session.expunge(instance)
            if not changed:
                continue
            p = self.store.placeholder
            sets = ", ".join(f"{name} = {p(i)}" for i, name in enumerate(changed, 1))
            args = [columns.bind(name, value) for name, value in changed.items()]
            await self._fetch(
                f"UPDATE {table} SET {sets} WHERE id = {p(len(args) + 1)}", [*args, instance.id]
            )
            before.update(changed)
            loaded.written.update(changed)

    async def remember(
        self, *, channel: str, sender: str, message_id: str, replies: list[Any], now: datetime
    ) -> None:
        """Store the answer to `message_id`; a second insert of it fails the transaction."""
        process = self.store.replies_bind
        received = self.store.conversations.bind("updated_at", now)
        await self._fetch(
            self.store.inbound_sql,
            (channel, sender, message_id, received, process(replies) if process else replies),
        )

    async def commit(self) -> None:
        await self.save()
        if self._session_used():
            await self.session.commit()  # flushes what the flows added
        if self.conn.in_transaction():
            await self.conn.run_sync(_commit)

    def _session_used(self) -> bool:
        """The flows ran a statement through the session or left objects for it to flush (most
        turns do neither: its transaction then holds no connection and has nothing to flush)."""
        if self._session is None:
            return False
        sync = self._session.sync_session
        return bool(sync.info.get(_USED) or sync.new or sync.dirty or sync.deleted)

    async def close(self) -> None:
        if self._session is not None:
            if self._session_used():
                await self._session.close()
            else:
                self._session.sync_session.close()  # nothing to release on the connection: no I/O

    async def rollback(self) -> None:
        if self._session is not None and self._session_used():
            await self._session.rollback()
        if self.conn.in_transaction():
            await self.conn.rollback()
