"""Notifications are rows in the outbox, written in the transaction that causes them.

The delivery job (bot/delivery.py) sends each row once; nothing here talks to a network.
Kinds: `OutboxKind` (desk/constants.py); the payload's `event` is an `OutboxEvent`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from desk.constants import OutboxKind
from storage.models import OutboxMessage

AGENT = OutboxKind.AGENT
CUSTOMER = OutboxKind.CUSTOMER
DEFAULT_LANGUAGE = "en"


def notice(message: str, language: str | None, /, **values: Any) -> dict[str, Any]:
    """A customer notice as a catalog message id, its values and the customer's language.

    The desk writes no customer-facing text: the sender renders it from the catalog
    (bot/notices.py). A value is plain, or `{"message": id, "values": {...}}` (a nested
    message), `{"when": iso}` (a date) or `{"duration": seconds}`.
    """
    return {"message": message, "values": values, "language": language or DEFAULT_LANGUAGE}


def row(
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    now: datetime,
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """The columns of a notification due at once."""
    return {
        "kind": kind,
        "target": target,
        "payload": payload,
        "ticket_id": ticket_id,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "next_attempt_at": now,
    }


def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    now: datetime,
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Add a notification to the current transaction, due at once."""
    message = OutboxMessage(
        **row(kind=kind, target=target, payload=payload, now=now, ticket_id=ticket_id, dedupe_key=dedupe_key)
    )
    session.add(message)
    return message


def customer_target(channel: str, sender: str) -> str:
    return f"{channel}:{sender}"


def _insert_for(session: AsyncSession) -> Any:
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


async def enqueue_once(session: AsyncSession, rows: list[dict[str, Any]]) -> list[str]:
    """Insert outbox rows whose `dedupe_key` does not exist yet; returns the keys inserted.

    `ON CONFLICT DO NOTHING` on both databases: a row another replica already wrote (committed
    or not) is skipped without an error, so nothing else of the transaction is lost.
    """
    if not rows:
        return []
    values = []
    for row in rows:
        now = row["now"]
        values.append(
            {
                "kind": row["kind"],
                "target": row["target"],
                "payload": row["payload"],
                "ticket_id": row.get("ticket_id"),
                "dedupe_key": row["dedupe_key"],
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            }
        )
    # The rows as parameters of one cached statement (executemany, batched into multi-row
    # INSERTs by SQLAlchemy), not as literal VALUES: a statement with 100 rows of VALUES is
    # compiled anew every time, which cost a busy sweep more than its queries.
    statement = (
        _insert_for(session)(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.dedupe_key)
    )
    return [key for key in (await session.execute(statement, values)).scalars() if key is not None]
