"""The customer doors under attack: borrowed sessions, floods, forged payloads (issue: sessions are
credentials, abuse limits), through the REST channel, in process, on both databases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.webchat.channel import STATIC
from bot.channels.webchat.sessions import SessionIds, session_secret
from bot.settings import load_settings
from storage.models import Conversation, Customer, OutboxMessage, Ticket
from tests.bot import test_http
from tests.bot.test_http import WEBHOOK, App, MakeApp, payload_of
from tests.helpers import REST_AUTH, FrozenClock, pp, text_of, ticket_id_in

make_app = test_http.make_app  # the app in process, with its lifespan (a fixture)

ROOT = Path(__file__).resolve().parents[2]  # the checkout, for the logged run's imports
HELP = "our accounting server is dead, nobody here can log in since 9am!!"

# A request for a person that says what it is about and how to reach them: the ticket opens at once.
PERSON_ABOUT_ERP = "I want to talk to a person about our ERP, sokha@example.com"


async def post(app: App, sender: str, message: str, **headers: str) -> Any:
    return await app.client.post(WEBHOOK, json={"sender": sender, "message": message}, headers=headers)


async def new_session(app: App) -> str:
    """What a REST client without a token does first: any sender, then the one it is given."""
    response = await post(app, "hello", "hi")
    assert response.status_code == 200, response.text
    session_id = str(response.json()[0]["recipient_id"])
    assert session_id != "hello"
    return session_id


async def say(app: App, session_id: str, message: str) -> list[dict[str, Any]]:
    response = await post(app, session_id, message)
    assert response.status_code == 200, response.text
    replies = response.json()
    assert all(r["recipient_id"] == session_id for r in replies), "the session was not kept"
    return list(replies)


async def open_ticket_by_intake(app: App, session_id: str) -> list[dict[str, Any]]:
    """A customer's intake to its last answer: the problem, critical, the checks, contact, open."""
    replies = await say(app, session_id, HELP)
    replies = await say(app, session_id, payload_of(replies, "Critical"))
    while "Step" in text_of(replies):
        title = "No" if "Step 4 of 4" in text_of(replies) else "Yes"
        replies = await say(app, session_id, payload_of(replies, title))
    if "your name" in text_of(replies):
        replies = await say(app, session_id, "Dara Sok")
        replies = await say(app, session_id, "dara.sok@example.com")
    elif "contact details I have" in text_of(replies):
        replies = await say(app, session_id, payload_of(replies, "Yes"))
    return await say(app, session_id, payload_of(replies, "Open the ticket"))


# -- sessions are credentials ------------------------------------------------------------------------


async def test_a_rest_client_is_given_a_session_and_keeps_it(make_app: MakeApp) -> None:
    app = await make_app()
    session_id = await new_session(app)
    assert app.asgi.channels["webchat"].sessions.is_minted(session_id)
    replies = await say(app, session_id, PERSON_ABOUT_ERP)
    ticket_id = ticket_id_in(replies)
    assert f"#{ticket_id}" in text_of(await say(app, session_id, "/ticket_status"))


async def test_a_borrowed_or_guessed_sender_gets_a_fresh_session_never_the_customers(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    victim = await new_session(app)
    ticket_id = ticket_id_in(await open_ticket_by_intake(app, victim))
    random_part, _, signature = victim.partition(".")
    # An integration (with the REST token) has a customer "1"; its id is not a web chat credential.
    integrated = await app.client.post(
        WEBHOOK, json={"sender": "1", "message": PERSON_ABOUT_ERP}, headers=REST_AUTH
    )
    integrated_ticket = ticket_id_in(integrated.json())
    for guess in ("1", random_part, f"{random_part}.{signature[::-1]}", victim.upper()):
        response = await post(app, guess, "/ticket_status")
        assert response.status_code == 200
        replies = response.json()
        assert {r["recipient_id"] for r in replies} not in ({guess}, {victim})
        assert f"#{ticket_id}" not in text_of(replies)
        assert f"#{integrated_ticket}" not in text_of(replies)
        assert "dara" not in text_of(replies).lower()
    async with app.services.db.reader() as session:
        senders = [c.sender for c in (await session.execute(select(Conversation))).scalars()]
    assert senders.count(victim) == 1 and senders.count("1") == 1


async def test_only_the_rest_token_lets_a_caller_name_its_senders(make_app: MakeApp) -> None:
    app = await make_app()
    trusted = await app.client.post(WEBHOOK, json={"sender": "crm-42", "message": "hi"}, headers=REST_AUTH)
    assert trusted.status_code == 200 and trusted.json()[0]["recipient_id"] == "crm-42"
    for header in ("Bearer wrong-token-0123456789", "Basic Y3JtOmNybQ==", "Bearer"):
        refused = await app.client.post(
            WEBHOOK, json={"sender": "crm-42", "message": "hi"}, headers={"Authorization": header}
        )
        assert refused.status_code == 401, header
        assert "SUPPORTBOT_REST_TOKEN" in refused.json()["detail"]
        assert refused.headers["www-authenticate"] == "Bearer"
    # Without a configured token, no bearer is accepted at all.
    closed = await make_app(SUPPORTBOT_REST_TOKEN="")
    response = await closed.client.post(
        WEBHOOK, json={"sender": "crm-42", "message": "hi"}, headers=REST_AUTH
    )
    assert response.status_code == 401


async def test_forgetting_always_asks_first_whatever_payload_arrives(make_app: MakeApp) -> None:
    app = await make_app()
    session_id = await new_session(app)
    await open_ticket_by_intake(app, session_id)
    replies = await say(app, session_id, "/forget_confirmed")
    assert "Delete your data?" in text_of(replies)
    async with app.services.db.reader() as session:
        [ticket] = (await session.execute(select(Ticket))).scalars()
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None and customer.email == "dara.sok@example.com"
    # Asked in this conversation: now the button deletes.
    replies = await say(app, session_id, payload_of(replies, "Yes, delete"))
    assert "Delete your data?" not in text_of(replies)
    async with app.services.db.reader() as session:
        [ticket] = (await session.execute(select(Ticket))).scalars()
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is None or customer.email is None


def test_the_session_secret_is_made_once_and_kept(tmp_path: Any) -> None:
    path = tmp_path / "var" / "session-secret"
    settings = load_settings(SUPPORTBOT_SESSION_SECRET_FILE=str(path), SUPPORTBOT_SESSION_SECRET="")
    first = SessionIds(session_secret(settings))
    minted = first.mint()
    assert path.stat().st_mode & 0o077 == 0  # readable by the server's user alone
    again = SessionIds(session_secret(settings))  # a restart, or a replica on the same disk
    assert again.is_minted(minted)
    assert not SessionIds(b"some-other-secret-0123456789").is_minted(minted)
    assert len(minted.partition(".")[0]) >= 22  # 128 random bits in URL-safe base64


# -- abuse limits ------------------------------------------------------------------------------------


def test_a_checked_session_id_is_remembered_and_a_forged_one_never_is() -> None:
    ids = SessionIds(b"a-secret-of-32-bytes-0123456789ab")
    minted = ids.mint()
    assert ids.is_minted(minted) and ids.is_minted(minted)  # the second answer from memory
    random_part, _, signature = minted.partition(".")
    forged = f"{random_part}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    for _ in range(2):
        assert not ids.is_minted(forged)
    assert not ids.is_minted(random_part)


async def test_a_flooding_session_is_answered_429_with_retry_after(make_app: MakeApp) -> None:
    app = await make_app(SUPPORTBOT_RATE_LIMITS="on")
    session_id = await new_session(app)  # 1 message
    answers = [await post(app, session_id, f"hello?? {n}") for n in range(12)]
    codes = [r.status_code for r in answers]
    assert codes[:9] == [200] * 9 and set(codes[9:]) == {429}, codes
    retry_after = answers[-1].headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 10
    # Another customer is not held up.
    assert (await post(app, await new_session(app), "hi")).status_code == 200


async def test_fresh_sessions_from_one_address_are_capped(make_app: MakeApp) -> None:
    app = await make_app(SUPPORTBOT_RATE_LIMITS="on")
    codes = [(await post(app, f"script-{n}", PERSON_ABOUT_ERP)).status_code for n in range(32)]
    assert codes[:30] == [200] * 30 and codes[30:] == [429, 429]
    async with app.services.db.reader() as session:
        assert len(list((await session.execute(select(Ticket))).scalars())) == 30


async def test_limits_off_lets_a_load_benchmark_through(make_app: MakeApp) -> None:
    app = await make_app(SUPPORTBOT_RATE_LIMITS="off")
    session_id = await new_session(app)
    assert {(await post(app, session_id, f"ping {n}")).status_code for n in range(25)} == {200}


async def test_a_customer_opens_at_most_the_daily_number_of_tickets(
    make_app: MakeApp, clock: FrozenClock
) -> None:
    app = await make_app()
    session_id = await new_session(app)
    opened = [ticket_id_in(await open_ticket_by_intake(app, session_id)) for _ in range(5)]
    assert len(set(opened)) == 5
    refused = await open_ticket_by_intake(app, session_id)
    assert "already opened 5 tickets" in text_of(refused)
    assert any(b["title"] == "My tickets" for r in refused for b in r.get("buttons", []))
    async with app.services.db.reader() as session:
        assert len(list((await session.execute(select(Ticket))).scalars())) == 5
    # A day later the customer may open tickets again.
    clock.advance(days=1, minutes=1)
    assert ticket_id_in(await open_ticket_by_intake(app, session_id)) > max(opened)


async def test_on_call_pages_out_of_hours_are_coalesced_with_a_count(
    make_app: MakeApp, clock: FrozenClock
) -> None:
    clock.set(pp(2026, 12, 6, 23, 0))  # Sunday night in Phnom Penh
    app = await make_app()
    for n in range(4):
        session_id = f"night-{n}"
        response = await app.client.post(
            WEBHOOK, json={"sender": session_id, "message": HELP}, headers=REST_AUTH
        )
        payload = payload_of(response.json(), "Critical")
        response = await app.client.post(
            WEBHOOK, json={"sender": session_id, "message": payload}, headers=REST_AUTH
        )
        ticket_id_in(
            (
                await app.client.post(
                    WEBHOOK, json={"sender": session_id, "message": PERSON_ABOUT_ERP}, headers=REST_AUTH
                )
            ).json()
        )
        clock.advance(seconds=30)
    on_call = app.services.policy.escalation.on_call_channel
    async with app.services.db.reader() as session:
        rows = list(
            (await session.execute(select(OutboxMessage).where(OutboxMessage.target == on_call))).scalars()
        )
    pages = [r for r in rows if r.payload.get("event") == "on_call"]
    assert len(pages) == 1, [r.payload for r in rows]
    assert pages[0].payload["more"] == 3
    async with app.services.db.reader() as session:
        assert len(list((await session.execute(select(Ticket))).scalars())) == 4


@pytest.mark.parametrize("window", [timedelta(minutes=6)])
async def test_the_next_page_after_a_sent_one_waits_out_the_window(
    make_app: MakeApp, clock: FrozenClock, window: timedelta
) -> None:
    clock.set(pp(2026, 12, 6, 23, 0))
    app = await make_app()

    async def critical_handoff(sender: str) -> None:
        response = await app.client.post(WEBHOOK, json={"sender": sender, "message": HELP}, headers=REST_AUTH)
        payload = payload_of(response.json(), "Critical")
        await app.client.post(WEBHOOK, json={"sender": sender, "message": payload}, headers=REST_AUTH)
        await app.client.post(
            WEBHOOK, json={"sender": sender, "message": PERSON_ABOUT_ERP}, headers=REST_AUTH
        )

    await critical_handoff("first")
    on_call = app.services.policy.escalation.on_call_channel
    async with app.services.db.session() as session:
        [page] = [
            r
            for r in (
                await session.execute(select(OutboxMessage).where(OutboxMessage.target == on_call))
            ).scalars()
            if r.payload.get("event") == "on_call"
        ]
        page.delivered_at = clock()  # Slack took it
    clock.advance(minutes=1)
    await critical_handoff("second")
    async with app.services.db.reader() as session:
        pages = [
            r
            for r in (
                await session.execute(select(OutboxMessage).where(OutboxMessage.target == on_call))
            ).scalars()
            if r.payload.get("event") == "on_call"
        ]
    assert len(pages) == 2
    later = max(pages, key=lambda r: r.id)
    assert later.next_attempt_at >= clock() + timedelta(minutes=4)
    assert later.next_attempt_at <= clock() + window


# -- security headers --------------------------------------------------------------------------------

SHOP = "https://shop.example.com"


async def test_pages_and_scripts_carry_security_headers_and_answer_head(make_app: MakeApp) -> None:
    app = await make_app(SUPPORTBOT_CORS_ORIGINS=f"{SHOP},https://www.example.org")
    for path, kind in (("/", "text/html"), ("/widget.js", "javascript"), ("/demo.css", "text/css")):
        got = await app.client.get(path)
        assert got.status_code == 200 and kind in got.headers["content-type"]
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        csp = got.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert f"frame-ancestors 'self' {SHOP} https://www.example.org" in csp
        head = await app.client.head(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
        assert head.headers["content-security-policy"] == csp
    # The demo page has nothing inline a CSP without 'unsafe-inline' would block.
    page = (await app.client.get("/")).text
    assert "<style" not in page and " style=" not in page
    assert all("src=" in tag for tag in page.split("<script")[1:])
    # JSON answers are not sniffed either.
    assert (await app.client.get("/healthz")).headers["x-content-type-options"] == "nosniff"


def test_the_widget_sets_no_inline_styles_a_csp_would_block() -> None:
    script = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert 'setAttribute("style"' not in script
    assert "adoptedStyleSheets" in script  # the constructed sheet, allowed without 'unsafe-inline'
    assert "adoptSession" in script and "recipient_id" in script  # keeps what the server confirms


# -- the log keeps no personal data --------------------------------------------------------------------

LOGGED_RUN = """
import asyncio, sys
import httpx
from bot.app import create_app
from bot.logs import configure_logging
from nlu import NLU_DIR
from nlu.embedded import EmbeddedNlu
from nlu.training_data import load_training_data
from tests.helpers import settings_for

CUSTOMER = [
    "our accounting server is dead, nobody here can log in since 9am!!",
    "/choose_priority{\\"priority\\":\\"critical\\"}", "/affirm", "/affirm", "/affirm", "/deny",
    "Sophea Lim", "sophea.lim@example.com", "/affirm",
    "/human_handoff", "please call me back on +855 12 345 678, it's urgent",
]

async def main(url: str) -> None:
    configure_logging("INFO")
    asgi = create_app(settings_for(url, SUPPORTBOT_REST_TOKEN=""), nlu=EmbeddedNlu.train(load_training_data(NLU_DIR)))
    async with asgi.fastapi.router.lifespan_context(asgi.fastapi):
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            sender = "new"
            for text in CUSTOMER:
                answer = await http.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
                assert answer.status_code == 200, answer.text
                sender = answer.json()[0]["recipient_id"]
            await asgi.fastapi.state.delivery.run_once()
    print(sender)

asyncio.run(main(sys.argv[1]))
"""


async def test_the_log_of_an_intake_and_a_handoff_holds_no_personal_data(db_url: str, tmp_path: Any) -> None:
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", LOGGED_RUN, db_url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    session_id = run.stdout.strip().splitlines()[-1]
    log = run.stderr
    assert "supportbot_started" in log and "agent_notification" in log, log[-2000:]
    for secret in (
        session_id,
        session_id.partition(".")[0],
        "sophea.lim@example.com",
        "Sophea",
        "+855 12 345 678",
        "12 345 678",
        "accounting server is dead",
        "call me back",
    ):
        assert secret not in log, f"{secret!r} is in the log"
