"""Platform message ids already handled (`InboundMessage`), so a redelivery is handled once; and
Telegram webhook updates kept until handled (`TelegramUpdate`), so that replicas handle each
chat's updates one at a time and in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import InboundMessage, TelegramUpdate


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


# -- Telegram webhook updates, per chat in update_id order (bot/channels/telegram/channel.py) -----

GAP_WINDOW = 64  # update ids looked back at for one not yet received


async def store_update(
    db: Database, *, update_id: int, chat: str, payload: dict[str, Any], now: datetime, handled: bool = False
) -> bool:
    """Keep a received update until it is handled; False when it was already kept (a redelivery)."""
    values = {
        "update_id": update_id,
        "chat": chat,
        "payload": payload,
        "received_at": now,
        "attempts": 0,
        "handled_at": now if handled else None,
    }
    async with db.session() as session:
        insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(TelegramUpdate).values(values).on_conflict_do_nothing(index_elements=["update_id"])
        result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


@asynccontextmanager
async def chat_turn(db: Database, chat: str) -> AsyncIterator[None]:
    """Held while one chat's updates are handled: on PostgreSQL a transaction-level advisory lock
    on its own connection, so two replicas never handle one chat at once (released when the block
    ends, or when the connection drops). SQLite is one process: the caller's own lock suffices."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    async with db.engine.connect() as connection, connection.begin():
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"telegram-chat:{chat}"}
        )
        yield


async def next_update(db: Database, chat: str) -> TelegramUpdate | None:
    """The chat's oldest update not yet handled."""
    async with db.reader() as session:
        query = (
            select(TelegramUpdate)
            .where(TelegramUpdate.chat == chat, TelegramUpdate.handled_at.is_(None))
            .order_by(TelegramUpdate.update_id)
            .limit(1)
        )
        return (await session.execute(query)).scalar_one_or_none()


async def missing_before(db: Database, update_id: int) -> bool:
    """Whether an update id just below `update_id` has not arrived yet.

    Telegram numbers a bot's updates one after another (all chats together). Below `update_id`,
    from the lowest id kept within the last `GAP_WINDOW`, every id should be here; a hole is an
    update still on its way (to this replica or another), perhaps of the same chat.
    """
    async with db.reader() as session:
        lowest, count = (
            await session.execute(
                select(func.min(TelegramUpdate.update_id), func.count()).where(
                    TelegramUpdate.update_id >= update_id - GAP_WINDOW, TelegramUpdate.update_id < update_id
                )
            )
        ).one()
    return lowest is not None and count < update_id - lowest


async def finish_update(db: Database, update_id: int, *, now: datetime) -> None:
    async with db.session() as session:
        await session.execute(
            update(TelegramUpdate).where(TelegramUpdate.update_id == update_id).values(handled_at=now)
        )


async def failed_update(db: Database, update_id: int) -> int:
    """Count a failed attempt at the update; how many there have been."""
    async with db.session() as session:
        attempts = await session.scalar(
            update(TelegramUpdate)
            .where(TelegramUpdate.update_id == update_id)
            .values(attempts=TelegramUpdate.attempts + 1)
            .returning(TelegramUpdate.attempts)
        )
    return int(attempts or 0)


async def forget_updates(db: Database, *, handled_before: datetime) -> int:
    """Drop updates handled before `handled_before`; how many (a redelivery is still recognised
    by `InboundMessage` afterwards)."""
    async with db.session() as session:
        result = await session.execute(
            delete(TelegramUpdate).where(
                TelegramUpdate.handled_at.is_not(None), TelegramUpdate.handled_at < handled_before
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)
