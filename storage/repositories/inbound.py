"""Platform message ids already handled (`InboundMessage`), so a redelivery is handled once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import InboundMessage


async def claim(db: Database, *, channel: str, sender: str, message_id: str, now: datetime) -> bool:
    """Record the message as seen; False when it was already (here, or by another worker at the
    same moment)."""
    try:
        async with db.session() as session:
            if await session.get(InboundMessage, (channel, sender, message_id)) is not None:
                return False
            session.add(
                InboundMessage(
                    channel=channel, sender=sender, message_id=message_id, received_at=now, replies=[]
                )
            )
    except IntegrityError:
        return False
    return True


async def replies(db: Database, *, channel: str, sender: str, message_id: str) -> list[Any] | None:
    """The replies stored for a message already handled, or None when it is new."""
    async with db.reader() as session:
        seen = await session.get(InboundMessage, (channel, sender, message_id))
    return list(seen.replies) if seen is not None else None
