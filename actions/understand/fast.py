"""Fast search for patterns made of many alternatives, on long messages.

Python's `re` tries every alternative at every position of the text, and a leading `\\b` turns off
its quick scan, so a pattern of fifty phrases costs milliseconds on a 4,000-character message. A
`Gated` pattern knows the literal text each alternative starts with (read from the parsed pattern),
finds those with `str.find` (fast, in C) and tries the pattern only where one of them occurs. The
matches are the ones `re` would find (leftmost, first alternative, no overlaps); a pattern with an
alternative that starts without literal text is searched the ordinary way.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_MAX_PREFIXES = 400
_WORD = re.compile(r"\w")


_REPEATS = tuple(
    getattr(sre_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre_constants, name)
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
        else:
            return None
    return chars if len(chars) <= 16 else None


def _prefixes(items: Any) -> list[tuple[str, bool, bool]] | None:
    """(literal prefix, complete, starts at a word boundary) for each way a parsed sequence can begin,
    or None when one of them begins without literal text."""
    results: list[tuple[str, bool, bool]] = [("", True, False)]
    for op, av in items:
        open_ = [r for r in results if r[1]]
        if not open_:
            break
        done = [r for r in results if not r[1]]
        if op is sre_constants.AT:
            if av is sre_constants.AT_BOUNDARY:
                results = done + [(p, c, b or p == "") for p, c, b in open_]
            continue
        if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue
        if op is sre_constants.LITERAL:
            results = done + [(p + chr(av), c, b) for p, c, b in open_]
            continue
        if op is sre_constants.SUBPATTERN or op is sre_constants.BRANCH:
            alternatives = [av[-1]] if op is sre_constants.SUBPATTERN else list(av[1])
            subs: list[tuple[str, bool, bool]] = []
            for alt in alternatives:
                inner = _prefixes(alt)
                if inner is None:
                    if all(p == "" for p, _, _ in open_):
                        return None
                    inner = [("", False, False)]
                subs.extend(inner)
            results = done + [(p + q, c2, b or (p == "" and b2)) for p, _, b in open_ for q, c2, b2 in subs]
            if len(results) > _MAX_PREFIXES:
                return None
            continue
        if op in _REPEATS:
            low, _, item = av
            inner = _prefixes(item)
            if inner is None:
                if any(p == "" for p, _, _ in open_):
                    return None
                inner = [("", False, False)]
            taken = [(p + q, False, b or (p == "" and b2)) for p, _, b in open_ for q, _, b2 in inner]
            results = done + (open_ if low == 0 else []) + taken
            if len(results) > _MAX_PREFIXES:
                return None
            continue
        if op is sre_constants.IN:
            chars = _class_chars(av)
            if chars is not None:
                results = done + [(p + ch, c, b) for p, c, b in open_ for ch in chars]
                if len(results) > _MAX_PREFIXES:
                    return None
                continue
        # Anything else (a wide class, a dot): the literal prefix ends here.
        results = done + [(p, False, b) for p, _, b in open_]
        break
    if any(p == "" for p, _, _ in results):
        return None
    return results


class Gated:
    """A compiled pattern searched only where its alternatives' literal beginnings occur."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.regex = re.compile(pattern, flags)
        self.pattern = pattern
        found = _prefixes(sre_parse.parse(pattern, flags))
        self.triggers: dict[str, bool] | None = None
        if found is not None:
            triggers: dict[str, bool] = {}
            for prefix, _, boundary in found:
                triggers[prefix] = triggers.get(prefix, True) and boundary
            # A trigger that starts with another one is found by the shorter one.
            self.triggers = {
                t: b for t, b in triggers.items() if not any(t != u and t.startswith(u) for u in triggers)
            }

    def _starts(self, text: str) -> Iterator[int]:
        """Where a trigger occurs, in order, found lazily (a search stops at its first match)."""
        assert self.triggers is not None
        heap = [(i, t, b) for t, b in self.triggers.items() if (i := text.find(t)) != -1]
        heapq.heapify(heap)
        last = -1
        while heap:
            i, trigger, boundary = heap[0]
            j = text.find(trigger, i + 1)
            if j == -1:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (j, trigger, boundary))
            if i == last or (boundary and i > 0 and _WORD.match(text, i - 1) and _WORD.match(text, i)):
                continue
            last = i
            yield i

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
