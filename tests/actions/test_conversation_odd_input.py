"""Conversations off the usual path, through the in-memory channel (real engine, NLU, SQLite):
small talk, out-of-scope and unknown input, empty, very long or unencodable messages, the same
message delivered twice, two messages at once, and a state saved by an older version.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import Conversation, Customer, Feedback, InboundMessage, Ticket
from tests.actions.conversation_helpers import (
    BILLING,
    BILLING_STEPS,
    MENU,
    POLICY_EMAIL,
    billing_ticket,
    count,
    state_of,
    tickets_of,
)
from tests.helpers import TestChannel

# -- small talk and odd input ------------------------------------------------------------------------


async def test_greet_thanks_goodbye(bot: TestChannel) -> None:
    await bot.say("hello")
    assert "Hello" in bot.text and "I One Tech Solutions" in bot.text
    assert bot.buttons == MENU
    await bot.say("thank you")
    assert "welcome" in bot.text.lower()
    await bot.say("bye")
    assert "Goodbye" in bot.text
    assert await tickets_of(bot) == []


async def test_out_of_scope_fallback(bot: TestChannel) -> None:
    await bot.say("what's the weather like in Siem Reap?")
    assert "Sorry, I can't help with that" in bot.text
    assert bot.buttons == MENU
    assert (await state_of(bot)).get("flow") is None


async def test_unknown_payload_is_polite(bot: TestChannel) -> None:
    await bot.say("/nonsense")
    assert "isn't available" in bot.text
    assert bot.buttons == MENU
    await bot.say('/choose_priority{"priority":"high"}')  # a known button, but nothing asked
    assert bot.buttons == MENU
    assert await tickets_of(bot) == []


async def test_malformed_payload_is_text(bot: TestChannel) -> None:
    await bot.say("/choose_priority{bad json")
    assert bot.last  # answered, no crash
    assert await tickets_of(bot) == []
    await bot.say("/cancel")

    await bot.say(BILLING)
    await bot.say('/choose_priority{"priority": "high"')  # not JSON: not a priority choice
    assert "Please choose a priority with the buttons" in bot.text
    assert (await state_of(bot))["intake"]["priority"] is None
    await bot.say('/choose_priority{"priority":"urgent-ish"}')  # JSON, but no such priority
    assert "Please choose a priority with the buttons" in bot.text
    assert (await state_of(bot))["intake"]["priority"] is None


async def test_empty_and_whitespace_messages(bot: TestChannel) -> None:
    for text in ("", "   ", "\n\t ", "\x00\x01"):
        await bot.say(text)
        assert "didn't catch any text" in bot.text
    assert await count(bot, Conversation) == 0
    assert await count(bot, Customer) == 0
    assert await count(bot, Ticket) == 0


async def test_very_long_message_is_cut(bot: TestChannel) -> None:
    text = "our ERP crashes for everyone since this morning. " * 220  # about 11 KB
    assert len(text) > 10_000
    await bot.say(text)
    assert "kept its first 4000 characters" in bot.last[0].text
    state = await state_of(bot)
    assert len(state["intake"]["description"]) == 4000
    await bot.say("/cancel")


async def test_binary_garbage_does_not_crash(bot: TestChannel) -> None:
    await bot.say("\x00\xff\ufffe garbage")
    assert bot.last and bot.text
    await bot.say("\ud800 lone surrogate")
    assert bot.last and bot.text
    await bot.say("/report_issue")  # a description that is stored: nothing unencodable reaches it
    await bot.press("Technical")
    await bot.say("the \udc80 ERP crashes \ud83d since this morning")
    assert "priority" in bot.text.lower()
    await bot.say("/human_handoff")  # the description goes into a ticket: nothing unencodable reaches it
    await bot.say("sokha@example.com \udc80")
    assert "ticket #" in bot.text
    await bot.say("/back_to_bot")
    await bot.say("hello")
    assert "Hello" in bot.text


async def test_redelivered_message_is_handled_once(bot: TestChannel) -> None:
    await bot.say(BILLING, message_id="m0")
    await bot.say('/choose_priority{"priority":"medium"}', message_id="m1")
    first = list(bot.last)
    await bot.say("/affirm", message_id="m2")
    after_step = list(bot.last)
    again = await bot.say("/affirm", message_id="m2")  # the platform delivers it twice
    assert again == after_step
    state = await state_of(bot)
    assert len(state["intake"]["troubleshooting"]) == 1
    assert state["step"] == "troubleshoot"
    assert BILLING_STEPS[1] in bot.text
    assert await bot.say('/choose_priority{"priority":"medium"}', message_id="m1") == first
    assert (await state_of(bot))["intake"]["troubleshooting"] == state["intake"]["troubleshooting"]
    assert await count(bot, InboundMessage) == 3


async def test_message_ids_of_different_senders_do_not_collide(bot: TestChannel) -> None:
    """Web chat message ids come from each client (and Telegram's are per chat): the same id
    from another customer is a different message, and must never replay someone else's replies."""
    ticket = await billing_ticket(bot)
    await bot.say(f"status of ticket #{ticket.id}", message_id="1")
    assert ticket.subject in bot.text
    other = TestChannel(bot.services, sender="customer-2")
    await other.say("hello", message_id="1")
    assert "Hello" in other.text, other.text
    assert ticket.subject not in other.text
    assert f"#{ticket.id}" not in other.text


async def test_two_messages_at_once_from_one_sender(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.press("Medium")
    one, two = await asyncio.gather(bot.say("/affirm"), bot.say("/deny"))
    assert one and two
    texts = sorted(r.text for r in (*one, *two))
    assert any(BILLING_STEPS[1] in t for t in texts)
    assert any("what is your name" in t for t in texts)
    state = await state_of(bot)
    assert [s["step"] for s in state["intake"]["troubleshooting"]] == list(BILLING_STEPS)
    assert sorted(s["answer"] for s in state["intake"]["troubleshooting"]) == ["no", "yes"]
    assert state["step"] == "name"
    assert await count(bot, Conversation) == 1
    assert await count(bot, Customer) == 1


async def test_first_two_messages_at_once_make_one_customer(bot: TestChannel) -> None:
    one, two = await asyncio.gather(bot.say("/working_hours"), bot.say("/contact_channels"))
    assert "Monday to Friday" in "\n".join(r.text for r in (*one, *two))
    assert POLICY_EMAIL in "\n".join(r.text for r in (*one, *two))
    assert await count(bot, Conversation) == 1
    assert await count(bot, Customer) == 1


# -- states saved by an older version -------------------------------------------------------------


async def test_a_rating_comment_pending_in_the_old_state_format_is_taken(bot: TestChannel) -> None:
    """Before the rated ticket had its own field it travelled as `flow="feedback:ID"`."""
    await bot.say("/human_handoff")
    await bot.say("a question about my invoice")
    await bot.say("Sokha Chan, 012 345 678")
    [ticket] = await tickets_of(bot)
    services = bot.services
    async with services.db.session() as session:
        await services.tickets.resolve(session, ticket.id, actor="agent:U1", now=services.engine.now())
    await bot.say("/back_to_bot")
    await bot.say(f'/rate{{"ticket_id":{ticket.id},"rating":4}}')
    state = await state_of(bot)
    assert (state["flow"], state["feedback_ticket_id"]) == ("feedback", ticket.id)
    async with services.db.session() as session:
        conversation = (
            await session.execute(
                select(Conversation).where(
                    Conversation.channel == bot.channel, Conversation.sender == bot.sender
                )
            )
        ).scalar_one()
        old = {k: v for k, v in state.items() if k != "feedback_ticket_id"}
        conversation.state = {**old, "flow": f"feedback:{ticket.id}"}

    await bot.say("The engineer was quick")
    assert "passed your comment on" in bot.text
    async with services.db.reader() as session:
        comment = (
            await session.execute(select(Feedback.comment).where(Feedback.ticket_id == ticket.id))
        ).scalar_one()
    assert comment == "The engineer was quick"
    assert (await state_of(bot))["flow"] is None
