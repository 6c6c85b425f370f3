"""A customer's own data: "delete my data", the export of it, and the retention purge.

Forgetting a customer removes what identifies them or was said to them in chat, in every copy:
name, email, phone, the platform id (the conversation and customer are re-keyed, so the next
message from that chat starts afresh), the conversation's state, the stored answers to their
messages and every message queued or sent to them. Tickets stay, as the company's record of the
service, but their subjects, descriptions, troubleshooting notes, audit events, notices to the
agents, attachments and feedback comments are scrubbed of emails, phone numbers and card-like
digits (and of the customer's own name, email and phone, however written). The agents of an open
ticket are told the customer can no longer be reached; every ticket's Slack card is redrawn.

Retention (`privacy.retain_days` in the policy): a customer with nothing open and no activity for
that long is forgotten the same way by the nightly job, and old delivered notifications and stored
answers are deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.constants import OutboxEvent
from desk.serialize import iso, ticket_json
from desk.tickets import OPEN_STATUSES, TicketService
from storage.models import (
    Attachment,
    Conversation,
    Customer,
    Feedback,
    InboundMessage,
    OutboxMessage,
    Ticket,
    TicketEvent,
)

FORGOTTEN = "forgotten-"  # the prefix of re-keyed platform ids
EMAIL_MARK, PHONE_MARK, CARD_MARK = "[email removed]", "[phone removed]", "[card number removed]"

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits, optionally grouped by spaces or dashes (a payment card's number).
CARD = re.compile(r"(?<![\w+])(?:\d[ -]?){12,18}\d(?!\w)")
# An optional +, then 7-15 digits with the separators people type: spaces, dots, dashes, brackets.
PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d .()\-]{5,20}\d(?!\w)")
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    date = DATE.match(found)
    rest = found[date.end() :] if date else found
    if not 7 <= sum(c.isdigit() for c in rest) <= 15:
        return found  # a date (and a time after it), a short number (an order, a version) stays
    return PHONE_MARK


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """The text without emails, phone numbers and card-like digits (nor the `known` values)."""
    for value in known:
        if value and len(value) >= 3:
            text = re.sub(re.escape(value), "[removed]", text, flags=re.IGNORECASE)
    text = EMAIL.sub(EMAIL_MARK, text)
    text = CARD.sub(CARD_MARK, text)
    return PHONE.sub(_phone, text)


def scrub_json(value: Any, known: Iterable[str] = ()) -> Any:
    """`scrub` every string of a JSON value (keys stay)."""
    known = tuple(known)
    if isinstance(value, str):
        return scrub(value, known)
    if isinstance(value, list):
        return [scrub_json(item, known) for item in value]
    if isinstance(value, dict):
        return {key: scrub_json(item, known) for key, item in value.items()}
    return value


def _known(customer: Customer) -> list[str]:
    """The customer's own details, as stored and as their digits alone (a phone written otherwise)."""
    values = [v for v in (customer.name, customer.email, customer.phone) if v]
    if customer.phone:
        values.append(re.sub(r"\D", "", customer.phone))
    return values


async def forget_customer(
    session: AsyncSession,
    *,
    tickets: TicketService,
    customer: Customer,
    now: datetime,
    conversation: Conversation | None = None,
) -> int:
    """Erase the customer's personal data; returns how many of their tickets were kept."""
    known = _known(customer)
    conversations = list(
        (await session.execute(select(Conversation).where(Conversation.customer_id == customer.id))).scalars()
    )
    if conversation is not None and conversation not in conversations:
        conversations.append(conversation)
    for talk in conversations:
        await _forget_conversation(session, talk, known)

    kept = list((await session.execute(select(Ticket).where(Ticket.customer_id == customer.id))).scalars())
    ids = [ticket.id for ticket in kept]
    for ticket in kept:
        ticket.subject = scrub(ticket.subject, known)
        ticket.description = scrub(ticket.description, known)
        ticket.troubleshooting = scrub_json(ticket.troubleshooting, known)
    if ids:
        for event in (
            await session.execute(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)))
        ).scalars():
            event.data = scrub_json(event.data, known)
        for row in (
            await session.execute(select(OutboxMessage).where(OutboxMessage.ticket_id.in_(ids)))
        ).scalars():
            row.payload = scrub_json(row.payload, known)
        for attachment in (
            await session.execute(select(Attachment).where(Attachment.ticket_id.in_(ids)))
        ).scalars():
            _forget_attachment(attachment, known)
        for feedback in (
            await session.execute(select(Feedback).where(Feedback.ticket_id.in_(ids)))
        ).scalars():
            feedback.comment = scrub(feedback.comment, known) if feedback.comment else None

    customer.name = customer.email = customer.phone = None
    customer.announcements = False
    customer.unreachable_at = None
    customer.external_id = f"{FORGOTTEN}{customer.id}"
    await session.flush()
    for ticket in kept:
        if ticket.status in OPEN_STATUSES:  # the agents hear of it, and the card is redrawn
            await tickets.customer_forgotten(session, ticket.id, actor=f"customer:{customer.id}", now=now)
        else:  # the card shows the customer's contact: redraw it without
            outbox.enqueue(
                session,
                kind=outbox.AGENT,
                target=tickets.policy.escalation.tiers[ticket.tier].slack_channel,
                now=now,
                ticket_id=ticket.id,
                payload={"event": OutboxEvent.TICKET_UPDATED, "ticket_id": ticket.id},
            )
    return len(kept)


async def _forget_conversation(session: AsyncSession, talk: Conversation, known: list[str]) -> None:
    channel, sender = talk.channel, talk.sender
    await session.execute(
        delete(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.sender == sender)
    )
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.kind == outbox.CUSTOMER,
            OutboxMessage.target == outbox.customer_target(channel, sender),
        )
    )
    for attachment in (
        await session.execute(select(Attachment).where(Attachment.conversation_id == talk.id))
    ).scalars():
        _forget_attachment(attachment, known)
    talk.state = {}  # the intake's answers (email, phone, description) were kept here
    talk.sender = f"{FORGOTTEN}{talk.id}"
    talk.handoff_ticket_id = None


def _forget_attachment(attachment: Attachment, known: list[str]) -> None:
    """The file's name and caption are scrubbed, its platform id dropped (it cannot be fetched)."""
    attachment.caption = scrub(attachment.caption, known) if attachment.caption else None
    attachment.file_name = scrub(attachment.file_name, known)
    attachment.file_id = ""


async def forget_by_id(
    session: AsyncSession, *, tickets: TicketService, customer_id: int, now: datetime
) -> int | None:
    """`forget_customer` for the customer with this id; None when there is none."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    return await forget_customer(session, tickets=tickets, customer=customer, now=now)


async def export_customer(
    session: AsyncSession, *, tickets: TicketService, customer_id: int, now: datetime
) -> dict[str, Any] | None:
    """Everything stored about one customer, as JSON-ready data; None when there is none."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    talks = list(
        (await session.execute(select(Conversation).where(Conversation.customer_id == customer_id))).scalars()
    )
    ids = [
        t
        for t in (
            await session.execute(
                select(Ticket.id).where(Ticket.customer_id == customer_id).order_by(Ticket.id)
            )
        ).scalars()
    ]
    loaded = [await tickets.get(session, ticket_id, with_events=True) for ticket_id in ids]
    targets = [outbox.customer_target(t.channel, t.sender) for t in talks]
    messages = (
        list(
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == outbox.CUSTOMER, OutboxMessage.target.in_(targets))
                    .order_by(OutboxMessage.id)
                )
            ).scalars()
        )
        if targets
        else []
    )
    attachments = list(
        (
            await session.execute(
                select(Attachment).where(
                    or_(
                        Attachment.conversation_id.in_([t.id for t in talks]),
                        Attachment.ticket_id.in_(ids),
                    )
                )
            )
        ).scalars()
    )
    feedback = list((await session.execute(select(Feedback).where(Feedback.ticket_id.in_(ids)))).scalars())
    return {
        "customer": {
            "id": customer.id,
            "channel": customer.channel,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "announcements": customer.announcements,
            "created_at": iso(customer.created_at),
        },
        "conversations": [
            {
                "id": t.id,
                "channel": t.channel,
                "created_at": iso(t.created_at),
                "updated_at": iso(t.updated_at),
            }
            for t in talks
        ],
        "tickets": [ticket_json(t, service=tickets, now=now) for t in loaded if t is not None],
        "messages_to_customer": [
            {
                "at": iso(m.created_at),
                "delivered_at": iso(m.delivered_at),
                "text": m.payload.get("text"),
                # The desk's notices are catalog messages (bot/notices.py words them when sent).
                **{k: m.payload[k] for k in ("message", "values", "language") if k in m.payload},
            }
            for m in messages
        ],
        "attachments": [
            {
                "id": a.id,
                "ticket_id": a.ticket_id,
                "file_name": a.file_name,
                "mime_type": a.mime_type,
                "size": a.size,
                "caption": a.caption,
                "created_at": iso(a.created_at),
            }
            for a in attachments
        ],
        "feedback": [
            {"ticket_id": f.ticket_id, "rating": f.rating, "comment": f.comment, "at": iso(f.created_at)}
            for f in feedback
        ],
    }


async def purge_expired(session: AsyncSession, *, tickets: TicketService, now: datetime) -> int:
    """Forget customers with nothing open and no activity for `privacy.retain_days`; delete old
    delivered notifications and stored answers. Returns how many customers were forgotten."""
    cutoff = now - timedelta(days=tickets.policy.privacy.retain_days)
    done_at = func.coalesce(Ticket.closed_at, Ticket.resolved_at, Ticket.created_at)
    busy = select(Ticket.customer_id).where(or_(Ticket.status.in_(list(OPEN_STATUSES)), done_at >= cutoff))
    talking = select(Conversation.customer_id).where(
        Conversation.customer_id.is_not(None), Conversation.updated_at >= cutoff
    )
    expired = select(Customer).where(
        Customer.created_at < cutoff,
        ~Customer.external_id.startswith(FORGOTTEN),
        Customer.id.not_in(busy),
        Customer.id.not_in(talking),
    )
    forgotten = 0
    for customer in list((await session.execute(expired)).scalars()):
        await forget_customer(session, tickets=tickets, customer=customer, now=now)
        forgotten += 1
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.delivered_at.is_not(None), OutboxMessage.delivered_at < cutoff
        )
    )
    await session.execute(delete(InboundMessage).where(InboundMessage.received_at < cutoff))
    return forgotten
