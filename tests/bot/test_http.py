"""The HTTP surface of the one ASGI app (docs/reference.md sections 3 and 5), in process, on both
databases: tickets reached through the REST channel and read through the tickets API (filters,
pages, bearer auth), the operations endpoints, /model/parse, the demo page and widget, and CORS.

Each test builds the real app with `create_app`, runs its lifespan (migrations, services, the
outbox scheduler) and talks to it through httpx's ASGI transport, the way a Rasa REST client,
an integrator with a bearer token, a browser (CORS) or a monitoring system would.
"""

from __future__ import annotations

import gc
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.app import create_app
from nlu.embedded import EmbeddedNlu
from tests.bot import http_app
from tests.bot.http_app import (
    AUTH,
    ERP,
    PERSON_PLEASE,
    TOKEN,
    WEBHOOK,
    App,
    MakeApp,
    get_ticket,
    payload_of,
)
from tests.helpers import TICKET_KEYS, FrozenClock, settings_for, text_of, ticket_id_in

SHOP = "https://shop.example.com"
EVIL = "https://evil.example.com"

# The app in process with its lifespan, and one built with the API token (fixtures).
make_app = http_app.make_app
app = http_app.app


# -- helpers -----------------------------------------------------------------------------------------


def aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} has no offset"
    return parsed


async def report_erp_outage(app: App, sender: str = "erp-customer") -> int:
    """The scripted customer: an ERP outage, critical, four checks, name and email, open."""
    replies = await app.say(sender, ERP)
    assert "buttons" not in replies[0]
    assert "critical" in replies[-1]["text"]
    assert replies[-1]["buttons"][0]["title"].startswith("Critical (suggested)")
    replies = await app.say(sender, payload_of(replies, "Critical"))
    assert "Step 1 of 4" in text_of(replies)
    assert [b["title"] for b in replies[-1]["buttons"]] == ["Yes", "No", "Not sure", "That fixed it!"]
    for answer, next_step in (("Yes", "Step 2 of 4"), ("Yes", "Step 3 of 4"), ("Yes", "Step 4 of 4")):
        replies = await app.say(sender, payload_of(replies, answer))
        assert next_step in text_of(replies)
    replies = await app.say(sender, payload_of(replies, "No"))
    assert "your name" in text_of(replies)
    assert all("buttons" not in r for r in replies)
    replies = await app.say(sender, "Sokha Chan")
    assert "email address or phone number" in text_of(replies)
    replies = await app.say(sender, "sokha@example.com")
    summary = text_of(replies)
    assert "Here is your request" in summary and "Sokha Chan, sokha@example.com" in summary
    replies = await app.say(sender, payload_of(replies, "Open the ticket"))
    assert "is open" in text_of(replies)
    return ticket_id_in(replies)


async def ask_for_a_person(app: App, sender: str) -> int:
    """One message that opens a (medium) ticket: the quickest way to get one, since it says what
    it is about and how to reach the customer, so nothing is asked."""
    return ticket_id_in(await app.say(sender, PERSON_PLEASE))


async def list_ids(app: App, query: str) -> tuple[list[int], Any]:
    response = await app.client.get(f"/api/tickets{query}", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    return [t["id"] for t in body["tickets"]], body["next_before_id"]


# -- the REST channel to a ticket, and the ticket through the API -------------------------------------------


async def test_scripted_customer_reaches_a_ticket_shown_by_the_api(app: App, clock: FrozenClock) -> None:
    ticket_id = await report_erp_outage(app)

    ticket = await get_ticket(app, ticket_id)
    assert TICKET_KEYS <= set(ticket)
    assert ticket["id"] == ticket_id
    assert (ticket["category"], ticket["priority"], ticket["status"]) == ("technical", "critical", "open")
    assert ticket["tier"] == 1
    assert ticket["channel"] == "webchat"
    assert ticket["description"] == ERP
    assert ticket["subject"] and "ERP" in ticket["subject"]
    assert ticket["customer"]["name"] == "Sokha Chan"
    assert ticket["customer"]["email"] == "sokha@example.com"
    assert ticket["customer"]["phone"] is None
    assert isinstance(ticket["customer"]["id"], int)
    assert set(ticket["customer"]) == {"id", "name", "email", "phone"}
    steps = app.services.policy.categories["technical"].troubleshooting
    assert ticket["troubleshooting"] == [
        {"step": step, "answer": answer, "note": None}
        for step, answer in zip(steps, ["yes", "yes", "yes", "no"], strict=True)
    ]
    assert ticket["exclusion"] is None
    assert aware(ticket["created_at"]) == clock.at
    assert aware(ticket["response_due_at"]) == clock.at + timedelta(hours=1)  # critical: 1 h, 24x7
    assert ticket["first_response_at"] is None and ticket["resolved_at"] is None
    assert ticket["sla_state"] == "running"
    assert [e["kind"] for e in ticket["events"]] == ["created"]
    assert set(ticket["events"][0]) == {"at", "kind", "actor", "data"}
    assert aware(ticket["events"][0]["at"]) == clock.at

    ids, _ = await list_ids(app, "")
    assert ids == [ticket_id]
    listed = (await app.client.get("/api/tickets", headers=AUTH)).json()["tickets"][0]
    assert TICKET_KEYS - {"events"} <= set(listed)
    assert listed["channel"] == "webchat" and listed["priority"] == "critical"


async def test_events_oldest_first_and_sla_met_after_the_first_response(app: App, clock: FrozenClock) -> None:
    ticket_id = await report_erp_outage(app)
    services = app.services
    clock.advance(minutes=20)
    async with services.db.session() as session:
        await services.tickets.acknowledge(session, ticket_id, actor="agent:U1", now=clock())
    clock.advance(minutes=5)
    async with services.db.session() as session:
        await services.tickets.escalate(session, ticket_id, actor="agent:U1", now=clock(), reason="db")

    ticket = await get_ticket(app, ticket_id)
    assert [e["kind"] for e in ticket["events"]] == ["created", "acknowledged", "escalated"]
    times = [aware(e["at"]) for e in ticket["events"]]
    assert times == sorted(times) and times[0] < times[-1]
    assert ticket["status"] == "acknowledged" and ticket["tier"] == 2
    assert aware(ticket["first_response_at"]) == clock.at - timedelta(minutes=5)
    assert ticket["sla_state"] == "met"


async def test_filters_and_pagination(app: App) -> None:
    critical = await report_erp_outage(app)
    first = await ask_for_a_person(app, "person-1")
    second = await ask_for_a_person(app, "person-2")
    services = app.services
    async with services.db.session() as session:
        await services.tickets.acknowledge(session, second, actor="agent:U1", now=services.engine.now())

    assert (await list_ids(app, "?status=open&priority=critical"))[0] == [critical]
    assert (await list_ids(app, "?priority=medium"))[0] == [second, first]
    assert (await list_ids(app, "?status=acknowledged"))[0] == [second]
    assert (await list_ids(app, "?status=open"))[0] == [first, critical]
    assert (await list_ids(app, "?channel=webchat&category=technical"))[0] == [second, first, critical]
    assert (await list_ids(app, "?category=billing"))[0] == []
    assert (await list_ids(app, "?channel=telegram"))[0] == []

    page, cursor = await list_ids(app, "?limit=2")
    assert page == [second, first] and cursor == first
    page, cursor = await list_ids(app, f"?limit=2&before_id={cursor}")
    assert page == [critical] and cursor is None
    assert (await list_ids(app, f"?before_id={critical}"))[0] == []


@pytest.mark.parametrize(
    "query",
    [
        "?status=bogus",
        "?priority=urgent",
        "?status=open&priority=CRITICAL",
        "?category=hardware",
        "?channel=email",
        "?limit=0",
        "?limit=201",
        "?limit=abc",
        "?before_id=0",
        "?before_id=abc",
    ],
)
async def test_bad_filter_values_are_422(app: App, query: str) -> None:
    response = await app.client.get(f"/api/tickets{query}", headers=AUTH)
    assert response.status_code == 422, response.text


async def test_a_huge_before_id_is_refused_not_a_crash(app: App) -> None:
    # An id past the 64-bit range must be a 422 (as for /api/tickets/{id}), not a database error.
    await ask_for_a_person(app, "someone")
    response = await app.client.get(f"/api/tickets?before_id={2**70}", headers=AUTH)
    assert response.status_code == 422, response.text


# -- bearer auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/tickets", "/api/tickets/1", "/api/tickets?status=open"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer caf\xe9-token-0123456789".encode("latin-1")},
    ],
    ids=["none", "wrong", "longer", "basic", "no-scheme", "empty", "non-ascii"],
)
async def test_api_refuses_missing_or_wrong_tokens(app: App, path: str, headers: dict[str, Any]) -> None:
    await ask_for_a_person(app, "someone")
    response = await app.client.get(path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert "tickets" not in response.json()


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
async def test_api_refuses_everyone_when_no_token_is_configured(make_app: MakeApp, token: str | None) -> None:
    app = await make_app(SUPPORTBOT_API_TOKEN=token)
    await ask_for_a_person(app, "someone")
    for headers in ({}, {"Authorization": "Bearer "}, AUTH, {"Authorization": "Bearer None"}):
        for path in ("/api/tickets", "/api/tickets/1"):
            response = await app.client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers, response.text)


async def test_missing_ticket_is_404_and_a_bad_id_is_422(app: App) -> None:
    ticket_id = await ask_for_a_person(app, "someone")
    assert (await app.client.get(f"/api/tickets/{ticket_id + 1}", headers=AUTH)).status_code == 404
    for bad in ("abc", "1.5", "0", "-1", str(2**64), "1e3"):
        response = await app.client.get(f"/api/tickets/{bad}", headers=AUTH)
        assert response.status_code == 422, (bad, response.text)


# -- operations, NLU, widget --------------------------------------------------------------------------------


async def test_healthz_metrics_and_openapi(app: App) -> None:
    health = await app.client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"

    await app.say("metrics-customer", "hi")
    metrics = await app.client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE supportbot_messages_total counter" in metrics.text
    assert re.search(r'^supportbot_messages_total\{channel="webchat"\} \d', metrics.text, re.MULTILINE)

    spec = (await app.client.get("/openapi.json")).json()
    assert {"/api/tickets", "/api/tickets/{ticket_id}", "/model/parse", WEBHOOK} <= set(spec["paths"])


async def test_model_parse_has_rasas_shape(app: App) -> None:
    response = await app.client.post("/model/parse", json={"text": "my email is a@b.co"})
    assert response.status_code == 200
    parse = response.json()
    assert {"text", "intent", "entities", "intent_ranking"} <= set(parse)
    assert parse["text"] == "my email is a@b.co"
    assert set(parse["intent"]) >= {"name", "confidence"}
    assert isinstance(parse["intent"]["name"], str) and 0 <= parse["intent"]["confidence"] <= 1
    ranking = parse["intent_ranking"]
    assert ranking and all(set(r) >= {"name", "confidence"} for r in ranking)
    assert ranking[0]["name"] == parse["intent"]["name"]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    email = [e for e in parse["entities"] if e["entity"] == "email"]
    assert email, parse["entities"]
    assert set(email[0]) >= {"entity", "value", "start", "end", "extractor"}
    assert email[0]["value"] == "a@b.co"
    assert parse["text"][email[0]["start"] : email[0]["end"]] == "a@b.co"

    billing = (await app.client.post("/model/parse", json={"text": "my invoice is wrong"})).json()
    assert billing["intent"]["name"] == "report_billing_issue"
    for bad in ({}, {"text": 5}, {"text": None}, {"text": "x" * 20_000}):
        assert (await app.client.post("/model/parse", json=bad)).status_code == 422, bad


async def test_demo_page_and_widget(app: App) -> None:
    page = await app.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js"' in page.text

    widget = await app.client.get("/widget.js")
    assert widget.status_code == 200, "the widget must be served at /widget.js"
    assert widget.headers["content-type"].split(";")[0] in ("application/javascript", "text/javascript")
    assert len(widget.content) > 1000
    # Working offline: no script or stylesheet from a CDN.
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", page.text)


async def test_what_start_up_made_is_left_out_of_garbage_collections(
    db_url: str, nlu: EmbeddedNlu, clock: FrozenClock
) -> None:
    """The model, the policy and the libraries live as long as the app: a full collection that
    walked them again stopped every customer for 110-160 ms under load."""
    asgi = create_app(settings_for(db_url), nlu=nlu, now=clock)
    async with asgi.fastapi.router.lifespan_context(asgi.fastapi):
        frozen = gc.get_freeze_count()
    assert frozen > 50_000, frozen  # the app's services and every module loaded, at least
    assert gc.get_freeze_count() == 0  # given back to the collector when the app stops


# -- CORS ------------------------------------------------------------------------------------------------


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }


async def test_cors_allows_the_configured_site_only(make_app: MakeApp) -> None:
    app = await make_app(SUPPORTBOT_CORS_ORIGINS=SHOP, SUPPORTBOT_API_TOKEN=TOKEN)
    allowed = await app.client.options(WEBHOOK, headers=_preflight(SHOP))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "POST" in allowed.headers["access-control-allow-methods"]

    refused = await app.client.options(WEBHOOK, headers=_preflight(EVIL))
    assert "access-control-allow-origin" not in refused.headers

    simple = await app.client.post(WEBHOOK, json={"sender": "a", "message": "hi"}, headers={"Origin": SHOP})
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == SHOP
    other = await app.client.post(WEBHOOK, json={"sender": "b", "message": "hi"}, headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in other.headers

    # socket.io (engine.io polling handshake) follows the same list.
    handshake = "/socket.io/?EIO=4&transport=polling"
    sio_ok = await app.client.get(handshake, headers={"Origin": SHOP})
    assert sio_ok.status_code == 200
    assert sio_ok.headers["access-control-allow-origin"] == SHOP
    sio_evil = await app.client.get(handshake, headers={"Origin": EVIL})
    assert sio_evil.status_code >= 400
    assert sio_evil.headers.get("access-control-allow-origin") != EVIL


async def test_no_cors_headers_without_the_setting(app: App) -> None:
    preflight = await app.client.options(WEBHOOK, headers=_preflight(SHOP))
    assert "access-control-allow-origin" not in preflight.headers
    post = await app.client.post(WEBHOOK, json={"sender": "a", "message": "hi"}, headers={"Origin": SHOP})
    assert post.status_code == 200
    assert "access-control-allow-origin" not in post.headers
    handshake = "/socket.io/?EIO=4&transport=polling"
    sio = await app.client.get(handshake, headers={"Origin": SHOP})
    assert sio.status_code >= 400
    assert sio.headers.get("access-control-allow-origin") != SHOP
    same_origin = await app.client.get(handshake, headers={"Origin": "http://test"})
    assert same_origin.status_code == 200
