"""Names and numbers in the customer's own script are kept exactly (Khmer, Vietnamese, accents)."""

from __future__ import annotations

import pytest

from actions.contact import clean_name, find_phone
from tests.helpers import TestChannel


@pytest.mark.parametrize(
    "typed",
    [
        "ស្រី ពៅ",  # vowel signs U+17B8, U+17C5 and the COENG sign U+17D2
        "សុខ ចាន់ថា",
        "ម៉ី ស្រីនាង",
        "Nguyễn Thị Hồng",
        "Zoë Ångström",
        "Nguye\u0302\u0303n",  # combining accents, decomposed as typed
    ],
)
def test_a_name_keeps_every_character_of_its_script(typed: str) -> None:
    assert clean_name(typed) == typed
    assert clean_name(f"my name is {typed}") == typed


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("០១២ ៣៤៥ ៦៧៨", "012345678"),
        ("លេខទូរស័ព្ទ ០៩៦ ៩៨៩៩ ៤៤៤", "0969899444"),
        ("+៨៥៥ ៩៦ ៩៨៩៩ ៤៤៤", "+855969899444"),
        ("012 345 678", "012345678"),
    ],
)
def test_khmer_digits_are_read_as_digits_in_a_phone_number(typed: str, phone: str) -> None:
    assert find_phone(typed) == phone


async def test_a_khmer_name_given_in_the_chat_is_stored_as_typed(bot: TestChannel) -> None:
    await bot.say("my laptop cannot connect to the vpn")
    for _ in range(12):  # answer the intake with the first button until it asks for a name
        if "name" in bot.text.lower():
            break
        assert bot.buttons, bot.text
        # The intake's own first button (the VPN article's offer comes before the question).
        await bot.press(bot.last[-1].buttons[0].title)
    assert "name" in bot.text.lower(), bot.text
    await bot.say("ស្រី ពៅ")
    assert "ស្រី ពៅ" in bot.text
    assert "សរ ព" not in bot.text
