"""A customer on Telegram (polling mode): /start, the commands, the whole intake by inline buttons."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from actions.messages import Incoming, Reply
from bot.channels.telegram import wire
from storage.models import Conversation
from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import MakeApp, TelegramApp, keyboard_of, text_of
from tests.helpers import eventually, pp

CHAT = 555001
TECH_STEPS = 4


async def test_start_registers_commands_and_greets_with_the_menu(polling: TelegramApp) -> None:
    api = polling.api
    assert [c["command"] for c in api.commands] == [
        "start", "new", "status", "hours", "contact", "cancel", "help", "stop", "forget"
    ]  # fmt: skip
    assert api.calls_to("getMe") and api.calls_to("deleteWebhook")  # polling needs no webhook

    [hello] = await polling.say(CHAT, "/start")
    assert "Hello! I'm the support assistant of I One Tech Solutions" in hello["text"]
    assert "We're open right now" in hello["text"]  # Monday 10:00 in Phnom Penh
    assert keyboard_of(hello) == [
        "Report a problem",
        "My tickets",
        "Working hours",
        "Contact us",
        "Talk to a person",
        "ភាសាខ្មែរ",
    ]
    # Sent as escaped HTML, each button's callback data within Telegram's 64 bytes.
    [call] = api.calls_to("sendMessage")
    assert call.params["parse_mode"] == "HTML"
    datas = [k["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for k in row]
    assert datas == [
        "/report_issue",
        "/ticket_status",
        "/working_hours",
        "/contact_channels",
        "/human_handoff",
        '/set_language{"language":"km"}',
    ]


async def test_start_outside_working_hours_says_when_the_team_is_back(polling: TelegramApp) -> None:
    polling.clock.set(pp(2026, 12, 5, 11, 0))  # Saturday
    [hello] = await polling.say(CHAT, "/start")
    assert "closed" in hello["text"].lower() and "Mon 7 Dec" in hello["text"]


async def test_free_text_to_a_categorized_ticket_by_inline_buttons(polling: TelegramApp) -> None:
    api = polling.api
    first = await polling.say(CHAT, "our ERP keeps crashing since this morning, this is critical")
    assert "looks critical" in text_of(first)
    question = first[-1]
    # Long "Label: definition" titles: the label on the button, the definition in the text.
    assert keyboard_of(question)[0] == "Critical (suggested)"
    assert (
        "• Critical (suggested): High-impact issue affecting core functionality or security."
        in question["text"]
    )

    steps = await polling.press(CHAT, "Critical")
    # The pressed message now shows the choice and no keyboard: it cannot be pressed twice.
    pressed = api.message(CHAT, question["message_id"])
    assert pressed["text"].endswith("» Critical (suggested)")
    assert "reply_markup" not in pressed
    assert "Step 1 of 4" in text_of(steps)
    for _ in range(TECH_STEPS):
        asked = await polling.press(CHAT, "Yes")
    assert "what is your name" in text_of(asked)
    # The customer's Telegram name prefills the contact.
    assert keyboard_of(asked[-1]) == ["I'm Sokha Chan"]
    named = await polling.press(CHAT, "I'm Sokha Chan")
    assert "Thanks, Sokha Chan" in text_of(named)
    summary = await polling.say(CHAT, "sokha@example.com")
    assert "Category: Technical issue" in text_of(summary) and "Priority: Critical" in text_of(summary)
    opened = await polling.press(CHAT, "Open the ticket")

    [ticket] = await polling.tickets()
    assert (ticket.channel, ticket.category, ticket.priority) == ("telegram", "technical", "critical")
    assert ticket.description == "our ERP keeps crashing since this morning, this is critical"
    assert len(ticket.troubleshooting) == TECH_STEPS
    assert f"Your ticket #{ticket.id} is open" in text_of(opened)
    assert "An engineer will reply by Mon 30 Nov, 11:00" in text_of(opened)
    customer = await polling.customer(CHAT)
    assert customer is not None and (customer.name, customer.email) == ("Sokha Chan", "sokha@example.com")
    # Every press was answered, once.
    presses = [u for u in api.calls if u.method == "answerCallbackQuery"]
    assert len(presses) == TECH_STEPS + 3
    assert len({c.params["callback_query_id"] for c in presses}) == len(presses)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/hours", "Our support team works"),
        ("/contact", "sales@ionetechsolution.biz"),
        ("/status", "You have no tickets"),
        ("/help", "Here is what I can do"),
        ("/cancel", "nothing in progress to cancel"),
        ("/new", "Which kind of problem is it?"),
    ],
)
async def test_each_command(polling: TelegramApp, command: str, expected: str) -> None:
    answer = await polling.say(CHAT, command)
    assert expected in text_of(answer)


async def test_a_command_addressed_to_the_bot_by_name(polling: TelegramApp) -> None:
    answer = await polling.say(CHAT, "/hours@ionetech_support_bot")
    assert "Our support team works" in text_of(answer)


async def test_customer_text_is_escaped_never_markup(polling: TelegramApp) -> None:
    await polling.say(CHAT, "/new")
    await polling.press(CHAT, "Technical")
    answer = await polling.say(CHAT, "<b>ERP</b> & payroll crash <script>alert(1)</script> since 9:00")
    # Telegram parsed our HTML without an error and shows the customer's words as they typed them.
    assert all(c.status == 200 for c in polling.api.calls_to("sendMessage"))
    assert answer


async def test_a_restart_mid_intake_continues_where_the_customer_was(make_app: MakeApp) -> None:
    first = await make_app()
    await first.say(CHAT, "the printer in our office is broken since monday")
    await first.press(CHAT, "High")
    await first.press(CHAT, "Yes, pass it on")  # a printer: hardware the service does not cover
    async with first.services.db.reader() as session:
        conversation = (
            await session.execute(select(Conversation).where(Conversation.sender == str(CHAT)))
        ).scalar_one()
    assert conversation.state["step"] == "troubleshoot"
    await first.channel.aclose()  # the first process stops taking updates

    second = await make_app()
    answer = await second.press(CHAT, "Yes")
    assert "Step 2 of" in text_of(answer)


async def test_group_chats_get_a_pointer_to_a_private_chat(polling: TelegramApp) -> None:
    group = -100200300
    [pointer] = await polling.send(tg.text_update(group, "/new@ionetech_support_bot", chat_type="supergroup"))
    assert "private chat" in pointer["text"]
    [[link]] = pointer["reply_markup"]["inline_keyboard"]
    assert link["url"] == "https://t.me/ionetech_support_bot"
    # Ordinary group talk is not for the bot: no answer, no customer, no conversation.
    polling.api.push_update(tg.text_update(group, "lunch at noon?", chat_type="supergroup"))
    again = await polling.send(tg.text_update(group, "/hours@ionetech_support_bot", chat_type="supergroup"))
    assert [m["text"] for m in again] == [pointer["text"]]
    assert await polling.customer(group) is None


def test_every_shipped_button_fits_telegram_callback_data() -> None:
    long_name = "/inform" + '{"name":"សុខា ចាន់ ជាមួយឈ្មោះវែង"}'
    assert len(long_name.encode()) > wire.MAX_CALLBACK_DATA
    key = wire.callback_data(long_name)
    assert key.startswith(wire.HASHED) and len(key.encode()) <= wire.MAX_CALLBACK_DATA
    assert wire.callback_data("/affirm") == "/affirm"


async def test_an_update_that_keeps_failing_gets_an_apology_and_holds_up_no_one(
    polling: TelegramApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = polling.services.engine
    real = engine.handle
    tries: list[str] = []

    async def failing_for_one_chat(msg: Incoming) -> list[Reply]:
        if msg.sender == "666":
            tries.append(msg.text)
            raise RuntimeError("a bug in one flow")
        return await real(msg)

    monkeypatch.setattr(engine, "handle", failing_for_one_chat)
    polling.channel.retry_base = 0.01
    polling.api.push_update(tg.text_update(666, "something the bot trips over"))
    answer = await polling.say(CHAT, "/hours")  # the next customer is not held up
    assert "Our support team works" in text_of(answer)
    [sorry] = await eventually(lambda: polling.api.messages(666), what="the apology")
    assert len(tries) == 4
    assert sorry["text"].startswith("Sorry, something went wrong on our side")


async def test_a_slow_answer_shows_typing(polling: TelegramApp, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = polling.services.engine
    fast = engine.nlu

    class BusyNluServer:
        async def parse(self, text: str) -> dict[str, Any]:
            await asyncio.sleep(1.0)
            return await fast.parse(text)

    await polling.say(CHAT, "/hours")  # a button payload skips the NLU: quick, no typing
    assert not polling.api.chat_actions
    monkeypatch.setattr(engine, "nlu", BusyNluServer())
    answer = await polling.say(CHAT, "when are you open on saturday?")
    assert "Our support team works" in text_of(answer)
    assert [(a["chat_id"], a["action"]) for a in polling.api.chat_actions] == [(CHAT, "typing")]


async def test_a_slow_turn_in_one_chat_holds_up_no_other_chat_when_polling(
    polling: TelegramApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = polling.services.engine
    real = engine.handle
    release = asyncio.Event()
    handled: list[tuple[str, str]] = []

    async def slow_for_one_chat(msg: Incoming) -> list[Reply]:
        handled.append((msg.sender, msg.text))
        if msg.sender == "777":
            await release.wait()  # a Rasa server taking its time, a long query...
        return await real(msg)

    monkeypatch.setattr(engine, "handle", slow_for_one_chat)
    polling.api.push_update(tg.text_update(777, "/hours"))
    await eventually(lambda: handled, what="the slow chat's turn to start")
    polling.api.push_update(tg.text_update(777, "/contact"))  # waits for the chat's first message
    answer = await polling.say(CHAT, "/hours")
    assert "Our support team works" in text_of(answer)
    assert polling.api.messages(777) == []
    release.set()
    await eventually(lambda: len(polling.api.messages(777)) == 2, what="the slow chat's two answers")
    first, second = polling.api.messages(777)
    assert "Our support team works" in first["text"] and "Our support team works" not in second["text"]
    # Telegram sent the slow update again with every poll meanwhile; each was handled once.
    assert sorted(sender for sender, _ in handled) == sorted(["777", "777", str(CHAT)])
    await eventually(lambda: polling.api.pending_updates == [], what="every update confirmed")
