"""supportbot with NLU_BACKEND=rasa against a real Rasa 3.6 server trained on nlu/ (see conftest.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.app import create_app
from nlu.backend import RasaWithFallback
from nlu.embedded import EmbeddedNlu
from tests.helpers import REST_AUTH, FrozenClock, settings_for

WEBHOOK = "/webhooks/rest/webhook"
TEXTS = [
    "hello",
    "our ERP server is down since this morning",
    "I was charged twice on my last invoice",
    "what are your opening hours?",
    "can I talk to a real person please",
    "asdfgh qwerty",
]


class Proxy:
    """A TCP forwarder in front of Rasa, so a test can take "Rasa" away mid-conversation."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.port_to = parts.hostname or "127.0.0.1", parts.port or 80
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.url = ""

    async def start(self) -> Proxy:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port_to)
        self.writers += [writer, up_writer]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def stop(self) -> None:
        """Stop listening and cut every open connection: Rasa is gone."""
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()
        self.writers.clear()


@dataclass
class Chat:
    client: httpx.AsyncClient
    sender: str
    transcript: list[str] = field(default_factory=list)

    async def say(self, message: str) -> list[dict[str, Any]]:
        response = await self.client.post(
            WEBHOOK, json={"sender": self.sender, "message": message}, headers=REST_AUTH
        )
        assert response.status_code == 200, response.text
        replies = list(response.json())
        assert replies, f"no reply to {message!r}"
        self.transcript += [
            f"> {message}",
            *(f"< {r['text']} {[b['title'] for b in r.get('buttons', [])]}" for r in replies),
        ]
        return replies


def _buttons(replies: list[dict[str, Any]]) -> dict[str, str]:
    return {b["title"]: b["payload"] for r in replies for b in r.get("buttons", [])}


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


@pytest.fixture
async def rasa_app(
    rasa_url: str, nlu: EmbeddedNlu, tmp_path: Path, sqlite_url: str, clock: FrozenClock
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The real app with NLU_BACKEND=rasa, its NLU loaded by `load_nlu` as in production."""
    model_path = tmp_path / "nlu.joblib"
    nlu.save(model_path)
    settings = settings_for(
        sqlite_url, NLU_BACKEND="rasa", RASA_URL=rasa_url, SUPPORTBOT_NLU_MODEL=str(model_path)
    )
    asgi = create_app(settings, now=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://test")
        )
        yield asgi, client
        backend = asgi.fastapi.state.services.nlu
        if isinstance(backend, RasaWithFallback):
            await backend.aclose()


def _fallbacks(metrics_text: str) -> float:
    values = re.findall(r"^supportbot_nlu_fallbacks_total\{[^}]*\} ([0-9.e+]+)$", metrics_text, re.M)
    return sum(float(v) for v in values)


async def test_model_parse_returns_exactly_what_rasa_says(
    rasa_url: str, rasa_app: tuple[Any, httpx.AsyncClient]
) -> None:
    asgi, client = rasa_app
    assert isinstance(asgi.fastapi.state.services.nlu, RasaWithFallback)
    before = _fallbacks((await client.get("/metrics")).text)
    async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as rasa:
        for text in TEXTS:
            direct = (await rasa.post("/model/parse", json={"text": text})).json()
            ours = (await client.post("/model/parse", json={"text": text})).json()
            assert ours["intent"] == direct["intent"], text
            assert ours["intent_ranking"] == direct["intent_ranking"], text
            assert ours == direct, text
    assert _fallbacks((await client.get("/metrics")).text) == before, "Rasa answered: nothing fell back"


async def test_rasa_understands_the_contract_intents(rasa_url: str) -> None:
    expected = {
        "hello": "greet",
        "our ERP server is down since this morning": None,  # a report of some category
        "what are your opening hours?": "working_hours",
        "can I talk to a real person please": "human_handoff",
    }
    async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as rasa:
        for text, intent in expected.items():
            name = (await rasa.post("/model/parse", json={"text": text})).json()["intent"]["name"]
            if intent is None:
                assert name.startswith("report_"), (text, name)
            else:
                assert name == intent, (text, name)


async def test_a_full_intake_through_rasa_ends_in_a_ticket(rasa_app: tuple[Any, httpx.AsyncClient]) -> None:
    asgi, client = rasa_app
    before = _fallbacks((await client.get("/metrics")).text)
    chat = Chat(client, "rasa-intake")
    replies = await chat.say("our ERP server is down since this morning, nobody can log in")
    ticket_id = None
    for _ in range(20):
        text, buttons = _text(replies), _buttons(replies)
        if match := re.search(r"ticket #(\d+)", text):
            ticket_id = int(match.group(1))
            break
        if "Open the ticket" in buttons:
            replies = await chat.say(buttons["Open the ticket"])
        elif "That fixed it!" in buttons:
            replies = await chat.say("no")  # typed, so Rasa reads it as `deny`
        elif "what is your name" in text:
            replies = await chat.say("Sokha Chan")
        elif "email address or phone number" in text:
            replies = await chat.say("sokha@example.com")
        elif any(title.startswith(("Critical", "High", "Medium", "Low")) for title in buttons):
            replies = await chat.say(next(iter(buttons.values())))  # the suggested priority comes first
        elif any("Technical" in title for title in buttons):
            replies = await chat.say(next(p for t, p in buttons.items() if "Technical" in t))
        elif "Yes" in buttons or "Yes, pass it on" in buttons:
            replies = await chat.say(buttons.get("Yes") or buttons["Yes, pass it on"])
        else:
            pytest.fail("unexpected turn:\n" + "\n".join(chat.transcript))
    assert ticket_id is not None, "\n".join(chat.transcript)
    services = asgi.fastapi.state.services
    async with services.db.reader() as session:
        from storage.models import Ticket

        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None and ticket.channel == "webchat"
    assert _fallbacks((await client.get("/metrics")).text) == before, "every message went through Rasa"


async def test_rasa_stopping_mid_conversation_loses_no_message(
    rasa_url: str, nlu: EmbeddedNlu, tmp_path: Path, sqlite_url: str, clock: FrozenClock
) -> None:
    proxy = await Proxy(rasa_url).start()
    model_path = tmp_path / "nlu.joblib"
    nlu.save(model_path)
    settings = settings_for(
        sqlite_url, NLU_BACKEND="rasa", RASA_URL=proxy.url, SUPPORTBOT_NLU_MODEL=str(model_path)
    )
    asgi = create_app(settings, now=clock)
    async with (
        asgi.fastapi.router.lifespan_context(asgi.fastapi),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://test") as client,
    ):
        backend = asgi.fastapi.state.services.nlu
        assert isinstance(backend, RasaWithFallback)
        chat = Chat(client, "rasa-outage")
        replies = await chat.say("hello")
        assert "How can I help" in _text(replies)
        assert backend.rasa.state == "closed"
        before = _fallbacks((await client.get("/metrics")).text)

        await proxy.stop()  # Rasa is gone
        replies = await chat.say("I was charged twice on my last invoice")
        assert "sorry to hear" in _text(replies).lower(), "\n".join(chat.transcript)
        assert backend.rasa.state == "open"
        replies = await chat.say("what are your working hours?")
        assert replies
        parsed = (await client.post("/model/parse", json={"text": "hello"})).json()
        assert parsed["intent"]["name"] == "greet"  # from the embedded engine
        assert _fallbacks((await client.get("/metrics")).text) >= before + 3
        await backend.aclose()
