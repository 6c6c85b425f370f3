"""Rasa's SocketIO channel against the real app served by uvicorn, with a real socket.io client.

The app runs in process on a free port of 127.0.0.1 (its lifespan: migrations, services, the
outbox scheduler), on SQLite and PostgreSQL. Customers are `socketio.AsyncClient`s that speak
Rasa's events: `session_request` / `session_confirm`, `user_uttered` / `bot_uttered`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import socketio
from sqlalchemy import select

from bot.app import create_app
from bot.channels.webchat import channel as webchat_channel
from bot.channels.webchat.sessions import SessionIds
from bot.services import Services
from nlu.embedded import EmbeddedNlu
from storage.models import Conversation, OutboxMessage, Ticket
from tests.helpers import arrivals, need, served_on_loopback, settings_for, text_of, ticket_id_in

REDIS_URL = "redis://127.0.0.1:6379/0"
ERP = "our ERP keeps crashing since this morning, this is critical"
REPLY_TIMEOUT = 10.0  # first reply to a message
QUIET = 0.3  # no further reply within this long: the bot has finished answering


# -- the served app ----------------------------------------------------------------------------------


@dataclass
class Served:
    asgi: Any
    url: str

    @property
    def services(self) -> Services:
        return self.asgi.fastapi.state.services

    async def tickets(self) -> list[Ticket]:
        async with self.services.db.reader() as session:
            return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())

    async def customer_notices(self) -> list[OutboxMessage]:
        async with self.services.db.reader() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == "customer").order_by(OutboxMessage.id)
            return list((await session.execute(query)).scalars())

    async def acknowledge(self, ticket_id: int) -> None:
        """What an agent's Acknowledge button does: writes a customer notice to the outbox."""
        services = self.services
        async with services.db.session() as session:
            await services.tickets.acknowledge(
                session, ticket_id, actor="agent:U1", now=services.engine.now()
            )


@pytest.fixture
async def served(db_url: str, nlu: EmbeddedNlu) -> AsyncIterator[Served]:
    """The real app on uvicorn, on a free port. The clock is the real one: outbox rows are due by
    the wall clock (their `next_attempt_at` defaults to it), so a frozen clock would hide them."""
    asgi = create_app(settings_for(db_url, SUPPORTBOT_CORS_ORIGINS=""), nlu=nlu)
    async with served_on_loopback(asgi) as url:
        yield Served(asgi, url)


# -- a customer on the socket ------------------------------------------------------------------------


@dataclass
class SocketCustomer:
    """A Rasa web widget: connects, asks for a session, says things, collects `bot_uttered`."""

    url: str
    transports: list[str] = field(default_factory=lambda: ["websocket"])
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    confirms: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    session_id: str | None = None

    def __post_init__(self) -> None:
        self.sio.on("session_confirm", self.confirms.put_nowait)
        self.sio.on("bot_uttered", self.inbox.put_nowait)

    async def connect(self, session_id: Any) -> Any:
        await self.sio.connect(self.url, transports=self.transports, wait_timeout=10)
        await self.sio.emit("session_request", {"session_id": session_id})
        confirmed = await asyncio.wait_for(self.confirms.get(), REPLY_TIMEOUT)
        self.session_id = confirmed
        return confirmed

    async def replies(self, *, first_timeout: float = REPLY_TIMEOUT) -> list[dict[str, Any]]:
        """Everything the bot says now: the first message, then until it is quiet."""
        out = [await asyncio.wait_for(self.inbox.get(), first_timeout)]
        while True:
            try:
                out.append(await asyncio.wait_for(self.inbox.get(), QUIET))
            except TimeoutError:
                return out

    async def say(self, message: Any, **extra: Any) -> list[dict[str, Any]]:
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id, **extra})
        replies = await self.replies()
        for reply in replies:
            assert_socketio_shape(reply)
        return replies

    async def nothing_more(self, wait: float) -> list[dict[str, Any]]:
        """What arrives within `wait` seconds (expected: nothing)."""
        return await arrivals(self.inbox, wait)

    async def close(self) -> None:
        if not self.sio.connected:
            return
        if self.transports == ["polling"]:
            # A graceful polling disconnect waits out the server's long poll (~30 s); a browser
            # closing its tab just drops it, like this.
            await self.sio.eio.disconnect(abort=True)
        else:
            await self.sio.disconnect()


@pytest.fixture
async def customers(served: Served) -> AsyncIterator[list[SocketCustomer]]:
    """Open sockets, closed at the end (before the server stops)."""
    opened: list[SocketCustomer] = []
    yield opened
    for customer in opened:
        await customer.close()


def new_customer(served: Served, customers: list[SocketCustomer], **kw: Any) -> SocketCustomer:
    customer = SocketCustomer(served.url, **kw)
    customers.append(customer)
    return customer


def assert_socketio_shape(reply: Any) -> None:
    """Rasa's `bot_uttered`: {text, quick_replies?: [{content_type: "text", title, payload}]}."""
    assert isinstance(reply, dict)
    assert set(reply) <= {"text", "quick_replies"}, reply
    assert isinstance(reply.get("text"), str) and reply["text"]
    for quick in reply.get("quick_replies", []):
        assert set(quick) == {"content_type", "title", "payload"}
        assert quick["content_type"] == "text"
        assert isinstance(quick["title"], str) and isinstance(quick["payload"], str)


def quick_reply(replies: list[dict[str, Any]], title_start: str) -> str:
    for reply in replies:
        for quick in reply.get("quick_replies", []):
            if quick["title"].startswith(title_start):
                return str(quick["payload"])
    titles = [q["title"] for r in replies for q in r.get("quick_replies", [])]
    raise AssertionError(f"no quick reply starting {title_start!r}; got {titles}")


# -- the channel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_session_and_greeting_in_rasas_format(
    served: Served, customers: list[SocketCustomer], transport: str
) -> None:
    customer = new_customer(served, customers, transports=[transport])
    confirmed = await customer.connect(None)
    assert served.asgi.channels["webchat"].sessions.is_minted(confirmed)
    replies = await customer.say("hi")
    assert len(replies) == 1
    assert "Hello" in replies[0]["text"]
    quick = replies[0]["quick_replies"]
    assert quick[0] == {"content_type": "text", "title": "Report a problem", "payload": "/report_issue"}


async def test_intake_through_quick_replies_opens_a_webchat_ticket(
    served: Served, customers: list[SocketCustomer]
) -> None:
    customer = new_customer(served, customers)
    await customer.connect(None)
    replies = await customer.say(ERP)
    assert "quick_replies" not in replies[0]
    replies = await customer.say(quick_reply(replies, "Critical"))
    assert "Step 1 of 4" in text_of(replies)
    for _ in range(4):
        replies = await customer.say(quick_reply(replies, "Yes"))
    assert "your name" in text_of(replies)
    assert all("quick_replies" not in r for r in replies)
    replies = await customer.say("Sokha Chan")
    replies = await customer.say("sokha@example.com")
    assert "Here is your request" in text_of(replies)
    replies = await customer.say(quick_reply(replies, "Open the ticket"))
    ticket_id = ticket_id_in(replies)

    [ticket] = await served.tickets()
    assert ticket.id == ticket_id
    assert (ticket.channel, ticket.category, ticket.priority) == ("webchat", "technical", "critical")
    assert len(ticket.troubleshooting) == 4


async def test_a_notice_reaches_the_open_socket_exactly_once(
    served: Served, customers: list[SocketCustomer]
) -> None:
    customer = new_customer(served, customers)
    await customer.connect(None)
    ticket_id = ticket_id_in(
        await customer.say("I want to talk to a person about our ERP, sokha@example.com")
    )
    bystander = new_customer(served, customers)
    await bystander.connect(None)

    await served.acknowledge(ticket_id)
    [notice] = await served.customer_notices()
    assert notice.target == f"webchat:{customer.session_id}"
    await served.asgi.fastapi.state.delivery.run_once()

    [pushed] = await customer.replies()
    assert_socketio_shape(pushed)
    assert f"picked up your ticket #{ticket_id}" in pushed["text"]
    # Later delivery runs (ours and the app's own every 2 s) must not send it again.
    await served.asgi.fastapi.state.delivery.run_once()
    assert await customer.nothing_more(2.5) == []
    assert await bystander.nothing_more(0.1) == []
    [notice] = await served.customer_notices()
    assert notice.delivered_at is not None


async def test_a_notice_queued_while_offline_arrives_on_reconnect(
    served: Served, customers: list[SocketCustomer]
) -> None:
    first = new_customer(served, customers)
    session_id = await first.connect(None)
    ticket_id = ticket_id_in(await first.say("I want to talk to a person about our ERP, sokha@example.com"))
    await first.close()

    await served.acknowledge(ticket_id)
    # The app's delivery job runs every 2 s: while the customer is away it finds nobody to tell.
    await served.asgi.fastapi.state.delivery.run_once()
    [notice] = await served.customer_notices()
    assert notice.delivered_at is None

    later = new_customer(served, customers)
    assert await later.connect(session_id) == session_id
    # "Notices that arrived while the customer was away are shown now" (bot/channels/webchat/channel.py), not after
    # a retry delay.
    try:
        [pushed] = await later.replies(first_timeout=5)
    except TimeoutError:
        pytest.fail("the notice queued while the customer was away did not arrive within 5 s of reconnecting")
    assert f"picked up your ticket #{ticket_id}" in pushed["text"]
    assert await later.nothing_more(1) == []


@pytest.mark.parametrize(
    "data",
    [
        "just a string",
        ["a", "list"],
        42,
        None,
        {"message": 5, "session_id": "s-bad"},
        {"message": None, "session_id": "s-bad"},
        {"message": ["hi"], "session_id": "s-bad"},
        {"message": {"text": "hi"}, "session_id": "s-bad"},
        {"session_id": "s-bad"},
    ],
    ids=["string", "list", "number", "none", "msg-number", "msg-none", "msg-list", "msg-dict", "no-msg"],
)
async def test_bad_events_get_a_polite_answer_and_the_socket_lives_on(
    served: Served, customers: list[SocketCustomer], data: Any
) -> None:
    customer = new_customer(served, customers)
    await customer.connect(None)
    if data is None:
        await customer.sio.emit("user_uttered")
    else:
        await customer.sio.emit("user_uttered", data)
    [reply] = await customer.replies()
    assert_socketio_shape(reply)
    assert "Sorry" in reply["text"]
    assert customer.sio.connected
    assert "Hello" in text_of(await customer.say("hi"))
    async with served.services.db.reader() as session:
        rows = list((await session.execute(select(Conversation))).scalars())
    assert [c.sender for c in rows] == [customer.session_id]


async def test_odd_session_requests_still_get_a_session(
    served: Served, customers: list[SocketCustomer]
) -> None:
    for odd in (None, "", 5, "x" * 500, ["s1"]):
        customer = new_customer(served, customers)
        confirmed = await customer.connect(odd)
        assert isinstance(confirmed, str) and 0 < len(confirmed) <= 128
        assert "Hello" in text_of(await customer.say("hi"))


async def test_rest_and_socketio_continue_one_conversation(
    served: Served, customers: list[SocketCustomer]
) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post("/webhooks/rest/webhook", json={"sender": "new", "message": ERP})
    assert response.status_code == 200
    assert "critical" in response.json()[-1]["text"]
    session_id = response.json()[0]["recipient_id"]  # the session the server minted

    customer = new_customer(served, customers)
    assert await customer.connect(session_id) == session_id
    replies = await customer.say('/choose_priority{"priority":"critical"}')
    assert "Step 1 of 4" in text_of(replies), "the socket did not continue the REST conversation"

    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post(
            "/webhooks/rest/webhook", json={"sender": session_id, "message": "/affirm"}
        )
    assert "Step 2 of 4" in "\n".join(r["text"] for r in response.json())

    async with served.services.db.reader() as session:
        rows = list((await session.execute(select(Conversation))).scalars())
    assert [(c.channel, c.sender) for c in rows] == [("webchat", session_id)]


# -- sessions are credentials ------------------------------------------------------------------------


async def test_a_borrowed_or_forged_session_id_gets_a_fresh_session_never_the_customers(
    served: Served, customers: list[SocketCustomer]
) -> None:
    victim = new_customer(served, customers)
    victim_id = await victim.connect(None)
    ticket_id = ticket_id_in(await victim.say("I want to talk to a person about our ERP, sokha@example.com"))

    random_part, _, signature = victim_id.partition(".")
    forged = [
        "1",  # the kind of id that used to work
        random_part,  # the id without its signature
        f"{random_part}.{signature[::-1]}",  # a signature that does not match
        SessionIds(b"another-servers-secret-0123456789").mint(),  # minted under another secret
    ]
    for guess in forged:
        attacker = new_customer(served, customers)
        confirmed = await attacker.connect(guess)
        assert confirmed not in (guess, victim_id)
        # Naming the victim's session (or a guess) on each message does not help either.
        replies = await attacker.say("/ticket_status", session_id=guess)
        assert f"#{ticket_id}" not in text_of(replies)
        assert "no tickets" in text_of(replies)
        await attacker.close()

    async with served.services.db.reader() as session:
        senders = [c.sender for c in (await session.execute(select(Conversation))).scalars()]
    assert senders.count(victim_id) == 1
    assert not set(forged) & set(senders)
    # The agent's reply is addressed to the victim's session alone.
    await served.acknowledge(ticket_id)
    [notice] = await served.customer_notices()
    assert notice.target == f"webchat:{victim_id}"
    await served.asgi.fastapi.state.delivery.run_once()
    [pushed] = await victim.replies()
    assert f"#{ticket_id}" in pushed["text"]


async def test_a_minted_session_id_survives_a_restart_with_the_same_secret(
    db_url: str, nlu: EmbeddedNlu, customers: list[SocketCustomer]
) -> None:
    first = create_app(settings_for(db_url, SUPPORTBOT_CORS_ORIGINS=""), nlu=nlu)
    async with served_on_loopback(first) as url:
        customer = SocketCustomer(url)
        session_id = await customer.connect(None)
        ticket_id = ticket_id_in(
            await customer.say("I want to talk to a person about our ERP, sokha@example.com")
        )
        await customer.close()
    second = create_app(settings_for(db_url, SUPPORTBOT_CORS_ORIGINS=""), nlu=nlu)
    async with served_on_loopback(second) as url:
        back = new_customer(Served(second, url), customers)
        assert await back.connect(session_id) == session_id
        assert f"#{ticket_id}" in text_of(await back.say("/ticket_status"))
        await back.close()


# -- abuse limits ------------------------------------------------------------------------------------


@pytest.fixture
async def limited(db_url: str, nlu: EmbeddedNlu) -> AsyncIterator[Served]:
    """The served app with the abuse limits on, as in production."""
    settings = settings_for(db_url, SUPPORTBOT_CORS_ORIGINS="", SUPPORTBOT_RATE_LIMITS="on")
    asgi = create_app(settings, nlu=nlu)
    async with served_on_loopback(asgi) as url:
        yield Served(asgi, url)


async def test_a_flooding_socket_is_asked_to_slow_down_then_disconnected(
    limited: Served, customers: list[SocketCustomer]
) -> None:
    flooder = new_customer(limited, customers)
    await flooder.connect(None)
    disconnected = asyncio.Event()
    flooder.sio.on("disconnect", lambda *_: disconnected.set())
    for n in range(200):
        if disconnected.is_set():
            break
        try:
            await flooder.sio.emit("user_uttered", {"message": f"is anyone there?? {n}"})
        except socketio.exceptions.BadNamespaceError:
            break  # already disconnected
    await asyncio.wait_for(disconnected.wait(), REPLY_TIMEOUT)
    said = [reply["text"] for reply in await arrivals(flooder.inbox, QUIET)]
    slow_down = [t for t in said if "faster than I can read" in t]
    assert len(slow_down) == 1, said
    # At most ten messages in ten seconds are answered (a person never types faster); each of
    # these gets one answer, and the rest of the 200 none.
    assert len(said) - 1 <= 10
    async with limited.services.db.reader() as session:
        turns = (await session.execute(select(Conversation))).scalars().one()
    assert turns.sender == flooder.session_id

    # Another customer is not held up by the flooder.
    other = new_customer(limited, customers)
    await other.connect(None)
    assert "Hello" in text_of(await other.say("hi there"))


def test_sockets_are_counted_by_the_clients_address_not_engineios_placeholder() -> None:
    # engine.io's ASGI environ always says REMOTE_ADDR=127.0.0.1; counting by it would make every
    # customer one address, and the first thirty new visitors of the hour would use up the limit.
    environ = {"REMOTE_ADDR": "127.0.0.1", "asgi.scope": {"client": ("203.0.113.9", 50123)}}
    assert webchat_channel._client_address(environ) == "203.0.113.9"
    assert (
        webchat_channel._client_address({"REMOTE_ADDR": "127.0.0.1", "asgi.scope": {"client": None}}) is None
    )


# -- order -------------------------------------------------------------------------------------------


@pytest.fixture
async def shared(db_url: str, nlu: EmbeddedNlu) -> AsyncIterator[Served]:
    """The served app as a replica runs it: limits on, counted in Redis (each check a round trip)."""
    client = aioredis.from_url(REDIS_URL)
    try:
        up = bool(await client.ping())
    except OSError:
        up = False
    finally:
        await client.aclose()
    need(up, "Redis at 127.0.0.1:6379")
    settings = settings_for(
        db_url,
        SUPPORTBOT_CORS_ORIGINS="",
        SUPPORTBOT_RATE_LIMITS="on",
        REDIS_URL=REDIS_URL,
        SUPPORTBOT_REDIS_PREFIX=f"supportbot-order-{uuid.uuid4().hex[:8]}",
    )
    asgi = create_app(settings, nlu=nlu)
    async with served_on_loopback(asgi) as url:
        yield Served(asgi, url)


async def test_messages_typed_back_to_back_are_answered_in_the_order_they_were_sent(
    shared: Served, customers: list[SocketCustomer]
) -> None:
    customer = new_customer(shared, customers)
    await customer.connect(None)
    asked = ["hi", "what are your opening hours?"] * 4  # within the limit of ten in ten seconds
    for message in asked:  # without waiting for an answer, as a quick typist does
        await customer.sio.emit("user_uttered", {"message": message, "session_id": customer.session_id})
    said = [reply["text"] for reply in await customer.replies()]
    kinds = ["greeting" if "Hello" in text else "hours" for text in said]
    assert kinds == ["greeting", "hours"] * 4, said
