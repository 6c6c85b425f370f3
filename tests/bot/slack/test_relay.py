"""An agent answers in the ticket's Slack thread; the customer on the web chat (a real socket.io
client against the app served by uvicorn) gets it once; `note:` stays internal; the bot stays
quiet while the agent has the conversation; the customer's messages land in the thread; "Back to
bot" hands the customer back to the assistant."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy import select

from bot.app import create_app
from bot.services import Services
from nlu.embedded import EmbeddedNlu
from storage.models import Conversation
from tests.bot.slack.conftest import AGENT, TIER1, Desk, slack_desk, slack_env, thread_reply
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import FrozenClock, arrivals, eventually, served_on_loopback, settings_for

REPLY_TIMEOUT = 10.0


@dataclass
class Customer:
    """A Rasa web widget on the socket: `session_request`, `user_uttered`, collects `bot_uttered`."""

    url: str
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    confirms: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    session_id: str = ""

    async def connect(self, session_id: str) -> None:
        self.sio.on("bot_uttered", self.inbox.put_nowait)
        self.sio.on("session_confirm", self.confirms.put_nowait)
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=10)
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirms.get(), REPLY_TIMEOUT)

    async def say(self, message: str) -> None:
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id})

    async def next(self, wait: float = REPLY_TIMEOUT) -> dict[str, Any]:
        return await asyncio.wait_for(self.inbox.get(), wait)

    async def nothing_more(self, wait: float) -> list[dict[str, Any]]:
        return await arrivals(self.inbox, wait)


@dataclass
class Served(Desk):
    url: str = ""


@pytest.fixture
async def served(
    db_url: str, nlu: EmbeddedNlu, clock: FrozenClock, fake_slack: FakeSlack
) -> AsyncIterator[Served]:
    asgi = create_app(settings_for(db_url, **slack_env(fake_slack)), nlu=nlu, now=clock)
    async with served_on_loopback(asgi) as url, httpx.AsyncClient(base_url=url) as http:
        try:
            yield Served(asgi=asgi, http=http, fake=fake_slack, clock=clock, url=url)
        finally:
            await slack_desk(asgi).aclose()  # listeners still working after their ack finish first


@pytest.fixture
async def customer(served: Served) -> AsyncIterator[Customer]:
    client = Customer(served.url)
    yield client
    if client.sio.connected:
        await client.sio.disconnect()


async def test_agent_replies_reach_the_web_chat_once_and_notes_stay_internal(
    served: Served, customer: Customer, fake_slack: FakeSlack
) -> None:
    services: Services = served.services
    await customer.connect("s-relay")
    await customer.say("I want to talk to a person about our ERP, sokha@example.com")
    opened = await customer.next()
    ticket_id = int(re.search(r"ticket #(\d+)", opened["text"]).group(1))  # type: ignore[union-attr]
    await served.deliver()
    root = await served.root(ticket_id)

    # The agent answers in the thread: the customer sees it once, signed with the agent's name.
    await served.reply(
        ticket_id, "Hello, I'm looking at your ERP now. Is it `<https://erp.example.com|the web app>`?"
    )
    pushed = await customer.next()
    assert pushed == {
        "text": "Dara Sok: Hello, I'm looking at your ERP now. Is it `the web app (https://erp.example.com)`?"
    }
    await served.deliver()
    assert await customer.nothing_more(1.0) == [], "the reply must reach the customer exactly once"
    ticket = await served.ticket(ticket_id)
    assert ticket.first_response_at is not None
    assert [e.actor for e in ticket.events if e.kind == "agent_reply"] == [f"slack:{AGENT}"]

    # An internal note never reaches the customer.
    await served.reply(ticket_id, "Note: probably the nightly job again, checking the logs")
    [note] = await eventually(lambda: served.events(ticket_id, "internal_note"), what="the internal note")
    assert note.data == {"text": "probably the nightly job again, checking the logs"}
    await served.deliver()
    assert await customer.nothing_more(0.5) == []
    assert [t.split(":")[0] for t in await served.customer_texts(f"webchat:{customer.session_id}")] == [
        "Dara Sok"
    ]

    # While the agent has the conversation the bot only says when the next answer is due (the
    # next-response clock starts); the customer's words go to the thread.
    await customer.say("It still crashes when I open the invoices screen")
    told = await customer.next()
    assert told["text"].startswith(f"I've added that to ticket #{ticket_id}. Expect our next answer by ")
    await served.deliver()
    thread = await eventually(
        lambda: [m for m in fake_slack.thread(TIER1, root.ts) if m.text.startswith("Customer:")],
        what="the customer's message in the thread",
    )
    assert [m.text for m in thread] == ["Customer: It still crashes when I open the invoices screen"]

    # The thread offers "Back to bot" (once, after the first reply); pressing it hands back.
    offers = [m for m in fake_slack.thread(TIER1, root.ts) if "ticket_back_to_bot" in m.action_ids()]
    assert len(offers) == 1
    await served.press(offers[0], "ticket_back_to_bot")
    back = await customer.next()
    assert back == {"text": "You're talking to the assistant again."}
    offer = fake_slack.message(TIER1, offers[0].ts)
    assert offer.action_ids() == [] and "handed the customer back to the assistant" in offer.text
    async with services.db.reader() as session:
        conversation = await _conversation(session, customer.session_id)
    assert conversation.handoff_ticket_id is None

    await customer.say("hi")
    greeting = await customer.next()
    assert "Hello" in greeting["text"]
    # Pressing it again: nothing to hand back.
    await served.click(offers[0], "ticket_back_to_bot", str(ticket_id))
    [told] = await eventually(lambda: fake_slack.ephemerals, what="the ephemeral answer")
    assert "already talking to the assistant" in told["text"]


async def test_a_reply_when_the_customer_is_away_waits_for_the_socket(
    served: Served, customer: Customer, fake_slack: FakeSlack
) -> None:
    # A session the server minted for this customer, who has since closed the tab.
    session_id = served.asgi.channels["webchat"].sessions.mint()
    ticket_id = await served.open_ticket(sender=session_id)
    await served.deliver()
    post = (await served.posts(ticket_id))[1]
    assert post.ts is not None
    response = await served.send_event(thread_reply(post.channel, post.ts, "We fixed it, please try again"))
    assert response.status_code == 200
    await eventually(lambda: served.customer_texts(f"webchat:{session_id}"), what="the reply row")
    await customer.connect(session_id)
    pushed = await customer.next(wait=5)
    assert pushed["text"] == "Dara Sok: We fixed it, please try again"
    assert await customer.nothing_more(0.5) == []


async def _conversation(session: Any, sender: str) -> Conversation:
    return (await session.execute(select(Conversation).where(Conversation.sender == sender))).scalar_one()
