"""Saved replies (replies/): the shipped files, their rendering for a ticket in both languages, the
load errors that name the file, and `supportbot replies list|show` run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.services import Services
from desk.policy import load_policy
from desk.saved_replies import (
    LANGUAGES,
    SavedReplies,
    SavedReplyError,
    render,
    render_for_ticket,
    shared,
    ticket_language,
)
from desk.tickets import NewTicket
from storage.models import Customer
from tests.helpers import pp

CLI = [sys.executable, "-m", "bot.cli"]


def test_every_shipped_reply_exists_in_both_languages() -> None:
    replies = shared()
    assert {"need-details", "working-on-it", "fixed-please-confirm"} <= set(replies.names())
    for name in replies.names():
        texts = {lang: replies.get(name, lang) for lang in LANGUAGES}
        assert texts["en"].text != texts["km"].text
        assert all("{ticket_id}" in r.text for r in texts.values())


async def test_a_reply_is_rendered_for_a_ticket(services: Services) -> None:
    now = pp(2026, 11, 30, 10, 0)
    async with services.db.session() as session:
        customer = Customer(channel="webchat", external_id="saved-1", name=None, created_at=now)
        session.add(customer)
        await session.flush()
        ticket = await services.tickets.open(
            session,
            customer=customer,
            now=now,
            new=NewTicket(
                category="technical",
                priority="high",
                channel="webchat",
                description="Outlook won't open",
                subject="Outlook won't open",
                troubleshooting=[],
            ),
        )
        ticket_id = ticket.id
    async with services.db.reader() as session:
        english = await render_for_ticket(
            session, tickets=services.tickets, ticket_id=ticket_id, name="working-on-it"
        )
        khmer = await render_for_ticket(
            session, tickets=services.tickets, ticket_id=ticket_id, name="working-on-it", language="km"
        )
        with pytest.raises(SavedReplyError, match="no saved reply 'nope'"):
            await render_for_ticket(session, tickets=services.tickets, ticket_id=ticket_id, name="nope")
    # No name given: a greeting that still reads well; the high ticket is due at 14:00 that day.
    assert english.startswith(
        f"Hello there, thank you for your patience. An engineer is working on ticket #{ticket_id}"
    )
    assert "by Mon 30 Nov, 14:00 at the latest" in english
    assert khmer.startswith("សួស្តី លោកអ្នក")
    assert "30/11/2026 14:00" in khmer


def test_a_khmer_description_picks_the_khmer_text() -> None:
    ticket: Any = SimpleNamespace(
        id=7,
        description="អ៊ីនធឺណិតដាច់",
        customer=SimpleNamespace(name="ស្រី ពៅ"),
        response_due_at=pp(2026, 12, 1, 9, 0),
    )
    policy = load_policy()
    assert ticket_language(ticket) == "km"
    text = render(shared().get("need-details", ticket_language(ticket)), ticket, policy)
    assert text.startswith("សួស្តី ស្រី ពៅ")


def write(root: Path, lang: str, name: str, body: str) -> Path:
    folder = root / lang
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("Hello {name}", "no front matter"),
        ("---\ntitle: Hi\n---\nHello {customer}", "unknown placeholder(s) customer"),
        ("---\ntitle: Hi\n---\nHello {customer_name", "broken placeholder"),
        ("---\nlanguage: en\n---\nHello", "needs a non-empty `title`"),
        ("---\ntitle: Hi\n---\n", "the reply has no text"),
    ],
)
def test_a_bad_reply_file_is_named(tmp_path: Path, body: str, error: str) -> None:
    path = write(tmp_path, "en", "hello", body)
    write(tmp_path, "km", "hello", "---\ntitle: សួស្តី\n---\nសួស្តី {customer_name}")
    with pytest.raises(SavedReplyError) as raised:
        SavedReplies.load(tmp_path)
    assert str(path) in str(raised.value) and error in str(raised.value)


def test_a_reply_missing_in_one_language_is_named(tmp_path: Path) -> None:
    write(tmp_path, "en", "hello", "---\ntitle: Hi\n---\nHello {customer_name}")
    write(tmp_path, "km", "other", "---\ntitle: Hi\n---\nសួស្តី")
    with pytest.raises(
        SavedReplyError, match=r"en/other\.md: missing \(.other. exists in another language\)"
    ):
        SavedReplies.load(tmp_path)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=root, timeout=120, check=False)


def test_replies_list_and_show() -> None:
    listed = run("replies", "list")
    assert listed.returncode == 0, listed.stderr
    assert "need-details\ten: Ask for more details · km: សុំព័ត៌មានបន្ថែម" in listed.stdout.splitlines()
    shown = run("replies", "show", "need-details", "--language", "km")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["placeholders"] == ["customer_name", "ticket_id", "deadline"]
    assert list(data["texts"]) == ["km"]
    assert data["texts"]["km"]["text"].startswith("សួស្តី {customer_name}")
    missing = run("replies", "show", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "error: no saved reply 'nope' (known: fixed-please-confirm, need-details, working-on-it)"
    )
    bad = run("replies", "show", "need-details", "--language", "fr")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
