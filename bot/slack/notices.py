"""The agents' desk's own outbox notices, queued by its listeners in their transaction.

The desk's changes (desk/) queue the notices about tickets; these two are the desk's own: posts
to re-render after a button press or a first reply, and a note in a ticket's thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desk import outbox
from storage.models import Ticket
from storage.repositories import Session

UPDATED = "ticket_updated"  # re-render the ticket's posts
THREAD_NOTE = "thread_note"  # a note (maybe with buttons) in a ticket thread


def enqueue_refresh(session: Session, ticket: Ticket, *, target: str, now: datetime) -> None:
    """Ask for the ticket's posts to be re-rendered (after a button press or a first reply)."""
    outbox.enqueue(
        session,
        kind=outbox.AGENT,
        target=target,
        now=now,
        ticket_id=ticket.id,
        payload={"event": UPDATED, "ticket_id": ticket.id},
    )


def enqueue_thread_note(
    session: Session,
    ticket: Ticket,
    *,
    target: str,
    tier: int,
    text: str,
    now: datetime,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """A note in the ticket's thread of `tier`, delivered (and retried) by the outbox."""
    payload: dict[str, Any] = {"event": THREAD_NOTE, "ticket_id": ticket.id, "tier": tier, "text": text}
    if blocks:
        payload["blocks"] = blocks
    outbox.enqueue(session, kind=outbox.AGENT, target=target, now=now, ticket_id=ticket.id, payload=payload)
