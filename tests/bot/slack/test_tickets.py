"""Tickets in Slack: the Block Kit post, Acknowledge / Escalate / Resolve, SLA notices in the thread,
on-call and managers' posts (docs/reference.md section 7)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from desk import outbox
from desk.sweep import sweep
from tests.bot.slack.conftest import (
    AGENT,
    MANAGERS,
    TIER1,
    TIER2,
    Desk,
    eventually,
    payload_of,
)
from tests.bot.slack.fake_slack import WORKSPACE, FakeSlack, Message

ERP = "our ERP keeps crashing since this morning, this is critical"


def actions(message: Message) -> list[str]:
    return message.action_ids()


def fields_text(message: Message) -> str:
    [fields] = [b["fields"] for b in message.blocks if b.get("type") == "section" and "fields" in b]
    return "\n".join(f["text"] for f in fields)


def context_text(message: Message) -> str:
    return "\n".join(e["text"] for b in message.blocks if b.get("type") == "context" for e in b["elements"])


async def report_erp_outage(desk: Desk, sender: str) -> int:
    """The scripted web chat customer (REST channel): critical ERP outage, four checks, contact, open."""
    replies = await desk.say(sender, ERP)
    replies = await desk.say(sender, payload_of(replies, "Critical"))
    for answer in ("Yes", "Yes", "Yes", "No"):
        replies = await desk.say(sender, payload_of(replies, answer))
    await desk.say(sender, "Sokha Chan")
    replies = await desk.say(sender, "sokha@example.com")
    replies = await desk.say(sender, payload_of(replies, "Open the ticket"))
    match = re.search(r"ticket #(\d+)", "\n".join(r["text"] for r in replies))
    assert match, replies
    return int(match.group(1))


async def test_a_web_chat_ticket_is_posted_to_tier1_with_buttons_and_a_date_token(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    ticket_id = await report_erp_outage(desk, "web-erp")
    assert await desk.deliver() >= 1

    [post] = fake_slack.ticket_posts(TIER1, ticket_id)
    ticket = await desk.ticket(ticket_id)
    assert post.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"#{ticket_id} Technical issue · Critical"},
    }
    assert actions(post) == [
        "ticket_ack",
        "ticket_escalate",
        "ticket_resolve",
        "ticket_take",
        "ticket_waiting",
    ]
    [resolve] = [
        e
        for b in post.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ticket_resolve"
    ]
    assert resolve["value"] == str(ticket_id) and "confirm" in resolve
    [ack] = [
        e
        for b in post.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ticket_ack"
    ]
    assert ack["style"] == "primary"
    fields = fields_text(post)
    created = int(ticket.created_at.timestamp())
    due = int(ticket.response_due_at.timestamp())
    assert (
        f"<!date^{created}^{{date_short_pretty}} {{time}}|Mon 30 Nov 2026, 10:00 (Phnom Penh time)>" in fields
    )
    assert f"<!date^{due}^{{date_short_pretty}} {{time}}|Mon 30 Nov 2026, 11:00 (Phnom Penh time)>" in fields
    assert "Sokha Chan" in fields and "sokha@example.com" in fields
    assert "*Tier*\n1 · Frontline support" in fields and "Web chat" in fields
    text = post.all_text()
    assert "our ERP keeps crashing" in text
    assert "Have you restarted the application" in text and "*Troubleshooting*" in text
    assert post.text.startswith(f"#{ticket_id} Technical issue · Critical: ")

    posts = await desk.posts(ticket_id)
    assert set(posts) == {1}
    assert (posts[1].channel, posts[1].ts) == (post.channel, post.ts)
    assert post.channel == fake_slack.channel_id(TIER1)
    # Delivered once: more delivery runs post nothing more.
    await desk.deliver()
    assert len(fake_slack.ticket_posts(TIER1, ticket_id)) == 1


async def test_exclusion_and_customer_text_are_shown_escaped(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(
        description="<!channel> my printer & scanner <http://evil.example|click>", exclusion="hardware"
    )
    await desk.deliver()
    [post] = fake_slack.ticket_posts(TIER1, ticket_id)
    text = post.all_text()
    assert "&lt;!channel&gt; my printer &amp; scanner &lt;http://evil.example|click&gt;" in text
    assert "<!channel>" not in text
    assert "Possibly outside standard support" in text and "Hardware not part of our service" in text


async def test_acknowledge_stops_the_clock_updates_the_post_and_tells_the_customer(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    ticket_id = await desk.open_ticket(sender="web-ack")
    await desk.deliver()
    root = await desk.root(ticket_id)
    desk.clock.advance(minutes=20)

    await desk.press(root, "ticket_ack")

    ticket = await eventually(lambda: _answered(desk, ticket_id), what="the first response to be recorded")
    assert ticket.first_response_at == desk.clock()
    assert ticket.status == "acknowledged"
    assert desk.services.tickets.sla_state(ticket, desk.clock()) == "met"
    [event] = [e for e in ticket.events if e.kind == "acknowledged"]
    assert event.actor == f"slack:{AGENT}"

    root = await eventually(lambda: _updated(desk, ticket_id), what="the post to be updated")
    assert "ticket_ack" not in actions(root)
    assert actions(root) == ["ticket_escalate", "ticket_resolve", "ticket_take", "ticket_waiting"]
    assert f"Acknowledged by <@{AGENT}>" in context_text(root)
    assert "Acknowledged" in fields_text(root) and "met" in fields_text(root)
    texts = await eventually(lambda: desk.customer_texts("webchat:web-ack"), what="the customer's notice")
    assert texts == [f"Good news: an engineer has picked up your ticket #{ticket_id}."]

    # A colleague's stale Acknowledge button: told so, and the customer is not told twice.
    await desk.click(root, "ticket_ack", str(ticket_id), user="U0OTHER")
    [told] = await eventually(lambda: fake_slack.ephemerals, what="the ephemeral answer")
    assert told["user"] == "U0OTHER" and f"ticket #{ticket_id} is already acknowledged" in told["text"]
    await desk.deliver()
    assert len(await desk.customer_texts("webchat:web-ack")) == 1
    assert len(await desk.events(ticket_id, "acknowledged")) == 1


async def _answered(desk: Desk, ticket_id: int) -> Any:
    ticket = await desk.ticket(ticket_id)
    return ticket if ticket.first_response_at is not None else None


async def _updated(desk: Desk, ticket_id: int) -> Message | None:
    root = await desk.root(ticket_id)
    return root if root.updates else None


async def test_escalate_posts_in_tier2_with_a_link_to_the_original_thread(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    ticket_id = await desk.open_ticket(sender="web-esc")
    await desk.deliver()
    root = await desk.root(ticket_id)

    await desk.press(root, "ticket_escalate")

    # The note in the original thread is the escalation's last step.
    notes = await eventually(
        lambda: fake_slack.thread(TIER1, root.ts), what="the note in the original thread"
    )
    [moved] = fake_slack.ticket_posts(TIER2, ticket_id)
    permalink = f"{WORKSPACE}/archives/{root.channel}/p{root.ts.replace('.', '')}"
    assert f"<{permalink}|original thread>" in context_text(moved)
    assert f"Escalated from tier 1 by <@{AGENT}>" in context_text(moved)
    assert actions(moved) == [
        "ticket_ack",
        "ticket_escalate",
        "ticket_resolve",
        "ticket_take",
        "ticket_waiting",
    ]
    assert "*Tier*\n2 · Specialized technicians" in fields_text(moved)
    posts = await desk.posts(ticket_id)
    assert posts[2].ts == moved.ts and posts[2].channel == fake_slack.channel_id(TIER2)

    ticket = await desk.ticket(ticket_id)
    assert ticket.tier == 2
    assert [e.actor for e in ticket.events if e.kind == "escalated"] == [f"slack:{AGENT}"]
    assert any(
        "Escalated to tier 2 (Specialized technicians)" in n.text and f"<#{moved.channel}>" in n.text
        for n in notes
    )
    root = await desk.root(ticket_id)
    assert actions(root) == [], "the tier-1 post no longer offers buttons"
    assert "Escalated to tier 2" in context_text(root)


async def test_resolve_removes_the_buttons_and_tells_the_customer(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(sender="web-res")
    await desk.deliver()
    root = await desk.root(ticket_id)

    await desk.press(root, "ticket_resolve")

    await eventually(lambda: _status(desk, ticket_id, "resolved"), what="the ticket to be resolved")
    root = await eventually(lambda: _updated(desk, ticket_id), what="the post to be updated")
    assert actions(root) == []
    assert f"Resolved by <@{AGENT}>" in context_text(root)
    texts = await eventually(lambda: desk.customer_texts("webchat:web-res"), what="the customer's notice")
    assert texts[-1].startswith(f"Your ticket #{ticket_id} has been resolved.")
    ticket = await desk.ticket(ticket_id)
    assert [e.actor for e in ticket.events if e.kind == "resolved"] == [f"slack:{AGENT}"]

    # A stale client still shows Acknowledge: the press is refused, ephemerally, with the reason.
    await desk.click(root, "ticket_ack", str(ticket_id), user="U0OTHER")
    [refusal] = await eventually(lambda: fake_slack.ephemerals, what="the ephemeral refusal")
    assert refusal["user"] == "U0OTHER" and refusal["channel"] == root.channel
    assert f"ticket #{ticket_id} is resolved" in refusal["text"]
    assert (await desk.ticket(ticket_id)).status == "resolved"


async def test_a_refresh_that_read_the_ticket_earlier_never_sends_its_older_state_last(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Resolve button's own delivery reads the ticket, then stalls (a slow reader); meanwhile
    the ticket is reopened and that refresh goes out. The stalled one must not put the resolved
    post, without buttons, back on top."""
    ticket_id = await desk.open_ticket(sender="web-race")
    await desk.deliver()
    notifier = desk.delivery.senders["agent"].__self__.notifier
    read_ticket = notifier.load
    stalled, go_on = asyncio.Event(), asyncio.Event()

    async def first_read_stalls(ticket_id: int) -> Any:
        loaded = await read_ticket(ticket_id)
        if not stalled.is_set():
            stalled.set()
            await go_on.wait()
        return loaded

    monkeypatch.setattr(notifier, "load", first_read_stalls)
    await desk.press(await desk.root(ticket_id), "ticket_resolve")
    await asyncio.wait_for(stalled.wait(), 10)  # the listener's delivery has read "resolved"
    async with desk.services.db.session() as session:
        await desk.services.tickets.reopen(
            session, ticket_id, actor="customer:1", now=desk.clock(), reason="still broken"
        )
    reopened = asyncio.create_task(desk.deliver())
    await asyncio.sleep(0.3)
    go_on.set()
    await reopened
    await eventually(
        lambda: _all_sent(desk), what="every notice of the ticket delivered, the stalled one included"
    )
    root = await desk.root(ticket_id)
    assert actions(root) == [
        "ticket_ack",
        "ticket_escalate",
        "ticket_resolve",
        "ticket_take",
        "ticket_waiting",
    ]
    assert "Reopened by the customer" in context_text(root)


async def _all_sent(desk: Desk) -> bool:
    return all(row.delivered_at is not None for row in await desk.outbox(kind="agent"))


async def _status(desk: Desk, ticket_id: int, status: str) -> bool:
    return (await desk.ticket(ticket_id)).status == status


async def test_sla_reminder_and_breach_go_to_the_thread(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(sender="web-sla")  # critical: 1 h, around the clock
    await desk.deliver()
    root = await desk.root(ticket_id)
    ticket = await desk.ticket(ticket_id)
    due = int(ticket.response_due_at.timestamp())

    desk.clock.advance(minutes=46)
    await sweep(desk.services.db, tickets=desk.services.tickets, now=desk.clock())
    await desk.deliver()
    [reminder] = fake_slack.thread(TIER1, root.ts)
    assert reminder.text.startswith("<!here> #support-tier1:")
    assert f"<!date^{due}^" in reminder.text and "no first response" in reminder.text
    assert reminder.reply_broadcast

    desk.clock.advance(minutes=15)
    await sweep(desk.services.db, tickets=desk.services.tickets, now=desk.clock())
    await desk.deliver()
    thread = fake_slack.thread(TIER1, root.ts)
    breach = [m for m in thread if "SLA breached" in m.text]
    assert len(breach) == 1 and "escalated to tier 2" in breach[0].text
    assert len(fake_slack.ticket_posts(TIER2, ticket_id)) == 1
    # The tier-1 post says where the ticket went; tier 2 has the priority's full target from now.
    assert "Escalated to tier 2 by the SLA clock" in context_text(await desk.root(ticket_id))


async def test_a_critical_ticket_out_of_hours_goes_on_call_with_a_link(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    desk.clock.set(datetime(2026, 12, 5, 14, 0, tzinfo=UTC))  # Saturday 21:00 in Phnom Penh
    ticket_id = await desk.open_ticket()
    await desk.deliver()
    root = await desk.root(ticket_id)
    [call] = [m for m in fake_slack.posts(TIER2) if "outside working hours" in m.text]
    assert f"#{ticket_id}" in call.text and "<!here>" in call.text
    assert f"{WORKSPACE}/archives/{root.channel}/p{root.ts.replace('.', '')}" in call.text


async def test_managers_get_plain_posts(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket()
    await desk.deliver()
    now = desk.clock()
    async with desk.services.db.session() as session:
        for payload in (
            {"event": "digest", "text": "I One Tech Solutions support digest (today)\nOpen tickets: 1"},
            {
                "event": "low_rating",
                "ticket_id": ticket_id,
                "rating": 1,
                "text": f"Low rating for ticket #{ticket_id}: 1 ★.",
            },
            {
                "event": "sla_breach_top_tier",
                "ticket_id": ticket_id,
                "text": f"Ticket #{ticket_id} (critical) missed its response deadline at the top tier.",
            },
        ):
            outbox.enqueue(
                session,
                kind=outbox.AGENT,
                target=MANAGERS,
                payload=payload,
                now=now,
                ticket_id=payload.get("ticket_id"),  # type: ignore[arg-type]
            )
    await desk.deliver()
    digest, low, top = fake_slack.posts(MANAGERS)
    assert "support digest" in digest.text and digest.blocks == []
    assert f"Low rating for ticket #{ticket_id}" in low.text and "|Ticket" in low.text
    assert "missed its response deadline" in top.text


async def test_customer_messages_and_handoff_requests_land_in_the_thread(
    desk: Desk, fake_slack: FakeSlack
) -> None:
    replies = await desk.say("web-handoff", "I want to talk to a person about our ERP, sokha@example.com")
    ticket_id = int(re.search(r"ticket #(\d+)", replies[0]["text"]).group(1))  # type: ignore[union-attr]
    await desk.say("web-handoff", "The invoice total is wrong <!channel>")
    await desk.deliver()
    root = await desk.root(ticket_id)
    thread = [m.text for m in fake_slack.thread(TIER1, root.ts)]
    assert thread[0].startswith(":raising_hand: <!here> The customer asked to talk to a person")
    assert thread[1] == "Customer: The invoice total is wrong &lt;!channel&gt;"


async def test_a_reopened_ticket_gets_its_buttons_back_and_a_note(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket(sender="web-reopen")
    await desk.deliver()
    root = await desk.root(ticket_id)
    await desk.press(root, "ticket_resolve")
    await eventually(lambda: _status(desk, ticket_id, "resolved"), what="the ticket to be resolved")
    async with desk.services.db.session() as session:
        await desk.services.tickets.reopen(
            session, ticket_id, actor="customer:1", now=desk.clock(), reason="still broken"
        )
    await desk.deliver()
    root = await desk.root(ticket_id)
    assert actions(root) == [
        "ticket_ack",
        "ticket_escalate",
        "ticket_resolve",
        "ticket_take",
        "ticket_waiting",
    ]  # open again: pick it up
    assert "Reopened by the customer" in context_text(root)
    notes = [m.text for m in fake_slack.thread(TIER1, root.ts)]
    assert notes == [":arrows_counterclockwise: The ticket was reopened: still broken"]
