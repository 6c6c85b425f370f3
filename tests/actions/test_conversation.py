"""Whole conversations through the in-memory channel: real engine, real NLU, real SQLite.

Each test talks to the bot like a customer would, then checks both what the customer read and
what was stored (tickets, events, outbox rows, the conversation state). Here: reporting a
problem from the first message to the ticket (categories, priorities, the checks, exclusions,
contact details), cancelling it, and a restart of the process in the middle of it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import build_services
from nlu.embedded import EmbeddedNlu
from storage.models import Conversation, SelfServiceResolution
from tests.actions.conversation_helpers import (
    BILLING,
    BILLING_STEPS,
    CATEGORY_TITLES,
    ERP,
    MENU,
    TECH_STEPS,
    billing_ticket,
    customer_of,
    events_of,
    outbox_of,
    pp,
    state_of,
    step,
    tickets_of,
)
from tests.helpers import FrozenClock, TestChannel, settings_for

# -- the full intake -----------------------------------------------------------------------------------


async def test_full_intake_from_free_text(bot: TestChannel, clock: FrozenClock) -> None:
    clock.set(pp(2026, 12, 4, 16, 30))  # Friday 16:30: a high ticket is due Monday 10:30
    await bot.say("our ERP crashes for everyone since this morning")
    assert "looks critical" in bot.text
    assert bot.buttons[0].startswith("Critical (suggested)")
    assert sum("suggested" in b for b in bot.buttons) == 1
    assert len(bot.buttons) == 4

    await bot.press("High")
    assert f"Step 1 of 4: {TECH_STEPS[0]}" in bot.text
    assert "From your message I already know" in bot.text  # "for everyone": others are affected
    assert bot.buttons == ["Yes", "No", "Not sure", "That fixed it!"]
    answers = ["Yes", None, "Yes", "No"]  # step 2 is taken from the description, not asked
    await bot.press("Yes")
    for n in (2, 3):
        assert f"Step {n + 1} of 4: {TECH_STEPS[n]}" in bot.text
        assert TECH_STEPS[1] not in bot.text
        await bot.press(str(answers[n]))
    assert "what is your name" in bot.text

    await bot.say("Sokha Chan")
    assert "Thanks, Sokha Chan" in bot.text
    await bot.say("sokha@example.com")
    summary = bot.text
    assert "Category: Technical issue" in summary
    assert "Priority: High" in summary
    assert "our ERP crashes for everyone since this morning" in summary
    assert "Sokha Chan, sokha@example.com" in summary
    assert "[from your message]" in summary
    assert "From your message: product ERP; started since this morning" in summary
    assert bot.buttons == ["Open the ticket", "Change priority", "Correct the checks", "Cancel"]
    assert await tickets_of(bot) == []

    await bot.press("Open the ticket")
    [ticket] = await tickets_of(bot)
    assert ticket.category == "technical"
    assert ticket.priority == "high"
    assert ticket.status == "open"
    assert ticket.tier == 1
    assert ticket.channel == "webchat"
    assert ticket.exclusion is None
    assert ticket.description == "our ERP crashes for everyone since this morning"
    assert ticket.troubleshooting == [
        {"step": TECH_STEPS[0], "answer": "yes", "note": ""},
        {
            "step": TECH_STEPS[1],
            "answer": "yes",
            "note": "our ERP crashes for everyone since this morning",
            "source": "description",
        },
        {"step": TECH_STEPS[2], "answer": "yes", "note": ""},
        {"step": TECH_STEPS[3], "answer": "no", "note": ""},
    ]
    assert ticket.created_at == pp(2026, 12, 4, 16, 30)
    assert ticket.response_due_at == pp(2026, 12, 7, 10, 30)
    assert f"#{ticket.id}" in bot.text
    assert "Mon 7 Dec, 10:30" in bot.text
    assert "Sokha Chan" in bot.text
    assert "outside working hours" not in bot.text

    customer = await customer_of(bot)
    assert ticket.customer_id == customer.id
    assert (customer.name, customer.email) == ("Sokha Chan", "sokha@example.com")
    async with bot.services.db.reader() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
    assert ticket.conversation_id == conversation.id
    assert [e.kind for e in await events_of(bot, ticket.id)] == ["created"]
    assert [(o.kind, o.target) for o in await outbox_of(bot, ticket.id)] == [("agent", "#support-tier1")]
    assert (await state_of(bot)).get("flow") is None


async def test_critical_deadline_and_status_afterwards(bot: TestChannel) -> None:
    """Mon 10:00: critical runs 24x7, so due 11:00; the ticket then shows in 'my tickets'."""
    await bot.say(ERP)
    await bot.press("Critical")
    for _ in TECH_STEPS:
        await bot.press("Yes")
    await bot.say("my name is Sokha Chan")
    await bot.say("you can call me on 012 345 678")
    assert "012345678" in bot.text
    await bot.press("Open the ticket")
    [ticket] = await tickets_of(bot)
    assert ticket.priority == "critical"
    assert ticket.response_due_at == pp(2026, 11, 30, 11, 0)
    assert "Mon 30 Nov, 11:00" in bot.text
    assert (await customer_of(bot)).phone == "012345678"

    await bot.say("what is the status of my tickets?")
    assert f"#{ticket.id}" in bot.text
    assert "our ERP keeps crashing" in bot.text
    assert "waiting for an engineer" in bot.text


# -- categories and priorities ----------------------------------------------------------------------


async def test_each_category_recognised_from_a_typical_message(bot: TestChannel) -> None:
    cases = {
        BILLING: ("billing", "Billing error affecting critical services."),
        "the server upgrade failed": (
            "infrastructure",
            "Infrastructure failure impacting services.",
        ),
        "my account was hacked, I got a phishing email": (
            "security",
            "Security breach or compliance violation.",
        ),
        "the application shows an error when I save": ("technical", "High-impact issue affecting core"),
    }
    for message, (category, critical_text) in cases.items():
        await bot.say(message)
        state = await state_of(bot)
        assert state["intake"]["category"] == category, (message, bot.text)
        assert state["step"] == "priority"
        assert any(critical_text in b for b in bot.buttons), bot.buttons
        assert not any(b in CATEGORY_TITLES for b in bot.buttons)
        await bot.say("/cancel")
    assert await tickets_of(bot) == []


@pytest.mark.parametrize("message", ["I have a problem", "I need to report an issue"])
async def test_vague_message_asks_the_category_with_buttons(bot: TestChannel, message: str) -> None:
    await bot.say(message)
    assert bot.buttons == CATEGORY_TITLES, bot.text
    assert step(await state_of(bot)) == "category"
    await bot.press("Security")
    assert (await state_of(bot))["intake"]["category"] == "security"


async def test_report_button_asks_category_then_description(bot: TestChannel) -> None:
    await bot.say("hello")
    await bot.press("Report a problem")
    assert bot.buttons == CATEGORY_TITLES
    await bot.say("not sure, maybe money")  # neither a category nor a button
    assert "Please choose one of the categories" in bot.text
    assert bot.buttons == CATEGORY_TITLES
    await bot.press("Billing")
    assert "describe the problem" in bot.text
    await bot.say("we were charged twice for November")
    state = await state_of(bot)
    assert state["intake"]["category"] == "billing"
    assert state["intake"]["description"] == "we were charged twice for November"
    assert state["step"] == "priority"


async def test_priority_by_button_payload(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.say('/choose_priority{"priority":"high"}')
    state = await state_of(bot)
    assert state["intake"]["priority"] == "high"
    assert state["step"] == "troubleshoot"
    assert BILLING_STEPS[0] in bot.text


async def test_priority_by_typed_word(bot: TestChannel) -> None:
    for typed, expected in [
        ("urgent", "high"),
        ("High", "high"),
        ("it is critical", "critical"),
        ("low priority please", "low"),
        ("Medium.", "medium"),
    ]:
        await bot.say(BILLING)
        await bot.say(typed)
        state = await state_of(bot)
        assert state["intake"]["priority"] == expected, (typed, bot.text)
        assert state["step"] == "troubleshoot"
        await bot.say("cancel")


async def test_unclear_priority_is_asked_again(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.say("hmm, not sure")
    assert "Please choose a priority with the buttons" in bot.text
    assert len(bot.buttons) == 4
    assert step(await state_of(bot)) == "priority"


async def test_change_priority_from_the_summary(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.press("Low")
    await bot.press("Yes")
    await bot.press("Yes")
    await bot.say("Sokha Chan")
    await bot.say("sokha@example.com")
    await bot.press("Change priority")
    assert len(bot.buttons) == 4
    await bot.press("High")
    assert "Priority: High" in bot.text
    await bot.press("Open the ticket")
    [ticket] = await tickets_of(bot)
    assert ticket.priority == "high"


# -- self-service and exclusions ---------------------------------------------------------------------


async def test_that_fixed_it_at_step_two_opens_no_ticket(bot: TestChannel) -> None:
    await bot.say(ERP)
    await bot.press("Critical")
    await bot.press("Yes")
    assert f"Step 2 of 4: {TECH_STEPS[1]}" in bot.text
    await bot.say("that fixed it")
    assert "glad" in bot.text.lower()
    assert "haven't opened a ticket" in bot.text
    assert await tickets_of(bot) == []
    async with bot.services.db.reader() as session:
        [row] = (await session.execute(select(SelfServiceResolution))).scalars().all()
    assert row.category == "technical"
    assert row.step == TECH_STEPS[1]
    assert row.channel == "webchat"
    assert (await state_of(bot)).get("flow") is None


async def test_hardware_exclusion_declined(bot: TestChannel) -> None:
    await bot.say("my printer is broken")
    await bot.press("Medium")
    assert "does not cover hardware" in bot.text
    assert bot.buttons == ["Yes, pass it on", "No, thanks"]
    await bot.press("No, thanks")
    assert "haven't opened a ticket" in bot.text
    assert bot.buttons == MENU
    assert await tickets_of(bot) == []
    assert (await state_of(bot)).get("flow") is None


async def test_third_party_exclusion_passed_on(bot: TestChannel) -> None:
    await bot.say("the excel plugin from another vendor crashes")
    if bot.buttons == CATEGORY_TITLES:  # the NLU may be unsure which category this is
        await bot.press("Technical")
    await bot.press("High")
    assert "does not cover third-party software" in bot.text
    await bot.say("maybe?")  # not an answer: asked again
    assert "Please answer with the buttons" in bot.text
    await bot.press("Yes, pass it on")
    assert "outside standard support" in bot.text
    for _ in TECH_STEPS:
        await bot.press("No")
    await bot.say("Dara Sok")
    await bot.say("dara@example.com")
    assert "Third-party software (outside standard support)" in bot.text
    await bot.press("Open the ticket")
    [ticket] = await tickets_of(bot)
    assert ticket.exclusion == "third_party"
    assert ticket.category == "technical"
    assert "outside standard support" in bot.text
    [created] = await events_of(bot, ticket.id)
    assert created.data["exclusion"] == "third_party"


# -- contact details --------------------------------------------------------------------------------


async def test_invalid_email_and_phone_are_asked_again(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.press("No")
    await bot.say("12345")  # not a name
    assert "doesn't look like a name" in bot.text
    await bot.say("Dara")
    assert "Thanks, Dara" in bot.text
    for bad in ("dara@@example", "dara@example", "12345", "call me maybe"):
        await bot.say(bad)
        assert "couldn't read an email address or phone number" in bot.text, bad
        assert "Sorry" in bot.text
        assert step(await state_of(bot)) == "reach"
    await bot.say("dara@example.com")
    assert step(await state_of(bot)) == "confirm"
    await bot.press("Open the ticket")
    customer = await customer_of(bot)
    assert (customer.name, customer.email, customer.phone) == ("Dara", "dara@example.com", None)


async def test_name_and_email_in_one_message(bot: TestChannel) -> None:
    """flows._on_name says customers may give everything at once: "Sokha, sokha@example.com"."""
    await bot.say(BILLING)
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.press("Yes")
    await bot.say("Sokha, sokha@example.com")
    state = await state_of(bot)
    assert state["intake"]["name"] == "Sokha", bot.text
    assert state["intake"]["email"] == "sokha@example.com"
    assert state["step"] == "confirm"


async def test_contact_remembered_for_the_next_intake(bot: TestChannel) -> None:
    first = await billing_ticket(bot)
    await bot.say("the server upgrade failed")
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.press("Yes")
    assert "Shall I use the contact details I have for you: Sokha Chan, sokha@example.com?" in bot.text
    assert bot.buttons == ["Yes", "No"]
    await bot.press("Yes")
    assert "Contact: Sokha Chan, sokha@example.com" in bot.text
    await bot.press("Open the ticket")
    second = (await tickets_of(bot))[-1]
    assert second.id != first.id
    assert second.category == "infrastructure"
    assert second.customer_id == first.customer_id


async def test_declining_remembered_contact_asks_again(bot: TestChannel) -> None:
    await billing_ticket(bot)
    await bot.say(BILLING)
    await bot.press("Low")
    await bot.press("Yes")
    await bot.press("Yes")
    await bot.press("No")
    assert "what is your name" in bot.text
    await bot.say("Vichea Kong")
    await bot.say("+855 12 345 678")
    await bot.press("Open the ticket")
    customer = await customer_of(bot)
    assert customer.name == "Vichea Kong"
    assert customer.phone == "+85512345678"


async def test_display_name_button_is_never_refused(bot: TestChannel) -> None:
    """Telegram names often carry emoji; the bot must not offer a button it then rejects."""
    bot.display_name = "Dara 🌸"
    await bot.say(BILLING)
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.press("Yes")
    for title in bot.buttons:
        await bot.press(title)
        assert "doesn't look like a name" not in bot.text, title
        assert step(await state_of(bot)) == "reach"


async def test_display_name_button(bot: TestChannel) -> None:
    bot.display_name = "Dara"
    await bot.say(BILLING)
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.press("Yes")
    assert bot.buttons == ["I'm Dara"]
    await bot.press("I'm Dara")
    assert "Thanks, Dara" in bot.text
    await bot.say("dara@example.com")
    await bot.press("Open the ticket")
    assert (await customer_of(bot)).name == "Dara"


# -- cancel and restart ------------------------------------------------------------------------------


async def test_cancel_typed_and_by_payload(bot: TestChannel) -> None:
    await bot.say("our ERP crashes for everyone since this morning")
    await bot.press("High")
    await bot.say("cancel")
    assert "cancelled" in bot.text
    assert bot.buttons == MENU
    state = await state_of(bot)
    assert state["flow"] is None and state["intake"] is None and state["step"] is None

    await bot.say(BILLING)
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.say("/cancel")
    assert "cancelled" in bot.text
    assert (await state_of(bot))["flow"] is None

    # Cancel from the summary's button, then nothing left to cancel.
    await bot.say(BILLING)
    await bot.press("Medium")
    await bot.press("Yes")
    await bot.press("Yes")
    await bot.say("Sokha Chan")
    await bot.say("sokha@example.com")
    await bot.press("Cancel")
    assert (await state_of(bot))["flow"] is None
    await bot.say("cancel")
    assert "nothing in progress" in bot.text.lower()
    assert await tickets_of(bot) == []

    # Start over: a fresh intake, nothing carried over from the cancelled ones.
    await bot.say("our ERP crashes for everyone since this morning")
    state = await state_of(bot)
    assert state["intake"]["priority"] is None
    assert state["intake"]["troubleshooting"] == []
    assert state["step"] == "priority"
    await bot.press("Critical")
    assert "Step 1 of 4" in bot.text


async def test_restart_continues_at_the_same_step(
    bot: TestChannel, sqlite_url: str, nlu: EmbeddedNlu, clock: FrozenClock
) -> None:
    await bot.say(ERP)
    await bot.press("High")
    await bot.press("Yes")
    assert "Step 2 of 4" in bot.text
    await bot.services.close()  # the process goes away

    services = await build_services(settings_for(sqlite_url), migrate=False, nlu=nlu, now=clock)
    try:
        again = TestChannel(services, sender=bot.sender)
        await again.say("yes")  # answers step 2, asked before the restart
        assert "Step 3 of 4" in again.text
        await again.press("No")
        await again.press("No")
        await again.say("Sokha Chan")
        await again.say("sokha@example.com")
        await again.press("Open the ticket")
        [ticket] = await tickets_of(again)
        assert ticket.priority == "high"
        assert ticket.description == ERP
        assert [s["answer"] for s in ticket.troubleshooting] == ["yes", "yes", "no", "no"]
    finally:
        await services.close()
