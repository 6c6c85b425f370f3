"""Button payloads too long for a platform's button data, kept under a short key (`ButtonPayload`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.db import Database
from storage.models import ButtonPayload


async def keep(db: Database, keyed: Mapping[str, str], *, now: datetime) -> None:
    """Store each key's payload (a key already stored keeps its payload)."""
    if not keyed:
        return
    insert = sqlite_insert if db.is_sqlite else pg_insert
    async with db.session() as session:
        await session.execute(
            insert(ButtonPayload)
            .values([{"key": k, "payload": p, "created_at": now} for k, p in keyed.items()])
            .on_conflict_do_nothing(index_elements=["key"])
        )


async def payload(db: Database, key: str) -> str | None:
    async with db.reader() as session:
        stored = await session.get(ButtonPayload, key)
    return stored.payload if stored is not None else None
