"""The Rasa client's bounds (timeout, one retry, circuit breaker) and the embedded fallback, against a
fake Rasa on loopback: these run everywhere, no Rasa needed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY

from bot.app import create_app
from bot.services import choose_backend, load_nlu
from bot.settings import SettingsError
from nlu.backend import RasaWithFallback
from nlu.embedded import EmbeddedNlu
from nlu.rasa_client import RasaClient, RasaUnavailable
from nlu.rasa_server import csv_to_rasa_yaml, free_port
from nlu.training_data import load_training_data
from tests.helpers import REST_AUTH, FrozenClock, settings_for
from tests.nlu.rasa.fake_rasa import DROP, ERROR, GARBAGE, NO_INTENT, OK, SLOW, FakeRasa, rasa_parse


@pytest.fixture
async def fake() -> AsyncIterator[FakeRasa]:
    server = await FakeRasa().start()
    try:
        yield server
    finally:
        await server.stop()


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("supportbot_nlu_fallbacks_total", {"reason": reason}) or 0.0


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# -- the client --------------------------------------------------------------------------------------


async def test_the_parse_is_returned_exactly_as_rasa_sent_it(fake: FakeRasa) -> None:
    client = RasaClient(fake.url)
    assert await client.parse("hello there") == rasa_parse("hello there")
    assert fake.requests[0]["line"].startswith("POST /model/parse ")
    assert fake.requests[0]["body"] == {"text": "hello there"}
    assert client.state == "closed"
    await client.aclose()


async def test_a_hanging_server_costs_one_timeout_and_is_not_retried(fake: FakeRasa) -> None:
    fake.default, fake.slow_seconds = SLOW, 3.0
    client = RasaClient(fake.url, timeout=0.3, retries=1)
    started = time.perf_counter()
    with pytest.raises(RasaUnavailable) as caught:
        await client.parse("hi")
    assert caught.value.reason == "timeout"
    assert time.perf_counter() - started < 1.5
    assert len(fake.requests) == 1
    assert client.state == "open"
    await client.aclose()


async def test_a_dropped_connection_is_retried_once(fake: FakeRasa) -> None:
    fake.script.extend([DROP, OK])
    client = RasaClient(fake.url, retries=1)
    assert (await client.parse("hi"))["intent"]["name"] == "greet"
    assert len(fake.requests) == 2 and client.state == "closed"
    await client.aclose()


async def test_retries_are_bounded(fake: FakeRasa) -> None:
    fake.default = ERROR
    client = RasaClient(fake.url, retries=1)
    with pytest.raises(RasaUnavailable) as caught:
        await client.parse("hi")
    assert caught.value.reason == "bad_response" and "HTTP 500" in caught.value.detail
    assert len(fake.requests) == 2  # the first try and one retry
    await client.aclose()


async def test_a_500_then_an_answer_is_an_answer(fake: FakeRasa) -> None:
    fake.script.extend([ERROR, OK])
    client = RasaClient(fake.url, retries=1)
    assert (await client.parse("hi"))["text"] == "hi"
    await client.aclose()


@pytest.mark.parametrize("behaviour", [GARBAGE, NO_INTENT])
async def test_an_answer_without_a_parse_is_a_failure(fake: FakeRasa, behaviour: str) -> None:
    fake.default = behaviour
    client = RasaClient(fake.url)
    with pytest.raises(RasaUnavailable) as caught:
        await client.parse("hi")
    assert caught.value.reason == "bad_response"
    assert len(fake.requests) == 1  # a wrong answer is not retried
    await client.aclose()


async def test_a_closed_port_fails_fast() -> None:
    client = RasaClient(closed_port_url(), timeout=2.0)
    started = time.perf_counter()
    with pytest.raises(RasaUnavailable) as caught:
        await client.parse("hi")
    assert caught.value.reason == "unreachable"
    assert time.perf_counter() - started < 1.0
    await client.aclose()


async def test_the_breaker_skips_rasa_during_the_cooldown_then_tries_once(fake: FakeRasa) -> None:
    clock = Ticking()
    client = RasaClient(fake.url, retries=0, cooldown=30.0, clock=clock)
    fake.script.append(ERROR)
    with pytest.raises(RasaUnavailable):
        await client.parse("one")
    assert client.state == "open" and len(fake.requests) == 1

    clock.now += 29.0
    for _ in range(5):
        with pytest.raises(RasaUnavailable) as caught:
            await client.parse("skipped")
        assert caught.value.reason == "circuit_open"
    assert len(fake.requests) == 1, "Rasa must not be asked while the breaker is open"

    clock.now += 2.0
    assert client.state == "half-open"
    fake.script.append(ERROR)  # the trial fails: open for another cooldown
    with pytest.raises(RasaUnavailable):
        await client.parse("trial")
    assert len(fake.requests) == 2 and client.state == "open"
    clock.now += 10.0
    with pytest.raises(RasaUnavailable):
        await client.parse("still skipped")
    assert len(fake.requests) == 2

    clock.now += 25.0  # the trial succeeds: closed again, every message goes to Rasa
    assert (await client.parse("back"))["text"] == "back"
    assert client.state == "closed"
    assert (await client.parse("again"))["text"] == "again"
    assert len(fake.requests) == 4
    await client.aclose()


async def test_after_the_cooldown_only_one_message_tries_rasa(fake: FakeRasa) -> None:
    clock = Ticking()
    client = RasaClient(fake.url, retries=0, timeout=2.0, cooldown=30.0, clock=clock)
    fake.script.append(ERROR)
    with pytest.raises(RasaUnavailable):
        await client.parse("down")
    clock.now += 31.0
    fake.script.append(SLOW)
    fake.slow_seconds = 0.3
    results = await asyncio.gather(*(client.parse(f"m{i}") for i in range(4)), return_exceptions=True)
    answered = [r for r in results if isinstance(r, dict)]
    skipped = [r for r in results if isinstance(r, RasaUnavailable) and r.reason == "circuit_open"]
    assert len(answered) == 1 and len(skipped) == 3
    assert len(fake.requests) == 2
    await client.aclose()


def test_one_client_serves_several_event_loops(fake_url_thread: str) -> None:
    """`supportbot nlu parse` and tests run more than one loop; the pool follows the running loop."""
    client = RasaClient(fake_url_thread)
    assert asyncio.run(client.parse("first"))["text"] == "first"
    assert asyncio.run(client.parse("second"))["text"] == "second"


@pytest.fixture
def fake_url_thread() -> Any:
    """A fake Rasa in a thread of its own, for tests that run their own event loops."""
    import threading

    ready: dict[str, Any] = {}
    stop = threading.Event()

    def serve() -> None:
        async def main() -> None:
            server = await FakeRasa().start()
            ready["url"] = server.url
            await asyncio.to_thread(stop.wait)
            await server.stop()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for _ in range(200):
        if "url" in ready:
            break
        time.sleep(0.01)
    yield ready["url"]
    stop.set()
    thread.join(timeout=5)


def test_a_rasa_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http://"):
        RasaClient("127.0.0.1:5005")
    with pytest.raises(SettingsError, match=r"^RASA_URL: must start with http"):
        choose_backend("rasa", "localhost:5005", EmbeddedNluStub())


class EmbeddedNluStub:
    async def parse(self, text: str) -> dict[str, Any]:
        return {"text": text, "intent": {"name": "greet", "confidence": 1.0}}


# -- the backend: Rasa first, the embedded engine when Rasa fails -------------------------------------


def test_the_backend_follows_nlu_backend(nlu: EmbeddedNlu) -> None:
    assert choose_backend("embedded", "http://127.0.0.1:5005", nlu) is nlu
    chosen = choose_backend("rasa", "http://rasa:5005/", nlu)
    assert isinstance(chosen, RasaWithFallback)
    assert chosen.rasa.base_url == "http://rasa:5005" and chosen.fallback is nlu
    with pytest.raises(SettingsError, match="NLU_BACKEND"):
        choose_backend("spacy", "http://127.0.0.1:5005", nlu)


async def test_load_nlu_gives_rasa_with_the_embedded_model_behind_it(
    nlu: EmbeddedNlu, tmp_path: Path, sqlite_url: str
) -> None:
    model_path = tmp_path / "nlu.joblib"
    nlu.save(model_path)  # trained on the shipped data: load_nlu reuses it instead of training
    settings = settings_for(
        sqlite_url, NLU_BACKEND="rasa", RASA_URL="http://127.0.0.1:5999", SUPPORTBOT_NLU_MODEL=str(model_path)
    )
    backend = await load_nlu(settings)
    assert isinstance(backend, RasaWithFallback)
    assert backend.rasa.base_url == "http://127.0.0.1:5999"
    assert isinstance(backend.fallback, EmbeddedNlu)
    embedded = await load_nlu(settings_for(sqlite_url, SUPPORTBOT_NLU_MODEL=str(model_path)))
    assert isinstance(embedded, EmbeddedNlu)


async def test_rasa_down_means_the_embedded_engine_answers_and_it_is_counted(nlu: EmbeddedNlu) -> None:
    backend = RasaWithFallback(RasaClient(closed_port_url()), nlu)
    before_unreachable, before_open = fallbacks("unreachable"), fallbacks("circuit_open")
    first = await backend.parse("my invoice is wrong, I was charged twice")
    assert first == await nlu.parse("my invoice is wrong, I was charged twice")
    started = time.perf_counter()
    second = await backend.parse("hello")
    assert (time.perf_counter() - started) < 0.1, "the open breaker answers without waiting for Rasa"
    assert second["intent"]["name"] == "greet"
    assert fallbacks("unreachable") == before_unreachable + 1
    assert fallbacks("circuit_open") == before_open + 1
    await backend.aclose()


async def test_rasa_answering_means_no_fallback(fake: FakeRasa, nlu: EmbeddedNlu) -> None:
    backend = RasaWithFallback(RasaClient(fake.url), nlu)
    total = sum(fallbacks(r) for r in ("unreachable", "timeout", "bad_response", "circuit_open"))
    assert await backend.parse("good morning") == rasa_parse("good morning")
    assert total == sum(fallbacks(r) for r in ("unreachable", "timeout", "bad_response", "circuit_open"))
    await backend.aclose()


async def test_the_app_keeps_answering_when_rasa_goes_away(
    fake: FakeRasa, nlu: EmbeddedNlu, sqlite_url: str, clock: FrozenClock
) -> None:
    """Mid-conversation the Rasa server disappears: every message still gets its replies."""
    backend = RasaWithFallback(RasaClient(fake.url), nlu)
    asgi = create_app(settings_for(sqlite_url, NLU_BACKEND="rasa", RASA_URL=fake.url), nlu=backend, now=clock)
    async with (
        asgi.fastapi.router.lifespan_context(asgi.fastapi),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://test") as client,
    ):

        async def say(text: str) -> list[dict[str, Any]]:
            response = await client.post(
                "/webhooks/rest/webhook", json={"sender": "c1", "message": text}, headers=REST_AUTH
            )
            assert response.status_code == 200, response.text
            assert response.json(), f"no reply to {text!r}"
            return list(response.json())

        await say("hello")  # the fake Rasa says greet
        assert len(fake.requests) == 1
        parsed = (await client.post("/model/parse", json={"text": "hi"})).json()
        assert parsed == rasa_parse("hi")

        metrics = (await client.get("/metrics")).text
        before = _metric_total(metrics)
        await fake.stop()
        await backend.rasa.aclose()  # the pooled keep-alive connection dies with the server
        replies = await say("my ERP crashes for everyone since this morning")
        assert "sorry to hear" in " ".join(r["text"] for r in replies).lower()  # the embedded engine's intake
        replies = await say("what are your working hours?")
        assert replies
        assert (await client.post("/model/parse", json={"text": "hi"})).json()["intent"]["name"] == "greet"
        after = _metric_total((await client.get("/metrics")).text)
        assert after >= before + 3
    await backend.aclose()


def _metric_total(metrics_text: str) -> float:
    values = re.findall(r"^supportbot_nlu_fallbacks_total\{[^}]*\} ([0-9.e+]+)$", metrics_text, re.M)
    return sum(float(v) for v in values)


# -- the CSV → Rasa YAML conversion of `nlu benchmark --engine rasa` ----------------------------------


def test_benchmark_csv_becomes_rasa_training_data(tmp_path: Path) -> None:
    texts = ["Where is my card?", "  card   not arrived\n yet ", "I want a refund", "Where is my card?", ""]
    intents = ["card_arrival", "card_arrival", "request_refund", "card_arrival", "request_refund"]
    text = csv_to_rasa_yaml(texts, intents)
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    examples = {block["intent"]: block["examples"].splitlines() for block in data["nlu"]}
    assert examples == {
        "card_arrival": ["- Where is my card?", "- card not arrived yet"],
        "request_refund": ["- I want a refund"],
    }
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nlu.yml").write_text(text)
    loaded = load_training_data(tmp_path)  # the project's own reader of Rasa data agrees
    assert sorted(loaded.examples) == sorted(
        [
            ("Where is my card?", "card_arrival"),
            ("card not arrived yet", "card_arrival"),
            ("I want a refund", "request_refund"),
        ]
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_started_for_rasa_dies_with_its_parent() -> None:
    """A test run or benchmark killed mid-way leaves no Rasa process (about 1 GB each) behind."""
    parent = (
        "import os, signal, subprocess, sys\n"
        "from nlu.rasa_server import _die_with_parent\n"
        "child = subprocess.Popen(['sleep', '60'], start_new_session=True, preexec_fn=_die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=30)
    child = int(done.stdout.split()[0])
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the child outlived its killed parent")
