"""Tickets as the transports read them: the API's list, a status under lock, their attachments."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storage.db import Database
from storage.models import Attachment, Ticket
from storage.repositories import Session

FILTERS = ("status", "priority", "category", "channel")


async def newest(
    db: Database, *, filters: Mapping[str, str | None], before_id: int | None, limit: int
) -> list[Ticket]:
    """Tickets (with their customer) newest first, matching the non-None `filters` (columns of
    `FILTERS`), below `before_id` when given."""
    query = select(Ticket).options(selectinload(Ticket.customer)).order_by(Ticket.id.desc()).limit(limit)
    for column in FILTERS:
        value = filters.get(column)
        if value is not None:
            query = query.where(getattr(Ticket, column) == value)
    if before_id is not None:
        query = query.where(Ticket.id < before_id)
    async with db.reader() as session:
        return list((await session.execute(query)).scalars())


async def status_for_update(session: Session, ticket_id: int) -> str | None:
    """The ticket's status, its row locked until the caller's transaction ends (None: no ticket)."""
    query = select(Ticket.status).where(Ticket.id == ticket_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def attachment(db: Database, attachment_id: object) -> Attachment | None:
    if not isinstance(attachment_id, int) or isinstance(attachment_id, bool):
        return None
    async with db.reader() as session:
        return await session.get(Attachment, attachment_id)
