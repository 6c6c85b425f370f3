"""The Slack desk under test: the real app (lifespan running) with a fake Slack Web API on loopback.

Requests to `/slack/events` are built like Slack's (Events API JSON, slash command forms,
`payload=` interactivity forms) and signed with slack_sdk's `SignatureVerifier`; the app's Web API
calls go to `FakeSlack` through `SLACK_API_URL`. The app's clock is the `FrozenClock`; the outbox
is driven with `delivery.run_once()` (the app's own delivery job may run too; neither can send a
row twice).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from bot.app import create_app
from bot.delivery import OutboxDelivery
from bot.notices import render
from bot.services import Services
from bot.slack import SlackDesk
from desk.tickets import NewTicket
from nlu.embedded import EmbeddedNlu
from storage.models import Conversation, Customer, OutboxMessage, Ticket, TicketEvent, TicketPost
from tests.bot.slack.fake_slack import BOT_USER, TEAM, FakeSlack, Message
from tests.helpers import REST_AUTH, FrozenClock, eventually, settings_for

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MANAGER = "U0MANAGER"
AGENT = "U0AGENT"
OTHER = "U0OTHER"
TIER1, TIER2, TIER3 = "#support-tier1", "#support-tier2", "#support-tier3"
MANAGERS = "#support-managers"
WEBHOOK = "/webhooks/rest/webhook"
_event_ids = itertools.count(1)


def slack_env(fake: FakeSlack, **extra: Any) -> dict[str, Any]:
    return {
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "SUPPORTBOT_MANAGERS": f"{MANAGER},U0BOSS",
        "SUPPORTBOT_CORS_ORIGINS": "",
        "SUPPORTBOT_SWEEP_SECONDS": "3600",  # the tests run the sweep themselves
        **extra,
    }


# -- Slack's requests --------------------------------------------------------------------------------


def signed(body: str, *, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "verification-token-unused",
        "team_id": TEAM,
        "api_app_id": "A0SUPPORT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev0{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }


def thread_reply(
    channel_id: str, thread_ts: str, text: str, *, user: str = AGENT, **extra: Any
) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {
        "type": "message",
        "channel": channel_id,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": BOT_USER,
        "team": TEAM,
        "client_msg_id": f"msg-{next(_event_ids)}",
        **extra,
    }


# -- the app -----------------------------------------------------------------------------------------


@dataclass
class Desk:
    """The app with Slack on, a client for it, and the fake Slack it talks to."""

    asgi: Any
    http: httpx.AsyncClient
    fake: FakeSlack
    clock: FrozenClock
    seen_responses: int = 0
    senders: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def services(self) -> Services:
        return self.asgi.fastapi.state.services

    @property
    def delivery(self) -> OutboxDelivery:
        return self.asgi.fastapi.state.delivery

    # -- customers ------------------------------------------------------------------------------

    async def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        response = await self.http.post(
            WEBHOOK, json={"sender": sender, "message": message}, headers=REST_AUTH
        )
        assert response.status_code == 200, response.text
        return list(response.json())

    async def open_ticket(
        self,
        *,
        sender: str | None = None,
        priority: str = "critical",
        category: str = "technical",
        description: str = "Our ERP crashes for everyone since this morning",
        name: str | None = "Sokha Chan",
        email: str | None = "sokha@example.com",
        phone: str | None = "+855 12 345 678",
        exclusion: str | None = None,
        language: str = "en",
    ) -> int:
        """A web chat customer's ticket, opened the way the intake opens it."""
        sender = sender or f"web-{next(self.senders)}"
        services = self.services
        now = self.clock()
        async with services.db.session() as session:
            customer = Customer(
                channel="webchat", external_id=sender, name=name, email=email, phone=phone, created_at=now
            )
            session.add(customer)
            await session.flush()
            conversation = Conversation(
                channel="webchat", sender=sender, customer_id=customer.id, state={}, created_at=now
            )
            session.add(conversation)
            await session.flush()
            ticket = await services.tickets.open(
                session,
                customer=customer,
                now=now,
                new=NewTicket(
                    category=category,
                    priority=priority,
                    channel="webchat",
                    description=description,
                    subject=description[:60],
                    troubleshooting=[
                        {"step": "Have you restarted the application?", "answer": "yes"},
                        {"step": "Are other people affected?", "answer": "yes"},
                    ],
                    exclusion=exclusion,
                    conversation_id=conversation.id,
                    language=language,
                ),
            )
            return ticket.id

    # -- the outbox -----------------------------------------------------------------------------

    async def deliver(self, rounds: int = 3) -> int:
        """Run the outbox until it has nothing more to send right now (after the work a press
        started, which may hold a ticket's row that later rows wait behind)."""
        await slack_desk(self.asgi).settled()
        total = 0
        for _ in range(rounds):
            sent = await self.delivery.run_once()
            total += sent
            if not sent:
                break
        return total

    async def outbox(self, **filters: Any) -> list[OutboxMessage]:
        async with self.services.db.reader() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            for column, value in filters.items():
                query = query.where(getattr(OutboxMessage, column) == value)
            return list((await session.execute(query)).scalars())

    async def customer_texts(self, target: str) -> list[str]:
        """What the customer reads: the rows worded as the sender words them (bot/notices.py)."""
        rows = await self.outbox(kind="customer", target=target)
        return [str(render(r.payload, self.services.policy).get("text")) for r in rows]

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.services.db.reader() as session:
            ticket = await self.services.tickets.get(session, ticket_id, with_events=True)
            assert ticket is not None
            return ticket

    async def events(self, ticket_id: int, kind: str | None = None) -> list[TicketEvent]:
        ticket = await self.ticket(ticket_id)
        return [e for e in ticket.events if kind is None or e.kind == kind]

    async def posts(self, ticket_id: int) -> dict[int, TicketPost]:
        async with self.services.db.reader() as session:
            query = select(TicketPost).where(TicketPost.ticket_id == ticket_id)
            return {p.tier: p for p in (await session.execute(query)).scalars()}

    async def root(self, ticket_id: int) -> Message:
        """The ticket's tier-1 post in the fake Slack."""
        post = (await self.posts(ticket_id))[1]
        assert post.ts is not None
        return self.fake.message(post.channel, post.ts)

    # -- Slack's requests -----------------------------------------------------------------------

    async def post_signed(self, body: str, content_type: str, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/slack/events", content=body, headers={"Content-Type": content_type, **signed(body), **headers}
        )

    async def send_event(
        self, event: dict[str, Any], *, event_id: str | None = None, **headers: str
    ) -> httpx.Response:
        body = json.dumps(event_body(event, event_id=event_id))
        return await self.post_signed(body, "application/json", **headers)

    async def reply(
        self, ticket_id: int, text: str, *, user: str = AGENT, tier: int = 1, **extra: Any
    ) -> httpx.Response:
        """An agent's message in the ticket's thread of `tier`."""
        post = (await self.posts(ticket_id))[tier]
        assert post.ts is not None
        response = await self.send_event(thread_reply(post.channel, post.ts, text, user=user, **extra))
        assert response.status_code == 200, response.text
        return response

    async def press(self, message: Message, action_id: str, *, user: str = AGENT) -> httpx.Response:
        """Click a button of a message as `user` (a block_actions payload)."""
        [(block_id, value)] = [
            (str(b.get("block_id", "")), str(e["value"]))
            for b in message.blocks
            if b.get("type") == "actions"
            for e in b.get("elements", [])
            if e.get("action_id") == action_id
        ]
        return await self.click(message, action_id, value, user=user, block_id=block_id)

    async def click(
        self,
        message: Message,
        action_id: str,
        value: str,
        *,
        user: str = AGENT,
        block_id: str = "ticket_actions",
    ) -> httpx.Response:
        """A block_actions payload, also for a button a stale client still shows."""
        channel_name = next(name for name, cid in self.fake.channels.items() if cid == message.channel)
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
            "trigger_id": "1.2.3",
            "team": {"id": TEAM, "domain": "ionetech"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message.channel, "name": channel_name},
            "message": {
                "type": "message",
                "user": BOT_USER,
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
            },
            "response_url": self.fake.response_url("action"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        response = await self.post_signed(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        return response

    async def command(self, text: str, *, user: str = MANAGER, channel: str = MANAGERS) -> str:
        """`/support TEXT`: the answer, from the acknowledgement or else from the response_url."""
        form = {
            "token": "verification-token-unused",
            "team_id": TEAM,
            "team_domain": "ionetech",
            "channel_id": self.fake.channel_id(channel),
            "channel_name": channel.removeprefix("#"),
            "user_id": user,
            "user_name": user.lower(),
            "command": "/support",
            "text": text,
            "api_app_id": "A0SUPPORT",
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url("command"),
            "trigger_id": "1.2.3",
        }
        response = await self.post_signed(urlencode(form), "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        if response.content:
            answer = response.json()
            assert answer.get("response_type") == "ephemeral"
            return str(answer["text"])
        await eventually(lambda: len(self.fake.responses) > self.seen_responses, what="a response_url answer")
        answer = self.fake.responses[self.seen_responses]
        self.seen_responses += 1
        return str(answer["text"])


def slack_desk(asgi: Any) -> SlackDesk:
    """The app's SlackDesk (the outbox sender of agents' notices is its bound `send`)."""
    desk = asgi.fastapi.state.delivery.senders["agent"].__self__
    assert isinstance(desk, SlackDesk)
    return desk


def payload_of(replies: list[dict[str, Any]], title_start: str) -> str:
    """The payload of the REST reply button whose title starts with `title_start`."""
    for reply in replies:
        for button in reply.get("buttons", []):
            if button["title"].startswith(title_start):
                return str(button["payload"])
    raise AssertionError(f"no button starting {title_start!r} in {replies}")


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


MakeDesk = Callable[..., Awaitable[Desk]]


@pytest.fixture
async def make_desk(
    db_url: str, nlu: EmbeddedNlu, clock: FrozenClock, fake_slack: FakeSlack
) -> AsyncIterator[MakeDesk]:
    async with AsyncExitStack() as stack:

        async def make(**env: Any) -> Desk:
            asgi = create_app(settings_for(db_url, **env), nlu=nlu, now=clock)
            await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
            # Listeners still working after their ack finish before the lifespan closes the database.
            stack.push_async_callback(slack_desk(asgi).aclose)
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=asgi, raise_app_exceptions=False),
                    base_url="http://test",
                )
            )
            return Desk(asgi=asgi, http=http, fake=fake_slack, clock=clock)

        yield make


@pytest.fixture
async def desk(make_desk: MakeDesk, fake_slack: FakeSlack) -> Desk:
    return await make_desk(**slack_env(fake_slack))
