"""No 500 on any door: property tests (hypothesis) post bodies of every shape to the REST channel,
`/model/parse` and `/api/*`; schemathesis generates requests from `/openapi.json` and checks that
every answer is one the document lists (401/404/413/422 included) and none is a server error."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from bot.app import create_app
from nlu.embedded import EmbeddedNlu
from storage.migrate import upgrade
from tests.bot import test_http
from tests.bot.test_http import WEBHOOK, MakeApp
from tests.helpers import settings_for

make_app = test_http.make_app  # the app in process, with its lifespan (a fixture)

TOKEN = "fuzz-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

KEYS = st.sampled_from(["sender", "message", "message_id", "metadata", "text", "language", "q"]) | st.text(
    max_size=8
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSONS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)
RAW = st.binary(max_size=300) | st.builds(
    lambda depth, bracket: (bracket * depth + bracket.translate({91: 93, 123: 125}) * depth).encode(),
    st.integers(100, 20_000),
    st.sampled_from(["[", "{"]),
)


async def _app(make_app: MakeApp) -> test_http.App:
    """One app for all the examples of a test: kept on the fixture's own function."""
    app = getattr(make_app, "fuzzed_app", None)
    if app is None:
        app = await make_app(SUPPORTBOT_API_TOKEN=TOKEN)
        make_app.fuzzed_app = app  # type: ignore[attr-defined]
    return app  # type: ignore[no-any-return]


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=JSONS)
async def test_json_of_any_shape_never_gets_a_500(make_app: MakeApp, body: Any) -> None:
    app = await _app(make_app)
    for path, headers in ((WEBHOOK, {}), ("/model/parse", {}), ("/api/tickets", AUTH)):
        response = await app.client.post(
            path, content=json.dumps(body), headers={**headers, "content-type": "application/json"}
        )
        assert response.status_code < 500, (path, body, response.status_code, response.text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=RAW,
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
)
async def test_bytes_and_deep_nesting_never_get_a_500(
    make_app: MakeApp, raw: bytes, content_type: str
) -> None:
    app = await _app(make_app)
    for path in (WEBHOOK, "/model/parse"):
        response = await app.client.post(path, content=raw, headers={"content-type": content_type})
        assert 400 <= response.status_code < 500, (path, raw[:60], response.status_code, response.text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    query=st.dictionaries(
        st.sampled_from(["status", "priority", "category", "channel", "limit", "before_id", "q"]),
        st.text(max_size=30),
        max_size=4,
    ),
    ticket=st.text(max_size=30),
)
async def test_api_queries_and_ids_of_any_kind_never_get_a_500(
    make_app: MakeApp, query: dict[str, str], ticket: str
) -> None:
    app = await _app(make_app)
    listing = await app.client.get("/api/tickets", params=query, headers=AUTH)
    assert listing.status_code in (200, 422), (query, listing.text)
    one = await app.client.get(f"/api/tickets/{quote(ticket, safe='')}", headers=AUTH)
    assert one.status_code < 500, (ticket, one.text)
    unauthorized = await app.client.get("/api/tickets", params=query)
    assert unauthorized.status_code == 401


# -- schemathesis against /openapi.json ----------------------------------------------------------------


@pytest.fixture(scope="module")
def served_url(tmp_path_factory: pytest.TempPathFactory, nlu: EmbeddedNlu) -> Iterator[str]:
    """The app on uvicorn in a thread of its own: schemathesis calls it synchronously."""
    path: Path = tmp_path_factory.mktemp("schemathesis") / "supportbot.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    # One token for the API and the REST channel, so generated requests get past both doors.
    settings_ = settings_for(
        url, SUPPORTBOT_API_TOKEN=TOKEN, SUPPORTBOT_REST_TOKEN=TOKEN, SUPPORTBOT_CORS_ORIGINS=""
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings_, nlu=nlu), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def api_schema(served_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{served_url}/openapi.json")


# Run operation by operation through schemathesis' public API (its pytest plugin's lazy
# fixture loader reads a private pytest attribute that pytest 9 no longer has).
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_answer_is_documented_and_none_is_a_server_error(
    api_schema: Any, served_url: str, mode: GenerationMode
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: Any) -> None:
            case.call_and_validate(
                base_url=served_url, headers=AUTH, checks=[not_a_server_error, status_code_conformance]
            )

        try:
            call()
        except Unsatisfiable:
            # Nothing in the operation to make invalid (no parameters, no body): /healthz, /metrics.
            assert mode is GenerationMode.NEGATIVE, operation.label


def test_the_refusals_are_documented(api_schema: Any) -> None:
    paths = api_schema.raw_schema["paths"]
    assert {"401", "413", "422", "429"} <= set(paths[WEBHOOK]["post"]["responses"])
    assert {"401", "404", "422"} <= set(paths["/api/tickets/{ticket_id}"]["get"]["responses"])
    assert {"400", "413", "422"} <= set(paths["/model/parse"]["post"]["responses"])
