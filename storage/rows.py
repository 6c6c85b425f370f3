"""Rows written as plain SQL on a session's own connection, for the inserts of a busy path.

A ticket opened in a customer's turn writes three rows: the ticket, its audit event and the
agents' notice. Through the ORM's unit of work that was two flushes, about half of that turn's
CPU: one to learn the ticket's id (the other two rows carry it), then the commit's. Here each row
is one INSERT, its SQL built once per table, sent on the session's connection (straight to the
turn's connection in a turn, as storage/turns.py does for the conversation): the
same transaction, so the rows commit with the rest of the turn or not at all.
The values go through each column's own type conversions, as the ORM would send them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

M = TypeVar("M")


class Columns:
    """A table's columns with the dialect's own conversions, for hand-written statements."""

    def __init__(self, table: Table, dialect: Dialect, names: Sequence[str] | None = None) -> None:
        """All the table's columns, or those `names` (in that order)."""
        self.table = table
        columns = list(table.columns) if names is None else [table.columns[name] for name in names]
        self.names = [c.name for c in columns]
        self.binds: dict[str, Callable[[Any], Any] | None] = {}
        self.results: list[Callable[[Any], Any] | None] = []
        self._defaults = [(c.name, c.default) for c in columns if c.default is not None and not c.primary_key]
        for column in columns:
            impl = column.type.dialect_impl(dialect)
            self.binds[column.name] = impl.bind_processor(dialect)
            self.results.append(impl.result_processor(dialect, None))

    def defaults(self) -> dict[str, Any]:
        """The model's Python-side defaults (`default=`), fresh values each call."""
        return {
            name: default.arg if default.is_scalar else default.arg(None)  # type: ignore[attr-defined]
            for name, default in self._defaults
        }

    def bind(self, name: str, value: Any) -> Any:
        process = self.binds[name]
        return value if process is None or value is None else process(value)

    def values(self, row: Sequence[Any], offset: int = 0) -> dict[str, Any]:
        out = {}
        for i, (name, process) in enumerate(zip(self.names, self.results, strict=True)):
            value = row[offset + i]
            out[name] = value if process is None or value is None else process(value)
        return out


def placeholder(dialect: Dialect, n: int) -> str:
    """The n-th parameter (from 1) in the driver's own style: `$n` for asyncpg, `?n` for SQLite."""
    return f"${n}" if dialect.name == "postgresql" else f"?{n}"


def attach(session: AsyncSession, model: type[M], values: dict[str, Any]) -> M:
    """An ORM object for a row written or read by hand, persistent in the session as if the ORM
    had loaded it (so a later flush does not write it again). As with the ORM's own loading, an
    object the session already holds for that row is returned as it is."""
    mapper = inspect(model)
    held = session.sync_session.identity_map.get(mapper.identity_key_from_primary_key([values["id"]]))
    if held is not None:
        return cast(M, held)
    instance = detached(model, values)
    session.add(instance)
    return instance


def detached(model: type[M], values: dict[str, Any]) -> M:
    """An ORM object for a row, detached with its identity as if loaded and then let go of: `add`
    makes it persistent in a session without writing it."""
    # Set as on a new object, then all committed at once by `make_transient_to_detached`, as the
    # ORM's loading leaves them: no history, nothing for a flush to write. Half the time of one
    # `set_committed_value` per column on a ticket's 39 columns.
    instance = model()
    for name, value in values.items():
        setattr(instance, name, value)
    make_transient_to_detached(instance)
    return instance


class _Insert:
    """One table's INSERT statements, per set of given columns (and limiting condition)."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.columns = Columns(table, dialect)
        self.dialect = dialect
        self._sql: dict[tuple[tuple[str, ...], bool, str | None, tuple[str, ...], int], str] = {}

    def sql(
        self,
        names: tuple[str, ...],
        returning: bool,
        where: str | None = None,
        matching: tuple[str, ...] = (),
        limit: int = 0,
    ) -> str:
        """With `where`: only while fewer than `limit` rows match it, its `{column}`s the
        parameters after the values (`matching`, in that order)."""
        key = (names, returning, where, matching, limit)
        sql = self._sql.get(key)
        if sql is None:
            table = self.columns.table.name
            params = ", ".join(placeholder(self.dialect, i) for i in range(1, len(names) + 1))
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({params})"
            if where is not None:
                condition = where.format(
                    **{name: placeholder(self.dialect, len(names) + i) for i, name in enumerate(matching, 1)}
                )
                sql = (
                    f"INSERT INTO {table} ({', '.join(names)}) SELECT {params} "
                    f"WHERE (SELECT count(*) FROM {table} WHERE {condition}) < {int(limit)}"
                )
            if returning:
                sql += f" RETURNING {', '.join(self.columns.names)}"
            self._sql[key] = sql
        return sql


_INSERTS: dict[tuple[Table, Dialect], _Insert] = {}

# A session's own way to run a statement on its connection's driver, when it has one (a customer's
# turn does: storage/turns.py); other sessions go through `exec_driver_sql`.
_DRIVER = "supportbot.rows_driver"
Fetch = Callable[[str, Sequence[Any]], Awaitable[list[Any]]]


def use_driver(session: AsyncSession, fetch: Fetch) -> None:
    """Run this session's rows on `fetch` (SQL and arguments in, rows out), in its transaction."""
    session.sync_session.info[_DRIVER] = fetch


def _plan(session: AsyncSession, model: type[Any]) -> tuple[_Insert, Fetch | None]:
    sync = session.sync_session
    dialect = sync.get_bind().dialect
    table: Table = model.__table__
    plan = _INSERTS.get((table, dialect))
    if plan is None:
        plan = _INSERTS[(table, dialect)] = _Insert(table, dialect)
    return plan, sync.info.get(_DRIVER)


async def _run(
    session: AsyncSession, fetch: Fetch | None, sql: str, args: Sequence[Any], rows: bool
) -> list[Any]:
    if fetch is not None:
        return await fetch(sql, args)
    conn = await session.connection()
    result = await conn.exec_driver_sql(sql, tuple(args))
    return list(result.all()) if rows else []


async def _write(
    session: AsyncSession,
    model: type[Any],
    given: dict[str, Any],
    returning: bool,
    within: tuple[int, str, dict[str, Any]] | None = None,
) -> Any:
    plan, fetch = _plan(session, model)
    row = {**plan.columns.defaults(), **given}
    names = tuple(row)
    args = [plan.columns.bind(name, row[name]) for name in names]
    if within is None:
        sql = plan.sql(names, returning)
    else:
        limit, where, matching = within
        sql = plan.sql(names, returning, where, tuple(matching), limit)
        args += [plan.columns.bind(name, value) for name, value in matching.items()]
    return plan, await _run(session, fetch, sql, args, returning)


async def insert(session: AsyncSession, model: type[M], values: dict[str, Any]) -> M:
    """INSERT one row (the model's defaults fill what is not given) in the session's transaction;
    the row as stored, as a persistent object of the session."""
    plan, rows = await _write(session, model, values, returning=True)
    return attach(session, model, plan.columns.values(rows[0]))


async def insert_within(
    session: AsyncSession, model: type[M], values: dict[str, Any], *, limit: int, where: str, **matching: Any
) -> M | None:
    """As `insert`, but only while fewer than `limit` of the model's rows match `where`, in which
    `{column}` stands for the value given for that column, converted as the column converts it;
    None, and nothing written, once that many do. The count and the INSERT are one statement: the
    limit costs no round trip of its own.
    `rows.insert_within(session, Ticket, values, limit=5, where="customer_id = {customer_id}", customer_id=7)`"""
    plan, found = await _write(session, model, values, returning=True, within=(limit, where, matching))
    return attach(session, model, plan.columns.values(found[0])) if found else None


async def add(session: AsyncSession, model: type[Any], values: dict[str, Any]) -> None:
    """INSERT one row that nothing in this transaction reads back (an audit event, a notice)."""
    await _write(session, model, values, returning=False)
