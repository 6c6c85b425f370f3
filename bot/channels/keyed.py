"""What every channel needs per key: one thing at a time per chat or ticket, and each inbound
platform message handled once."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar

from storage.db import Database
from storage.repositories import inbound

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """One `asyncio.Lock` per key, forgotten once nobody holds or waits for it.

    `async with locks[key]:` keeps a chat's replies, or a ticket's posts, in order in this process.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[K, asyncio.Lock] = weakref.WeakValueDictionary()

    def __getitem__(self, key: K) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock


class Seen:
    """Inbound platform messages of one channel already handled, kept in the database (so a
    redelivery to another replica is recognised too). Message ids are unique per sender."""

    def __init__(self, db: Database, channel: str, now: Callable[[], datetime]) -> None:
        self.db = db
        self.channel = channel
        self.now = now

    async def first_time(self, sender: str, message_id: str) -> bool:
        """Mark the message seen; False when it already was."""
        return await inbound.claim(
            self.db, channel=self.channel, sender=sender, message_id=message_id, now=self.now()
        )

    async def answered(self, sender: str, message_id: str) -> list[Any] | None:
        """The replies given to the message when it was handled, or None when it is new."""
        return await inbound.replies(self.db, channel=self.channel, sender=sender, message_id=message_id)
