"""Customers as the transports change them: reachable on their platform or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from storage.db import Database
from storage.models import Customer


async def set_unreachable(db: Database, *, channel: str, external_id: str, since: datetime | None) -> None:
    """`since`: when the platform refused them (blocked the bot); None: reachable again."""
    async with db.session() as session:
        await session.execute(
            update(Customer)
            .where(Customer.channel == channel, Customer.external_id == external_id)
            .values(unreachable_at=since)
        )
