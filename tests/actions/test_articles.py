"""Self-service articles offered before a ticket, through the in-memory channel and the REST channel.

Real engine, real NLU, real SQLite: the customer describes a problem in their own words (none of
these sentences is in knowledge/ or in tests/desk/kb_questions.csv), and the test checks what they
read, and what was stored (no ticket, the self-service row, the ticket's `articles_tried`).
"""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.app import create_app
from desk.serialize import ticket_json
from storage.models import SelfServiceResolution, Ticket
from tests.helpers import REST_AUTH, FrozenClock, TestChannel, settings_for

TOKEN = "api-token-for-articles"
PASSWORD = "hi, I forgot my pasword again and now the login page wont let me in"


async def tickets(bot: TestChannel) -> list[Ticket]:
    async with bot.services.db.reader() as session:
        query = select(Ticket).options(selectinload(Ticket.customer), selectinload(Ticket.events))
        return list((await session.execute(query.order_by(Ticket.id))).scalars())


async def resolutions(bot: TestChannel) -> list[SelfServiceResolution]:
    async with bot.services.db.reader() as session:
        return list((await session.execute(select(SelfServiceResolution))).scalars())


def solved_count(slug: str) -> float:
    """The per-article self-service counter, as /metrics would show it."""
    value = REGISTRY.get_sample_value("supportbot_article_self_service_solved_total", {"article": slug})
    return float(value or 0.0)


async def test_an_article_solves_it_without_a_ticket(bot: TestChannel) -> None:
    before = solved_count("password-reset")
    await bot.say(PASSWORD)
    assert "Reset your password" in bot.text or "password" in bot.text.lower()
    assert "/kb/en/password-reset" in bot.text
    assert any(b.startswith("This solved it") for b in bot.buttons)
    assert "I still need help" in bot.buttons
    await bot.press("This solved it")
    assert "glad the article helped" in bot.text
    assert "haven't opened a ticket" in bot.text
    assert await tickets(bot) == []
    [row] = await resolutions(bot)
    assert row.article == "password-reset"
    assert row.channel == "webchat"
    assert solved_count("password-reset") == before + 1
    # The conversation is idle again: a greeting is answered as a greeting, not as an intake step.
    await bot.say("hello")
    assert "How can I help you today?" in bot.text


async def test_typed_solved_counts_for_the_article(bot: TestChannel) -> None:
    await bot.say("we got charged 2 times on the invoice for november, pls check!!")
    assert "/kb/en/invoice-questions" in bot.text
    await bot.say("ok that solved it, thanks")
    assert "glad the article helped" in bot.text
    [row] = await resolutions(bot)
    assert row.article == "invoice-questions"
    assert row.category == "billing"
    assert await tickets(bot) == []


async def test_a_refused_article_is_carried_on_the_ticket(bot: TestChannel) -> None:
    await bot.say(PASSWORD)
    assert "/kb/en/password-reset" in bot.text
    await bot.say("i tried that, still need help")
    assert "Sorry it didn't help" in bot.text
    # The intake carries on where it was: the priority comes next.
    assert "priority" in bot.text.lower()
    await bot.press("Medium")
    while "Step" in bot.text:
        await bot.press("No")
    await bot.say("Dara Sok")
    await bot.say("dara@example.com")
    await bot.press("Open the ticket")
    [ticket] = await tickets(bot)
    assert ticket.articles_tried == ["password-reset"]
    shown = ticket_json(ticket, service=bot.services.tickets, now=bot.services.engine.now())
    assert shown["articles_tried"] == ["password-reset"]
    created = next(e for e in ticket.events if e.kind == "created")
    assert created.data["articles_tried"] == ["password-reset"]
    assert await resolutions(bot) == []


async def test_nothing_is_shown_for_an_unrelated_problem(bot: TestChannel) -> None:
    await bot.say("the forklift barcode labels print upside down in our warehouse app since the update")
    assert "/kb/" not in bot.text
    assert not any(b.startswith("This solved it") for b in bot.buttons)
    assert "I still need help" not in bot.buttons


async def test_the_offer_does_not_hold_the_intake_up(bot: TestChannel) -> None:
    await bot.say(PASSWORD)
    assert "/kb/en/password-reset" in bot.text
    # The intake's question comes last, with its own buttons: answering it goes on as before.
    assert bot.last[-1].text.lower().count("priority") >= 1
    await bot.press("Low")
    assert "/kb/" not in bot.text
    # The article's button still works a step later (a customer who read it meanwhile).
    await bot.say("what are your working hours?")
    assert "Monday" in bot.text
    await bot.say('/problem_solved{"article":"password-reset"}')
    assert "glad the article helped" in bot.text
    [row] = await resolutions(bot)
    assert row.article == "password-reset"
    assert await tickets(bot) == []


async def test_long_answers_after_the_offer_answer_the_question(bot: TestChannel) -> None:
    await bot.say("we were charged twice for the same invoice this month")
    assert "/kb/en/invoice-questions" in bot.text
    await bot.say("it is not fixed and it is urgent, we need this sorted today because payroll")
    assert "glad the article helped" not in bot.text
    assert await resolutions(bot) == []


async def test_a_khmer_description_gets_the_khmer_article(bot: TestChannel) -> None:
    await bot.say("ខ្ញុំភ្លេចពាក្យសម្ងាត់ ហើយចូលគណនីមិនបាន")
    assert "/kb/km/password-reset" in bot.text


async def rest_app(url: str, nlu: Any, clock: FrozenClock, stack: AsyncExitStack) -> httpx.AsyncClient:
    asgi = create_app(settings_for(url, SUPPORTBOT_API_TOKEN=TOKEN), nlu=nlu, now=clock)
    await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
    transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
    return await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://test"))


async def rest_say(http: httpx.AsyncClient, sender: str, message: str) -> list[dict[str, Any]]:
    # An integration that names its own senders, with the REST token.
    answer = await http.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": message}, headers=REST_AUTH
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def press(replies: list[dict[str, Any]], title_start: str) -> str:
    return next(
        str(b["payload"]) for r in replies for b in r.get("buttons", []) if b["title"].startswith(title_start)
    )


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


async def test_solved_and_refused_through_the_rest_channel(
    sqlite_url: str, nlu: Any, clock: FrozenClock
) -> None:
    """The Rasa REST channel: buttons' payloads come back as messages; the API shows what was tried."""
    async with AsyncExitStack() as stack:
        http = await rest_app(sqlite_url, nlu, clock, stack)
        replies = await rest_say(http, "rest-solved", "cant get into my account, i forgot the password :(")
        assert "/kb/en/password-reset" in text_of(replies)
        replies = await rest_say(http, "rest-solved", press(replies, "This solved it"))
        assert "glad the article helped" in text_of(replies)

        replies = await rest_say(http, "rest-refused", PASSWORD)
        replies = await rest_say(http, "rest-refused", press(replies, "I still need help"))
        replies = await rest_say(http, "rest-refused", press(replies, "High"))
        while "Step" in text_of(replies):
            replies = await rest_say(http, "rest-refused", press(replies, "No"))
        await rest_say(http, "rest-refused", "Sokha Chan")
        await rest_say(http, "rest-refused", "sokha@example.com")
        replies = await rest_say(http, "rest-refused", "/affirm")
        ticket_id = int(re.search(r"ticket #(\d+)", text_of(replies)).group(1))  # type: ignore[union-attr]
        shown = await http.get(f"/api/tickets/{ticket_id}", headers={"Authorization": f"Bearer {TOKEN}"})
        assert shown.status_code == 200
        assert shown.json()["articles_tried"] == ["password-reset"]
        listed = await http.get("/api/tickets", headers={"Authorization": f"Bearer {TOKEN}"})
        assert [t["id"] for t in listed.json()["tickets"]] == [ticket_id]  # the solved customer has no ticket
