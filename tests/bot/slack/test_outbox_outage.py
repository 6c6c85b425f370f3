"""Slack unreachable (connection refused) for an hour of the app's clock, a permanent refusal, and a
worker that died mid-post: every notice reaches Slack once, each ticket's in order, and a dead
letter says why and goes out again when a manager or an operator asks.

Time is the app's clock (`FrozenClock`), moved by the test; the outage is the fake Slack's port
closed (`go_down`), so the SDK meets a real refused connection.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, update
from typer.testing import CliRunner

from bot import jobs
from bot.cli import app as cli
from storage.models import OutboxMessage, TicketPost
from tests.bot.slack.conftest import TIER1, Desk
from tests.bot.slack.fake_slack import FakeSlack


async def test_an_hour_of_refused_connections_then_every_notice_once_in_order(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    await fake_slack.go_down()
    tickets = [
        await desk.open_ticket(description="Payroll export keeps failing with error 0x80070005, pls help"),
        await desk.open_ticket(description="vpn dropped for the whole branch office in Siem Reap"),
    ]
    replies = await desk.say(
        "web-outage-handoff", "I want to talk to a person about our ERP, sokha@example.com"
    )  # a ticket and its handoff notice
    assert "asked a person to join" in replies[0]["text"]
    tickets.append(max(r.ticket_id or 0 for r in await desk.outbox(kind="agent")))

    for minute in range(0, 60, 10):
        if minute == 50:  # 45 minutes of a critical ticket's hour: reminders, still during the outage
            await jobs.run_sweep(desk.services)
        await desk.delivery.run_once()
        desk.clock.advance(minutes=10)
    rows = await desk.outbox(kind="agent")
    assert {r.payload["event"] for r in rows} >= {"ticket_created", "sla_reminder", "handoff_requested"}
    assert all(r.delivered_at is None and r.dead_at is None for r in rows), [
        (r.payload["event"], r.dead_reason, r.last_error) for r in rows
    ]
    cards = [r for r in rows if r.payload["event"] == "ticket_created"]
    assert all(r.attempts >= 3 for r in cards)  # tried all along, never counted toward dead
    later = [r for r in rows if r.payload["event"] != "ticket_created"]
    assert all(r.attempts == 0 for r in later)  # waiting behind their ticket's card
    assert fake_slack.messages == []

    await fake_slack.come_back()
    for _ in range(6):
        desk.clock.advance(minutes=5)
        await desk.deliver()
    rows = await desk.outbox(kind="agent")
    assert all(r.delivered_at is not None for r in rows), [(r.payload, r.last_error) for r in rows]
    for ticket_id in tickets:
        [root] = fake_slack.ticket_posts(TIER1, ticket_id)
        thread = [m.text for m in fake_slack.thread(TIER1, root.ts)]
        expected = [r for r in rows if r.ticket_id == ticket_id and r.payload["event"] != "ticket_created"]
        assert len(thread) == len(expected) >= 1, thread
        events = [r.payload["event"] for r in sorted(expected, key=lambda r: r.delivered_at or r.created_at)]
        assert events == [r.payload["event"] for r in expected]  # in the order they were written
    assert len([m for m in fake_slack.messages if m.blocks and m.thread_ts is None]) == len(tickets)
    # Every message names the outbox row it came from.
    assert all((m.metadata or {}).get("event_type") == "supportbot_outbox" for m in fake_slack.messages)
    ids = [(m.metadata or {})["event_payload"]["outbox_id"] for m in fake_slack.messages]
    assert len(ids) == len(set(ids))


async def test_a_permanent_refusal_dead_letters_with_its_reason_then_retry_sends_it(
    desk: Desk, fake_slack: FakeSlack, db_url: str
) -> None:
    fake_slack.refuse("chat.postMessage", "not_in_channel")
    ticket_id = await desk.open_ticket(description="The invoice total is wrong, charged twice for November")
    await desk.delivery.run_once()
    [card] = [r for r in await desk.outbox(kind="agent") if r.payload["event"] == "ticket_created"]
    assert card.dead_at is not None and card.dead_reason == "not_in_channel"
    assert card.attempts == 0

    status = await desk.command("status")
    assert "not_in_channel 1" in status
    metrics = (await desk.http.get("/metrics")).text
    assert 'supportbot_outbox_dead_letters_total{kind="agent",reason="not_in_channel"}' in metrics

    env = {"DATABASE_URL": db_url, "SUPPORTBOT_LOG_LEVEL": "WARNING"}
    listed = await asyncio.to_thread(CliRunner().invoke, cli, ["outbox", "list", "--dead"], env=env)
    assert listed.exit_code == 0, listed.output
    assert '"dead_reason": "not_in_channel"' in listed.output and f'"ticket_id": {ticket_id}' in listed.output

    fake_slack.recover()  # the bot was invited to the channel
    retried = await asyncio.to_thread(CliRunner().invoke, cli, ["outbox", "retry", "--dead"], env=env)
    assert retried.exit_code == 0, retried.output
    assert "1 dead letter(s) revived" in retried.output
    await desk.deliver()
    assert len(fake_slack.ticket_posts(TIER1, ticket_id)) == 1
    [card] = [r for r in await desk.outbox(kind="agent") if r.id == card.id]
    assert card.delivered_at is not None and card.dead_at is None


async def test_support_outbox_retry_sends_dead_letters_again(desk: Desk, fake_slack: FakeSlack) -> None:
    fake_slack.refuse("chat.postMessage", "channel_not_found")
    ticket_id = await desk.open_ticket(description="Server room aircon died, temps at 38C")
    await desk.delivery.run_once()
    assert "no dead letters" not in (await desk.command("status"))
    fake_slack.recover()
    answer = await desk.command("outbox retry")
    assert "1 dead letter(s) queued" in answer
    await desk.deliver()
    assert len(fake_slack.ticket_posts(TIER1, ticket_id)) == 1
    assert "There are no dead letters" in await desk.command("outbox retry")


async def test_a_row_whose_worker_died_after_posting_is_not_posted_again(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    """The worker posted the card and the handoff notice, then died before writing anything down."""
    await desk.say("web-crash-1", "I want to talk to a person about our ERP, sokha@example.com")
    rows = await desk.outbox(kind="agent")
    claimed = await desk.delivery.claim()
    assert {r.id for r in claimed} == {r.id for r in rows}
    send = desk.delivery.senders["agent"]
    for row in claimed:
        await send(row)  # reaches Slack; the outcome is never marked
    ticket_id = rows[0].ticket_id
    # A crash between the card's post and storing its ts: Slack has it, the database does not.
    async with desk.services.db.session() as session:
        await session.execute(delete(TicketPost).where(TicketPost.ticket_id == ticket_id))
    assert len(fake_slack.messages) == 2

    desk.clock.advance(seconds=61)  # the lease ran out
    await desk.deliver()
    rows = await desk.outbox(kind="agent")
    assert all(r.delivered_at is not None and r.claimed_at is None for r in rows)
    assert len(fake_slack.messages) == 2  # found in history, not posted again
    assert fake_slack.calls_to("conversations.history") and fake_slack.calls_to("conversations.replies")
    [root] = fake_slack.ticket_posts(TIER1, ticket_id or 0)
    assert (await desk.posts(ticket_id or 0))[1].ts == root.ts  # the found card's ts, stored

    # A row that was never posted before its worker died is posted (once).
    async with desk.services.db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == rows[-1].id)
            .values(delivered_at=None, claimed_at=desk.clock(), next_attempt_at=desk.clock())
        )
    fake_slack.messages.pop()  # as if it never reached Slack
    await desk.deliver()
    assert len(fake_slack.thread(TIER1, root.ts)) == 1
