"""`supportbot tickets list|show|reply|resolve` (docs/reference.md section 1): an agent in a terminal
answers a customer whose web chat is open, with no Slack.

The app runs on uvicorn on loopback (its outbox job delivers); the commands run through typer's
CliRunner against the same database, as a second process on the agent's machine would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.app import create_app
from bot.cli import app as cli
from nlu.embedded import EmbeddedNlu
from tests.bot.test_socketio import Served, SocketCustomer
from tests.helpers import served_on_loopback, settings_for, ticket_id_in


@pytest.fixture
async def served(
    db_url: str, nlu: EmbeddedNlu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    monkeypatch.chdir(tmp_path)  # no `.env` of the checkout
    monkeypatch.setenv("DATABASE_URL", db_url)
    asgi = create_app(settings_for(db_url, SUPPORTBOT_CORS_ORIGINS=""), nlu=nlu)
    async with served_on_loopback(asgi) as url:
        yield Served(asgi, url)


async def supportbot(*args: str) -> Result:
    """The command, in a thread: it runs its own event loop, as the real process does."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def test_an_agent_answers_and_resolves_from_the_terminal(served: Served) -> None:
    customer = SocketCustomer(served.url)
    try:
        await customer.connect("cli-desk")
        await customer.say("i want to speak to an agent")
        await customer.say("the payroll export stopped with error 0x80070057")
        ticket_id = ticket_id_in(await customer.say("Dara Sok, dara@example.com"))

        listed = await supportbot("tickets", "list", "--status", "open")
        assert listed.exit_code == 0, listed.output
        # stdout only: the server shares this process, and its log lines go to stderr meanwhile.
        [line] = listed.stdout.splitlines()
        assert line.startswith(f"#{ticket_id} ") and "open" in line and "Dara Sok" in line
        assert "payroll export stopped" in line

        shown = await supportbot("tickets", "show", str(ticket_id))
        assert shown.exit_code == 0, shown.output
        assert "customer: Dara Sok, dara@example.com" in shown.output
        assert "handoff_requested" in shown.output

        replied = await supportbot(
            "tickets", "reply", str(ticket_id), "Which payroll period?", "--agent", "Sokha"
        )
        assert replied.exit_code == 0, replied.output
        assert "first response" in replied.output
        [pushed] = await customer.replies()  # the server's outbox job sends it
        assert pushed == {"text": "Sokha: Which payroll period?"}

        saved = await supportbot(
            "tickets", "reply", str(ticket_id), "--saved", "working-on-it", "--agent", "Sokha"
        )
        assert saved.exit_code == 0, saved.output
        [pushed] = await customer.replies()
        assert pushed["text"].startswith("Sokha: Hello Dara Sok, thank you for your patience.")
        assert f"ticket #{ticket_id}" in pushed["text"] and "{" not in pushed["text"]
        no_such = await supportbot("tickets", "reply", str(ticket_id), "--saved", "no-such-reply")
        assert no_such.exit_code == 1 and "no saved reply 'no-such-reply'" in no_such.output

        noted = await supportbot("tickets", "reply", str(ticket_id), "known bug 4411", "--internal")
        assert noted.exit_code == 0, noted.output
        answer = await customer.say("November, all 40 staff")
        # After the first response, the customer's message starts the next-response clock.
        assert answer[0]["text"].startswith(
            f"I've added that to ticket #{ticket_id}. Expect our next answer by "
        )

        resolved = await supportbot("tickets", "resolve", str(ticket_id), "--note", "Fixed in build 4412.")
        assert resolved.exit_code == 0, resolved.output
        pushed_resolution = await customer.replies()
        assert (
            f"Your ticket #{ticket_id} has been resolved. Fixed in build 4412."
            in pushed_resolution[0]["text"]
        )
        assert await customer.nothing_more(1) == [], "the internal note reached the customer"

        shown = await supportbot("tickets", "show", str(ticket_id))
        trail = shown.output
        assert "agent_reply" in trail and "cli:Sokha: Which payroll period?" in trail
        assert "internal_note" in trail and "known bug 4411" in trail
        assert "resolved" in trail
        assert (await supportbot("tickets", "list", "--status", "open")).stdout.strip() == "no tickets"
    finally:
        await customer.close()


async def test_bad_requests_are_one_clear_line(served: Served) -> None:
    missing = await supportbot("tickets", "show", "999")
    assert missing.exit_code == 1 and "ticket #999 does not exist" in missing.output
    assert "Traceback" not in missing.output
    unknown = await supportbot("tickets", "reply", "999", "hello")
    assert unknown.exit_code == 1 and "ticket #999 does not exist" in unknown.output
    empty = await supportbot("tickets", "reply", "1", "   ")
    assert empty.exit_code == 2 and "empty" in empty.output
    both = await supportbot("tickets", "reply", "1", "hello", "--saved", "working-on-it")
    assert both.exit_code == 2 and "not both" in both.output
    wrong = await supportbot("tickets", "list", "--status", "sleeping")
    assert wrong.exit_code == 2 and "--status must be one of" in wrong.output
