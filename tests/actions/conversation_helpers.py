"""What the conversation tests share: the texts of the shipped policy they expect, a few
customer messages, and readers of what a conversation stored (tickets, events, outbox rows,
the customer and the conversation state)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from storage.models import Conversation, Customer, OutboxMessage, Ticket, TicketEvent
from tests.helpers import TestChannel

PP = ZoneInfo("Asia/Phnom_Penh")
POLICY_EMAIL = "sales@ionetechsolution.biz"
POLICY_PHONE = "85596 9899 444"
TECH_STEPS = (
    "Have you restarted the application (or the computer) and tried again?",
    "Are other people or other devices affected in the same way?",
    "Is your internet connection working for other websites and services?",
    "Did you note the exact error message or take a screenshot of it?",
)
BILLING_STEPS = (
    "Have you checked the invoice number and amount against your order or contract?",
    "Have you confirmed with your bank that the payment left your account?",
)
CATEGORY_TITLES = [
    "Technical issue",
    "Billing and financial issue",
    "Infrastructure and maintenance issue",
    "Security and compliance issue",
]
MENU = ["Report a problem", "My tickets", "Working hours", "Contact us", "Talk to a person", "ភាសាខ្មែរ"]
BILLING = "the amount on our latest invoice looks too high"
# A report whose words answer none of the checks, so all four are asked.
ERP = "our ERP keeps crashing since this morning, this is critical"


def pp(*args: int) -> datetime:
    return datetime(*args, tzinfo=PP)  # type: ignore[misc]


# -- reading what was stored -----------------------------------------------------------------------


async def tickets_of(bot: TestChannel) -> list[Ticket]:
    async with bot.services.db.reader() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def count(bot: TestChannel, model: Any) -> int:
    async with bot.services.db.reader() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def state_of(bot: TestChannel) -> dict[str, Any]:
    async with bot.services.db.reader() as session:
        conversation = (
            await session.execute(
                select(Conversation).where(
                    Conversation.channel == bot.channel, Conversation.sender == bot.sender
                )
            )
        ).scalar_one_or_none()
        return dict(conversation.state) if conversation is not None else {}


async def events_of(bot: TestChannel, ticket_id: int) -> list[TicketEvent]:
    async with bot.services.db.reader() as session:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return list((await session.execute(query)).scalars())


async def outbox_of(bot: TestChannel, ticket_id: int | None = None) -> list[OutboxMessage]:
    async with bot.services.db.reader() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if ticket_id is not None:
            query = query.where(OutboxMessage.ticket_id == ticket_id)
        return list((await session.execute(query)).scalars())


async def customer_of(bot: TestChannel) -> Customer:
    async with bot.services.db.reader() as session:
        query = select(Customer).where(Customer.channel == bot.channel, Customer.external_id == bot.sender)
        return (await session.execute(query)).scalar_one()


def step(state: dict[str, Any]) -> str | None:
    return state.get("step")


async def billing_ticket(bot: TestChannel, *, priority: str = "medium") -> Ticket:
    """A short intake (billing has two checks) ending in a ticket; contact asked or reused."""
    await bot.say(BILLING)
    await bot.say(f'/choose_priority{{"priority":"{priority}"}}')
    await bot.say("/affirm")
    await bot.say("/affirm")
    if step(await state_of(bot)) == "contact_confirm":
        await bot.say("/affirm")
    else:
        await bot.say("Sokha Chan")
        await bot.say("sokha@example.com")
    assert step(await state_of(bot)) == "confirm", bot.text
    await bot.press("Open the ticket")
    return (await tickets_of(bot))[-1]
