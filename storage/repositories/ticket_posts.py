"""Tickets' posts in the agents' desk (`TicketPost`): one per (ticket, tier), with its thread's ts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from storage.db import Database
from storage.models import TicketPost
from storage.repositories import Session


async def posted(session: Session, ticket_id: int) -> dict[int, TicketPost]:
    """The ticket's posts that were made (have a ts), by tier."""
    query = select(TicketPost).where(TicketPost.ticket_id == ticket_id, TicketPost.ts.is_not(None))
    return {p.tier: p for p in (await session.execute(query)).scalars()}


async def posted_in(session: Session, ticket_id: int, tier: int) -> TicketPost | None:
    """The ticket's post in `tier`, if it was made."""
    query = select(TicketPost).where(
        TicketPost.ticket_id == ticket_id, TicketPost.tier == tier, TicketPost.ts.is_not(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def claim(session: Session, *, ticket_id: int, tier: int, channel: str, now: datetime) -> TicketPost:
    """PostgreSQL: the (ticket, tier) row, created if need be and locked until the transaction ends."""
    await session.execute(
        pg_insert(TicketPost)
        .values(ticket_id=ticket_id, tier=tier, channel=channel[:80], ts=None, created_at=now)
        .on_conflict_do_nothing(index_elements=["ticket_id", "tier"])
    )
    query = (
        select(TicketPost)
        .where(TicketPost.ticket_id == ticket_id, TicketPost.tier == tier)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one()


async def store(
    db: Database, *, ticket_id: int, tier: int, channel: str, ts: str, now: datetime
) -> TicketPost:
    """Record where the (ticket, tier) post was made."""
    async with db.session() as session:
        query = select(TicketPost).where(TicketPost.ticket_id == ticket_id, TicketPost.tier == tier)
        post = (await session.execute(query)).scalar_one_or_none()
        if post is None:
            post = TicketPost(ticket_id=ticket_id, tier=tier, channel=channel, ts=ts, created_at=now)
            session.add(post)
        else:
            post.channel, post.ts = channel, ts
    return post


async def by_thread(db: Database, *, channel: str, ts: str) -> TicketPost | None:
    """The post whose thread this is."""
    async with db.reader() as session:
        query = select(TicketPost).where(TicketPost.ts == ts, TicketPost.channel == channel)
        return (await session.execute(query)).scalars().first()
