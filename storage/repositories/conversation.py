"""The conversation's storage, as the conversation engine and its flows see it.

One `ConversationStore.transaction()` per customer message: the conversation (locked on
PostgreSQL) and its customer, the answer already given to a retried message id, and what the
flows write themselves (files waiting for a ticket, self-service resolutions). The desk's
services run in the same transaction through `session`, so the state, a ticket and its
notifications commit together or not at all. The fast path of the turn is storage/turns.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Attachment, Conversation, Customer, SelfServiceResolution
from storage.turns import TicketLine as TicketLine  # the status question's rows, for the flows
from storage.turns import TurnStore, TurnTransaction


class ConcurrentTurn(Exception):
    """Another replica created the same conversation or handled the same message id at the same
    moment; the turn was rolled back, and trying it again sees the other's rows."""


class ConversationStore:
    """Opens one customer message's transaction; one per `Database`."""

    def __init__(self, db: Database) -> None:
        self.turns = TurnStore(db)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ConversationTurn]:
        """Committed when the block ends, rolled back on error (a race lost: `ConcurrentTurn`)."""
        try:
            async with self.turns.transaction() as tx:
                yield ConversationTurn(tx)
        except IntegrityError as exc:
            raise ConcurrentTurn(str(exc.orig or exc)) from exc


class ConversationTurn:
    """The rows of one turn; `session` is for the desk's services in the same transaction."""

    def __init__(self, tx: TurnTransaction) -> None:
        self._tx = tx

    @property
    def session(self) -> AsyncSession:
        """The turn's session, made when first asked for; the conversation and customer in it."""
        return self._tx.session

    async def load(
        self, channel: str, sender: str, message_id: str | None
    ) -> tuple[Conversation | None, Customer | None, list[Any] | None]:
        """The conversation and its customer, and the replies already given to `message_id`."""
        return await self._tx.load(channel, sender, message_id)

    async def create(
        self, channel: str, sender: str, *, now: datetime, conversation: Conversation | None
    ) -> tuple[Conversation, Customer]:
        """A new sender's customer and conversation (or the customer of a conversation without one)."""
        return await self._tx.create(channel, sender, now=now, conversation=conversation)

    async def ticket_lines(
        self, customer_id: int, *, ticket_id: int | None = None, limit: int = 5
    ) -> list[TicketLine]:
        """The customer's newest tickets, or their ticket `ticket_id` (none: not theirs, or no such
        ticket), for the status question."""
        return await self._tx.ticket_lines(customer_id, ticket_id=ticket_id, limit=limit)

    async def remember(
        self, *, channel: str, sender: str, message_id: str, replies: list[Any], now: datetime
    ) -> None:
        """The answer to `message_id`, for a platform that delivers it again."""
        await self._tx.remember(
            channel=channel, sender=sender, message_id=message_id, replies=replies, now=now
        )

    def record_self_service(
        self,
        *,
        conversation_id: int,
        channel: str,
        category: str,
        step: str,
        at: datetime,
        article: str | None = None,
    ) -> None:
        """An intake that ended without a ticket: a troubleshooting step (or `article`) fixed it."""
        self.session.add(
            SelfServiceResolution(
                conversation_id=conversation_id,
                channel=channel,
                category=category,
                step=step,
                at=at,
                article=article,
            )
        )

    async def add_attachments(
        self,
        *,
        conversation_id: int,
        channel: str,
        files: Sequence[Mapping[str, Any]],
        caption: str | None,
        now: datetime,
    ) -> list[Attachment]:
        """The customer's files (platform file ids, no bytes), with their ids, waiting for a ticket."""
        rows = [
            Attachment(
                conversation_id=conversation_id,
                channel=channel,
                kind=str(f["kind"]),
                file_id=str(f["file_id"]),
                file_name=str(f["file_name"]),
                mime_type=f.get("mime_type"),
                size=f.get("size"),
                caption=caption,
                created_at=now,
            )
            for f in files
        ]
        self.session.add_all(rows)
        await self.session.flush()
        return rows
