"""The message catalog: lookups by id, placeholders, and the fallback to English."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from actions import catalog
from actions.catalog import EN, label, text


def test_a_message_is_looked_up_by_id_with_its_placeholders_filled() -> None:
    assert (
        text("handoff.already", id=7)
        == "You're already connected to the team on ticket #7; they will answer here."
    )
    assert text("menu.report") == "Report a problem"


def test_a_language_without_the_message_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalog.CATALOGS, "km", {"menu.report": "រាយការណ៍បញ្ហា"})
    assert text("menu.report", "km") == "រាយការណ៍បញ្ហា"
    assert text("menu.tickets", "km") == "My tickets"
    assert text("menu.tickets", "xx") == "My tickets"


def test_a_value_without_a_name_is_shown_as_it_is() -> None:
    assert label("priority", "high") == "High"
    assert label("ticket_status", "waiting_customer") == "waiting for your reply"
    assert label("priority", "someday") == "someday"


def test_every_message_id_named_in_the_code_exists() -> None:
    """Every literal in actions/ that looks like an id of the catalog (`intake.…`) is one."""
    root = Path(catalog.__file__).parent
    namespaces = {key.split(".", 1)[0] for key in EN}
    named = set()
    for path in root.rglob("*.py"):
        if path.name != "catalog.py":
            named |= {
                literal
                for literal in re.findall(r'"([a-z_]+(?:\.[a-z_]+)+)"', path.read_text())
                if literal.split(".", 1)[0] in namespaces
            }
    assert len(named) > 100, "the pattern finds the ids"
    kinds = {key.rsplit(".", 1)[0] for key in EN}  # `label("priority.word", p)` names a kind
    assert sorted(named - EN.keys() - kinds) == []


def test_placeholders_are_plain_names() -> None:
    for key, template in EN.items():
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        assert all(f.isidentifier() for f in fields), key
