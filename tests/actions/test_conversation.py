"""Whole conversations through the in-memory channel: real engine, real NLU, real SQLite.

Each test talks to the bot like a customer would, then checks both what the customer read and
what was stored (tickets, events, outbox rows, the conversation state).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.services import build_services
from desk import maintenance
from nlu.embedded import EmbeddedNlu
from storage.models import (
    Conversation,
    Customer,
    Feedback,
    InboundMessage,
    OutboxMessage,
    SelfServiceResolution,
    Ticket,
    TicketEvent,
)
from tests.helpers import FrozenClock, TestChannel, settings_for

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


# -- tickets of other customers ---------------------------------------------------------------------


async def test_another_customers_ticket_is_not_shown(bot: TestChannel) -> None:
    ticket = await billing_ticket(bot)
    other = TestChannel(bot.services, sender="customer-2")
    await other.say(f"status of ticket #{ticket.id}")
    assert f"can't find ticket #{ticket.id}" in other.text
    assert "invoice" not in other.text.lower()
    assert "charged" not in other.text.lower()
    await other.say("status of ticket #999999")  # a missing one reads the same
    assert "can't find ticket #999999" in other.text
    await other.say("what is the status of my tickets?")
    assert "no tickets" in other.text

    await bot.say(f"status of ticket #{ticket.id}")
    assert f"#{ticket.id}" in bot.text
    assert ticket.subject in bot.text
    assert "waiting for an engineer" in bot.text


# -- information ------------------------------------------------------------------------------------


async def test_working_hours_open(bot: TestChannel) -> None:
    await bot.say("what are your working hours?")
    assert "Monday to Friday, 08:00-18:00" in bot.text
    assert "Phnom Penh time" in bot.text
    assert "open right now" in bot.text


async def test_working_hours_on_saturday(bot: TestChannel, clock: FrozenClock) -> None:
    clock.set(pp(2026, 12, 5, 10, 0))
    await bot.say("what are your working hours?")
    assert "closed right now" in bot.text
    assert "Mon 7 Dec, 08:00" in bot.text


async def test_working_hours_on_a_public_holiday(bot: TestChannel, clock: FrozenClock) -> None:
    clock.set(pp(2026, 11, 9, 10, 0))  # Monday, Independence Day in Cambodia
    await bot.say("are you open today?")
    assert "closed right now" in bot.text
    assert "Independence Day" in bot.text
    assert "Tue 10 Nov, 08:00" in bot.text


async def test_contact_channels(bot: TestChannel) -> None:
    await bot.say("how can I contact you?")
    assert POLICY_EMAIL in bot.text
    assert POLICY_PHONE in bot.text
    assert bot.buttons == []


async def test_maintenance_none_then_scheduled(bot: TestChannel, clock: FrozenClock) -> None:
    await bot.say("is there any maintenance planned?")
    assert "No maintenance is scheduled" in bot.text

    now = clock()
    async with bot.services.db.session() as session:
        await maintenance.schedule(
            session,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            message="Database upgrade",
            created_by="test",
            now=now,
        )
        await maintenance.schedule(
            session,
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=3),
            message="Network switch replacement",
            created_by="test",
            now=now,
        )
        await maintenance.schedule(
            session,
            starts_at=now - timedelta(hours=5),
            ends_at=now - timedelta(hours=1) + timedelta(minutes=30),
            message="Already over",
            created_by="test",
            now=now - timedelta(hours=6),
        )
    await bot.say("is there any maintenance planned?")
    assert "Under way now, until Mon 30 Nov, 12:00: Database upgrade" in bot.text
    assert "Scheduled Wed 2 Dec, 10:00 to Wed 2 Dec, 13:00: Network switch replacement" in bot.text
    assert "Already over" not in bot.text


async def test_question_in_the_middle_keeps_the_step(bot: TestChannel) -> None:
    await bot.say(BILLING)
    await bot.say("what are your working hours?")
    assert "Monday to Friday" in bot.text
    assert "How urgent is it?" in bot.text
    assert step(await state_of(bot)) == "priority"
    await bot.press("Low")
    assert BILLING_STEPS[0] in bot.text


async def test_out_of_hours_ticket(bot: TestChannel, clock: FrozenClock) -> None:
    clock.set(pp(2026, 12, 5, 10, 0))  # Saturday
    ticket = await billing_ticket(bot, priority="high")
    assert ticket.response_due_at == pp(2026, 12, 7, 12, 0)  # the clock starts Monday 08:00
    assert ticket.clock_started_at == pp(2026, 12, 7, 8, 0)
    assert "outside working hours" in bot.text
    assert "back Mon 7 Dec, 08:00" in bot.text
    assert "Mon 7 Dec, 12:00" in bot.text
    assert "Critical issues are handled on weekends" in bot.text
    # High outside hours: no on-call page, only tier 1.
    assert [o.target for o in await outbox_of(bot, ticket.id)] == ["#support-tier1"]


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
