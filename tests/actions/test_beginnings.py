"""The literal beginnings of a pattern's alternatives (actions/understand/beginnings.py), and the
gated search built on them finding exactly what `re` finds, for every gated pattern of the
understanding code, on every held-out message."""

from __future__ import annotations

import csv
import gc
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import actions.flows
import actions.understand
from actions.understand import beginnings
from actions.understand.fast import Gated
from actions.understand.text import clean

ROOT = Path(__file__).resolve().parents[2]


def starts(pattern: str) -> set[tuple[str, bool]] | None:
    found = beginnings.prefixes(beginnings.parse(pattern))
    return None if found is None else {(prefix, boundary) for prefix, _, boundary in found}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bhello\b", {("hello", True)}),
        (r"\b(?:only|just)\s+me\b", {("only me", True), ("just me", True)}),
        (r"colou?r", {("color", False), ("colou", False)}),
        (r"\$\d+", {(f"${d}", False) for d in "0123456789"}),
        (r"(?P<err>error|fault):", {("error:", False), ("fault:", False)}),
        (r"(?<!not )\burgent\b", {("urgent", True)}),
        (r"[ab]c", {("ac", False), ("bc", False)}),
        (r"\bwi-?fi\b", {("wifi", True), ("wi-", True)}),
        (r"a{2,}b", {("a", False)}),
        (r"ម៉ោងនេះ|\bnow\b", {("ម៉ោងនេះ", False), ("now", True)}),
        (r"\u17a2ត់", {("អត់", False)}),
        (r"[\u1780-\u1782]ា", {("កា", False), ("ខា", False), ("គា", False)}),
        # An alternative that can begin with anything: no literal beginning, an ordinary search.
        (r"\bdown\b|.+ crashed", None),
        (r"\w+ing", None),
        (r"[^.!?]{3,}", None),
    ],
)
def test_the_beginnings_of_a_pattern(pattern: str, expected: set[tuple[str, bool]] | None) -> None:
    assert starts(pattern) == expected


@pytest.mark.parametrize("pattern", [r"(?i)urgent", r"(a)\1", r"(a)?(?(1)b|c)", r"\N{EM DASH}", "a)", "(a"])
def test_what_the_reader_does_not_follow_is_searched_the_ordinary_way(pattern: str) -> None:
    with pytest.raises(beginnings.Unsupported):
        beginnings.parse(pattern)
    if pattern not in ("a)", "(a"):  # the others are patterns re takes
        gated = Gated(pattern)
        assert gated.triggers is None
        text = "urgent aa b — urgent"
        assert [m.span() for m in gated.finditer(text)] == [m.span() for m in gated.regex.finditer(text)]


def gated_patterns() -> list[Gated]:
    for package in (actions.understand, actions.flows):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    # Built ones only: a pattern re refused (a test's) leaves an object without its fields.
    return [obj for obj in gc.get_objects() if isinstance(obj, Gated) and hasattr(obj, "triggers")]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def held_out_messages() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "actions").glob("conversations*.yaml")):
        texts.extend(strings(yaml.safe_load(path.read_text(encoding="utf-8"))))
    with (ROOT / "tests" / "nlu" / "unseen.csv").open(encoding="utf-8") as rows:
        texts.extend(row["text"] for row in csv.DictReader(rows))
    return [clean(t) for t in texts if t.strip()]


def test_every_gated_pattern_finds_what_re_finds_in_every_held_out_message() -> None:
    patterns = gated_patterns()
    messages = held_out_messages()
    assert len(patterns) > 40 and len(messages) > 500
    assert sum(p.triggers is not None for p in patterns) > 40  # most are gated, not searched plainly
    long = " ".join(messages)  # one long text: every message at every offset
    for gated in patterns:
        for text in [*messages, long]:
            found = [m.span() for m in gated.finditer(text)]
            assert found == [m.span() for m in gated.regex.finditer(text)], (gated.pattern, text)
            first = gated.regex.search(text)
            assert span(gated.search(text)) == span(first), (gated.pattern, text)


WORDS = ["only", "just", "me", "every", "finance", "computer", "a", "b", "c", "abc", "$", "40", "mine"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12), st.lists(st.sampled_from(["", " ", ", "]), max_size=12))
def test_a_gated_search_matches_re_on_made_up_texts(words: list[str], gaps: list[str]) -> None:
    pattern = r"\b(?:only|just)\s+(?:me|mine)\b|\bevery\s+(?:\w+\s+)?computer|(?:a|b)+c|\$\d+"
    text = "".join(w + (gaps[i] if i < len(gaps) else " ") for i, w in enumerate(words))
    gated = Gated(pattern)
    assert [m.span() for m in gated.finditer(text)] == [m.span() for m in re.finditer(pattern, text)]
    assert span(gated.search(text)) == span(re.search(pattern, text))


def span(m: re.Match[str] | None) -> tuple[int, int] | None:
    return None if m is None else m.span()
