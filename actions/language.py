"""Which language and digits the bot answers a conversation in, kept for the whole conversation.

In order of strength: the language button ("ភាសាខ្មែរ" / "English"), then what the customer
writes, then what their channel says (Telegram's `language_code`, the widget's `data-lang`, a Rasa
channel's `metadata.language`). Khmer writing (script or Romanized) always means Khmer. English
words move a Khmer conversation to English only when they are a sentence and nothing stronger
than the customer's earlier words chose Khmer: a Khmer speaker who writes "printer" or "ok" is
still answered in Khmer, and an English speaker whose name is "Dara Sok" is still answered in
English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from actions.catalog import DEFAULT_LANGUAGE, LANGUAGES
from actions.state import DialogueState
from nlu.language import detect_language

BUTTON, TEXT, CHANNEL = "button", "text", "channel"
SET_LANGUAGE = "set_language"  # the language button's payload: /set_language{"language": "km"}
_KHMER_DIGIT = re.compile(r"[\u17e0-\u17e9]")
_ASCII_DIGIT = re.compile(r"[0-9]")
_LETTERS = re.compile(r"[^\W\d_]")
_WORDS = re.compile(r"[^\W\d_]{2,}")
_KHMER_SCRIPT = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]")
# Email addresses and links are no one's language: "Dara Sok, dara.sok@example.com" is a name.
_ADDRESSES = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+", re.IGNORECASE)
SENTENCE_WORDS = 4  # Latin-letter words it takes to move a conversation to the other language


def from_metadata(metadata: Mapping[str, Any]) -> str | None:
    """A channel's language hint (`km`, `km-KH`, `en-US`...) if it is one the bot speaks."""
    value = metadata.get("language")
    if not isinstance(value, str):
        return None
    base = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def resolve(state: DialogueState, text: str, metadata: Mapping[str, Any], *, is_payload: bool) -> str:
    """Update the conversation's language (and digits) from one message; return the language."""
    if not is_payload and text:
        if _KHMER_DIGIT.search(text):
            state.digits = "khmr"
        elif _ASCII_DIGIT.search(text):
            state.digits = "latn"
        words = _ADDRESSES.sub(" ", text)
        written = detect_language(words) if words.strip() else None
        sentence = len(_WORDS.findall(words)) >= SENTENCE_WORDS
        if written == "km" and state.language != "km":
            # Khmer script always; Romanized Khmer as a sentence ("Dara Sok" is a name, not Khmer).
            if _KHMER_SCRIPT.search(text) or state.language is None or sentence:
                state.language, state.language_source = "km", TEXT
        elif written == "en" and state.language != "en":
            if state.language is None or (state.language_source != BUTTON and sentence):
                hinted = from_metadata(metadata) if state.language is None else None
                state.language, state.language_source = (hinted, CHANNEL) if hinted else ("en", TEXT)
    if state.language is None:
        hinted = from_metadata(metadata)
        if hinted:
            state.language, state.language_source = hinted, CHANNEL
    return state.language or DEFAULT_LANGUAGE


def choose(state: DialogueState, language: str) -> str:
    """The customer pressed the language button."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    state.language, state.language_source = chosen, BUTTON
    return chosen


def unspoken(text: str) -> bool:
    """Letters in a language the bot does not speak (Thai, Chinese, Vietnamese...)."""
    return bool(_LETTERS.search(text)) and detect_language(text) is None
