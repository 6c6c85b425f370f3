"""Checking the contact details a customer gives (policy section 7: accurate information)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?<![\w@])\+?\(?\d[\d\s().-]{6,18}\d(?![\w@])")
_NAME_PREFIX = re.compile(
    r"^(?:hi|hello|hey)?[,!\s]*(?:my name is|my name's|name is|name:|i am|i'm|im|this is|it's|it is|call me)\s+",
    re.IGNORECASE,
)
_NAME_OK = re.compile(r"^[^\W\d_](?:[^\W\d_]|[\s.'-]){0,99}$")


def find_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0).lower() if match else None


def find_phone(text: str) -> str | None:
    """A phone number with 8 to 15 digits (Cambodian `012 345 678`, `+855 96 9899 444`)."""
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
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
    text = "".join(ch for ch in text if ch.isalpha() or ch in " .'-" or ch.isspace())
    candidate = _NAME_PREFIX.sub("", text.strip()).strip(" .!,")
    candidate = " ".join(candidate.split())
    if not candidate or len(candidate) > 100 or not _NAME_OK.match(candidate):
        return None
    if len(candidate.split()) > 6:
        return None
    return candidate.title() if candidate.islower() else candidate
