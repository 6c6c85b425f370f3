"""detect_language: Khmer script and Romanized Khmer are Khmer, Latin text is English, other scripts are None."""

from __future__ import annotations

import pytest

from nlu.language import detect_language, is_romanized_khmer


@pytest.mark.parametrize(
    "text",
    [
        "សួស្តីបាទ",
        "Excel គាំងទៀតហើយ",
        "Printer បោះពុម្ពមិនចេញ",
        "vpn ភ្ជាប់មិនបាន",
        "ok អរគុណ",
        "ticket #១០៤២ ដល់ណាហើយ",
        "ស្តី\u200bបង",
    ],
)
def test_khmer_script_is_khmer(text: str) -> None:
    assert detect_language(text) == "km"


@pytest.mark.parametrize(
    "text",
    [
        "internet ot dae",
        "chong niyay jea mouy neak",
        "som tos",
        "orkun",
        "orkun bong",
        "excel kang tiet hz",
        "wifi dach tang pi pruk",
        "bek mong pun man",
        "email khnhom sokha@gmail.com",
        "Knhom Chong Niyay Jea Mouy Neak",
    ],
)
def test_romanized_khmer_is_khmer(text: str) -> None:
    assert detect_language(text) == "km"
    assert is_romanized_khmer(text)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "my printer is not working",
        "thank you bong",
        "hi bong",
        "the invoice amount is wrong again",
        "any update on ticket 1207?",
        "i want to talk to a person not a bot",
        "café please",
        "ok",
        "mean virus",  # "mean" and "bat" are English words too: not enough to call it Khmer
        "server down",
    ],
)
def test_latin_text_is_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "สวัสดีครับ คอมพิวเตอร์เสีย",
        "你好，我的电脑坏了",
        "Tôi cần giúp đỡ",
        "máy tính của tôi bị hỏng",
        "Привет, у меня не работает интернет",
        "こんにちは",
        "안녕하세요",
    ],
)
def test_languages_the_desk_does_not_speak_are_none(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", ["", "   ", "#1042", "012 345 678", "👍", "??"])
def test_text_without_letters_tells_nothing(text: str) -> None:
    assert detect_language(text) is None


def test_a_few_khmer_words_in_a_foreign_message_make_it_khmer_only_when_they_weigh() -> None:
    assert detect_language("สวัสดี ខ្ញុំ") is None  # four Thai letters against two Khmer ones
    assert detect_language("สวัสดี ខ្ញុំត្រូវការជំនួយ") == "km"


def test_odd_input_does_not_raise() -> None:
    assert detect_language(None) is None  # type: ignore[arg-type]
    assert detect_language("\x00\u200b") is None
