"""Outbox rows (`OutboxMessage`): claimed by one worker, marked once, woken when the recipient is back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import Session


async def claim(
    db: Database, *, now: datetime, lease: timedelta, batch: int, filters: dict[str, Any]
) -> list[OutboxMessage]:
    """Up to `batch` rows due at `now` (matching `filters`), leased for `lease`, oldest first.

    A row waits while an earlier row of its ticket (same kind) is pending and not due: a ticket's
    notices go out in the order they were written (its card before its reminders), also after
    an outage. An earlier row that is due comes in the same batch, before it; the delivery job
    holds the later ones back when it fails. Each returned row says whether its previous lease
    ran out without an outcome (`lease_expired`). On PostgreSQL the rows are read
    `FOR UPDATE SKIP LOCKED`, so replicas never claim one row together.
    """
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        earlier.ticket_id == OutboxMessage.ticket_id,
        earlier.kind == OutboxMessage.kind,
        earlier.id < OutboxMessage.id,
        earlier.delivered_at.is_(None),
        earlier.dead_at.is_(None),
        earlier.next_attempt_at > now,
    )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.ticket_id.is_(None), ~blocked),
        )
        .order_by(OutboxMessage.id)
        .limit(batch)
    )
    for column, value in filters.items():
        query = query.where(getattr(OutboxMessage, column) == value)
    if not db.is_sqlite:
        query = query.with_for_update(of=OutboxMessage, skip_locked=True)
    async with db.session() as session:
        rows = list((await session.execute(query)).scalars())
        for row in rows:
            row.lease_expired = row.claimed_at is not None
            row.claimed_at = now
            row.next_attempt_at = now + lease
        return rows


async def mark(db: Database, groups: Iterable[list[dict[str, Any]]]) -> None:
    """Write outcomes: each group holds rows' `id` and the same set of columns to set."""
    async with db.session() as session:
        for group in groups:
            # ORM bulk UPDATE by primary key: `id` picks the row, the other keys are set.
            await session.execute(update(OutboxMessage), group)


async def release(db: Database, ids: Sequence[int], *, now: datetime) -> None:
    """Hand claimed rows back (not yet delivered): due again at `now`."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.delivered_at.is_(None))
            .values(next_attempt_at=now, claimed_at=None)
        )


async def wake_waiting(db: Database, *, kind: str, target: str, waiting: str, now: datetime) -> None:
    """Rows held back for an absent recipient (`last_error == waiting`) are due again at `now`."""
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.target == target,
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.dead_at.is_(None),
                OutboxMessage.last_error == waiting,
            )
            .values(next_attempt_at=now)
        )


async def has_key(session: Session, dedupe_key: str) -> bool:
    """A row with this `dedupe_key` was written (sent or not)."""
    found = await session.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    return found.first() is not None


async def pending_before(db: Database, *, kind: str, ticket_id: int | None, before_id: int) -> list[Any]:
    """Payloads of the ticket's rows of `kind` older than `before_id` and not yet delivered or dead."""
    async with db.reader() as session:
        query = select(OutboxMessage.payload).where(
            OutboxMessage.kind == kind,
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.id < before_id,
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
        )
        return list((await session.execute(query)).scalars())


async def listing(db: Database, *, dead: bool, limit: int = 200) -> list[OutboxMessage]:
    """Rows not delivered yet: the pending ones, or (`dead`) the dead letters; oldest first."""
    condition = OutboxMessage.dead_at.is_not(None) if dead else OutboxMessage.dead_at.is_(None)
    async with db.reader() as session:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None), condition)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list((await session.execute(query)).scalars())


async def retry(db: Database, *, dead: bool, now: datetime, ids: Sequence[int] = ()) -> int:
    """Make rows due at `now`: the pending ones (skipping their backoff), or (`dead`) the dead
    letters, revived with a fresh count of attempts. Returns how many rows."""
    condition = OutboxMessage.dead_at.is_not(None) if dead else OutboxMessage.dead_at.is_(None)
    statement = update(OutboxMessage).where(OutboxMessage.delivered_at.is_(None), condition)
    if ids:
        statement = statement.where(OutboxMessage.id.in_(list(ids)))
    # Due by `now` at the latest (never later than it already was: the caller's clock may lag).
    due = case((OutboxMessage.next_attempt_at > now, now), else_=OutboxMessage.next_attempt_at)
    values: dict[str, Any] = {"next_attempt_at": due}
    if dead:
        values |= {"dead_at": None, "dead_reason": None, "attempts": 0, "claimed_at": None}
    async with db.session() as session:
        result = await session.execute(
            statement.values(**values).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def dead_by_reason(session: Session) -> dict[str, int]:
    """How many dead letters there are, by reason (`unknown` for rows dead before reasons)."""
    reason = func.coalesce(OutboxMessage.dead_reason, "unknown")
    query = (
        select(reason, func.count())
        .where(OutboxMessage.dead_at.is_not(None), OutboxMessage.delivered_at.is_(None))
        .group_by(reason)
        .order_by(func.count().desc())
    )
    return {str(name): int(count) for name, count in (await session.execute(query)).all()}
