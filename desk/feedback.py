"""Feedback and improvement (policy section 9): a rating of each resolved ticket, and a comment.

The resolution message carries rating buttons (`/rate{"ticket_id": N, "rating": R}`); a customer
rates only their own resolved ticket, once per ticket (rating again updates it). A low rating
(at or below `feedback.low_rating_alert`) alerts the managers' channel once per ticket, after the
customer has added a comment or skipped it; `alert_stale_low_ratings` sends the alert anyway for
customers who never answered the comment prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.constants import DONE_STATUSES, OutboxEvent
from desk.outbox import enqueue_once
from desk.policy import Policy
from storage.db import Database
from storage.models import Feedback, OutboxMessage, Ticket, TicketEvent

RATABLE_STATUSES = DONE_STATUSES
MAX_COMMENT = 2000
# A low rating whose comment never came is reported to the managers after this long.
COMMENT_GRACE = timedelta(minutes=30)
STALE_LOOKBACK = timedelta(days=7)


class FeedbackError(ValueError):
    """A rating that cannot be taken (the message is safe to show the customer)."""


@dataclass(frozen=True)
class Rated:
    feedback: Feedback
    updated: bool  # the ticket had a rating already; this one replaced it


def rate_payload(ticket_id: int, rating: int) -> str:
    return "/rate" + json.dumps({"ticket_id": ticket_id, "rating": rating}, separators=(",", ":"))


def rating_title(rating: int, policy: Policy) -> dict[str, Any]:
    """A rating button's title as a catalog message (`5 ★ Excellent` on the 1-5 scale, else `7 ★`)."""
    low, high = policy.feedback.scale
    named = (low, high) == (1, 5) and low <= rating <= high
    return {"message": f"feedback.rating_{rating}" if named else "feedback.stars", "values": {"n": rating}}


def rating_buttons(ticket_id: int, policy: Policy) -> list[dict[str, Any]]:
    """Buttons best first, in the outbox payload shape `[{"title", "payload"}]`; each title is a
    catalog message the sender renders in the customer's language (bot/notices.py)."""
    low, high = policy.feedback.scale
    return [
        {"title": rating_title(r, policy), "payload": rate_payload(ticket_id, r)}
        for r in range(high, low - 1, -1)
    ]


def is_low(rating: int, policy: Policy) -> bool:
    return rating <= policy.feedback.low_rating_alert


async def rate(
    session: AsyncSession,
    *,
    policy: Policy,
    ticket_id: int,
    customer_id: int,
    rating: int,
    now: datetime,
) -> Rated:
    """Store the customer's rating of their resolved ticket (a second rating replaces the first)."""
    low, high = policy.feedback.scale
    if not low <= rating <= high:
        raise FeedbackError(f"Please choose a rating from {low} to {high}.")
    ticket = await session.get(Ticket, ticket_id)
    # Never reveal another customer's ticket, nor whether it exists.
    if ticket is None or ticket.customer_id != customer_id:
        raise FeedbackError(f"I can't find ticket #{ticket_id} among your tickets.")
    if ticket.status not in RATABLE_STATUSES:
        raise FeedbackError(f"Ticket #{ticket_id} isn't resolved yet; you can rate it once it is.")
    existing = await _get(session, ticket_id)
    updated = existing is not None
    if existing is None:
        # Unique per ticket: a racing duplicate fails the flush, and the conversation engine
        # retries the turn, which then finds this row and updates it.
        existing = Feedback(ticket_id=ticket_id, rating=rating, created_at=now)
        session.add(existing)
        await session.flush()
    existing.rating = rating
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            at=now,
            kind="rated",
            actor=f"customer:{customer_id}",
            data={"rating": rating, "updated": updated},
        )
    )
    return Rated(existing, updated)


async def _get(session: AsyncSession, ticket_id: int) -> Feedback | None:
    query = select(Feedback).where(Feedback.ticket_id == ticket_id)
    return (await session.execute(query)).scalar_one_or_none()


async def comment(
    session: AsyncSession, *, ticket_id: int, customer_id: int, text: str, now: datetime
) -> Feedback | None:
    """Add the customer's comment to their rating of `ticket_id` (None when there is no rating)."""
    feedback = await _get(session, ticket_id)
    if feedback is None:
        return None
    feedback.comment = text.strip()[:MAX_COMMENT] or None
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            at=now,
            kind="feedback_comment",
            actor=f"customer:{customer_id}",
            data={"comment": feedback.comment},
        )
    )
    return feedback


def _alert_row(feedback: Feedback, policy: Policy, now: datetime) -> dict[str, Any]:
    comment_text = feedback.comment or ""
    text = f"Low rating for ticket #{feedback.ticket_id}: {feedback.rating} ★." + (
        f" Comment: {comment_text}" if comment_text else " No comment."
    )
    return {
        "kind": outbox.AGENT,
        "target": policy.escalation.managers_channel,
        "ticket_id": feedback.ticket_id,
        "payload": {
            "event": OutboxEvent.LOW_RATING,
            "ticket_id": feedback.ticket_id,
            "rating": feedback.rating,
            "comment": feedback.comment,
            "text": text,
        },
        "dedupe_key": f"feedback:low:{feedback.ticket_id}",
        "now": now,
    }


async def alert_if_low(session: AsyncSession, *, policy: Policy, ticket_id: int, now: datetime) -> bool:
    """Tell the managers about a low rating, once per ticket; True when the alert was written now."""
    feedback = await _get(session, ticket_id)
    if feedback is None or not is_low(feedback.rating, policy):
        return False
    return bool(await enqueue_once(session, [_alert_row(feedback, policy, now)]))


async def alert_stale_low_ratings(db: Database, *, policy: Policy, now: datetime) -> int:
    """Alert low ratings whose customer never answered the comment prompt (scheduled job)."""
    key = literal("feedback:low:") + Feedback.ticket_id.cast(OutboxMessage.dedupe_key.type)
    alerted = exists().where(OutboxMessage.dedupe_key == key)
    query = (
        select(Feedback)
        .where(
            and_(
                Feedback.rating <= policy.feedback.low_rating_alert,
                Feedback.created_at <= now - COMMENT_GRACE,
                Feedback.created_at >= now - STALE_LOOKBACK,
                ~alerted,
            )
        )
        .order_by(Feedback.id)
        .limit(500)
    )
    async with db.session() as session:
        stale = list((await session.execute(query)).scalars())
        return len(await enqueue_once(session, [_alert_row(f, policy, now) for f in stale]))
