"""`/slack/events` under attack: unsigned, badly timed, malformed or replayed requests get a 4xx
(never a 500), and a button is applied once however often its press arrives."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.slack.conftest import AGENT, Desk, signed
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import eventually

EVENTS = "/slack/events"


async def test_unsigned_or_badly_timed_requests_get_401(desk: Desk) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}})
    now = str(int(time.time()))
    for headers in (
        {"X-Slack-Request-Timestamp": "abc"},
        {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "-5", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": now},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
        {},
    ):
        response = await desk.http.post(
            EVENTS, content=body, headers={"Content-Type": "application/json", **headers}
        )
        assert response.status_code == 401, (headers, response.status_code, response.text)
    # Signed, but ten minutes old (a replay from a log): refused too.
    old = signed(body, timestamp=int(time.time()) - 600)
    response = await desk.http.post(EVENTS, content=body, headers={"Content-Type": "application/json", **old})
    assert response.status_code == 401


async def test_signed_but_malformed_bodies_get_a_4xx(desk: Desk) -> None:
    bodies = [
        ("application/json", "[" * 30_000 + "]" * 30_000),
        ("application/json", '{"type":' * 5_000 + "1" + "}" * 5_000),
        ("application/json", "{not json"),
        ("application/json", "[]"),
        ("application/json", '"event_callback"'),
        ("application/x-www-form-urlencoded", "payload=%7Bnot+json"),
        ("application/x-www-form-urlencoded", urlencode({"payload": "[" * 20_000 + "]" * 20_000})),
        ("application/x-www-form-urlencoded", urlencode({"payload": json.dumps({"type": "block_actions"})})),
        (
            "application/x-www-form-urlencoded",
            urlencode({"payload": json.dumps({"type": "block_actions", "actions": "x", "user": 5})}),
        ),
    ]
    for content_type, body in bodies:
        response = await desk.post_signed(body, content_type)
        assert response.status_code < 500, (body[:60], response.status_code, response.text)


LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
JSONS = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["type", "event", "event_id", "user", "channel", "text", "thread_ts", "ts", "actions"]
            )
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=JSONS, form=st.booleans())
async def test_fuzzed_signed_bodies_never_get_a_500(desk: Desk, body: Any, form: bool) -> None:
    if form:
        response = await desk.post_signed(
            urlencode({"payload": json.dumps(body)}), "application/x-www-form-urlencoded"
        )
    else:
        response = await desk.post_signed(json.dumps(body), "application/json")
    assert response.status_code < 500, (body, response.status_code, response.text)


async def test_a_double_click_or_a_replayed_press_escalates_once(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(sender="web-double")
    await desk.deliver()
    root = await desk.root(ticket_id)
    sent: list[tuple[str, str]] = []
    post_signed = desk.post_signed

    async def recorded(body: str, content_type: str, **headers: str) -> Any:
        sent.append((body, content_type))
        return await post_signed(body, content_type, **headers)

    desk.post_signed = recorded  # type: ignore[method-assign]
    # A double click: two presses of the same button by the same agent.
    await asyncio.gather(desk.press(root, "ticket_escalate"), desk.press(root, "ticket_escalate"))
    [told] = await eventually(lambda: fake_slack.ephemerals, what="the answer to the second press")
    assert told["user"] == AGENT and f"#{ticket_id}" in told["text"]
    ticket = await eventually(lambda: _escalated(desk, ticket_id), what="the escalation of the first press")
    # The same signed request delivered once more (a replay within Slack's five minutes).
    body, content_type = sent[0]
    assert (await post_signed(body, content_type)).status_code == 200
    await eventually(lambda: len(fake_slack.ephemerals) == 2, what="the answer to the replay")
    ticket = await desk.ticket(ticket_id)
    assert [e.kind for e in ticket.events].count("escalated") == 1
    assert ticket.tier == 2


async def _escalated(desk: Desk, ticket_id: int) -> Any:
    ticket = await desk.ticket(ticket_id)
    return ticket if ticket.tier == 2 else None
