"""A Slack outage while customers open tickets: 429 with Retry-After, then 500s, then recovery.

Every ticket is posted exactly once, with its thread notices after it, and a row retried after a
crash (posted, but not marked delivered) does not post again.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from bot.slack.outbound import Notifier
from storage.models import OutboxMessage
from tests.bot.slack.conftest import TIER1, Desk, slack_desk
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import eventually


async def test_outage_then_recovery_posts_each_ticket_once(desk: Desk, fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=7, times=None)
    senders = [f"web-outage-{n}" for n in range(3)]
    ticket_ids = []
    for sender in senders:
        # A ticket (nothing to ask: the message says what and how to reach them), and a notice.
        replies = await desk.say(sender, "I want to talk to a person about our ERP, sokha@example.com")
        assert "asked a person to join" in replies[0]["text"]
        ticket_ids.append(len(ticket_ids) + 1)

    assert await desk.delivery.run_once() == 0
    created = [r for r in await desk.outbox(kind="agent") if r.payload["event"] == "ticket_created"]
    assert len(created) == 3
    for row in created:
        assert row.delivered_at is None and row.attempts == 0
        assert row.last_error == "rate limited for 7s"
        assert (row.next_attempt_at - desk.clock()).total_seconds() == 7
    waiting = [r for r in await desk.outbox(kind="agent") if r.payload["event"] == "handoff_requested"]
    assert all(r.delivered_at is None and r.attempts == 0 and r.last_error is None for r in waiting), (
        "the notices wait behind their ticket's post, not even tried"
    )

    # Still down, now with 500s from a proxy.
    fake_slack.recover()
    fake_slack.fail("chat.postMessage", status=500, times=None)
    for _ in range(3):
        desk.clock.advance(seconds=30)
        await desk.delivery.run_once()
    created = [r for r in await desk.outbox(kind="agent") if r.payload["event"] == "ticket_created"]
    assert all(r.delivered_at is None and r.attempts >= 1 and r.dead_at is None for r in created)
    assert all("HTTP 500" in (r.last_error or "") for r in created)  # a transport failure: retried
    assert fake_slack.messages == []

    fake_slack.recover()
    for _ in range(5):
        desk.clock.advance(minutes=5)
        await desk.deliver()
    rows = await desk.outbox(kind="agent")
    assert all(r.delivered_at is not None for r in rows), [(r.payload, r.last_error) for r in rows]

    for ticket_id in ticket_ids:
        [root] = fake_slack.ticket_posts(TIER1, ticket_id)
        posts = await desk.posts(ticket_id)
        assert posts[1].ts == root.ts
        [notice] = fake_slack.thread(TIER1, root.ts)
        assert "asked to talk to a person" in notice.text
    posted = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("blocks")]
    assert len(posted) == 3

    # A crash after posting, before the row was marked delivered: the retry must not post again.
    first = next(r for r in rows if r.payload["event"] == "ticket_created")
    async with desk.services.db.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == first.id)
            .values(delivered_at=None, next_attempt_at=desk.clock())
        )
    calls = len(fake_slack.calls)
    await desk.deliver()  # (or the app's own delivery job: either way the row is sent once more)

    async def redelivered() -> bool:
        [again] = [r for r in await desk.outbox(kind="agent") if r.id == first.id]
        return again.delivered_at is not None

    await eventually(redelivered, what="the replayed row to be marked delivered")
    assert [c.method for c in fake_slack.calls[calls:]] == []
    assert len(fake_slack.ticket_posts(TIER1, ticket_ids[0])) == 1


async def test_two_workers_with_the_same_row_post_once(desk: Desk, fake_slack: FakeSlack) -> None:
    """A lease that ran out during a slow Slack: two workers hold the same row at once."""
    ticket_id = await desk.open_ticket()
    [row] = [r for r in await desk.outbox(kind="agent") if r.payload["event"] == "ticket_created"]
    fake_slack.slow("chat.postMessage", 0.3)
    send = desk.delivery.senders["agent"]
    await asyncio.gather(send(row), send(row), send(row))
    assert len(fake_slack.ticket_posts(TIER1, ticket_id)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    posts = await desk.posts(ticket_id)
    assert posts[1].ts == fake_slack.ticket_posts(TIER1, ticket_id)[0].ts


# SQLite deployments run one process: several replicas are a PostgreSQL matter.
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_replicas_with_the_same_row_post_once(desk: Desk, fake_slack: FakeSlack) -> None:
    """Two processes (separate notifiers, no shared lock) on PostgreSQL: the post's row lock decides."""
    assert not desk.services.db.is_sqlite
    ticket_id = await desk.open_ticket()
    [row] = [r for r in await desk.outbox(kind="agent") if r.payload["event"] == "ticket_created"]
    fake_slack.slow("chat.postMessage", 0.3)
    slack = slack_desk(desk.asgi)
    replicas = [Notifier(slack.client, desk.services) for _ in range(3)]
    await asyncio.gather(*(replica.send(row) for replica in replicas))
    assert len(fake_slack.ticket_posts(TIER1, ticket_id)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
