"""Customers who answer in their own words, through the in-memory channel (real engine, NLU, SQLite).

None of these messages is in the training data: answers with details, "not sure", replies that
answer nothing, a long report that already answers the checks, anger, outages, refunds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.slack.blocks import PostView, ticket_blocks
from desk.serialize import ticket_json
from storage.models import SelfServiceResolution, Ticket
from tests.actions.conversation_helpers import TECH_STEPS, state_of, step, tickets_of
from tests.helpers import FrozenClock, TestChannel

OUTLOOK = "Outlook keeps closing by itself since this morning"
LONG_REPORT = (
    "Hello, I'm writing from the finance department. "
    # Long, but under the 4,000 characters a message keeps (actions/messages.py MAX_TEXT).
    + "We rely on the accounting software for month-end closing and this is holding everything up. " * 36
    + "Since Monday morning QuickBooks shows 'Error 6123: connection to the company file has been lost' "
    "whenever anyone opens the company file. Every computer in the finance department has the same "
    "problem. We reinstalled it twice and restarted all the machines, no change."
)


async def contact_and_summary(bot: TestChannel) -> None:
    """Name and email, up to the summary."""
    if step(await state_of(bot)) == "contact_confirm":
        await bot.say("yes")
    else:
        await bot.say("Dara Sok")
        await bot.say("dara@example.com")
    assert step(await state_of(bot)) == "confirm", bot.text


async def only_ticket(bot: TestChannel) -> Ticket:
    [ticket] = await tickets_of(bot)
    return ticket


async def api_view(bot: TestChannel, ticket: Ticket, clock: FrozenClock) -> dict[str, Any]:
    """The ticket as GET /api/tickets/{id} shows it."""
    async with bot.services.db.reader() as session:
        loaded = await bot.services.tickets.get(session, ticket.id, with_events=True)
        assert loaded is not None
        return ticket_json(loaded, service=bot.services.tickets, now=clock())


async def slack_card(bot: TestChannel, ticket: Ticket) -> str:
    """The text of the ticket's Slack card."""
    async with bot.services.db.reader() as session:
        loaded = await bot.services.tickets.get(session, ticket.id, with_events=True)
        assert loaded is not None
        view = PostView(ticket=loaded, tier=1, sla_state="ok", policy=bot.services.policy)
        return str(ticket_blocks(view))


async def start_outlook(bot: TestChannel) -> None:
    await bot.say(OUTLOOK)
    if step(await state_of(bot)) == "category":
        await bot.press("Technical")
    await bot.press("Medium")
    if step(await state_of(bot)) == "exclusion":  # Outlook is third-party software
        await bot.press("Yes, pass it on")
    assert step(await state_of(bot)) == "troubleshoot", bot.text


# -- answers with details --------------------------------------------------------------------------


async def test_answers_with_details_are_kept_beside_each_step(bot: TestChannel, clock: FrozenClock) -> None:
    await start_outlook(bot)
    assert bot.buttons == ["Yes", "No", "Not sure", "That fixed it!"]
    await bot.say("yes we reinstalled it twice, no change")
    assert f"Step 2 of 4: {TECH_STEPS[1]}" in bot.text
    await bot.say("only me, my colleagues are fine")
    await bot.say("yep, youtube and gmail work normally")
    await bot.say("it says 'Microsoft Outlook has stopped working'")
    await contact_and_summary(bot)
    assert '("Microsoft Outlook has stopped working")' in bot.text
    await bot.say("ye send it")

    ticket = await only_ticket(bot)
    checks = (await api_view(bot, ticket, clock))["troubleshooting"]
    assert [(c["step"], c["answer"]) for c in checks] == list(
        zip(TECH_STEPS, ["yes", "no", "yes", "yes"], strict=True)
    )
    assert "reinstalled it twice" in checks[0]["note"]
    assert "only me" in checks[1]["note"]
    assert checks[3]["note"] == "Microsoft Outlook has stopped working"
    assert (await api_view(bot, ticket, clock))["sentiment"] is None

    # The agents see the same words on the Slack card.
    card = await slack_card(bot, ticket)
    assert "Microsoft Outlook has stopped working" in card
    assert "only me" in card


async def test_not_sure_is_an_answer_without_a_loop(bot: TestChannel) -> None:
    await start_outlook(bot)
    for reply in ("not sure", "I don't know", "no idea tbh"):
        await bot.say(reply)
        assert "didn't catch" not in bot.text
    await bot.press("Not sure")
    await contact_and_summary(bot)
    await bot.say("yes please")
    ticket = await only_ticket(bot)
    assert [c["answer"] for c in ticket.troubleshooting] == ["not_sure"] * 4


async def test_how_do_i_check_explains_then_asks_again(bot: TestChannel) -> None:
    await start_outlook(bot)
    await bot.say("yes")
    await bot.say("no")
    await bot.say("how do I check that?")
    assert "google.com" in bot.text  # the internet step's hint
    assert "Is your internet connection working" in bot.text
    assert "Step" not in bot.text  # a short question, not the whole step again
    await bot.say("ok yes google loads fine")
    assert f"Step 4 of 4: {TECH_STEPS[3]}" in bot.text
    state = await state_of(bot)
    assert state["intake"]["troubleshooting"][2]["answer"] == "yes"


async def test_a_reply_that_answers_nothing_is_reasked_once_then_recorded(bot: TestChannel) -> None:
    await start_outlook(bot)
    await bot.say("the printer is on the second floor")
    assert "didn't catch that" in bot.text
    assert "Step 1" not in bot.text and TECH_STEPS[0] in bot.text
    await bot.say("blue")
    assert "let's move on" in bot.text
    assert f"Step 2 of 4: {TECH_STEPS[1]}" in bot.text  # never the same question a third time
    for _ in range(3):
        await bot.press("No")
    await contact_and_summary(bot)
    await bot.say("asdfgh")  # not an answer at the summary either: a short question back
    assert "Here is your request" not in bot.text
    assert "Open the ticket" in bot.buttons
    await bot.say("go ahead")
    ticket = await only_ticket(bot)
    first = ticket.troubleshooting[0]
    assert (first["answer"], first["note"]) == ("no_answer", "the printer is on the second floor / blue")
    assert "asdfgh" in ticket.description  # nothing typed is lost


async def test_that_fixed_it_ends_the_intake_at_any_step(bot: TestChannel) -> None:
    await bot.say("our VPN won't connect since the update")
    assert step(await state_of(bot)) in ("category", "priority")
    if step(await state_of(bot)) == "category":
        await bot.press("Technical")
    await bot.say("restarting fixed it, thanks!")
    assert "glad that fixed it" in bot.text
    assert await tickets_of(bot) == []
    async with bot.services.db.reader() as session:
        [row] = (await session.execute(select(SelfServiceResolution))).scalars().all()
    assert row.step == "priority"
    assert (await state_of(bot)).get("flow") is None


# -- what the description already says -----------------------------------------------------------


async def test_what_the_description_answers_is_not_asked_again(bot: TestChannel) -> None:
    await bot.say(LONG_REPORT)
    if step(await state_of(bot)) == "category":
        await bot.press("Technical")
    await bot.press("High")
    # Restarted, others affected and the error are in the report: only the internet is asked.
    assert f"Step 3 of 4: {TECH_STEPS[2]}" in bot.text
    assert "From your message I already know" in bot.text
    await bot.say("yes internet is fine")
    await contact_and_summary(bot)
    summary = bot.text
    assert summary.count("[from your message]") == 3
    assert "Error 6123" in summary
    assert "Correct the checks" in bot.buttons
    await bot.say("yes")
    ticket = await only_ticket(bot)
    answers = [(c["answer"], c.get("source")) for c in ticket.troubleshooting]
    assert answers == [("yes", "description"), ("yes", "description"), ("yes", None), ("yes", "description")]
    assert "Error 6123" in ticket.troubleshooting[3]["note"]


async def test_checks_taken_from_the_description_can_be_corrected(bot: TestChannel) -> None:
    await bot.say("our ERP crashes for everyone since this morning")
    await bot.press("High")
    for _ in range(3):
        await bot.press("No")
    await contact_and_summary(bot)
    await bot.press("Correct the checks")
    assert f"Step 2 of 4: {TECH_STEPS[1]}" in bot.text
    await bot.say("actually no, only my computer")
    assert "Here is your request" in bot.text
    await bot.press("Open the ticket")
    ticket = await only_ticket(bot)
    assert [c["answer"] for c in ticket.troubleshooting] == ["no", "no", "no", "no"]
    assert [c["step"] for c in ticket.troubleshooting] == list(TECH_STEPS)


# -- the summary in words --------------------------------------------------------------------------


async def test_the_summary_understands_words(bot: TestChannel) -> None:
    for confirm in ("yes please", "go ahead", "ye send it"):
        await start_outlook(bot)
        for _ in TECH_STEPS:
            await bot.press("No")
        await contact_and_summary(bot)
        await bot.say("make it urgent")
        assert "Priority: High" in bot.text
        await bot.say(confirm)
        assert "is open" in bot.text, (confirm, bot.text)
    assert [t.priority for t in await tickets_of(bot)] == ["high"] * 3


# -- feelings ----------------------------------------------------------------------------------------


async def test_an_angry_outage_is_a_high_frustrated_report(bot: TestChannel, clock: FrozenClock) -> None:
    await bot.say("THIS IS THE THIRD TIME YOUR SYSTEM IS DOWN THIS WEEK!!! I'm paying you for nothing")
    assert "frustrating" in bot.text
    assert "No maintenance is scheduled" not in bot.text
    assert bot.buttons[0].startswith(("High (suggested)", "Critical (suggested)"))
    await bot.press(bot.buttons[0])
    await bot.say("yes, nothing announced")
    await bot.say("no, not from my phone either")
    await contact_and_summary(bot)
    await bot.say("SEND IT")
    ticket = await only_ticket(bot)
    assert ticket.category == "infrastructure"
    assert ticket.priority in ("high", "critical")
    assert (await api_view(bot, ticket, clock))["sentiment"] == "frustrated"
    assert "frustrated" in await slack_card(bot, ticket)


async def test_it_is_down_nothing_loads_starts_a_report(bot: TestChannel) -> None:
    await bot.say("are you kidding me? it IS down. nothing loads.")
    state = await state_of(bot)
    assert state["flow"] == "intake"
    assert state["intake"]["category"] in ("infrastructure", "technical")
    assert state["intake"]["suggested_priority"] in ("high", "critical")
    assert state["intake"]["sentiment"] == "frustrated"
    assert "can't help" not in bot.text


async def test_is_the_system_down_offers_to_report_an_outage(bot: TestChannel) -> None:
    await bot.say("Is the system down?")
    assert "all services should be available" not in bot.text
    assert bot.buttons == ["Report an outage"]
    await bot.press("Report an outage")
    state = await state_of(bot)
    assert (state["flow"], state["intake"]["category"]) == ("intake", "infrastructure")


async def test_a_refund_demand_goes_to_billing_and_a_person(bot: TestChannel, clock: FrozenClock) -> None:
    await bot.say("I want a refund and a manager NOW")
    assert "email address or phone number" in bot.text  # the only thing the handoff asks
    await bot.say("Dara Sok, dara.sok@example.com")
    assert "asked a person to join" in bot.text
    ticket = await only_ticket(bot)
    assert ticket.category == "billing"
    assert (await api_view(bot, ticket, clock))["sentiment"] == "frustrated"
    assert ticket.priority in ("high", "critical")


async def test_restarting_fixed_it_at_the_name_step_and_words_kept_on_a_handoff(bot: TestChannel) -> None:
    await start_outlook(bot)
    for _ in TECH_STEPS:
        await bot.press("No")
    await bot.say("oh wait, restarting fixed it, thanks!")
    assert "glad that fixed it" in bot.text
    assert await tickets_of(bot) == []

    await start_outlook(bot)
    await bot.say("the printer is on the second floor")  # answers nothing: kept
    await bot.say("talk to a person please")
    assert "email address or phone number" in bot.text  # what it is about, the intake knew
    await bot.say("Dara Sok, dara.sok@example.com")
    assert "asked a person to join" in bot.text
    ticket = await only_ticket(bot)
    assert "the printer is on the second floor" in ticket.description
