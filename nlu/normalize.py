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

# Khmer letters, vowel signs, COENG and signs; Khmer punctuation (U+17D4-U+17DA) is left out.
_KHMER_LETTERS = "\u1780-\u17d3\u17dd"
_KHMER_RUN = re.compile(f"[{_KHMER_LETTERS}]+")
_KHMER_LETTER = re.compile("[\u1780-\u17b3]")
# Zero-width space: a word break typed between Khmer words. The others only shape the rendering.
_ZERO_WIDTH_SPACE = "\u200b"
_INVISIBLE = re.compile("[\u200c\u200d\u2060\ufeff]")
_KEPT = "\n\t\u200b\u200c\u200d\u2060\ufeff"
# COENG DA and COENG TA look the same and are typed interchangeably (ស្តី, ស្ដី).
_COENG_DA = "\u17d2\u178a"
_COENG_TA = "\u17d2\u178f"

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

# Khmer spellings of English words customers also type in Latin letters ("អ៊ីនធឺណិត", "internet"),
# and the frequent variant spellings of a few words, mapped to one form so both share features.
_KHMER_SPELLINGS = {
    "អ៊ីនធឺណិត": "internet",
    "អ៊ីនធើណិត": "internet",
    "អ៊ីនធឺណេត": "internet",
    "អ៊ីនធើណេត": "internet",
    "អ៊ិនធឺណិត": "internet",
    "អ៊ីនធើណែត": "internet",
    "អ៊ីមែល": "email",
    "អ៊ីម៉ែល": "email",
    "អុីមែល": "email",
    "កុំព្យូទ័រ": "computer",
    "កុំព្យូទ័": "computer",
    "កំុព្យូទ័រ": "computer",
    "ព្រីនធ័រ": "printer",
    "ព្រីនទ័រ": "printer",
    "វីរុស": "virus",
    "វីរ៉ុស": "virus",
    "ផាសវើដ": "password",
    "វិក័យប័ត្រ": "វិក្កយបត្រ",
    "វិក្កយប័ត្រ": "វិក្កយបត្រ",
    "វិក័យបត្រ": "វិក្កយបត្រ",
    "វិក្ក័យបត្រ": "វិក្កយបត្រ",
    "អោយ": "ឲ្យ",
    "ឱ្យ": "ឲ្យ",
    "ឪ្យ": "ឲ្យ",
}
_KHMER_SPELLING = re.compile("|".join(sorted(map(re.escape, _KHMER_SPELLINGS), key=len, reverse=True)))


def clip(text: str) -> str:
    """The part of a message worth parsing: capped, with control bytes turned into spaces.

    Zero-width characters stay (one character in, one out, so entity offsets still fit the message):
    in Khmer, typed without spaces, they mark word breaks that `normalize` uses.
    """
    text = text[:MAX_CHARS]
    return "".join(ch if ch.isprintable() or ch in _KEPT else " " for ch in text)


def _fold(text: str) -> str:
    """Lowercase without Latin accents, so 'Café' and 'cafe' are one word (Khmer marks are kept)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and kept and kept[-1] < "\u0250":
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def has_khmer(text: str) -> bool:
    """Whether Khmer letters (consonants, independent vowels) appear."""
    return _KHMER_LETTER.search(text) is not None


def has_foreign_script(text: str) -> bool:
    """Whether letters outside the Latin script appear (Khmer, Thai, Chinese...), where typos can't be guessed."""
    return any(ch.isalpha() and ch > "\u024f" for ch in text)


# A Khmer character cluster: a consonant or independent vowel with its subscripts (COENG and a
# consonant), vowel signs and diacritics. Khmer is typed without spaces between words; the clusters
# become the classifier's words, and its word bigrams then see syllables and short words. Intent
# accuracy on tests/nlu/unseen.csv's 87 Khmer rows (and 5-fold on the Khmer training examples):
# unsplit 61 % (52 %), clusters 97 % (75 %), khmer-nltk's CRF word segmenter 98 % (76 %), which
# is one more message for a dependency and 1.8 s of model loading: clusters it is.
_KHMER_CLUSTER = re.compile("[\u1780-\u17b3](?:\u17d2[\u1780-\u17b3]|[\u17b4-\u17d1\u17d3\u17dd])*|.")


def _khmer_words(text: str) -> str:
    """Khmer, typed without spaces, cut into clusters set apart by spaces; other text stays as it is."""
    text = text.replace(_COENG_DA, _COENG_TA)
    text = _KHMER_SPELLING.sub(lambda m: f" {_KHMER_SPELLINGS[m.group(0)]} ", text)
    return _KHMER_RUN.sub(lambda m: " " + " ".join(_KHMER_CLUSTER.findall(m.group(0))) + " ", text)


def normalize(text: str) -> str:
    """The form the classifier sees: folded, placeholders for contact details, shorthand spelled out."""
    text = _fold(clip(text)).translate(patterns.KHMER_DIGITS).replace(_ZERO_WIDTH_SPACE, " ")
    text = _INVISIBLE.sub("", text)
    if _KHMER_RUN.search(text):
        text = _khmer_words(text)
    text = _URL.sub(" urladdr ", text)
    text = _EMAIL.sub(" emailaddr ", text)
    text = _PHONE.sub(" phonenum ", text)
    text = _DIGIT.sub("0", text)
    text = _REPEATS.sub(r"\1\1", text)
    text = _WORD.sub(lambda m: _SHORTHAND.get(m.group(0), m.group(0)), text)
    return _SPACES.sub(" ", text).strip()
