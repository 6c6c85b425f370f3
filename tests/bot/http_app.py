"""The app under test for the HTTP tests: the real app built with `create_app`, its lifespan run
(migrations, services, the outbox scheduler), talked to through httpx's ASGI transport; and what
several of those tests send, or read back through the tickets API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.services import Services
from nlu.embedded import EmbeddedNlu
from storage.models import (
    Conversation,
    Customer,
    InboundMessage,
    OutboxMessage,
    Ticket,
    TicketEvent,
)
from tests.helpers import REST_AUTH, REST_TOKEN, FrozenClock, settings_for

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEBHOOK = "/webhooks/rest/webhook"
ERP = "our ERP keeps crashing since this morning, this is critical"
PERSON_PLEASE = "I'd like to talk to a person about the portal login, sokha@example.com"


# -- the app under test ------------------------------------------------------------------------------


@dataclass
class App:
    asgi: Any
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        return self.asgi.fastapi.state.services

    async def say(self, sender: str, message: str, **extra: Any) -> list[dict[str, Any]]:
        """One customer message through the REST channel; the bot's answer (checked for shape)."""
        response = await self.client.post(
            WEBHOOK, json={"sender": sender, "message": message, **extra}, headers=REST_AUTH
        )
        assert response.status_code == 200, response.text
        replies = response.json()
        assert_rest_shape(replies, sender)
        return replies

    async def counts(self) -> dict[str, int]:
        """Rows per table, to prove a refused request stored nothing."""
        out: dict[str, int] = {}
        async with self.services.db.reader() as session:
            for model in (Customer, Conversation, Ticket, TicketEvent, InboundMessage, OutboxMessage):
                out[model.__tablename__] = (
                    await session.execute(select(func.count()).select_from(model))
                ).scalar_one()
        return out


MakeApp = Callable[..., Awaitable[App]]


@pytest.fixture
async def make_app(db_url: str, nlu: EmbeddedNlu, clock: FrozenClock) -> AsyncIterator[MakeApp]:
    """Build the app with some settings (environment names), run its lifespan, give a client."""
    async with AsyncExitStack() as stack:

        async def make(**env: Any) -> App:
            env.setdefault("SUPPORTBOT_REST_TOKEN", REST_TOKEN)
            asgi = create_app(settings_for(db_url, **env), nlu=nlu, now=clock)
            await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    # A crash must show up as the 500 a real client would get, not as an exception.
                    transport=httpx.ASGITransport(app=asgi, raise_app_exceptions=False),
                    base_url="http://test",
                )
            )
            return App(asgi, client)

        yield make


@pytest.fixture
async def app(make_app: MakeApp) -> App:
    return await make_app(SUPPORTBOT_API_TOKEN=TOKEN, SUPPORTBOT_CORS_ORIGINS="")


# -- helpers -----------------------------------------------------------------------------------------


def assert_rest_shape(replies: Any, sender: str) -> None:
    """Rasa's REST channel: a list of {recipient_id, text, buttons?}; `buttons` only when there are some."""
    assert isinstance(replies, list)
    for reply in replies:
        assert set(reply) in ({"recipient_id", "text"}, {"recipient_id", "text", "buttons"}), reply
        assert reply["recipient_id"] == sender
        assert isinstance(reply["text"], str) and reply["text"]
        if "buttons" in reply:
            assert reply["buttons"], "an empty `buttons` list must be left out"
            for button in reply["buttons"]:
                assert set(button) == {"title", "payload"}
                assert isinstance(button["title"], str) and isinstance(button["payload"], str)


def payload_of(replies: list[dict[str, Any]], title_start: str) -> str:
    """The payload of the button whose title starts with `title_start` (what a widget sends)."""
    for reply in replies:
        for button in reply.get("buttons", []):
            if button["title"].startswith(title_start):
                return str(button["payload"])
    titles = [b["title"] for r in replies for b in r.get("buttons", [])]
    raise AssertionError(f"no button starting {title_start!r}; buttons: {titles}")


async def get_ticket(app: App, ticket_id: int) -> dict[str, Any]:
    response = await app.client.get(f"/api/tickets/{ticket_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return dict(response.json())
