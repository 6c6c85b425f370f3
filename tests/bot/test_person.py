"""A person without Slack: customers reach one over the REST channel and socket.io, and agents
answer through `POST /api/tickets/{id}/replies` (docs/reference.md section 3).

The real app runs on uvicorn on loopback with no Slack configured, on SQLite and PostgreSQL; the
customer is Rasa's REST client or a socket.io client, the agent an integrator with the bearer token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from nlu.embedded import EmbeddedNlu
from storage.models import Customer
from tests.bot.test_socketio import Served, SocketCustomer, assert_socketio_shape
from tests.helpers import REST_AUTH, served_on_loopback, settings_for, text_of, ticket_id_in

TOKEN = "agents-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEBHOOK = "/webhooks/rest/webhook"


@pytest.fixture
async def served(db_url: str, nlu: EmbeddedNlu) -> AsyncIterator[Served]:
    settings = settings_for(db_url, SUPPORTBOT_API_TOKEN=TOKEN, SUPPORTBOT_CORS_ORIGINS="")
    assert not settings.slack_bot_token
    asgi = create_app(settings, nlu=nlu)
    async with served_on_loopback(asgi) as url:
        yield Served(asgi, url)


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url) as client:
        yield client


async def rest_say(http: httpx.AsyncClient, sender: str, message: str) -> list[dict[str, Any]]:
    # An integration naming its own senders, with the REST token.
    response = await http.post(WEBHOOK, json={"sender": sender, "message": message}, headers=REST_AUTH)
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()
    return replies


async def ticket(http: httpx.AsyncClient, ticket_id: int) -> dict[str, Any]:
    response = await http.get(f"/api/tickets/{ticket_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_person_is_reached_over_rest_in_two_questions_and_nothing_goes_unanswered(
    http: httpx.AsyncClient,
) -> None:
    asked = await rest_say(http, "rest-person", "can i pls talk to someone")
    assert "what is it about" in text_of(asked)
    asked = await rest_say(http, "rest-person", "we were charged twice for the november invoice!")
    assert "name" in text_of(asked) and "email address or phone number" in text_of(asked)
    opened = await rest_say(http, "rest-person", "Sokha Chan - sokha.chan@example.com")
    ticket_id = ticket_id_in(opened)
    said = text_of(opened)
    assert "Frontline support" in said and "will answer here by" in said
    assert "sokha.chan@example.com" in said  # how they can be reached if the tab is closed

    found = await ticket(http, ticket_id)
    assert (found["category"], found["channel"], found["status"]) == ("billing", "webchat", "open")
    assert found["customer"]["name"] == "Sokha Chan"
    assert found["customer"]["email"] == "sokha.chan@example.com"
    assert found["description"] == "we were charged twice for the november invoice!"

    for later in ("hello? anyone there?", "??", "pls answer, accounting closes the month today"):
        replies = await rest_say(http, "rest-person", later)
        assert len(replies) == 1
        assert f"I've added that to ticket #{ticket_id}" in replies[0]["text"]
        assert "will answer here by" in replies[0]["text"]
    events = (await ticket(http, ticket_id))["events"]
    kept = [e["data"]["text"] for e in events if e["kind"] == "customer_message"]
    assert kept == ["hello? anyone there?", "??", "pls answer, accounting closes the month today"]


async def test_an_agents_api_reply_reaches_the_open_web_chat_and_a_note_does_not(
    served: Served, http: httpx.AsyncClient
) -> None:
    customer = SocketCustomer(served.url)
    try:
        await customer.connect("sock-person")
        asked = await customer.say("I want to talk to a person, the vpn is down for the whole office")
        assert "what is it about" not in text_of(asked)  # the message said it
        opened = await customer.say("call me on 012 345 678")
        ticket_id = ticket_id_in(opened)
        found = await ticket(http, ticket_id)
        assert found["priority"] == "critical" and found["customer"]["phone"] == "012345678"
        assert found["first_response_at"] is None

        response = await http.post(
            f"/api/tickets/{ticket_id}/replies",
            json={"text": "Hi, I'm restarting the VPN gateway now.", "agent": "Dara Sok"},
            headers=AUTH,
        )
        assert response.status_code == 201, response.text
        assert response.json()["first_response"] is True
        [pushed] = await customer.replies()
        assert_socketio_shape(pushed)
        assert pushed["text"] == "Dara Sok: Hi, I'm restarting the VPN gateway now."

        note = await http.post(
            f"/api/tickets/{ticket_id}/replies",
            json={"text": "gateway logs show a full disk", "agent": "Dara Sok", "internal": True},
            headers=AUTH,
        )
        assert note.status_code == 201, note.text
        assert await customer.nothing_more(2.5) == [], "an internal note reached the customer"

        found = await ticket(http, ticket_id)
        assert found["first_response_at"] is not None and found["sla_state"] == "met"
        kinds = [(e["kind"], e["actor"]) for e in found["events"]]
        assert ("agent_reply", "api:Dara Sok") in kinds and ("internal_note", "api:Dara Sok") in kinds

        thanks = await customer.say("thank you, it's back!")
        assert thanks[0]["text"].startswith(f"I've added that to ticket #{ticket_id}.")
        assert "will answer here by" not in thanks[0]["text"]  # someone already did
    finally:
        await customer.close()


async def test_replies_are_refused_clearly(served: Served, http: httpx.AsyncClient) -> None:
    ticket_id = ticket_id_in(
        await rest_say(http, "rest-refused", "talk to a person about my invoice, a@b.co")
    )
    url = f"/api/tickets/{ticket_id}/replies"
    good = {"text": "Hello", "agent": "Dara"}
    assert (await http.post(url, json=good)).status_code == 401
    assert (await http.post(url, json=good, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await http.post("/api/tickets/999999/replies", json=good, headers=AUTH)).status_code == 404
    for bad in ({"text": "   ", "agent": "Dara"}, {"text": "Hello"}, {"text": "x" * 4001, "agent": "D"}, []):
        assert (await http.post(url, json=bad, headers=AUTH)).status_code == 422, bad
    huge = await http.post(url, json={"text": "x" * 70_000, "agent": "Dara"}, headers=AUTH)
    assert huge.status_code == 413
    assert (await ticket(http, ticket_id))["first_response_at"] is None

    # A customer who deleted their data cannot be answered in chat any more.
    await rest_say(http, "rest-refused", "/forget_me")
    await rest_say(http, "rest-refused", "/forget_confirmed")
    gone = await http.post(url, json=good, headers=AUTH)
    assert gone.status_code == 409 and "deleted their data" in gone.json()["detail"]

    documented = (await http.get("/openapi.json")).json()["paths"]["/api/tickets/{ticket_id}/replies"]["post"]
    assert {"201", "401", "404", "409", "413", "422"} <= set(documented["responses"])


async def test_typed_forget_me_on_the_web_chat_asks_first_then_deletes(
    served: Served, http: httpx.AsyncClient
) -> None:
    customer = SocketCustomer(served.url)
    try:
        await customer.connect("sock-forget")
        await customer.say("my name is Dara Sok, dara@example.com")
        asked = await customer.say("pls delete all my personal data from your system")
        assert "Delete your data?" in asked[0]["text"]
        titles = [q["title"] for q in asked[0]["quick_replies"]]
        assert titles == ["Yes, delete my data", "No, keep it"]  # the buttons' own confirmation
        done = await customer.say("yes")
        assert "your data has been deleted" in done[0]["text"]
    finally:
        await customer.close()
    async with served.services.db.reader() as session:
        [gone] = (await session.execute(select(Customer))).scalars()
    assert (gone.name, gone.email) == (None, None)

    # Over REST, "no" keeps everything.
    await rest_say(http, "rest-keep", "I'm Sokha, sokha@example.com")
    asked = await rest_say(http, "rest-keep", "Forget me.")
    assert [b["title"] for b in asked[0]["buttons"]] == ["Yes, delete my data", "No, keep it"]
    kept = await rest_say(http, "rest-keep", "no")
    assert "nothing was deleted" in kept[0]["text"]
    stopped = await rest_say(http, "rest-keep", "stop sending me these announcements!")
    assert "won't receive maintenance announcements" in stopped[0]["text"]
