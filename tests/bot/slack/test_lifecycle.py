"""The life of a ticket through the doors people use: signed Slack requests (buttons, the
"Waiting on customer" modal, `/support assign|shift|ticket`), the REST chat channel, the
bearer-token API, real PostgreSQL and SQLite; targets of seconds where the sweep is involved."""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from desk.policy import SHIPPED_POLICY
from desk.sweep import sweep
from tests.bot.slack.conftest import (
    AGENT,
    MANAGER,
    MANAGERS,
    OTHER,
    TIER1,
    TIER2,
    Desk,
    MakeDesk,
    eventually,
    slack_env,
)
from tests.bot.slack.fake_slack import TEAM, FakeSlack, Message

TOKEN = "lifecycle-api-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def context_text(message: Message) -> str:
    return "\n".join(e["text"] for b in message.blocks if b.get("type") == "context" for e in b["elements"])


def fields_text(message: Message) -> str:
    [fields] = [b["fields"] for b in message.blocks if b.get("type") == "section" and "fields" in b]
    return "\n".join(f["text"] for f in fields)


def seconds_policy_file(tmp_path: Path) -> str:
    data = copy.deepcopy(yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8")))
    data["sla"]["priorities"] = {
        "critical": {"response": "40s", "clock": "24x7"},
        "high": {"response": "80s", "clock": "24x7"},
        "medium": {"response": "160s", "clock": "24x7"},
        "low": {"response": "320s", "clock": "24x7"},
    }
    data["lifecycle"] = {"nudge_after": "60s", "auto_resolve_after": "120s", "close_after": "90s"}
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


@pytest.fixture
async def desk(make_desk: MakeDesk, fake_slack: FakeSlack, tmp_path: Path) -> Desk:
    return await make_desk(
        **slack_env(fake_slack, SUPPORTBOT_API_TOKEN=TOKEN, SUPPORTBOT_POLICY=seconds_policy_file(tmp_path))
    )


async def submit_question(
    desk: Desk, view: dict[str, Any], question: str, *, user: str = AGENT
) -> httpx.Response:
    """The modal's submission, as Slack posts it (a `view_submission` interactivity payload)."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "ionetech"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A0SUPPORT",
        "token": "verification-token-unused",
        "trigger_id": "4.5.6",
        "view": {
            **view,
            "state": {
                "values": {"question": {"question_text": {"type": "plain_text_input", "value": question}}}
            },
            "hash": f"{time.time():.0f}.abc",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return await desk.post_signed(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


async def api(desk: Desk, ticket_id: int) -> dict[str, Any]:
    response = await desk.http.get(f"/api/tickets/{ticket_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def card(desk: Desk, ticket_id: int, check: Any) -> Message:
    """The ticket's tier-1 post once it satisfies `check`."""

    async def ready() -> Message | None:
        await desk.deliver()
        root = await desk.root(ticket_id)
        return root if check(root) else None

    found: Message = await eventually(ready, what="the ticket card to show the change")
    return found


def thread_texts(desk: Desk, root: Message) -> list[str]:
    return [m.text for m in desk.fake.thread(root.channel, root.ts)]


async def in_thread(desk: Desk, root: Message, check: Any) -> str:
    """The first message of the ticket's thread that satisfies `check`, once it is there (a notice
    redraws the card first and posts its line after, so the card can be ahead of the thread)."""

    async def found() -> str | None:
        await desk.deliver()
        return next((t for t in thread_texts(desk, root) if check(t)), None)

    text: str = await eventually(found, what="the line in the ticket's thread")
    return text


async def test_take_it_then_waiting_on_customer_and_the_answer_puts_it_back_on_the_clock(desk: Desk) -> None:
    ticket_id = await desk.open_ticket(sender="web-life", priority="high")
    await desk.deliver()
    root = await desk.root(ticket_id)
    assert root.action_ids() == [
        "ticket_ack",
        "ticket_escalate",
        "ticket_resolve",
        "ticket_take",
        "ticket_waiting",
    ]
    assert "clock first response" in fields_text(root)

    # "Take it": the agent owns the ticket; the card shows it and loses the button.
    await desk.press(root, "ticket_take")
    root = await card(desk, ticket_id, lambda m: "ticket_take" not in m.action_ids())
    assert f"*Owner*\n<@{AGENT}>" in fields_text(root)
    await in_thread(desk, root, lambda t: t == f":raised_hand: <@{AGENT}> took the ticket.")
    assert (await api(desk, ticket_id))["owner"] == f"slack:{AGENT}"

    # "Waiting on customer" opens a modal; submitting it asks the customer and pauses the clock.
    await desk.press(root, "ticket_waiting")
    [view] = await eventually(lambda: desk.fake.views, what="the question modal")
    assert view["callback_id"] == "ticket_waiting_view" and view["private_metadata"].startswith(
        f"{ticket_id}|"
    )
    blank = await submit_question(desk, view, "   ")
    assert blank.json() == {
        "response_action": "errors",
        "errors": {"question": "Write the question for the customer."},
    }
    desk.clock.advance(seconds=20)
    answer = await submit_question(desk, view, "Does it happen on the office wifi only, or at home too?")
    assert answer.status_code == 200
    body = await eventually(
        lambda: _with_status(desk, ticket_id, "waiting_customer"), what="the ticket to wait on the customer"
    )
    assert (body["clock"], body["waiting_since"]) == ("paused", desk.clock().isoformat())
    texts = await eventually(lambda: desk.customer_texts("webchat:web-life"), what="the question")
    assert texts[-1].startswith(
        f"Dara Sok has a question about your ticket #{ticket_id}: Does it happen on the office wifi only"
    )
    root = await card(desk, ticket_id, lambda m: "Waiting on the customer since" in context_text(m))
    assert "ticket_waiting" not in root.action_ids() and "clock :double_vertical_bar: paused" in fields_text(
        root
    )
    await in_thread(desk, root, lambda t: "asked the customer; the SLA clock is paused" in t)
    # Asking twice is refused inside the modal.
    again = await submit_question(desk, view, "And which laptop?")
    assert "already waiting on the customer" in again.json()["errors"]["question"]

    # The customer answers through the web chat 50 s later: back to open, the clock runs again
    # with what it had left (80 s target, 20 s used), and the customer hears when to expect us.
    desk.clock.advance(seconds=50)
    replies = await desk.say("web-life", "only at the office, at home its fine. also the printer is slow lol")
    due = desk.clock().timestamp() + 60
    assert replies[0]["text"].startswith(f"I've added that to ticket #{ticket_id}. Expect our next")
    body = await api(desk, ticket_id)
    assert (body["status"], body["clock"], body["waiting_seconds"]) == ("open", "first_response", 50)
    assert abs(_ts(body["response_due_at"]) - due) < 1
    root = await card(desk, ticket_id, lambda m: "clock first response" in fields_text(m))
    await in_thread(desk, root, lambda t: t.startswith("Customer: only at the office"))


async def test_api_waiting_endpoint_checks_its_input_and_the_ticket(desk: Desk) -> None:
    ticket_id = await desk.open_ticket(sender="web-api")
    url = f"/api/tickets/{ticket_id}/waiting"
    question = {"question": "Could you send the invoice number?", "agent": "alice"}
    assert (await desk.http.post(url, json=question)).status_code == 401
    assert (
        await desk.http.post("/api/tickets/999999/waiting", json=question, headers=AUTH)
    ).status_code == 404
    blank = await desk.http.post(url, json={"question": "  ", "agent": "alice"}, headers=AUTH)
    assert blank.status_code == 422
    assert (await desk.http.post(url, json={"agent": "alice"}, headers=AUTH)).status_code == 422

    response = await desk.http.post(url, json=question, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["clock"]) == ("waiting_customer", "paused")
    assert body["events"][-1]["kind"] == "waiting_customer" and body["events"][-1]["actor"] == "api:alice"
    texts = await desk.customer_texts("webchat:web-api")
    assert texts[-1].startswith(
        f"alice has a question about your ticket #{ticket_id}: Could you send the invoice"
    )
    twice = await desk.http.post(url, json=question, headers=AUTH)
    assert twice.status_code == 409 and "already waiting" in twice.json()["detail"]

    owner = await desk.http.post(f"/api/tickets/{ticket_id}/owner", json={"agent": "alice"}, headers=AUTH)
    assert owner.status_code == 200 and owner.json()["owner"] == "api:alice"


async def test_assign_shift_and_ticket_commands_and_the_owner_is_the_one_reminded(desk: Desk) -> None:
    ticket_id = await desk.open_ticket(sender="web-assign")
    await desk.deliver()
    bad = await desk.command(f"assign {ticket_id} vibol")
    assert "/support assign ID @agent" in bad
    answer = await desk.command(f"assign {ticket_id} <@{OTHER}|vibol>")
    assert answer == f":bust_in_silhouette: Ticket #{ticket_id} is now owned by <@{OTHER}>."
    shown = await desk.command(f"ticket {ticket_id}")
    assert f"Owner: <@{OTHER}> · clock first response" in shown
    root = await card(desk, ticket_id, lambda m: f"*Owner*\n<@{OTHER}>" in fields_text(m))
    await in_thread(
        desk, root, lambda t: t == f":bust_in_silhouette: <@{MANAGER}> assigned the ticket to <@{OTHER}>."
    )

    # 75% of the 40 s: the reminder in the thread calls the owner, not the whole channel.
    desk.clock.advance(seconds=30)
    await sweep(desk.services.db, tickets=desk.services.tickets, now=desk.clock())
    reminder = await in_thread(desk, root, lambda t: ":alarm_clock:" in t)
    assert reminder.startswith(f"<@{OTHER}> ") and "<!here>" not in reminder

    # Any agent may go on shift (it is about themselves); the channel picks the tier.
    on = await desk.command("shift on", user=AGENT, channel=TIER1)
    assert on.startswith(
        "You're on shift for tier 1 (round-robin is off in the policy). On shift now: <@U0AGENT>."
    )
    off = await desk.command("shift off 2", user=AGENT, channel=MANAGERS)
    assert off.startswith("You're off shift for tier 2")
    refused = await desk.command(f"assign {ticket_id} <@{AGENT}>", user=AGENT)
    assert "is for the support managers" in refused


async def test_next_response_reminder_and_escalation_then_close_reopen_and_follow_up(desk: Desk) -> None:
    ticket_id = await desk.open_ticket(sender="web-next")
    await desk.deliver()
    await desk.reply(ticket_id, "Hi, I'm on it. Which office are you in?")  # the first response
    await eventually(lambda: _answered(desk, ticket_id), what="the first response")

    # The customer writes again: a next-response clock of 40 s; the reminder and then the breach
    # and escalation come as for a first response.
    desk.clock.advance(seconds=5)
    replies = await desk.say("web-next", "phnom penh HQ, 3rd floor. and its getting worse!!")
    assert "Expect our next answer by" in replies[0]["text"]
    assert (await api(desk, ticket_id))["clock"] == "next_response"
    services = desk.services
    desk.clock.advance(seconds=30)
    assert (await sweep(services.db, tickets=services.tickets, now=desk.clock())).reminded == 1
    root = await desk.root(ticket_id)
    await in_thread(desk, root, lambda t: t.startswith("<!here>") and "latest message has no answer yet" in t)
    desk.clock.advance(seconds=10)
    result = await sweep(services.db, tickets=services.tickets, now=desk.clock())
    assert (result.breached, result.escalated) == (1, 1)
    await in_thread(desk, root, lambda t: "got no answer to the customer's latest message" in t)
    [moved] = await eventually(lambda: desk.fake.ticket_posts(TIER2, ticket_id), what="the tier-2 post")
    body = await api(desk, ticket_id)
    assert (body["tier"], body["clock"], body["sla_state"], body["sla_breaches"]) == (
        2,
        "next_response",
        "running",
        1,
    )

    # Resolved, then the customer writes before it closes: reopened, and the thread says so.
    await desk.press(moved, "ticket_resolve")
    await eventually(lambda: _with_status(desk, ticket_id, "resolved"), what="the resolution")
    desk.clock.advance(seconds=30)
    replies = await desk.say("web-next", "the vpn keeps disconnecting again since lunch, same as before :(")
    assert replies[0]["text"].startswith(f"I've reopened your ticket #{ticket_id}")
    body = await api(desk, ticket_id)
    assert (body["status"], body["clock"]) == ("open", "next_response")
    await in_thread(desk, moved, lambda t: "The ticket was reopened: the customer wrote again" in t)

    # Resolved again and left alone past `close_after`: closed. A new message opens a linked ticket.
    # Another agent: the same agent's press of the same button on the same ticket within seconds
    # counts as a double click (applied once).
    await desk.press(await _current_post(desk, ticket_id), "ticket_resolve", user=OTHER)
    await eventually(lambda: _with_status(desk, ticket_id, "resolved"), what="the second resolution")
    desk.clock.advance(seconds=90)
    assert (await sweep(services.db, tickets=services.tickets, now=desk.clock())).closed == 1
    assert (await api(desk, ticket_id))["status"] == "closed"
    replies = await desk.say("web-next", "hey, same VPN issue is back on the new laptop")
    assert replies[0]["text"].startswith(f"Ticket #{ticket_id} is closed, so I've opened ticket #")
    new_id = int(replies[0]["text"].split("opened ticket #")[1].split(" ")[0].rstrip(","))
    new = await api(desk, new_id)
    assert (new["reopened_from"], new["linked_ticket_id"], new["status"]) == (ticket_id, ticket_id, "open")
    assert (await api(desk, ticket_id))["linked_ticket_id"] == new_id
    # The follow-up is posted like any new ticket, and its card names the closed one.
    await card(desk, new_id, lambda m: f":link: Follows up closed ticket #{ticket_id}" in context_text(m))


async def _with_status(desk: Desk, ticket_id: int, status: str) -> dict[str, Any] | None:
    body = await api(desk, ticket_id)
    return body if body["status"] == status else None


async def _answered(desk: Desk, ticket_id: int) -> Any:
    ticket = await desk.ticket(ticket_id)
    return ticket if ticket.first_response_at is not None else None


async def _current_post(desk: Desk, ticket_id: int) -> Message:
    posts = await desk.posts(ticket_id)
    post = posts[max(posts)]
    assert post.ts is not None
    return desk.fake.message(post.channel, post.ts)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()
