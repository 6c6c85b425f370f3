"""Fast search for patterns made of many alternatives, on long messages.

Python's `re` tries every alternative at every position of the text, and a leading `\\b` turns off
its quick scan, so a pattern of fifty phrases costs milliseconds on a 4,000-character message. A
`Gated` pattern knows the literal text each alternative starts with (read by understand/beginnings.py),
finds those with `str.find` (fast, in C) and tries the pattern only where one of them occurs. The
matches are the ones `re` would find (leftmost, first alternative, no overlaps); a pattern with an
alternative that starts without literal text is searched the ordinary way. The texts searched must
have their whitespace collapsed to single spaces (`text.clean` does): `\\s` counts as " " in the
literal beginnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from actions.understand import beginnings

_WORD = re.compile(r"\w")
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
        try:
            found = beginnings.prefixes(beginnings.parse(pattern, flags))
        except (beginnings.Unsupported, IndexError):
            found = None  # searched the ordinary way
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
        if not pairs and not self._finds:
            return []
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
        if self.triggers is None:
            return self.regex.search(text)
        # finditer's first match, without its generator: most messages have none to find.
        for start in self._starts(text):
            m = self.regex.match(text, start)
            if m is not None and m.end() > m.start():
                return m
        return None


def gated(pattern: str, flags: int = 0) -> Gated:
    return Gated(pattern, flags)
