"""`POST /slack/events`: signatures, url_verification, Slack's retries, and the desk switched off."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func, select

from storage.models import InboundMessage
from tests.bot.slack.conftest import (
    AGENT,
    SECRET,
    Desk,
    MakeDesk,
    event_body,
    eventually,
    signed,
    slack_desk,
    thread_reply,
)
from tests.bot.slack.fake_slack import BOT_ID, BOT_USER, FakeSlack


async def test_url_verification_answers_the_challenge(desk: Desk) -> None:
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    response = await desk.post_signed(body, "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_forged_stale_and_unsigned_requests_get_401(desk: Desk) -> None:
    ticket_id = await desk.open_ticket()
    await desk.deliver()
    post = (await desk.posts(ticket_id))[1]
    assert post.ts is not None
    body = json.dumps(event_body(thread_reply(post.channel, post.ts, "forged reply")))
    forged = signed(body, secret="not-the-signing-secret")
    stale = signed(body, timestamp=int(time.time()) - 6 * 60)
    tampered = signed(body.replace("forged reply", "something else"))
    for headers in (forged, stale, {}):
        response = await desk.http.post(
            "/slack/events", content=body, headers={"Content-Type": "application/json", **headers}
        )
        assert response.status_code == 401, headers
    response = await desk.http.post(
        "/slack/events",
        content=body.replace("forged reply", "something else"),
        headers={"Content-Type": "application/json", **tampered},
    )
    assert response.status_code == 200  # sanity: a correctly signed request passes
    await eventually(lambda: desk.events(ticket_id, "agent_reply"), what="the signed reply")
    replies = await desk.events(ticket_id, "agent_reply")
    assert [e.data["text"] for e in replies] == ["something else"]


async def test_a_retried_event_is_processed_once(desk: Desk) -> None:
    ticket_id = await desk.open_ticket(sender="web-retry")
    await desk.deliver()
    post = (await desk.posts(ticket_id))[1]
    assert post.ts is not None
    event = thread_reply(post.channel, post.ts, "We're on it, restarting the ERP server now.")
    first = await desk.send_event(event, event_id="Ev0RETRY0001")
    assert first.status_code == 200
    await eventually(lambda: desk.events(ticket_id, "agent_reply"), what="the reply")
    # Slack did not get our 200 in time and sends it again, twice.
    for attempt in ("1", "2"):
        again = await desk.send_event(
            event,
            event_id="Ev0RETRY0001",
            **{"X-Slack-Retry-Num": attempt, "X-Slack-Retry-Reason": "http_timeout"},
        )
        assert again.status_code == 200
    await asyncio.sleep(0.3)
    assert len(await desk.events(ticket_id, "agent_reply")) == 1
    texts = await desk.customer_texts("webchat:web-retry")
    assert texts.count("Dara Sok: We're on it, restarting the ERP server now.") == 1
    async with desk.services.db.reader() as session:
        count = await session.scalar(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.channel == "slack")
        )
    assert count == 1


async def test_bot_messages_edits_and_other_threads_are_ignored(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(sender="web-ignore")
    await desk.deliver()
    post = (await desk.posts(ticket_id))[1]
    assert post.ts is not None
    other = fake_slack.channel_id("#random")
    events = [
        thread_reply(post.channel, post.ts, "from another app", bot_id="B0OTHER"),
        thread_reply(post.channel, post.ts, "our own echo", user=BOT_USER, bot_id=BOT_ID),
        thread_reply(post.channel, post.ts, "edited", subtype="message_changed"),
        thread_reply(post.channel, post.ts, "joined", subtype="channel_join"),
        thread_reply(other, post.ts, "same ts, other channel"),
        {**thread_reply(post.channel, post.ts, "a root message"), "thread_ts": None},
    ]
    for event in events:
        assert (await desk.send_event(event)).status_code == 200
    await desk.reply(ticket_id, "the one that counts", user=AGENT)
    await eventually(lambda: desk.events(ticket_id, "agent_reply"), what="the agent's reply")
    await asyncio.sleep(0.2)
    assert [e.data["text"] for e in await desk.events(ticket_id, "agent_reply")] == ["the one that counts"]


async def test_without_credentials_the_route_is_404_and_notices_are_logged(
    make_desk: MakeDesk, fake_slack: FakeSlack
) -> None:
    desk = await make_desk(SUPPORTBOT_CORS_ORIGINS="")
    body = json.dumps({"type": "url_verification", "challenge": "c"})
    response = await desk.http.post("/slack/events", content=body, headers=signed(body, secret=SECRET))
    assert response.status_code == 404
    assert response.json() == {"detail": "Slack is not configured"}
    await desk.open_ticket()
    assert await desk.deliver() >= 1
    rows = await desk.outbox(kind="agent")
    assert rows and all(r.delivered_at is not None for r in rows)
    assert fake_slack.calls == []


async def test_closing_lets_listeners_finish_their_work(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(sender="web-close")
    await desk.deliver()
    post = (await desk.posts(ticket_id))[1]
    assert post.ts is not None
    fake_slack.slow("users.info", 0.3)  # the listener is still busy after its ack
    response = await desk.send_event(thread_reply(post.channel, post.ts, "Fixed on our side"))
    assert response.status_code == 200
    assert await desk.events(ticket_id, "agent_reply") == []
    await slack_desk(desk.asgi).aclose()
    assert [e.data["text"] for e in await desk.events(ticket_id, "agent_reply")] == ["Fixed on our side"]
