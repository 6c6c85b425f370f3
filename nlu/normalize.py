"""Text clean-up before classification, so typos, shouting and contact details look alike."""

from __future__ import annotations

import re
import unicodedata

from nlu import patterns

# Longer messages are cut here: the intent is in the first lines, and parsing stays fast.
MAX_CHARS = 2000

_EMAIL = re.compile(patterns.EMAIL)
_URL = re.compile(r"\b(?:https?://|www\.)\S+")
_PHONE = re.compile(patterns.PHONE)
_DIGIT = re.compile(r"\d")
_REPEATS = re.compile(r"(\D)\1{2,}")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z']+")

# Chat shorthand and frequent misspellings of this desk's customers.
_SHORTHAND = {
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "u": "you",
    "ur": "your",
    "r": "are",
    "thx": "thanks",
    "thnx": "thanks",
    "thanx": "thanks",
    "tnx": "thanks",
    "tks": "thanks",
    "ty": "thanks",
    "pw": "password",
    "pwd": "password",
    "passwd": "password",
    "cant": "can't",
    "dont": "don't",
    "doesnt": "doesn't",
    "isnt": "isn't",
    "wont": "won't",
    "im": "i'm",
    "pbl": "problem",
    "prob": "problem",
    "probs": "problems",
    "asap": "urgently",
    "acc": "account",
    "acct": "account",
    "msg": "message",
    "svr": "server",
    "srv": "server",
    "recieve": "receive",
    "recieved": "received",
    "pasword": "password",
    "passowrd": "password",
    "paymant": "payment",
    "invioce": "invoice",
    "invoce": "invoice",
    "billl": "bill",
    "internt": "internet",
    "conection": "connection",
    "connexion": "connection",
    "wifi": "wi-fi",
    "wify": "wi-fi",
    "mantenance": "maintenance",
    "maintainance": "maintenance",
    "maintenence": "maintenance",
    "securty": "security",
}


def clip(text: str) -> str:
    """The part of a message worth parsing: capped, with control bytes turned into spaces."""
    text = text[:MAX_CHARS]
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)


def _fold(text: str) -> str:
    """Lowercase without Latin accents, so 'Café' and 'cafe' are one word (Khmer marks are kept)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and kept and kept[-1] < "\u0250":
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def has_foreign_script(text: str) -> bool:
    """Whether letters outside the Latin script appear (Khmer, Thai, Chinese...), where typos can't be guessed."""
    return any(ch.isalpha() and ch > "\u024f" for ch in text)


def normalize(text: str) -> str:
    """The form the classifier sees: folded, placeholders for contact details, shorthand spelled out."""
    text = _fold(clip(text))
    text = _URL.sub(" urladdr ", text)
    text = _EMAIL.sub(" emailaddr ", text)
    text = _PHONE.sub(" phonenum ", text)
    text = _DIGIT.sub("0", text)
    text = _REPEATS.sub(r"\1\1", text)
    text = _WORD.sub(lambda m: _SHORTHAND.get(m.group(0), m.group(0)), text)
    return _SPACES.sub(" ", text).strip()
