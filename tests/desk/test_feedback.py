"""Feedback (policy section 9) through the in-memory channel: rating buttons on the resolution
message, one rating per ticket, the optional comment, the managers' alert for low ratings, and
ratings in every state (idle, intake, handoff). Storage rules also on PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.jobs import run_feedback_alerts
from bot.notices import render
from bot.services import Services
from desk import feedback
from desk.feedback import FeedbackError
from desk.tickets import NewTicket
from storage.models import Customer, Feedback, OutboxMessage, TicketEvent
from tests.helpers import FrozenClock, TestChannel

PROMPT = "Thank you! Anything we could do better? (optional: type it, or press Skip)"
TITLES = ["5 ★ Excellent", "4 ★ Good", "3 ★ Average", "2 ★ Poor", "1 ★ Very poor"]


def rate(ticket_id: int, rating: int) -> str:
    return f'/rate{{"ticket_id":{ticket_id},"rating":{rating}}}'


async def open_by_handoff(bot: TestChannel) -> int:
    """The quickest ticket: ask for a person, saying about what and how to reach you (opens a
    ticket at once and hands the chat over)."""
    await bot.say("I want to talk to a person about our ERP, sokha@example.com")
    match = re.search(r"ticket #(\d+)", bot.text)
    assert match, bot.text
    return int(match.group(1))


async def resolve(bot: TestChannel, ticket_id: int, note: str = "") -> None:
    services = bot.services
    async with services.db.session() as session:
        await services.tickets.resolve(
            session, ticket_id, actor="agent:U1", now=services.engine.now(), note=note
        )


async def resolved_ticket(bot: TestChannel) -> int:
    ticket_id = await open_by_handoff(bot)
    await resolve(bot, ticket_id)
    await bot.say("/back_to_bot")
    return ticket_id


async def stored(bot: TestChannel, ticket_id: int) -> Feedback | None:
    async with bot.services.db.reader() as session:
        return (
            await session.execute(select(Feedback).where(Feedback.ticket_id == ticket_id))
        ).scalar_one_or_none()


async def alerts(services: Services) -> list[dict[str, Any]]:
    async with services.db.reader() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [
            {"target": r.target, "key": r.dedupe_key, **r.payload}
            for r in rows
            if r.payload.get("event") == "low_rating"
        ]


async def events(services: Services, ticket_id: int) -> list[TicketEvent]:
    async with services.db.reader() as session:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return list((await session.execute(query)).scalars())


# -- through the conversation ----------------------------------------------------------------------


async def test_resolution_message_carries_five_rating_buttons(bot: TestChannel) -> None:
    ticket_id = await open_by_handoff(bot)
    await resolve(bot, ticket_id, note="We restarted the server.")
    async with bot.services.db.reader() as session:
        [row] = (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == "customer"
                )
            )
        ).scalars()
    assert row.target == f"webchat:{bot.sender}"
    assert row.payload["language"] == "en" and "text" not in row.payload  # worded when sent
    told = render(row.payload, bot.services.policy)
    assert told["text"] == f"Your ticket #{ticket_id} has been resolved. We restarted the server."
    assert [b["title"] for b in told["buttons"]] == TITLES
    assert [b["payload"] for b in row.payload["buttons"]] == [rate(ticket_id, r) for r in (5, 4, 3, 2, 1)]


async def test_rating_then_comment(bot: TestChannel) -> None:
    ticket_id = await resolved_ticket(bot)
    await bot.say(rate(ticket_id, 5))
    assert bot.text == PROMPT
    assert bot.buttons == ["Skip"]
    rating = await stored(bot, ticket_id)
    assert rating is not None and (rating.rating, rating.comment) == (5, None)

    await bot.say("Quick and friendly, thanks a lot")
    assert "Thank you" in bot.text and "comment" in bot.text
    rating = await stored(bot, ticket_id)
    assert rating is not None and (rating.rating, rating.comment) == (5, "Quick and friendly, thanks a lot")
    assert await alerts(bot.services) == []  # a good rating alerts nobody
    kinds = [e.kind for e in await events(bot.services, ticket_id)]
    assert kinds[-2:] == ["rated", "feedback_comment"]

    await bot.say("hello")  # back to normal: the next message is not another comment
    assert "Hello!" in bot.text
    rating = await stored(bot, ticket_id)
    assert rating is not None and rating.comment == "Quick and friendly, thanks a lot"


async def test_low_rating_alerts_the_managers_once(bot: TestChannel) -> None:
    ticket_id = await resolved_ticket(bot)
    await bot.say(rate(ticket_id, 1))
    assert await alerts(bot.services) == []  # the alert waits for the comment
    await bot.say("Nobody answered for two days")
    [alert] = await alerts(bot.services)
    assert alert["target"] == "#support-managers"
    assert (alert["ticket_id"], alert["rating"], alert["comment"]) == (
        ticket_id,
        1,
        "Nobody answered for two days",
    )
    assert alert["key"] == f"feedback:low:{ticket_id}"

    # Rating again updates the rating, with thanks; the managers already know.
    await bot.say(rate(ticket_id, 2))
    assert f"updated your rating of ticket #{ticket_id} to 2" in bot.text
    await bot.press("Skip")
    assert "Thank you for your feedback" in bot.text
    rating = await stored(bot, ticket_id)
    assert rating is not None and (rating.rating, rating.comment) == (2, "Nobody answered for two days")
    assert len(await alerts(bot.services)) == 1


async def test_low_rating_skipped_comment_still_alerts(bot: TestChannel) -> None:
    ticket_id = await resolved_ticket(bot)
    await bot.say(rate(ticket_id, 2))
    await bot.press("Skip")
    assert "Thank you for your feedback" in bot.text
    [alert] = await alerts(bot.services)
    assert (alert["rating"], alert["comment"]) == (2, None)


async def test_rating_someone_elses_ticket_is_refused(bot: TestChannel) -> None:
    ticket_id = await resolved_ticket(bot)
    other = TestChannel(bot.services, sender="customer-2")
    await other.say(rate(ticket_id, 1))
    assert f"can't find ticket #{ticket_id} among your tickets" in other.text
    await other.say(rate(10**30, 1))  # not even a possible id
    assert "couldn't read that rating" in other.text
    assert await stored(bot, ticket_id) is None
    await other.say("the service is terrible")  # no comment step was started
    assert await stored(bot, ticket_id) is None


async def test_an_unresolved_ticket_and_a_bad_rating_are_refused(bot: TestChannel) -> None:
    ticket_id = await open_by_handoff(bot)
    await bot.say(rate(ticket_id, 5))
    assert "isn't resolved yet" in bot.text
    await resolve(bot, ticket_id)
    await bot.say(rate(ticket_id, 9))
    assert "from 1 to 5" in bot.text
    await bot.say('/rate{"ticket_id":"x","rating":5}')
    assert "couldn't read that rating" in bot.text
    assert await stored(bot, ticket_id) is None


async def test_rating_during_handoff_is_not_relayed(bot: TestChannel) -> None:
    resolved = await resolved_ticket(bot)
    handed_over = await open_by_handoff(bot)  # a new problem: a person is on the chat now
    assert handed_over != resolved
    await bot.say(rate(resolved, 4))
    assert bot.text == PROMPT
    await bot.say("The engineer was great")
    assert "Thank you" in bot.text
    rating = await stored(bot, resolved)
    assert rating is not None and (rating.rating, rating.comment) == (4, "The engineer was great")
    relayed = [e for e in await events(bot.services, handed_over) if e.kind == "customer_message"]
    assert relayed == []
    await bot.say("Is anyone looking at the new problem?")  # the handoff goes on
    relayed = [e for e in await events(bot.services, handed_over) if e.kind == "customer_message"]
    assert [e.data["text"] for e in relayed] == ["Is anyone looking at the new problem?"]


async def test_rating_during_an_intake_resumes_it(bot: TestChannel) -> None:
    ticket_id = await resolved_ticket(bot)
    await bot.say("/report_issue")
    assert "Which kind of problem is it?" in bot.text
    await bot.say(rate(ticket_id, 3))
    assert bot.text == PROMPT
    await bot.press("Skip")
    assert "Thank you for your feedback" in bot.text
    assert "Which kind of problem is it?" in bot.text  # the intake carries on
    await bot.press("Billing")
    assert "describe the problem" in bot.text


async def test_another_button_instead_of_a_comment(bot: TestChannel) -> None:
    ticket_id = await resolved_ticket(bot)
    await bot.say(rate(ticket_id, 1))
    await bot.say("/working_hours")  # no comment: the button does what it always does
    assert "Our support team works" in bot.text
    [alert] = await alerts(bot.services)
    assert alert["comment"] is None


async def test_a_low_rating_without_an_answer_is_alerted_later(bot: TestChannel, clock: FrozenClock) -> None:
    ticket_id = await resolved_ticket(bot)
    await bot.say(rate(ticket_id, 1))
    assert await run_feedback_alerts(bot.services) == 0
    clock.advance(minutes=31)
    assert await run_feedback_alerts(bot.services) == 1
    assert await run_feedback_alerts(bot.services) == 0
    await bot.say("It took far too long")  # the comment still lands; no second alert
    rating = await stored(bot, ticket_id)
    assert rating is not None and rating.comment == "It took far too long"
    assert len(await alerts(bot.services)) == 1


# -- the desk rules on both databases --------------------------------------------------------------


async def test_feedback_rules_on_both_databases(services: Services, clock: FrozenClock) -> None:
    policy = services.policy
    async with services.db.session() as session:
        customer = Customer(channel="webchat", external_id="c-1", created_at=clock())
        session.add(customer)
        await session.flush()
        ticket = await services.tickets.open(
            session,
            customer=customer,
            now=clock(),
            new=NewTicket(
                category="billing",
                priority="low",
                channel="webchat",
                description="Invoice question",
                subject="Invoice question",
                troubleshooting=[],
            ),
        )
        ticket_id, customer_id = ticket.id, customer.id
    async with services.db.session() as session:
        with pytest.raises(FeedbackError):
            await feedback.rate(
                session, policy=policy, ticket_id=ticket_id, customer_id=customer_id, rating=4, now=clock()
            )
        await services.tickets.resolve(session, ticket_id, actor="agent:U1", now=clock())
    for rating, updated in ((4, False), (1, True)):
        async with services.db.session() as session:
            rated = await feedback.rate(
                session,
                policy=policy,
                ticket_id=ticket_id,
                customer_id=customer_id,
                rating=rating,
                now=clock(),
            )
            assert rated.updated is updated
    async with services.db.session() as session:
        await feedback.comment(
            session, ticket_id=ticket_id, customer_id=customer_id, text=" Slow ", now=clock()
        )
        assert await feedback.alert_if_low(session, policy=policy, ticket_id=ticket_id, now=clock())
        assert not await feedback.alert_if_low(session, policy=policy, ticket_id=ticket_id, now=clock())
    async with services.db.reader() as session:
        [row] = (await session.execute(select(Feedback))).scalars()
    assert (row.rating, row.comment) == (1, "Slow")
    [alert] = await alerts(services)
    assert (alert["rating"], alert["comment"], alert["target"]) == (1, "Slow", "#support-managers")
    clock.advance(hours=1)
    assert await run_feedback_alerts(services) == 0  # already alerted
    clock.advance(days=30)
    assert await run_feedback_alerts(services) == 0
    buttons = feedback.rating_buttons(ticket_id, policy)
    assert render({"buttons": buttons}, policy)["buttons"][0]["title"] == "5 ★ Excellent"
    assert timedelta(minutes=30) == feedback.COMMENT_GRACE
