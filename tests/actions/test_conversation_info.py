"""Questions a customer asks besides reporting a problem, through the in-memory channel (real
engine, NLU, SQLite): working hours (weekends, public holidays), contact channels, planned
maintenance, a question in the middle of an intake, a ticket opened out of hours, and the status
of tickets, which shows a customer their own tickets only.
"""

from __future__ import annotations

from datetime import timedelta

from desk import maintenance
from tests.actions.conversation_helpers import (
    BILLING,
    BILLING_STEPS,
    POLICY_EMAIL,
    POLICY_PHONE,
    billing_ticket,
    outbox_of,
    pp,
    state_of,
    step,
)
from tests.helpers import FrozenClock, TestChannel

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
