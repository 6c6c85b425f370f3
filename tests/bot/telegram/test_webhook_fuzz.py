"""The webhook door under fuzzing: whatever arrives with our secret is answered 200 or 400, never
a 5xx that Telegram would send again forever; without the secret, 401/403."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import SECRET, MakeApp

CHAT = 555077
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}

# JSON of every shape, with the keys of an update among the random ones.
KEYS = st.sampled_from(
    [
        "update_id",
        "message",
        "chat",
        "id",
        "type",
        "text",
        "from",
        "my_chat_member",
        "new_chat_member",
        "status",
        "callback_query",
        "data",
        "photo",
        "document",
        "file_id",
        "caption",
    ]
) | st.text(max_size=8)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSONS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)


async def test_deep_nesting_and_malformed_member_updates_are_accepted_not_retried(make_app: MakeApp) -> None:
    app = await make_app("webhook")
    assert app.base_url is not None
    bodies = [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"update_id": 1, "message": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}",
        json.dumps({"update_id": 2, "my_chat_member": {"chat": "x", "new_chat_member": 5}}).encode(),
        json.dumps(
            {
                "update_id": 3,
                "my_chat_member": {"chat": {"id": CHAT, "type": "private"}, "new_chat_member": []},
            }
        ).encode(),
        json.dumps(
            {"update_id": 4, "my_chat_member": {"chat": None, "new_chat_member": {"status": "kicked"}}}
        ).encode(),
        json.dumps(
            {"update_id": 5, "message": {"chat": {"id": CHAT, "type": "private"}, "from": "me", "photo": [1]}}
        ).encode(),
    ]
    async with httpx.AsyncClient(base_url=app.base_url) as http:
        for body in bodies:
            response = await http.post("/telegram/webhook", content=body, headers=HEADERS)
            assert response.status_code in (200, 400), (body[:80], response.status_code, response.text)
        # The channel still serves customers afterwards.
    hello = await app.say(CHAT + 1, "/start")
    assert "How can I help you today?" in hello[-1]["text"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=JSONS)
async def test_fuzzed_updates_get_200_or_400_never_a_retry(make_app: MakeApp, body: Any) -> None:
    app = await _webhook_app(make_app)
    if isinstance(body, dict):
        body.setdefault("update_id", tg.next_update_id())
    async with httpx.AsyncClient(base_url=app.base_url) as http:
        signed = await http.post("/telegram/webhook", json=body, headers=HEADERS)
        unsigned = await http.post("/telegram/webhook", json=body)
    assert signed.status_code in (200, 400), (body, signed.status_code, signed.text)
    assert unsigned.status_code == 401


async def _webhook_app(make_app: MakeApp) -> Any:
    """One served app for all the examples of a test (hypothesis runs the test body many times
    with the same fixtures): kept on the fixture's own function."""
    app = getattr(make_app, "fuzzed_app", None)
    if app is None:
        app = await make_app("webhook")
        make_app.fuzzed_app = app  # type: ignore[attr-defined]
    return app
