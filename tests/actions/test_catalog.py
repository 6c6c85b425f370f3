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


# -- Khmer: the gettext catalog read with Babel --------------------------------------------------------


def _fields(template: str) -> list[str]:
    return sorted(f for _, f, _, _ in string.Formatter().parse(template) if f is not None)


def test_every_message_has_its_khmer_text_and_nothing_else_is_in_the_catalog() -> None:
    assert sorted(EN.keys() - catalog.KM.keys()) == [], "messages without Khmer"
    assert sorted(catalog.KM.keys() - EN.keys()) == [], "Khmer for messages that no longer exist"


def test_placeholders_match_between_languages() -> None:
    for key, english in EN.items():
        assert _fields(catalog.KM[key]) == _fields(english), key


def test_the_khmer_texts_are_khmer_and_the_dates_are_babel_patterns() -> None:
    words = {k: re.sub(r"\{\w+\}", "", v) for k, v in catalog.KM.items()}  # placeholders aside
    not_khmer = [
        k for k, v in words.items() if re.search(r"[^\W\d_]", v) and not re.search(r"[\u1780-\u17ff]", v)
    ]
    # Product words stay Latin; a text without any Khmer is the language button's "English" only.
    assert not_khmer == ["menu.language"]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    at = datetime(2026, 12, 7, 9, 5, tzinfo=ZoneInfo("Asia/Phnom_Penh"))
    assert format_datetime(at, text("time.when"), locale="en") == "Mon 7 Dec, 09:05"
    assert format_datetime(at, text("time.when", "km"), locale="km") == "ថ្ងៃច័ន្ទ ទី7 ខែធ្នូ ម៉ោង 09:05"


def test_the_po_file_is_a_valid_gettext_catalog_without_fuzzy_entries() -> None:
    from babel.messages.pofile import read_po

    path = catalog.LOCALE_DIR / "km" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        po = read_po(file, locale="km")
    entries = [m for m in po if m.id]
    assert len(entries) == len(EN)
    assert [m.id for m in entries if m.fuzzy or not m.string] == []
    assert str(po.locale) == "km"


def test_button_titles_stay_short_in_both_languages() -> None:
    """Titles of the buttons the catalog names fit a phone's inline keyboard (callback data: below)."""
    buttons = [k for k in EN if k.startswith(("menu.", "button."))]
    buttons += [
        "intake.confirm.open",
        "intake.confirm.change_priority",
        "intake.confirm.cancel",
        "feedback.skip",
    ]
    buttons += ["intake.exclusion.yes", "intake.exclusion.no", "intake.troubleshoot.fixed"]
    buttons += ["account.resume_button", "account.forget.yes", "account.forget.no", "priority.critical"]
    for key in buttons:
        for lang in ("en", "km"):
            assert len(text(key, lang)) <= 24, (key, lang, text(key, lang))
    # Payloads are the same in every language; the longest the bot sends as callback data.
    from actions.payload import make_payload

    assert len(make_payload("set_language", language="km").encode()) <= 64


# -- no customer-facing text inline in code --------------------------------------------------------------

_REPLY_CALLS = {"Reply", "Button"}
_SEND_CALLS = {"send_message", "emit"}


def _inline_texts(path: Path) -> list[str]:
    """String literals written to a customer: Reply/Button texts, `text=` and `{"text": ...}`."""
    import ast

    found: list[str] = []

    def literal(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() != ""
        ) or (isinstance(node, ast.JoinedStr))

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _REPLY_CALLS and node.args and literal(node.args[0]):
                found.append(f"{path}:{node.lineno}")
            if name in _SEND_CALLS | _REPLY_CALLS:
                found += [
                    f"{path}:{node.lineno}"
                    for k in node.keywords
                    if k.arg in ("text", "title") and literal(k.value)
                ]
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "text"
                    and value is not None
                    and literal(value)
                ):
                    found.append(f"{path}:{node.lineno}")
    return found


def test_no_customer_facing_text_is_inline_in_actions_or_the_customer_channels() -> None:
    root = Path(catalog.__file__).parent.parent
    # bot/slack and the CLI speak to agents and operators, in English by design.
    files = [*(root / "actions").rglob("*.py"), *(root / "bot" / "channels").rglob("*.py")]
    inline = [hit for path in files for hit in _inline_texts(path)]
    assert inline == []


def _customer_row_texts(path: Path) -> list[str]:
    """Customer outbox rows of the desk carrying a finished "text" (a literal, an f-string or a
    variable): the desk queues catalog messages (`outbox.notice`), put into words by the sender."""
    import ast

    def customer(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "CUSTOMER"

    rows: list[ast.AST] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and any(k.arg == "kind" and customer(k.value) for k in node.keywords):
            rows.append(node)
        if isinstance(node, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value == "kind" and customer(v)
            for k, v in zip(node.keys, node.values, strict=True)
        ):
            rows.append(node)
    return sorted(
        {
            f"{path}:{row.lineno}"
            for row in rows
            for inner in ast.walk(row)
            if isinstance(inner, ast.Dict)
            and any(isinstance(k, ast.Constant) and k.value == "text" for k in inner.keys)
        }
    )


def test_no_customer_facing_text_is_inline_in_the_desk() -> None:
    """desk/ sits below actions/: its customer notices are message ids, never English text (its
    notices to agents, in Slack, are English by design)."""
    root = Path(catalog.__file__).parent.parent
    files = sorted((root / "desk").rglob("*.py"))
    assert files, "no modules found: is the root right?"
    assert [hit for path in files for hit in _customer_row_texts(path)] == []


def test_the_desk_scan_finds_a_finished_customer_text(tmp_path: Path) -> None:
    sample = tmp_path / "notices.py"
    sample.write_text(
        'outbox.enqueue(s, kind=outbox.CUSTOMER, target=t, payload={"text": said})\n'
        'outbox.enqueue(s, kind=outbox.AGENT, target=t, payload={"event": "x"})\n'
        'row = {"kind": outbox.CUSTOMER, "payload": {"text": said}}\n'
        'outbox.enqueue(s, kind=outbox.CUSTOMER, payload=outbox.notice("desk.resolved", "km", id=1))\n'
    )
    assert _customer_row_texts(sample) == [f"{sample}:1", f"{sample}:3"]


def test_the_scan_finds_an_inline_reply(tmp_path: Path) -> None:
    sample = tmp_path / "flow.py"
    sample.write_text(
        'Reply("Hello there")\nButton(t.say("menu.report"), "/x")\nemit("bot_uttered", {"text": "Oops"})\n'
    )
    assert _inline_texts(sample) == [f"{sample}:1", f"{sample}:3"]
