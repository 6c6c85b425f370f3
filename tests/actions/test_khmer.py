"""Khmer customers, answered in Khmer: the language from their script, their channel or the
language button, kept for the conversation; dates the Khmer way, digits as they write them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actions import language
from actions.catalog import EN
from actions.state import DialogueState
from storage.models import Conversation, Ticket
from tests.helpers import FrozenClock, TestChannel

PP = ZoneInfo("Asia/Phnom_Penh")
KHMER = re.compile(r"[\u1780-\u17ff]")
# English sentences of the catalog (long enough not to be a product name): none may reach a Khmer customer.
ENGLISH_SENTENCES = [t.split("{")[0].strip() for t in EN.values() if len(t.split("{")[0].split()) >= 4]


def assert_khmer(bot: TestChannel) -> None:
    assert bot.last, "the bot answered"
    for reply in bot.last:
        assert KHMER.search(reply.text), reply.text
        leaked = [s for s in ENGLISH_SENTENCES if s in reply.text]
        assert leaked == [], reply.text
        for title in (b.title for b in reply.buttons):
            assert KHMER.search(title) or title == "English", title


async def state_of(bot: TestChannel) -> dict[str, Any]:
    async with bot.services.db.reader() as session:
        query = select(Conversation).where(Conversation.sender == bot.sender)
        return dict((await session.execute(query)).scalar_one().state)


async def tickets_of(bot: TestChannel) -> list[Ticket]:
    async with bot.services.db.reader() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def test_a_khmer_customer_goes_from_a_problem_to_a_ticket_all_in_khmer(
    bot: TestChannel, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 12, 4, 16, 30, tzinfo=PP))  # Friday 16:30 in Phnom Penh
    await bot.say("ជម្រាបសួរ បងៗ")
    assert_khmer(bot)
    assert "English" in bot.buttons  # the language button, titled in the language it switches to
    await bot.say("Printer នៅការិយាល័យបោះពុម្ពមិនចេញសោះ តាំងពីម្សិលមិញ ខឹងណាស់")
    assert_khmer(bot)
    while (await state_of(bot)).get("step") != "name":
        assert bot.buttons, bot.text
        # The first button: a category, a priority, "pass it on", then "yes" at every check.
        await bot.say(bot.last[-1].buttons[0].payload)
        assert_khmer(bot)
    assert "ឈ្មោះ" in bot.text
    await bot.say("ស្រី ពៅ")
    assert_khmer(bot)
    assert "ស្រី ពៅ" in bot.text
    await bot.say("លេខ ០១២ ៣៤៥ ៦៧៨")
    assert_khmer(bot)
    assert "• ប្រភេទ៖" in bot.text  # the summary, in Khmer
    await bot.press("បើកសំបុត្រ")
    assert_khmer(bot)
    opened = bot.text
    [ticket] = await tickets_of(bot)
    assert ticket.language == "km"
    # The deadline in Khmer day and month names, in the Khmer digits the customer wrote.
    assert "ខែធ្នូ" in opened and re.search(r"ថ្ងៃ(សុក្រ|ច័ន្ទ) ទី[០-៩]+ ខែធ្នូ ម៉ោង [០-៩]{2}:[០-៩]{2}", opened), opened
    assert f"#{str(ticket.id).translate(str.maketrans('0123456789', '០១២៣៤៥៦៧៨៩'))}" in opened
    assert "ម៉ោងភ្នំពេញ" in opened
    state = await state_of(bot)
    assert (state["language"], state["digits"]) == ("km", "khmr")


async def test_the_channel_language_holds_when_a_khmer_customer_writes_english_words(
    bot: TestChannel,
) -> None:
    bot.metadata = {"language": "km-KH"}  # the widget's data-lang, Telegram's language_code
    await bot.say("hello")
    assert_khmer(bot)
    await bot.say("ok")
    assert_khmer(bot)
    await bot.say("Wi-Fi")
    assert_khmer(bot)
    assert (await state_of(bot))["language"] == "km"


async def test_khmer_script_wins_over_an_english_channel(bot: TestChannel) -> None:
    bot.metadata = {"language": "en"}
    await bot.say("ម៉ោងធ្វើការប៉ុន្មាន?")
    assert_khmer(bot)
    assert "ថ្ងៃច័ន្ទ ដល់ ថ្ងៃសុក្រ" in bot.text


async def test_the_language_button_switches_and_the_intake_carries_on(bot: TestChannel) -> None:
    await bot.say("my laptop screen keeps freezing since this morning")
    assert "Which kind" in bot.text or "How urgent" in bot.text
    step = (await state_of(bot))["step"]
    await bot.say('/set_language{"language":"km"}')
    assert_khmer(bot)
    assert (await state_of(bot))["step"] == step  # the same question, now in Khmer
    await bot.say('/set_language{"language":"en"}')
    assert "I'll write in English" in bot.text
    assert not KHMER.search(bot.last[-1].text)
    # A Khmer word no longer moves a customer who chose English with the button... unless Khmer script.
    await bot.say("ok")
    assert (await state_of(bot))["language"] == "en"


async def test_a_language_the_bot_does_not_speak_is_told_which_it_does(bot: TestChannel) -> None:
    await bot.say("สวัสดีครับ อินเทอร์เน็ตใช้ไม่ได้")  # Thai
    assert "I understand only English and Khmer" in bot.text
    assert "ខ្ញុំយល់តែភាសាអង់គ្លេស និងភាសាខ្មែរ" in bot.text
    await bot.say("#1042")  # no letters: nothing to tell, the usual answer
    assert "I understand only" not in bot.text


async def test_an_english_sentence_moves_a_khmer_conversation_to_english(bot: TestChannel) -> None:
    await bot.say("សួស្តី")
    assert_khmer(bot)
    await bot.say("sorry, can you tell me your working hours please")
    assert "Our support team works Monday to Friday" in bot.text


# -- the language's rules, one message at a time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("km", "km"), ("km-KH", "km"), ("KM_kh", "km"), ("en-US", "en"), ("fr", None), ("", None), (7, None)],
)
def test_a_channels_language_hint(hint: object, expected: str | None) -> None:
    assert language.from_metadata({"language": hint}) == expected


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (["ចង់និយាយជាមួយបុគ្គលិក"], "km"),
        (["internet ot dae bong, chhmous knhom Dara"], "km"),  # Romanized Khmer, first message
        (["hello", "Dara Sok"], "en"),  # an English speaker's name that reads as Romanized Khmer
        (["សួស្តី", "VPN", "Outlook", "ok thanks"], "km"),  # product names and short English words
        (["សួស្តី", "can you please send me the invoice again"], "en"),  # an English sentence
    ],
)
def test_the_conversations_language_after_each_message(messages: list[str], expected: str) -> None:
    state = DialogueState()
    for text in messages:
        answered = language.resolve(state, text, {}, is_payload=False)
    assert answered == expected == state.language


def test_a_button_choice_outlasts_english_sentences_but_not_khmer_script() -> None:
    state = DialogueState()
    language.choose(state, "km")
    assert language.resolve(state, "my printer does not print anything at all", {}, is_payload=False) == "km"
    language.choose(state, "en")
    assert language.resolve(state, "Printer បោះពុម្ពមិនចេញ", {}, is_payload=False) == "km"


def test_the_digits_follow_the_customers_last_number() -> None:
    state = DialogueState()
    language.resolve(state, "លេខ ០៩៦ ៩៨៩ ៩៤៤៤", {}, is_payload=False)
    assert state.digits == "khmr"
    language.resolve(state, "ticket 1042", {}, is_payload=False)
    assert state.digits == "latn"
