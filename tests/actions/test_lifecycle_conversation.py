"""A customer talking to the ticket's agents after the end: thanks and greetings are answered by the
assistant without reopening anything; a real message reopens a resolved ticket (TestChannel)."""

from __future__ import annotations

from tests.actions.conversation_helpers import events_of, tickets_of
from tests.helpers import FrozenClock, TestChannel


async def test_thanks_after_a_resolution_keeps_it_resolved_and_a_complaint_reopens_it(
    bot: TestChannel, clock: FrozenClock
) -> None:
    await bot.say("i need to speak with a real person about our mail server, dara.sok@example.com")
    [ticket] = await tickets_of(bot)
    async with bot.services.db.session() as session:
        await bot.services.tickets.resolve(session, ticket.id, actor="slack:U0AGENT", now=clock())

    await bot.say("thanks a lot!!")
    assert "welcome" in bot.text.lower()
    [ticket] = await tickets_of(bot)
    assert ticket.status == "resolved"

    clock.advance(minutes=20)
    await bot.say("mail server is down AGAIN, nobody in the office can send anything")
    assert bot.text.startswith(f"I've reopened your ticket #{ticket.id} and passed your message on.")
    [ticket] = await tickets_of(bot)
    assert ticket.status == "open" and ticket.response_round == 1
    kinds = [e.kind for e in await events_of(bot, ticket.id)]
    assert kinds[-3:] == ["reopened", "customer_message", "next_response_clock"]
