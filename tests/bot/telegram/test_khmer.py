"""A Khmer customer on Telegram: their app's `language_code` is km, so every reply is in Khmer."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from desk import maintenance
from desk.announce import announce_due
from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import TelegramApp, keyboard_of, text_of
from tests.helpers import eventually, pp

CHAT = 555077
KHMER = re.compile(r"[\u1780-\u17ff]")
PEOU = tg.user(CHAT, "ពៅ", "ស្រី", username=None, language_code="km")


async def test_a_khmer_telegram_customer_gets_a_ticket_with_every_reply_in_khmer(
    polling: TelegramApp,
) -> None:
    api = polling.api
    polling.clock.set(pp(2026, 12, 5, 11, 0))  # Saturday: the team is back Monday
    hello = await polling.say(CHAT, "/start", from_user=PEOU)
    assert "I One Tech Solutions" in text_of(hello) and "សួស្តី" in text_of(hello)
    assert "ថ្ងៃច័ន្ទ ទី7 ខែធ្នូ" in text_of(hello)  # closed now; back Monday, in Khmer
    assert keyboard_of(hello[-1])[-1] == "English"

    # "internet not working" in a Romanized-free Khmer sentence, with the English product word.
    first = await polling.say(CHAT, "Wi-Fi នៅហាងដាច់ៗ ប្រើមិនកើតទាល់តែសោះ", from_user=PEOU)
    replies = first
    while "ឈ្មោះអ្វី" not in text_of(replies):  # category, priority, then "yes" at every check
        assert keyboard_of(replies[-1]), text_of(replies)
        replies = await polling.press(CHAT, keyboard_of(replies[-1])[0])
    await polling.say(CHAT, "ស្រី ពៅ", from_user=PEOU)
    summary = await polling.say(CHAT, "peou@example.com", from_user=PEOU)
    assert "• ប្រភេទ៖" in text_of(summary)
    opened = await polling.press(CHAT, "បើកសំបុត្រ")

    [ticket] = await polling.tickets()
    assert ticket.language == "km" and ticket.channel == "telegram"
    assert f"សំបុត្រលេខ #{ticket.id}" in text_of(opened)
    assert re.search(r"មុន ថ្ងៃ\S+ ទី\d+ ខែធ្នូ ម៉ោង \d\d:\d\d \(ម៉ោងភ្នំពេញ\)", text_of(opened)), text_of(opened)
    customer = await polling.customer(CHAT)
    assert customer is not None and customer.name == "ស្រី ពៅ"
    # Every message the bot sent this customer is Khmer, and every button's data fits in 64 bytes.
    sent = api.calls_to("sendMessage")
    assert sent and all(KHMER.search(c.params["text"]) for c in sent), [c.params["text"] for c in sent]
    datas = [
        k["callback_data"]
        for c in sent
        for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
        for k in row
    ]
    assert datas and all(len(d.encode()) <= 64 for d in datas)


async def test_a_group_pointer_is_in_the_language_of_the_senders_app(polling: TelegramApp) -> None:
    group = -100200377
    update = tg.text_update(group, "/new@ionetech_support_bot", chat_type="supergroup", from_user=PEOU)
    [pointer] = await polling.send(update)
    assert "ការជជែកឯកជន" in pointer["text"]  # "a private chat"
    [[link]] = pointer["reply_markup"]["inline_keyboard"]
    assert link["url"] == "https://t.me/ionetech_support_bot"


async def _khmer_ticket(polling: TelegramApp, chat: int, user: dict[str, Any]) -> int:
    """A Khmer customer reports a problem in their words and opens the ticket."""
    await polling.say(chat, "/start", from_user=user)
    replies = await polling.say(chat, "ម៉ាស៊ីនបោះពុម្ពនៅការិយាល័យ បោះពុម្ពមិនចេញសោះតាំងពីព្រឹក", from_user=user)
    while "ឈ្មោះអ្វី" not in text_of(replies):
        assert keyboard_of(replies[-1]), text_of(replies)
        replies = await polling.press(chat, keyboard_of(replies[-1])[0])
    await polling.say(chat, "ស្រី ពៅ", from_user=user)
    await polling.say(chat, "peou@example.com", from_user=user)
    await polling.press(chat, "បើកសំបុត្រ")
    [ticket] = await polling.tickets()
    assert ticket.language == "km"
    return ticket.id


async def _sent_after(polling: TelegramApp, chat: int, before: int, what: str) -> list[dict[str, Any]]:
    """The bot's messages to `chat` after the first `before`, once there are any."""

    async def arrived() -> list[dict[str, Any]]:
        await polling.asgi.fastapi.state.delivery.run_once(kind="customer")
        return polling.api.messages(chat)[before:]

    return await eventually(arrived, within=30, what=what)


async def test_a_khmer_customer_hears_of_the_resolution_and_rates_it_in_khmer(polling: TelegramApp) -> None:
    polling.clock.set(pp(2026, 12, 7, 10, 0))  # Monday, open
    ticket_id = await _khmer_ticket(polling, CHAT, PEOU)
    before = len(polling.api.messages(CHAT))
    async with polling.services.db.session() as session:  # the agent presses Resolve in Slack
        await polling.services.tickets.resolve(session, ticket_id, actor="agent:U0AGENT", now=polling.clock())
    [notice] = await _sent_after(polling, CHAT, before, "the resolution notice")
    assert notice["text"] == f"សំបុត្រលេខ #{ticket_id} របស់លោកអ្នកត្រូវបានដោះស្រាយរួចហើយ។"
    assert keyboard_of(notice) == ["5 ★ ល្អណាស់", "4 ★ ល្អ", "3 ★ មធ្យម", "2 ★ មិនសូវល្អ", "1 ★ មិនល្អសោះ"]
    rated = await polling.press(CHAT, "5 ★")
    assert KHMER.search(text_of(rated)) and "English" not in text_of(rated), text_of(rated)


async def test_a_maintenance_announcement_reaches_a_khmer_customer_in_khmer(polling: TelegramApp) -> None:
    english = 555078
    polling.clock.set(pp(2026, 12, 7, 10, 0))
    await polling.say(CHAT, "/start", from_user=PEOU)
    await polling.say(english, "/start", from_user=tg.user(english, "Dara", "Sok", language_code="en"))
    before = {chat: len(polling.api.messages(chat)) for chat in (CHAT, english)}
    now = polling.clock()
    async with polling.services.db.session() as session:
        await maintenance.schedule(
            session,
            starts_at=now + timedelta(minutes=30),
            ends_at=now + timedelta(hours=2, minutes=30),
            message="Core switch firmware upgrade",
            created_by="slack:U0MANAGER",
            now=now,
        )
    assert await announce_due(polling.services.db, policy=polling.services.policy, now=now) == 2
    [khmer] = await _sent_after(polling, CHAT, before[CHAT], "the Khmer announcement")
    assert khmer["text"] == (
        "ការថែទាំប្រព័ន្ធតាមកាលវិភាគ៖ Core switch firmware upgrade ចាប់ពី ថ្ងៃច័ន្ទ ទី7 ខែធ្នូ ម៉ោង 10:30 "
        "ដល់ ថ្ងៃច័ន្ទ ទី7 ខែធ្នូ ម៉ោង 12:30 (ម៉ោងភ្នំពេញ)។ "
        "សេវាកម្មមួយចំនួនប្រហែលជាមិនអាចប្រើបាននៅពេលនោះទេ។"
    )
    [plain] = await _sent_after(polling, english, before[english], "the English announcement")
    assert plain["text"] == (
        "Scheduled maintenance: Core switch firmware upgrade, from Mon 7 Dec, 10:30 to Mon 7 Dec, 12:30 "
        "(Phnom Penh time). Some services may be unavailable then."
    )
