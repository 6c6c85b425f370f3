"""A customer's own data: announcements on or off, and "delete my data".

Forgetting a customer removes what identifies them or was said to them in chat: name, email,
phone, the platform id (the conversation and customer are re-keyed, so the next message from
that chat starts afresh), the stored answers to their messages and every message queued or sent
to them. Tickets stay, as the company's record of the service, without the contact details; the
agents of a ticket still open are told the customer can no longer be reached in chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.tickets import OPEN_STATUSES, TicketService
from storage.models import Conversation, Customer, InboundMessage, OutboxMessage, Ticket


async def forget_customer(
    session: AsyncSession,
    *,
    tickets: TicketService,
    customer: Customer,
    conversation: Conversation,
    now: datetime,
) -> int:
    """Erase the customer's personal data; returns how many of their tickets were kept."""
    channel, sender = conversation.channel, conversation.sender
    await session.execute(
        delete(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.sender == sender)
    )
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.kind == outbox.CUSTOMER,
            OutboxMessage.target == outbox.customer_target(channel, sender),
        )
    )
    kept = list((await session.execute(select(Ticket).where(Ticket.customer_id == customer.id))).scalars())
    for ticket in kept:
        if ticket.status in OPEN_STATUSES:
            await tickets.customer_forgotten(session, ticket.id, actor=f"customer:{customer.id}", now=now)
    customer.name = customer.email = customer.phone = None
    customer.announcements = False
    customer.unreachable_at = None
    customer.external_id = f"forgotten-{customer.id}"
    conversation.sender = f"forgotten-{conversation.id}"
    conversation.handoff_ticket_id = None
    return len(kept)
