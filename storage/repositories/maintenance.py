"""Maintenance windows: the one a ticket names, those about to be announced, who hears of them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, literal, or_, select

from storage.models import Conversation, Customer, MaintenanceWindow, OutboxMessage
from storage.repositories import Session


async def window(session: Session, window_id: int | None, *, fresh: bool = False) -> MaintenanceWindow | None:
    """`fresh`: read again even if the session holds it (a cancellation meanwhile counts)."""
    if not window_id:
        return None
    return await session.get(MaintenanceWindow, window_id, populate_existing=fresh)


async def upcoming(session: Session, *, now: datetime, until: datetime) -> list[MaintenanceWindow]:
    """Windows not cancelled, not over at `now`, starting by `until`; soonest first."""
    query = (
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.ends_at > now,
            MaintenanceWindow.starts_at <= until,
        )
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    )
    return list((await session.execute(query)).scalars())


async def recipients(
    session: Session, *, key_prefix: str, lasting: Collection[str], talked_since: datetime
) -> list[tuple[int, str, str, str | None]]:
    """(id, channel, external id, language) of the customers to tell, by id: announcements allowed,
    reachable, on a lasting channel or talked since `talked_since`, and without an outbox row keyed
    `key_prefix` + their id yet. The language is their latest conversation's (None: not known)."""
    key = literal(key_prefix) + cast(Customer.id, String)
    recent = exists().where(Conversation.customer_id == Customer.id, Conversation.updated_at >= talked_since)
    already = exists().where(OutboxMessage.dedupe_key == key)
    language = (
        select(Conversation.state["language"].as_string())
        .where(Conversation.customer_id == Customer.id)
        .order_by(Conversation.updated_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Customer.id, Customer.channel, Customer.external_id, language)
        .where(
            and_(
                Customer.announcements.is_(True),
                Customer.unreachable_at.is_(None),
                or_(Customer.channel.in_(list(lasting)), recent),
                ~already,
            )
        )
        .order_by(Customer.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(query)).all()]
