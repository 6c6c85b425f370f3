"""Handing a conversation to a person, through the in-memory channel (real engine, NLU, SQLite):
from idle, on an open ticket, in the middle of an intake, and back to the bot; what the customer
says meanwhile goes to the ticket and to the agents.
"""

from __future__ import annotations

from tests.actions.conversation_helpers import (
    BILLING,
    MENU,
    billing_ticket,
    events_of,
    outbox_of,
    state_of,
    tickets_of,
)
from tests.helpers import FrozenClock, TestChannel

# -- human handoff ----------------------------------------------------------------------------------


async def test_handoff_from_idle(bot: TestChannel) -> None:
    await bot.say("I want to talk to a human")
    assert "what is it about" in bot.text
    await bot.say("I can't log in to the portal since the update")
    assert "email address or phone number" in bot.text
    await bot.say("Sokha Chan, sokha@example.com")
    [ticket] = await tickets_of(bot)
    assert f"I've opened ticket #{ticket.id}" in bot.text
    assert bot.buttons == ["Back to the bot"]
    assert ticket.status == "open"
    assert ticket.description == "I can't log in to the portal since the update"
    agent = [(o.target, o.payload["event"]) for o in await outbox_of(bot, ticket.id) if o.kind == "agent"]
    assert ("#support-tier1", "handoff_requested") in agent

    await bot.say("I still can't log in to the portal")
    assert len(bot.last) == 1
    assert f"I've added that to ticket #{ticket.id}" in bot.text
    await bot.say("it says error 500")
    assert f"I've added that to ticket #{ticket.id}" in bot.text

    events = await events_of(bot, ticket.id)
    messages = [e.data["text"] for e in events if e.kind == "customer_message"]
    assert messages == ["I still can't log in to the portal", "it says error 500"]
    assert [e.kind for e in events][:2] == ["created", "handoff_requested"]
    forwarded = [o for o in await outbox_of(bot, ticket.id) if o.payload["event"] == "customer_message"]
    assert len(forwarded) == 2

    await bot.say("/back_to_bot")
    assert "talking to the bot again" in bot.text
    assert bot.buttons == MENU
    await bot.say("what are your working hours?")
    assert "Monday to Friday" in bot.text
    assert len([e for e in await events_of(bot, ticket.id) if e.kind == "customer_message"]) == 2
    assert len(await tickets_of(bot)) == 1


async def test_handoff_links_the_open_ticket(bot: TestChannel) -> None:
    ticket = await billing_ticket(bot)
    await bot.say("/human_handoff")
    assert f"on your ticket #{ticket.id}" in bot.text
    assert len(await tickets_of(bot)) == 1
    assert [e.kind for e in await events_of(bot, ticket.id)] == ["created", "handoff_requested"]
    await bot.say("talk to a human")  # asking again while connected
    assert "already connected" in bot.text
    assert len(await tickets_of(bot)) == 1


async def test_handoff_in_the_middle_of_an_intake_keeps_what_was_said(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.press("High")
    await bot.say("/human_handoff")
    assert "what email address or phone number" not in bot.text and "email address" in bot.text
    await bot.say("I'm Sokha Chan, 012 345 678")
    [ticket] = await tickets_of(bot)
    assert ticket.category == "billing"
    assert ticket.priority == "high"
    assert ticket.description == BILLING
    assert (await state_of(bot))["flow"] is None


async def test_handoff_ends_when_the_ticket_is_resolved(bot: TestChannel, clock: FrozenClock) -> None:
    await bot.say("talk to a human, the VPN drops every few minutes")
    await bot.say("sokha@example.com")
    [ticket] = await tickets_of(bot)
    async with bot.services.db.session() as session:
        await bot.services.tickets.resolve(session, ticket.id, actor="agent:U1", now=clock())
    await bot.say("hello")
    assert "How can I help you today?" in bot.text
    assert "customer_message" not in [e.kind for e in await events_of(bot, ticket.id)]
