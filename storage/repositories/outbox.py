"""Outbox rows (`OutboxMessage`): claimed by one worker, marked once, woken when the recipient is back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import Session


async def claim(
    db: Database, *, now: datetime, lease: timedelta, batch: int, filters: dict[str, Any]
) -> list[OutboxMessage]:
    """Up to `batch` rows due at `now` (matching `filters`), leased for `lease`.

    On PostgreSQL the rows are read `FOR UPDATE SKIP LOCKED`, so replicas never claim one row together.
    """
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.id)
        .limit(batch)
    )
    for column, value in filters.items():
        query = query.where(getattr(OutboxMessage, column) == value)
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    async with db.session() as session:
        rows = list((await session.execute(query)).scalars())
        for row in rows:
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
            .values(next_attempt_at=now)
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
