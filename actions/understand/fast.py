"""Fast search for patterns made of many alternatives, on long messages.

Python's `re` tries every alternative at every position of the text, and a leading `\\b` turns off
its quick scan, so a pattern of fifty phrases costs milliseconds on a 4,000-character message. A
`Gated` pattern knows the literal text each alternative starts with (read from the parsed pattern),
finds those with `str.find` (fast, in C) and tries the pattern only where one of them occurs. The
matches are the ones `re` would find (leftmost, first alternative, no overlaps); a pattern with an
alternative that starts without literal text is searched the ordinary way. The texts searched must
have their whitespace collapsed to single spaces (`text.clean` does): `\\s` counts as " " in the
literal beginnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_MAX_PREFIXES = 64
_ENOUGH = 8
_WORD = re.compile(r"\w")


_REPEATS = tuple(
    getattr(sre_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre_constants, name)
)


def _is_space(item: Any) -> bool:
    """A pattern item that is one whitespace character class (\\s)."""
    return (
        len(item) == 1
        and item[0][0] is sre_constants.IN
        and list(item[0][1]) == [(sre_constants.CATEGORY, sre_constants.CATEGORY_SPACE)]
    )


def _class_chars(av: Any) -> list[str] | None:
    """The characters of a small class ([345], [0-9], \\d), or None."""
    chars: list[str] = []
    for op, val in av:
        if op is sre_constants.LITERAL:
            chars.append(chr(val))
        elif op is sre_constants.RANGE and val[1] - val[0] < 16:
            chars.extend(chr(c) for c in range(val[0], val[1] + 1))
        elif op is sre_constants.CATEGORY and val is sre_constants.CATEGORY_DIGIT:
            chars.extend("0123456789")
        elif op is sre_constants.CATEGORY and val is sre_constants.CATEGORY_SPACE:
            chars.append(" ")  # spaces are collapsed to one " " in the texts searched
        else:
            return None
    return chars if len(chars) <= 16 else None


def _prefixes(items: Any) -> list[tuple[str, bool, bool]] | None:
    """(literal prefix, complete, starts at a word boundary) for each way a parsed sequence can begin,
    or None when one of them begins without literal text. A prefix stops growing at `_ENOUGH`
    characters, or when the ways to begin would pass `_MAX_PREFIXES`: a few specific beginnings are
    found faster than hundreds of long ones."""
    results: list[tuple[str, bool, bool]] = [("", True, False)]
    for op, av in items:
        results = [(p, c and len(p) < _ENOUGH, b) for p, c, b in results]
        open_ = [r for r in results if r[1]]
        if not open_:
            break
        done = [r for r in results if not r[1]]
        grown: list[tuple[str, bool, bool]] | None
        if op is sre_constants.AT:
            if av is sre_constants.AT_BOUNDARY:
                results = done + [(p, c, b or p == "") for p, c, b in open_]
            continue
        if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue
        if op is sre_constants.LITERAL:
            grown = [(p + chr(av), c, b) for p, c, b in open_]
        elif op is sre_constants.SUBPATTERN or op is sre_constants.BRANCH:
            alternatives = [av[-1]] if op is sre_constants.SUBPATTERN else list(av[1])
            subs: list[tuple[str, bool, bool]] = []
            for alt in alternatives:
                inner = _prefixes(alt)
                if inner is None:
                    inner = [("", False, False)]
                subs.extend(inner)
            grown = [(p + q, c2, b or (p == "" and b2)) for p, _, b in open_ for q, c2, b2 in subs]
        elif op in _REPEATS and _is_space(av[2]):
            # The texts searched have their spaces collapsed (`text.clean`): \s+ is one space there.
            grown = (open_ if av[0] == 0 else []) + [(p + " ", c, b) for p, c, b in open_]
        elif op in _REPEATS:
            low, _, item = av
            inner = _prefixes(item) or [("", False, False)]
            taken = [(p + q, False, b or (p == "" and b2)) for p, _, b in open_ for q, _, b2 in inner]
            grown = (open_ if low == 0 else []) + taken
        elif op is sre_constants.IN and (chars := _class_chars(av)) is not None:
            grown = [(p + ch, c, b) for p, c, b in open_ for ch in chars]
        else:
            grown = None  # a wide class, a dot: the literal prefix ends here
        too_many = len(done) + len(set(grown or ())) > _MAX_PREFIXES and all(p for p, _, _ in open_)
        if grown is None or too_many:
            results = done + [(p, False, b) for p, _, b in open_]
            break
        results = done + list(dict.fromkeys(grown))
    if any(p == "" for p, _, _ in results):
        return None
    return results


_WORDS = re.compile(r"\w+")
_INDEXES: dict[str, dict[str, list[int]]] = {}


def forget() -> None:
    """Drop the remembered word indexes (a benchmark times building them)."""
    _INDEXES.clear()


def _word_index(text: str) -> dict[str, list[int]]:
    """Word starts of a text by their first three characters, kept for the few texts last searched
    (every pattern of a turn searches the same message)."""
    index = _INDEXES.get(text)
    if index is None:
        index = {}
        for start in [m.start() for m in _WORDS.finditer(text)]:
            key = text[start : start + 3]
            found = index.get(key)
            if found is None:
                index[key] = [start]
            else:
                found.append(start)
        if len(_INDEXES) >= 8:
            _INDEXES.clear()  # one step, safe if threads share the module
        _INDEXES[text] = index
    return index


class Gated:
    """A compiled pattern searched only where its alternatives' literal beginnings occur."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.regex = re.compile(pattern, flags)
        self.pattern = pattern
        found = _prefixes(sre_parse.parse(pattern, flags))
        self.triggers: dict[str, bool] | None = None
        self._keys: dict[str, str | None] = {}
        self._finds: list[tuple[str, bool]] = []
        if found is not None:
            triggers: dict[str, bool] = {}
            for prefix, _, boundary in found:
                triggers[prefix] = triggers.get(prefix, True) and boundary
            # A trigger that starts with another one is found by the shorter one.
            self.triggers = {
                t: b for t, b in triggers.items() if not any(t != u and t.startswith(u) for u in triggers)
            }
            by_key: dict[str, list[str]] = {}
            for t, b in self.triggers.items():
                if b and len(t) >= 3 and _WORD.match(t):
                    by_key.setdefault(t[:3], []).append(t)
                else:
                    self._finds.append((t, b))
            # A key with one longer trigger filters its words by it; a key that is a trigger takes all.
            self._keys = {
                key: ts[0] if len(ts) == 1 and len(ts[0]) > 3 else None for key, ts in by_key.items()
            }

    def _starts(self, text: str) -> list[int]:
        """Where a trigger may occur, in order: word-start triggers from the text's word index (by
        their first three characters), the others (Khmer, short, "$") with `str.find`."""
        index = _word_index(text)
        starts: set[int] = set()
        # Whichever is smaller leads: a short message's few words, or a pattern's few keys.
        if len(index) < len(self._keys):
            pairs = [(found, self._keys[key]) for key, found in index.items() if key in self._keys]
        else:
            pairs = [(found, exact) for key, exact in self._keys.items() if (found := index.get(key))]
        for found, exact in pairs:
            if exact is None:
                starts.update(found)
            else:
                starts.update(i for i in found if text.startswith(exact, i))
        for trigger, boundary in self._finds:
            i = text.find(trigger)
            while i != -1:
                if not (boundary and i > 0 and _WORD.match(text, i - 1) and _WORD.match(text, i)):
                    starts.add(i)
                i = text.find(trigger, i + 1)
        return sorted(starts)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if self.triggers is None:
            yield from self.regex.finditer(text)
            return
        end = 0
        for start in self._starts(text):
            if start < end:
                continue
            m = self.regex.match(text, start)
            if m is not None and m.end() > m.start():
                end = m.end()
                yield m

    def search(self, text: str) -> re.Match[str] | None:
        return next(self.finditer(text), None)


def gated(pattern: str, flags: int = 0) -> Gated:
    return Gated(pattern, flags)
