"""Checking the contact details a customer gives (policy section 7: accurate information)."""

from __future__ import annotations

import re
import unicodedata

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?<![\w@])\+?\(?\d[\d\s().-]{6,18}\d(?![\w@])")
_NAME_PREFIX = re.compile(
    r"^(?:hi|hello|hey)?[,!\s]*(?:my name is|my name's|name is|name:|i am|i'm|im|this is|it's|it is|call me)\s+",
    re.IGNORECASE,
)
_NAME_PUNCTUATION = " .'-"


def _in_name(ch: str) -> bool:
    """Letters and the marks that belong to them: Khmer vowel signs and COENG (U+17B6-U+17D2) and
    the combining accents of any script are marks (Mn, Mc), not letters, and are part of a name."""
    return unicodedata.category(ch)[0] in "LM" or ch in _NAME_PUNCTUATION or ch.isspace()


def _ascii_digits(text: str) -> str:
    """Digits of any script (Khmer ០-៩, Arabic-Indic...) as 0-9."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def find_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0).lower() if match else None


def find_phone(text: str) -> str | None:
    """A phone number with 8 to 15 digits (Cambodian `012 345 678`, `+855 96 9899 444`)."""
    for match in _PHONE.finditer(text):
        digits = _ascii_digits(re.sub(r"\D", "", match.group(0)))
        if 8 <= len(digits) <= 15:
            return ("+" if match.group(0).lstrip().startswith("+") else "") + digits
    return None


def strip_contact(text: str) -> str:
    """The text without email addresses and phone numbers (and the separators around them)."""
    text = _EMAIL.sub(" ", text)
    text = _PHONE.sub(" ", text)
    return re.sub(r"\s*[,;/|]+\s*$", "", " ".join(text.split())).strip(" ,;")


def clean_name(text: str) -> str | None:
    """The person's name from `Sokha Chan` or `my name is Sokha Chan`, or None when it is not one.

    Emoji and symbols that chat display names carry ("Dara 🌸") are dropped first.
    """
    text = "".join(ch for ch in text if _in_name(ch))
    candidate = _NAME_PREFIX.sub("", text.strip()).strip(" .!,")
    candidate = " ".join(candidate.split())
    if not candidate or len(candidate) > 100 or not unicodedata.category(candidate[0]).startswith("L"):
        return None
    if len(candidate.split()) > 6:
        return None
    return candidate.title() if candidate.islower() else candidate
