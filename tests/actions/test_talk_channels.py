"""Customers in their own words over the doors they use: the Rasa REST channel (in process, both
databases) and socket.io (the real app on uvicorn), checked through GET /api/tickets/{id}.

No Slack: answers with details recorded on the ticket, "not sure" accepted without a loop, an angry
outage ending in a high or critical ticket marked frustrated, the checks the first message answered
not asked again, and the summary confirmed in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import socketio

from bot.app import create_app
from nlu.embedded import EmbeddedNlu
from tests.helpers import FrozenClock, served_on_loopback, settings_for, text_of, ticket_id_in

TOKEN = "talk-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEBHOOK = "/webhooks/rest/webhook"
REPLY_TIMEOUT = 10.0
QUIET = 0.3  # no further reply within this long: the bot has finished answering


class RestCustomer:
    """A customer on the Rasa REST channel."""

    def __init__(self, client: httpx.AsyncClient, sender: str) -> None:
        self.client, self.sender = client, sender
        self.last: list[dict[str, Any]] = []

    async def say(self, message: str) -> list[dict[str, Any]]:
        response = await self.client.post(WEBHOOK, json={"sender": self.sender, "message": message})
        assert response.status_code == 200, response.text
        self.last = response.json()
        if self.last:
            # As a Rasa REST client does: the session the server minted is the sender from now on.
            self.sender = self.last[0]["recipient_id"]
        return self.last

    async def press(self, title_start: str) -> list[dict[str, Any]]:
        for reply in self.last:
            for button in reply.get("buttons", []):
                if button["title"].startswith(title_start):
                    return await self.say(button["payload"])
        raise AssertionError(f"no button {title_start!r} in {self.last}")

    def buttons(self) -> list[str]:
        return [b["title"] for r in self.last for b in r.get("buttons", [])]


@pytest.fixture
async def rest(db_url: str, nlu: EmbeddedNlu, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    async with AsyncExitStack() as stack:
        asgi = create_app(
            settings_for(db_url, SUPPORTBOT_API_TOKEN=TOKEN, SUPPORTBOT_CORS_ORIGINS=""), nlu=nlu, now=clock
        )
        await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
        yield await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=asgi, raise_app_exceptions=False), base_url="http://test"
            )
        )


async def ticket_of(client: httpx.AsyncClient, replies: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.get(f"/api/tickets/{ticket_id_in(replies)}", headers=AUTH)
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def contact_then_summary(customer: RestCustomer) -> None:
    await customer.say("Sophea Lim")
    await customer.say("sophea.lim@example.com")
    assert "Here is your request" in text_of(customer.last)


async def test_rest_answers_with_details_and_not_sure_reach_the_ticket(rest: httpx.AsyncClient) -> None:
    customer = RestCustomer(rest, "rest-talk-1")
    await customer.say("the accounting app freezes every time I export the monthly report")
    if "Which kind of problem" in text_of(customer.last):
        await customer.press("Technical")
    await customer.press("Medium")
    assert "Not sure" in customer.buttons()
    await customer.say("yes, rebooted twice and it still freezes")
    await customer.say("not sure, I'd have to ask my colleague")
    await customer.say("I don't know")  # a second "not sure": accepted, not asked again
    assert "Step 4 of 4" in text_of(customer.last)
    await customer.say("it says 'Export failed: out of memory'")
    await contact_then_summary(customer)
    await customer.say("ye send it")

    ticket = await ticket_of(rest, customer.last)
    checks = ticket["troubleshooting"]
    assert [c["answer"] for c in checks] == ["yes", "not_sure", "not_sure", "yes"]
    assert "rebooted twice" in checks[0]["note"]
    assert "ask my colleague" in checks[1]["note"]
    assert checks[3]["note"] == "Export failed: out of memory"
    assert ticket["sentiment"] is None


async def test_rest_angry_outage_is_a_high_frustrated_ticket(rest: httpx.AsyncClient) -> None:
    customer = RestCustomer(rest, "rest-talk-2")
    await customer.say("are you kidding me? it IS down. nothing loads.")
    assert "frustrating" in text_of(customer.last)
    assert customer.buttons()[0].startswith(("High (suggested)", "Critical (suggested)"))
    await customer.press(customer.buttons()[0])
    await customer.say("yes I looked, nothing announced")
    await customer.say("no, same from my phone on 4g")
    await contact_then_summary(customer)
    await customer.say("go ahead")

    ticket = await ticket_of(rest, customer.last)
    assert ticket["category"] == "infrastructure"
    assert ticket["priority"] in ("high", "critical")
    assert ticket["sentiment"] == "frustrated"
    assert [c["answer"] for c in ticket["troubleshooting"]] == ["yes", "no"]


# -- socket.io ---------------------------------------------------------------------------------------


class SocketCustomer:
    """A Rasa web widget on socket.io."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirms: asyncio.Queue[Any] = asyncio.Queue()
        self.sio.on("bot_uttered", self.inbox.put_nowait)
        self.sio.on("session_confirm", self.confirms.put_nowait)
        self.session_id: Any = None

    async def connect(self, session_id: str) -> None:
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=10)
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirms.get(), REPLY_TIMEOUT)

    async def say(self, message: str) -> list[dict[str, Any]]:
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id})
        out = [await asyncio.wait_for(self.inbox.get(), REPLY_TIMEOUT)]
        while True:
            try:
                out.append(await asyncio.wait_for(self.inbox.get(), QUIET))
            except TimeoutError:
                return out


def quick_reply(replies: list[dict[str, Any]], title_start: str) -> str:
    for reply in replies:
        for quick in reply.get("quick_replies", []):
            if quick["title"].startswith(title_start):
                return str(quick["payload"])
    raise AssertionError(f"no quick reply {title_start!r} in {replies}")


async def test_socketio_prefilled_checks_are_not_asked_and_the_summary_takes_words(
    sqlite_url: str, nlu: EmbeddedNlu
) -> None:
    report = (
        "Since this morning the ERP shows 'Database connection timeout' for every user in the warehouse. "
        "We restarted the server and all the PCs already."
    )
    asgi = create_app(
        settings_for(sqlite_url, SUPPORTBOT_API_TOKEN=TOKEN, SUPPORTBOT_CORS_ORIGINS=""), nlu=nlu
    )
    async with served_on_loopback(asgi) as url:
        customer = SocketCustomer(url)
        try:
            await customer.connect("talk-socket-1")
            replies = await customer.say(report)
            if "Which kind of problem" in text_of(replies):
                replies = await customer.say(quick_reply(replies, "Technical"))
            replies = await customer.say(quick_reply(replies, "Medium"))
            asked = text_of(replies)
            assert "From your message I already know" in asked
            assert "Have you restarted" not in asked.split("Step")[-1]  # taken from the report
            assert "Step 3 of 4" in asked  # restarted, others affected: not asked
            replies = await customer.say("yes other websites open fine")
            replies = await customer.say("Sophea Lim")
            replies = await customer.say("sophea.lim@example.com")
            summary = text_of(replies)
            assert summary.count("[from your message]") == 3
            assert "Database connection timeout" in summary
            replies = await customer.say("make it urgent")
            assert "Priority: High" in text_of(replies)
            replies = await customer.say("yes please")
            ticket_id = ticket_id_in(replies)
        finally:
            await customer.sio.disconnect()
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get(f"/api/tickets/{ticket_id}", headers=AUTH)
    ticket = response.json()
    assert ticket["priority"] == "high"
    assert [c["answer"] for c in ticket["troubleshooting"]] == ["yes", "yes", "yes", "yes"]
    assert "Database connection timeout" in ticket["troubleshooting"][3]["note"]
