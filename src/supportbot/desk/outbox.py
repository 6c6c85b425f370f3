"""Notifications are rows in the outbox, written in the transaction that causes them.

The delivery job (bot/delivery.py) sends each row once; nothing here talks to a network.
Kinds:
- `agent`: a notice for agents, `target` is a Slack channel (logged while Slack is off).
- `customer`: a message for a customer, `target` is `channel:sender`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from supportbot.storage.models import OutboxMessage

AGENT = "agent"
CUSTOMER = "customer"


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
    row = OutboxMessage(
        kind=kind,
        target=target,
        payload=payload,
        ticket_id=ticket_id,
        dedupe_key=dedupe_key,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def customer_target(channel: str, sender: str) -> str:
    return f"{channel}:{sender}"
