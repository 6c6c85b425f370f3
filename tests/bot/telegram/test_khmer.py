"""A Khmer customer on Telegram: their app's `language_code` is km, so every reply is in Khmer."""

from __future__ import annotations

import re

from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import TelegramApp, keyboard_of, text_of
from tests.helpers import pp

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
