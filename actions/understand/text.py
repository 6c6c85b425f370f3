"""Shared text helpers for the understanding functions: one clean-up, the lead words of a reply, negation."""

from __future__ import annotations

import re
import unicodedata

# Characters that change nothing for reading: zero-width spaces and joiners (frequent in Khmer
# text typed on phones), the byte-order mark and soft hyphens.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_QUOTES = str.maketrans({"‘": "'", "’": "'", "`": "'", "´": "'", "“": '"', "”": '"', "«": '"', "»": '"'})
_ODD = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad‘’`´“”«»]")
_SPACES = re.compile(r"\s+")
_LETTER_RUN = re.compile(r"([a-z])\1+")
_LEAD = re.compile(r"[\w'\u1780-\u17ff]+")

# Words that turn the phrase after them around ("didn't fix it", "not working now").
_NEGATOR = re.compile(
    r"(?:\b(?:not|no|never|nothing|nobody|none|neither|nor|without|hardly|barely|cannot)\b|n't\b|\bcant\b"
    r"|\bdidnt\b|\bdoesnt\b|\bwont\b|\bhasnt\b|\bhavent\b|\bisnt\b|\barent\b|\bwasnt\b|\bfail(?:s|ed)?\s+to\b"
    r"|មិន|អត់|គ្មាន)"
)

_KHMER = re.compile("[\u1780-\u17ff]")

NOTE_MAX = 300
# Romanized Khmer "already" (ហើយ) as it is typed after a verb: "merl hz", "restart 2 dong heuy".
ROMANIZED_ALREADY = r"(?:hz|heuy|huey|hery|haey)"


def tidy(text: str) -> str:
    """One kind of quote, no invisible characters, single spaces; the case is kept (for notes)."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        if _ODD.search(text):
            text = text.translate(_INVISIBLE).translate(_QUOTES)
    elif "`" in text:
        text = text.translate(_QUOTES)
    return _SPACES.sub(" ", text).strip()


def clean(text: str) -> str:
    """`tidy` in lower case: what the patterns read."""
    return tidy(text).lower()


def squeeze(word: str) -> str:
    """Doubled letters once: "yesss" and "yess" read as "yes", "noooo" as "no"."""
    return _LETTER_RUN.sub(r"\1", word)


def lead_words(cleaned: str, n: int = 3) -> list[str]:
    """The first `n` words of a cleaned reply, letters squeezed."""
    words: list[str] = []
    for m in _LEAD.finditer(cleaned):
        words.append(squeeze(m.group()))
        if len(words) == n:
            break
    return words


def negated_before(cleaned: str, start: int, words: int = 3) -> bool:
    """A negating word among the last few words before `start`, in the same clause ("haven't
    restarted", "it's not working now"; not "can't log in even after restarting")."""
    before = cleaned[max(0, start - 40) : start]
    for sep in (".", "!", "?", ",", ";", " but ", " and ", " even ", " after ", " despite "):
        cut = before.rfind(sep)
        if cut != -1:
            before = before[cut + len(sep) :]
    tokens = before.split()[-words:]
    # Khmer is written without spaces between words: of a Khmer run only its last few letters are
    # the words just before (ខ្ញុំមិនទាន់ restart), not a negation earlier in the sentence.
    if tokens and _KHMER.search(tokens[-1]):
        tokens = [tokens[-1][-8:]]
    else:
        tokens = [t for t in tokens if not _KHMER.search(t)]
    return _NEGATOR.search(" ".join(tokens)) is not None


def has_negator(span: str) -> bool:
    """A negating word anywhere in `span`."""
    return _NEGATOR.search(span) is not None


def shorten(text: str, limit: int = NOTE_MAX) -> str:
    """The text on one line, cut at `limit` characters on a word boundary with an ellipsis."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:") + "…"
