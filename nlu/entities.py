"""Entity extraction by patterns: contact details and ticket numbers have shapes, not meanings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nlu.patterns import DEFAULT_REGEXES, KHMER_DIGITS

REGEX_EXTRACTOR = "RegexEntityExtractor"
NAME_EXTRACTOR = "NamePatternExtractor"

# When two matches overlap, the entity earlier in this list wins (an email beats the digits in it).
_PRIORITY = ("email", "phone", "ticket_id", "name")

# Phrases after which a customer gives their name.
_NAME_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name\s*:|name\s+is|i\s+am|i'm|i’m|im|this\s+is|call\s+me)\s+",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
# Cues that also start everyday sentences ("I'm waiting", "this is urgent") need a capitalised or
# known name after them; "my name is" does not.
_WEAK_CUES = ("i am", "i'm", "i’m", "im", "this is", "call me")
# Words that end a name or show the cue was not about a name at all.
_NOT_NAME = frozenset(
    """
    a an the and or but from at of in on for with to by via my your our their his her its is are was
    were be been being am not no yes so very really just still also here there now today please pls
    thanks thank you calling writing contacting messaging reaching email phone number mobile tel
    waiting having trying getting going unable locked sorry happy glad fine ok okay good sure afraid
    urgent serious angry frustrated confused new back again done finished ready available interested
    ridiculous unacceptable terrible crazy important critical down broken stuck wrong
    customer client user admin manager owner staff boss company team office it ceo cto
    """.split()
)
# Common Khmer given and family names, so "i'm dara" (lowercase) still counts as a name.
_KNOWN_NAMES = frozenset(
    """
    sok sokha sokhom sophea sophal sopheap sothea sothy dara vannak vanna chan channa chantha chenda
    srey sreyneang sreymom sreyleak bopha borey kosal kimheng kimsan kimly kanha kunthea leakhena
    lina mony monika nary narin nimol pisey piseth phalla phirun rathana rith rithy ratanak samnang
    sambath sameth sokun sovann sovannary srun thida theary vibol visal veasna vuthy chea heng kim
    ly lim meas mao nhem ouk pich prak seng sam yim yin keo khiev chhay chhim
    """.split()
)


@dataclass
class EntityExtractor:
    """Regex, lookup-table and name-cue extraction, with synonyms mapped like Rasa's EntitySynonymMapper."""

    regexes: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_REGEXES))
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    _compiled: list[tuple[str, re.Pattern[str]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Compile once: parsing must stay in the millisecond range."""
        merged = {**DEFAULT_REGEXES, **{k: v for k, v in self.regexes.items() if v}}
        compiled = [(name, _compile(name, patterns)) for name, patterns in merged.items()]
        for name, words in self.lookups.items():
            alternatives = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
            if alternatives:
                joined = "|".join(re.escape(word) for word in alternatives)
                compiled.append((name, re.compile(rf"(?<!\w)(?:{joined})(?!\w)", re.I)))
        self._compiled = compiled

    def extract(self, text: str) -> list[dict[str, Any]]:
        """Entities in Rasa's format, earliest first, overlaps resolved by priority then length."""
        text = text.translate(KHMER_DIGITS)
        found: list[dict[str, Any]] = []
        for name, pattern in self._compiled:
            for match in pattern.finditer(text):
                if match.end() > match.start():
                    found.append(_entity(name, match.group(0), match.start(), match.end(), REGEX_EXTRACTOR))
        found.extend(_names(text))
        chosen: list[dict[str, Any]] = []
        for candidate in sorted(found, key=_rank):
            if all(candidate["end"] <= kept["start"] or candidate["start"] >= kept["end"] for kept in chosen):
                chosen.append(candidate)
        for entity in chosen:
            canonical = self.synonyms.get(str(entity["value"]).lower())
            if canonical is not None:
                entity["value"] = canonical
                entity["processors"] = ["EntitySynonymMapper"]
        return sorted(chosen, key=lambda e: (e["start"], e["end"]))


def _compile(name: str, patterns: list[str]) -> re.Pattern[str]:
    """One case-insensitive pattern for all regexes of an entity, as Rasa's extractor matches them."""
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"regex for entity {name!r} does not compile: {exc}") from exc


def _entity(name: str, value: str, start: int, end: int, extractor: str) -> dict[str, Any]:
    """One entity dict exactly as Rasa returns it."""
    return {"entity": name, "start": start, "end": end, "value": value, "extractor": extractor}


def _rank(entity: dict[str, Any]) -> tuple[int, int, int]:
    """Sort key: contract entities first, then longer spans, then earlier ones."""
    name = entity["entity"]
    priority = _PRIORITY.index(name) if name in _PRIORITY else len(_PRIORITY)
    return (priority, -(entity["end"] - entity["start"]), entity["start"])


def _names(text: str) -> list[dict[str, Any]]:
    """Names introduced by a cue such as 'my name is' or 'this is X from Y'."""
    results = []
    for cue in _NAME_CUE.finditer(text):
        weak = re.sub(r"\s+", " ", cue.group(0).strip().lower()) in _WEAK_CUES
        words = _name_words(text, cue.end(), weak)
        if words:
            start, end = words[0].start(), words[-1].end()
            value = text[start:end].rstrip(".")
            results.append(_entity("name", value, start, start + len(value), NAME_EXTRACTOR))
    return results


def _name_words(text: str, position: int, weak: bool) -> list[re.Match[str]]:
    """Up to three name-like words from `position`; later words must look like names or end the clause."""
    words: list[re.Match[str]] = []
    while len(words) < 3:
        word = _NAME_WORD.match(text, position)
        if not word or word.group(0).lower().strip(".") in _NOT_NAME:
            break
        rest = text[word.end() :]
        clause_ends = not rest.strip() or rest.lstrip()[0] in ",.;:!?()-\n"
        first_ok = not weak or _looks_like_name(word.group(0))
        later_ok = _looks_like_name(word.group(0)) or (not weak and clause_ends)
        if not (first_ok if not words else later_ok):
            break
        words.append(word)
        gap = re.match(r"[ \t]+", rest)
        if not gap or clause_ends:
            break
        position = word.end() + gap.end()
    return words


def _looks_like_name(word: str) -> bool:
    """A capitalised word or a familiar Khmer name (people often type in lowercase)."""
    return word.lower() in _KNOWN_NAMES or (word[:1].isupper() and not word.isupper())
