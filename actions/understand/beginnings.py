"""The literal text each alternative of a regular expression begins with (for fast.py's `Gated`).

A small reader of Python's regular-expression syntax, enough for the patterns of understand/: it
turns a pattern into a tree of what matters for its beginnings (literal characters, `\\b`, small
character classes, `\\s`, groups and their alternatives, repeats with their least count) and
walks it. Whatever it does not know (inline flags, back-references, verbose patterns) makes it
give up, and the pattern is then searched the ordinary way: giving up costs speed, never a match.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

MAX_PREFIXES = 64
ENOUGH = 8
_CLASS_MAX = 16
_QUANTIFIER = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_HEX = {"x": 2, "u": 4, "U": 8}
_LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}


class Unsupported(ValueError):
    """A construct this reader does not follow: the pattern is searched the ordinary way."""


@dataclass(frozen=True)
class Node:
    """One item of a pattern: `lit` (text), `bound` (\\b), `skip` (an anchor or a lookaround:
    matches nothing), `space` (\\s), `chars` (a small class: `chars`), `wide` (any other class, a
    dot), `group` (`alts`), `repeat` (`alts[0]` at least `low` times)."""

    kind: str
    text: str = ""
    chars: tuple[str, ...] = ()
    alts: tuple[tuple[Node, ...], ...] = ()
    low: int = 0


BOUND, SKIP, WIDE = Node("bound"), Node("skip"), Node("wide")
SPACE = Node("space", chars=(" ",))  # spaces are collapsed to one " " in the texts searched
DIGITS = Node("chars", chars=tuple(string.digits))


class _Reader:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def alternatives(self) -> tuple[tuple[Node, ...], ...]:
        """Alternatives up to the end or a closing parenthesis (left for the caller)."""
        alts: list[tuple[Node, ...]] = []
        items: list[Node] = []
        while self.i < len(self.p) and self.p[self.i] != ")":
            if self.p[self.i] == "|":
                alts.append(tuple(items))
                items = []
                self.i += 1
                continue
            items.append(self.quantified(self.atom()))
        alts.append(tuple(items))
        return tuple(alts)

    def atom(self) -> Node:
        ch = self.p[self.i]
        self.i += 1
        if ch == "(":
            return self.group()
        if ch == "[":
            return self.char_class()
        if ch == "\\":
            return self.escape()
        if ch == ".":
            return WIDE
        if ch in "^$":
            return SKIP
        if ch in "*+?":
            raise Unsupported(f"nothing to repeat at {self.i - 1}")
        return Node("lit", text=ch)

    def group(self) -> Node:
        lookaround = False
        if self.p.startswith("?", self.i):
            for opener in ("?:", "?P<", "?=", "?!", "?<=", "?<!"):
                if self.p.startswith(opener, self.i):
                    break
            else:
                raise Unsupported("inline flags, a back-reference or a conditional")
            self.i += len(opener)
            if opener == "?P<":
                end = self.p.index(">", self.i)
                self.i = end + 1
            lookaround = opener not in ("?:", "?P<")
        alts = self.alternatives()
        if not self.p.startswith(")", self.i):
            raise Unsupported("an unclosed group")
        self.i += 1
        return SKIP if lookaround else Node("group", alts=alts)

    def escape(self) -> Node:
        if self.i >= len(self.p):
            raise Unsupported("a trailing backslash")
        ch = self.p[self.i]
        self.i += 1
        if ch == "b":
            return BOUND
        if ch in "BAZ":
            return SKIP
        if ch == "s":
            return SPACE
        if ch == "d":
            return DIGITS
        if ch in "SWDw":
            return WIDE
        return Node("lit", text=self.escaped_char(ch))

    def escaped_char(self, ch: str) -> str:
        if ch in _HEX:
            digits = self.p[self.i : self.i + _HEX[ch]]
            if len(digits) != _HEX[ch] or any(c not in string.hexdigits for c in digits):
                raise Unsupported(f"a broken \\{ch} escape")
            self.i += _HEX[ch]
            return chr(int(digits, 16))
        if ch in _LITERAL_ESCAPES:
            return _LITERAL_ESCAPES[ch]
        if ch.isalnum():
            raise Unsupported(f"the escape \\{ch}")  # back-references, \N{...}, \0
        return ch

    def char_class(self) -> Node:
        chars: list[str] = []
        wide = self.p.startswith("^", self.i)
        if wide:
            self.i += 1
        first = True
        while True:
            if self.i >= len(self.p):
                raise Unsupported("an unclosed class")
            ch = self.p[self.i]
            self.i += 1
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                kind = self.p[self.i]
                self.i += 1
                if kind == "d":
                    chars.extend(string.digits)
                    continue
                if kind == "s":
                    chars.append(" ")  # spaces are collapsed to one " " in the texts searched
                    continue
                if kind in "wWSD":
                    wide = True
                    continue
                ch = self.escaped_char(kind)
            if self.p.startswith("-", self.i) and not self.p.startswith("-]", self.i):
                self.i += 1
                end = self.p[self.i]
                self.i += 1
                if end == "\\":
                    self.i += 1
                    end = self.escaped_char(self.p[self.i - 1])
                if ord(end) - ord(ch) >= _CLASS_MAX:
                    wide = True
                    continue
                chars.extend(chr(c) for c in range(ord(ch), ord(end) + 1))
                continue
            chars.append(ch)
        unique = tuple(dict.fromkeys(chars))
        if wide or len(unique) > _CLASS_MAX:
            return WIDE
        return Node("chars", chars=unique)

    def quantified(self, node: Node) -> Node:
        if self.i >= len(self.p):
            return node
        ch = self.p[self.i]
        low: int | None = None
        if ch in "*?":
            low, self.i = 0, self.i + 1
        elif ch == "+":
            low, self.i = 1, self.i + 1
        elif ch == "{" and (m := _QUANTIFIER.match(self.p, self.i)) and (m[1] or m[3]):
            low, self.i = int(m[1] or 0), m.end()
        if low is None:
            return node
        if self.i < len(self.p) and self.p[self.i] in "?+":
            self.i += 1  # lazy or possessive: the same beginnings
        return Node("repeat", alts=((node,),), low=low)


def parse(pattern: str, flags: int = 0) -> tuple[Node, ...]:
    """The pattern as a sequence of nodes; `Unsupported` for what this reader does not follow."""
    if flags & re.VERBOSE:
        raise Unsupported("a verbose pattern")
    reader = _Reader(pattern)
    alts = reader.alternatives()
    if reader.i != len(pattern):
        raise Unsupported(f"an unopened group closed at {reader.i}")
    return alts[0] if len(alts) == 1 else (Node("group", alts=alts),)


def prefixes(items: tuple[Node, ...]) -> list[tuple[str, bool, bool]] | None:
    """(literal prefix, complete, starts at a word boundary) for each way a sequence can begin,
    or None when one of them begins without literal text. A prefix stops growing at `ENOUGH`
    characters, or when the ways to begin would pass `MAX_PREFIXES`: a few specific beginnings are
    found faster than hundreds of long ones."""
    results: list[tuple[str, bool, bool]] = [("", True, False)]
    for node in items:
        results = [(p, c and len(p) < ENOUGH, b) for p, c, b in results]
        open_ = [r for r in results if r[1]]
        if not open_:
            break
        done = [r for r in results if not r[1]]
        grown: list[tuple[str, bool, bool]] | None
        if node.kind == "bound":
            results = done + [(p, c, b or p == "") for p, c, b in open_]
            continue
        if node.kind == "skip":
            continue
        if node.kind == "lit":
            grown = [(p + node.text, c, b) for p, c, b in open_]
        elif node.kind == "group":
            subs: list[tuple[str, bool, bool]] = []
            for alt in node.alts:
                subs.extend(prefixes(alt) or [("", False, False)])
            grown = [(p + q, c2, b or (p == "" and b2)) for p, _, b in open_ for q, c2, b2 in subs]
        elif node.kind == "repeat" and node.alts[0] == (SPACE,):
            # The texts searched have their spaces collapsed (`text.clean`): \s+ is one space there.
            grown = (open_ if node.low == 0 else []) + [(p + " ", c, b) for p, c, b in open_]
        elif node.kind == "repeat":
            inner = prefixes(node.alts[0]) or [("", False, False)]
            taken = [(p + q, False, b or (p == "" and b2)) for p, _, b in open_ for q, _, b2 in inner]
            grown = (open_ if node.low == 0 else []) + taken
        elif node.kind in ("chars", "space"):
            grown = [(p + ch, c, b) for p, c, b in open_ for ch in node.chars]
        else:
            grown = None  # a wide class, a dot: the literal prefix ends here
        too_many = len(done) + len(set(grown or ())) > MAX_PREFIXES and all(p for p, _, _ in open_)
        if grown is None or too_many:
            results = done + [(p, False, b) for p, _, b in open_]
            break
        results = done + list(dict.fromkeys(grown))
    if any(p == "" for p, _, _ in results):
        return None
    return results
