"""The ticket's card for agents. Saved replies: the overflow menu (a signed block_actions), the
modal opened with views.open and the text filled in, and Send (a signed view_submission)
delivering the edited text to the customer like a thread reply, in English and in Khmer. And the
articles a customer was offered before the ticket, shown on the card."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.slack import blocks as bk
from tests.bot.slack.conftest import AGENT, TEAM, Desk, eventually, payload_of
from tests.bot.slack.fake_slack import FakeSlack, Message


def overflow_of(message: Message) -> dict[str, Any]:
    [menu] = [
        b["accessory"]
        for b in message.blocks
        if b.get("type") == "section" and (b.get("accessory") or {}).get("type") == "overflow"
    ]
    return dict(menu)


async def pick(desk: Desk, message: Message, value: str, *, user: str = AGENT) -> httpx.Response:
    """Choose an option of the card's overflow menu: Slack's block_actions for an overflow element."""
    menu = overflow_of(message)
    option = next(o for o in menu["options"] if o["value"] == value)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A0SUPPORT",
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": TEAM, "domain": "ionetech"},
        "channel": {"id": message.channel, "name": "support-tier1"},
        "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks},
        "response_url": desk.fake.response_url("action"),
        "actions": [
            {
                "type": "overflow",
                "action_id": menu["action_id"],
                "block_id": bk.DESCRIPTION_BLOCK,
                "selected_option": option,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    response = await desk.post_signed(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.text
    return response


async def submit(desk: Desk, view: dict[str, Any], text: str, *, user: str = AGENT) -> httpx.Response:
    """Press Send in the modal: Slack's view_submission with the input's value."""
    submitted = {
        **view,
        "id": "V0000000001",
        "team_id": TEAM,
        "state": {
            "values": {
                bk.SAVED_REPLY_BLOCK: {bk.SAVED_REPLY_INPUT: {"type": "plain_text_input", "value": text}}
            }
        },
        "hash": "156772938.1827394",
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "ionetech"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A0SUPPORT",
        "token": "verification-token-unused",
        "trigger_id": "12466734323.1395872398",
        "view": submitted,
        "response_urls": [],
    }
    return await desk.post_signed(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


async def open_card(desk: Desk, **ticket: Any) -> tuple[int, Message]:
    ticket_id = await desk.open_ticket(**ticket)
    assert await desk.deliver() >= 1
    return ticket_id, await desk.root(ticket_id)


async def test_a_saved_reply_is_picked_edited_and_sent_in_english(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id, card = await open_card(desk, sender="web-saved-en", name="Sokha Chan")
    menu = overflow_of(card)
    assert menu["action_id"] == bk.SAVED_REPLY
    assert 2 <= len(menu["options"]) <= 5
    assert {o["value"] for o in menu["options"]} >= {
        f"{ticket_id}:need-details",
        f"{ticket_id}:working-on-it",
    }

    await pick(desk, card, f"{ticket_id}:need-details")
    view = await eventually(lambda: fake_slack.views[-1] if fake_slack.views else None, what="the modal")
    [call] = fake_slack.calls_to("views.open")
    assert call.args["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    assert view["callback_id"] == bk.SAVED_REPLY_VIEW
    [field] = view["blocks"]
    prefilled = field["element"]["initial_value"]
    assert prefilled.startswith(f"Hello Sokha Chan, to move ticket #{ticket_id} forward")

    edited = prefilled + " Thanks, Dara."
    response = await submit(desk, view, edited)
    assert response.status_code == 200, response.text
    assert response.content in (b"", b"{}") or "errors" not in response.json()
    texts = await eventually(
        lambda: desk.customer_texts("webchat:web-saved-en"), what="the reply to the customer"
    )
    assert any(edited in t for t in texts), texts
    events = await desk.events(ticket_id, "agent_reply")
    assert [e.actor for e in events] == [f"slack:{AGENT}"]
    # The thread shows what the customer got, since the modal's text is not a thread message.
    post = (await desk.posts(ticket_id))[1]
    assert post.ts is not None

    async def noted() -> bool:
        await desk.deliver()
        notes = "\n".join(m.text for m in fake_slack.thread(post.channel, post.ts or ""))
        return "sent the saved reply “Ask for more details”" in notes and "Thanks, Dara." in notes

    await eventually(noted, what="the note in the ticket's thread")


async def test_a_khmer_customer_gets_the_khmer_text(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id, card = await open_card(
        desk,
        sender="web-saved-km",
        name="សុខ ចាន់ថា",
        description="ម៉ាស៊ីនបោះពុម្ពនៅការិយាល័យមិនដំណើរការទេ",
        language="km",
    )
    await pick(desk, card, f"{ticket_id}:working-on-it")
    view = await eventually(lambda: fake_slack.views[-1] if fake_slack.views else None, what="the modal")
    prefilled = view["blocks"][0]["element"]["initial_value"]
    assert prefilled.startswith("សួស្តី សុខ ចាន់ថា")
    assert f"#{ticket_id}" in prefilled
    await submit(desk, view, prefilled)
    texts = await eventually(lambda: desk.customer_texts("webchat:web-saved-km"), what="the Khmer reply")
    assert texts == [f"Dara Sok៖ {prefilled}"]  # an agent's reply framed the Khmer way


async def test_an_empty_reply_is_refused_in_the_modal(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id, card = await open_card(desk, sender="web-saved-empty")
    await pick(desk, card, f"{ticket_id}:fixed-please-confirm")
    view = await eventually(lambda: fake_slack.views[-1] if fake_slack.views else None, what="the modal")
    response = await submit(desk, view, "   ")
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {bk.SAVED_REPLY_BLOCK: "Write the reply, or press Cancel."},
    }
    assert await desk.events(ticket_id, "agent_reply") == []


async def test_a_resolved_ticket_has_no_menu(desk: Desk, fake_slack: FakeSlack) -> None:
    _, card = await open_card(desk, sender="web-saved-resolved")
    await desk.press(card, bk.RESOLVE)
    await desk.deliver()
    card = await eventually(
        lambda: (
            fake_slack.message(card.channel, card.ts)
            if fake_slack.message(card.channel, card.ts).updates
            else None
        ),
        what="the card's update",
    )
    assert not any((b.get("accessory") or {}).get("type") == "overflow" for b in card.blocks)


async def test_the_card_shows_the_articles_the_customer_tried(desk: Desk, fake_slack: FakeSlack) -> None:
    """A web chat customer (REST channel) is offered the password article, still needs help, and
    the ticket's card tells the agents so."""
    sender = "web-tried"
    replies = await desk.say(sender, "hi i forgot my pasword and the login page wont let me in anymore")
    assert "/kb/en/password-reset" in "\n".join(r["text"] for r in replies)
    replies = await desk.say(sender, payload_of(replies, "I still need help"))
    replies = await desk.say(sender, payload_of(replies, "High"))
    while "Step" in "\n".join(r["text"] for r in replies):
        replies = await desk.say(sender, payload_of(replies, "No"))
    await desk.say(sender, "Sokha Chan")
    replies = await desk.say(sender, "sokha@example.com")
    replies = await desk.say(sender, payload_of(replies, "Open the ticket"))
    ticket_id = int(re.search(r"ticket #(\d+)", replies[-1]["text"]).group(1))  # type: ignore[union-attr]
    await desk.deliver()
    card = await desk.root(ticket_id)
    notes = "\n".join(e["text"] for b in card.blocks if b.get("type") == "context" for e in b["elements"])
    assert "*Articles offered before the ticket* (not solved): `password-reset`" in notes
