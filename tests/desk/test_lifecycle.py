"""The life of a ticket on both databases, with targets of seconds: next-response clocks through the
sweep's reminders, breaches and escalation; waiting on the customer (nudge, auto-resolve); closing,
reopening and the linked follow-up; owners in reminders; round-robin fairness."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.notices import render
from desk import lifecycle, owners
from desk.policy import SHIPPED_POLICY, Policy, parse_policy
from desk.serialize import ticket_json
from desk.sweep import sweep
from desk.ticket_transitions import TicketError
from desk.tickets import NewTicket, TicketService
from storage.db import Database
from storage.models import Conversation, Customer, OutboxMessage, Ticket
from tests.helpers import FrozenClock


def seconds_policy(**lifecycle_keys: Any) -> Policy:
    """Targets of seconds on 24x7 clocks, and the lifecycle in seconds too."""
    data = copy.deepcopy(yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8")))
    data["sla"]["priorities"] = {
        "critical": {"response": "40s", "clock": "24x7"},
        "high": {"response": "80s", "clock": "24x7"},
        "medium": {"response": "160s", "clock": "24x7"},
        "low": {"response": "320s", "clock": "24x7"},
    }
    data["lifecycle"] = {
        "nudge_after": "60s",
        "auto_resolve_after": "120s",
        "close_after": "90s",
        **lifecycle_keys,
    }
    return parse_policy(data)


@pytest.fixture
async def db(db_url: str) -> Any:
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def rules() -> TicketService:
    return TicketService(seconds_policy())


async def open_ticket(
    db: Database,
    rules: TicketService,
    now: datetime,
    *,
    sender: str = "web-1",
    text: str = "VPN drops every 5 min",
) -> int:
    async with db.session() as session:
        customer = Customer(channel="webchat", external_id=sender, created_at=now)
        session.add(customer)
        await session.flush()
        conversation = Conversation(channel="webchat", sender=sender, customer_id=customer.id, state={})
        session.add(conversation)
        await session.flush()
        ticket = await rules.open(
            session,
            customer=customer,
            now=now,
            new=NewTicket(
                category="technical",
                priority="critical",
                channel="webchat",
                description=text,
                subject=text,
                troubleshooting=[],
                conversation_id=conversation.id,
            ),
        )
        return ticket.id


async def load(db: Database, rules: TicketService, ticket_id: int) -> Ticket:
    async with db.reader() as session:
        ticket = await rules.get(session, ticket_id, with_events=True)
        assert ticket is not None
        return ticket


async def as_json(db: Database, rules: TicketService, ticket_id: int, now: datetime) -> dict[str, Any]:
    return ticket_json(await load(db, rules, ticket_id), service=rules, now=now)


async def notices(db: Database, ticket_id: int, kind: str = "agent") -> list[dict[str, Any]]:
    query = select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == kind)
    async with db.reader() as session:
        return [
            {**r.payload, "_key": r.dedupe_key, "_target": r.target}
            for r in (await session.execute(query.order_by(OutboxMessage.id))).scalars()
        ]


async def customer_texts(db: Database, ticket_id: int) -> list[str]:
    """What the customer reads: the notices worded as the sender words them (bot/notices.py)."""
    return [str(render(n, seconds_policy()).get("text")) for n in await notices(db, ticket_id, "customer")]


async def wrote(db: Database, rules: TicketService, ticket_id: int, text: str, now: datetime) -> Any:
    async with db.session() as session:
        return await rules.customer_wrote(session, ticket_id, text=text, actor="customer:1", now=now)


async def answer(db: Database, rules: TicketService, ticket_id: int, now: datetime) -> None:
    async with db.session() as session:
        await rules.record_first_response(session, ticket_id, actor="slack:U0AGENT", now=now)


async def test_each_customer_message_after_an_answer_runs_a_next_response_clock(
    db: Database, rules: TicketService, clock: FrozenClock
) -> None:
    t0 = clock()
    ticket_id = await open_ticket(db, rules, t0)
    await answer(db, rules, ticket_id, t0 + timedelta(seconds=10))
    assert (await as_json(db, rules, ticket_id, t0 + timedelta(seconds=10)))["clock"] is None

    # The customer writes again: the next answer is due in the priority's 40 seconds.
    said = t0 + timedelta(seconds=20)
    result = await wrote(db, rules, ticket_id, "still dropping, now also on my phone hotspot!!", said)
    assert result.next_due == said + timedelta(seconds=40)
    body = await as_json(db, rules, ticket_id, said)
    assert (body["clock"], body["sla_state"], body["response_round"]) == ("next_response", "running", 1)
    assert body["next_response_due_at"] == (said + timedelta(seconds=40)).isoformat()
    # A second message while the clock runs starts nothing new.
    again = await wrote(db, rules, ticket_id, "hello?? anyone", said + timedelta(seconds=5))
    assert again.next_due is None

    # 75% of the target: a reminder for this round; at the deadline: a breach and tier 2.
    result_warn = await sweep(db, tickets=rules, now=said + timedelta(seconds=30))
    assert result_warn.reminded == 1
    assert (await as_json(db, rules, ticket_id, said + timedelta(seconds=30)))["sla_state"] == "warning"
    result_due = await sweep(db, tickets=rules, now=said + timedelta(seconds=40))
    assert (result_due.breached, result_due.escalated) == (1, 1)
    sla = [n for n in await notices(db, ticket_id) if n["event"].startswith("sla_")]
    assert [(n["event"], n["_key"], n["clock"]) for n in sla] == [
        ("sla_reminder", f"sla:reminder:{ticket_id}:r1:1", "next_response"),
        ("sla_breach", f"sla:breach:{ticket_id}:r1:1", "next_response"),
    ]
    assert "latest message has no answer yet" in sla[0]["text"] and sla[0]["mention"] == "<!here>"
    ticket = await load(db, rules, ticket_id)
    assert ticket.tier == 2 and ticket.sla_breaches == 1
    # Tier 2 gets the full target again; the breach stays on record while the new clock runs.
    later = said + timedelta(seconds=41)
    body = await as_json(db, rules, ticket_id, later)
    assert (body["clock"], body["sla_state"], body["sla_breaches"]) == ("next_response", "running", 1)

    # The tier-2 agent answers in time: the clock stops, met; the first round's breach is on record.
    await answer(db, rules, ticket_id, later + timedelta(seconds=5))
    body = await as_json(db, rules, ticket_id, later + timedelta(seconds=5))
    assert (body["clock"], body["sla_state"], body["sla_breaches"]) == (None, "met", 1)
    assert [e["kind"] for e in body["events"]].count("sla_breached") == 1
    assert "next_response" in [e["kind"] for e in body["events"]]
    # The sweep has nothing more to do for it.
    assert (await sweep(db, tickets=rules, now=later + timedelta(hours=1))).breached == 0


async def test_the_owner_is_mentioned_instead_of_the_channel(
    db: Database, rules: TicketService, clock: FrozenClock
) -> None:
    t0 = clock()
    ticket_id = await open_ticket(db, rules, t0)
    async with db.session() as session:
        await lifecycle.set_owner(
            session, tickets=rules, ticket_id=ticket_id, owner="slack:U0AGENT", actor="slack:U0AGENT", now=t0
        )
    await sweep(db, tickets=rules, now=t0 + timedelta(seconds=30))
    await sweep(db, tickets=rules, now=t0 + timedelta(seconds=40))
    sla = [n for n in await notices(db, ticket_id) if n["event"] in ("sla_reminder", "sla_breach")]
    assert [n["mention"] for n in sla] == ["<@U0AGENT>", "<@U0AGENT>"]
    assert all(n["text"].startswith("<@U0AGENT> ") and "<!here>" not in n["text"] for n in sla)
    body = await as_json(db, rules, ticket_id, t0)
    assert body["owner"] == "slack:U0AGENT"
    with pytest.raises(TicketError, match="already owned"):
        async with db.session() as session:
            await lifecycle.set_owner(
                session, tickets=rules, ticket_id=ticket_id, owner="slack:U0AGENT", actor="x", now=t0
            )


async def test_waiting_holds_the_clock_and_the_answer_puts_it_back_on_the_clock(
    db: Database, rules: TicketService, clock: FrozenClock
) -> None:
    t0 = clock()
    ticket_id = await open_ticket(db, rules, t0, sender="web-wait")
    asked = t0 + timedelta(seconds=10)  # 30 s of the 40 s target left
    async with db.session() as session:
        await lifecycle.wait_on_customer(
            session,
            tickets=rules,
            ticket_id=ticket_id,
            question="Which VPN client version do you run?",
            actor="slack:U0AGENT",
            agent_name="Dara",
            now=asked,
        )
    body = await as_json(db, rules, ticket_id, asked + timedelta(seconds=50))
    assert (body["status"], body["clock"], body["sla_state"]) == ("waiting_customer", "paused", "running")
    assert (await customer_texts(db, ticket_id))[-1].startswith(
        f"Dara has a question about your ticket #{ticket_id}: Which VPN client version do you run?"
    )
    # Nothing is due while waiting, even long past the old deadline.
    assert (await sweep(db, tickets=rules, now=asked + timedelta(seconds=50))).total == 0
    async with db.reader() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
        assert conversation.handoff_ticket_id == ticket_id  # the answer reaches the ticket

    answered = asked + timedelta(seconds=55)
    result = await wrote(db, rules, ticket_id, "its v5.2.1 on windows 11, the old one worked fine", answered)
    assert result.resumed and result.next_due == answered + timedelta(seconds=30)
    body = await as_json(db, rules, ticket_id, answered)
    assert (body["status"], body["clock"], body["sla_state"]) == ("open", "first_response", "running")
    assert body["response_due_at"] == (answered + timedelta(seconds=30)).isoformat()
    assert body["waiting_seconds"] == 55 and body["waiting_since"] is None
    # Back on the clock: the reminder comes at the moved warning time.
    assert (await sweep(db, tickets=rules, now=answered + timedelta(seconds=21))).reminded == 1


async def test_silence_nudges_then_resolves_then_closes_and_a_new_message_opens_a_linked_ticket(
    db: Database, rules: TicketService, clock: FrozenClock
) -> None:
    t0 = clock()
    ticket_id = await open_ticket(db, rules, t0, sender="web-silent")
    await answer(db, rules, ticket_id, t0 + timedelta(seconds=5))
    async with db.session() as session:
        await lifecycle.wait_on_customer(
            session,
            tickets=rules,
            ticket_id=ticket_id,
            question="Can you send a screenshot of the error?",
            actor="api:alice",
            agent_name="alice",
            now=t0 + timedelta(seconds=10),
        )
    asked = t0 + timedelta(seconds=10)
    assert (await sweep(db, tickets=rules, now=asked + timedelta(seconds=59))).nudged == 0
    assert (await sweep(db, tickets=rules, now=asked + timedelta(seconds=60))).nudged == 1
    assert (await sweep(db, tickets=rules, now=asked + timedelta(seconds=61))).nudged == 0  # once
    assert "still waiting for your answer" in (await customer_texts(db, ticket_id))[-1]

    resolved = asked + timedelta(seconds=120)
    assert (await sweep(db, tickets=rules, now=resolved)).auto_resolved == 1
    body = await as_json(db, rules, ticket_id, resolved)
    assert (body["status"], body["clock"]) == ("resolved", None)
    assert "We haven't heard back from you for 2 minutes" in (await customer_texts(db, ticket_id))[-1]
    events = [n["event"] for n in await notices(db, ticket_id)]
    assert "customer_nudged" in events and "auto_resolved" in events  # the agents' side hears it too

    closed = resolved + timedelta(seconds=90)
    assert (await sweep(db, tickets=rules, now=closed - timedelta(seconds=1))).closed == 0
    assert (await sweep(db, tickets=rules, now=closed)).closed == 1
    body = await as_json(db, rules, ticket_id, closed)
    assert (body["status"], body["closed_at"]) == ("closed", closed.isoformat())

    # After it closed, the customer's message starts a new ticket linked to the old one.
    result = await wrote(db, rules, ticket_id, "sorry was on holiday, screenshot attached now", closed)
    assert result.followup_of == ticket_id and result.ticket.id != ticket_id
    new = await as_json(db, rules, result.ticket.id, closed)
    old = await as_json(db, rules, ticket_id, closed)
    assert (new["reopened_from"], new["linked_ticket_id"], new["status"]) == (ticket_id, ticket_id, "open")
    assert (old["followup_id"], old["linked_ticket_id"], old["status"]) == (new["id"], new["id"], "closed")
    assert new["description"] == "sorry was on holiday, screenshot attached now"
    assert new["events"][0]["data"]["reopened_from"] == ticket_id


async def test_a_message_about_a_resolved_ticket_reopens_it(
    db: Database, rules: TicketService, clock: FrozenClock
) -> None:
    t0 = clock()
    ticket_id = await open_ticket(db, rules, t0, sender="web-reopen")
    async with db.session() as session:
        await rules.resolve(session, ticket_id, actor="slack:U0AGENT", now=t0 + timedelta(seconds=5))
    result = await wrote(
        db, rules, ticket_id, "nope, it broke again 10 min later", t0 + timedelta(seconds=30)
    )
    assert result.reopened and result.next_due == t0 + timedelta(seconds=70)
    body = await as_json(db, rules, ticket_id, t0 + timedelta(seconds=30))
    assert (body["status"], body["clock"], body["resolved_at"]) == ("open", "next_response", None)
    reopened = [n for n in await notices(db, ticket_id) if n["event"] == "ticket_reopened"]
    assert [n["reason"] for n in reopened] == ["the customer wrote again"]
    # It no longer closes on the old schedule.
    assert (await sweep(db, tickets=rules, now=t0 + timedelta(seconds=200))).closed == 0


async def test_round_robin_hands_tickets_in_turn_to_the_agents_on_shift(
    db: Database, clock: FrozenClock
) -> None:
    rules = TicketService(seconds_policy(round_robin=True))
    t0 = clock()
    async with db.session() as session:
        for n, agent in enumerate(("slack:U0A", "slack:U0B", "slack:U0C", "slack:U0OFF")):
            await owners.set_shift(session, agent=agent, tier=1, on=True, now=t0 + timedelta(seconds=n))
        await owners.set_shift(session, agent="slack:U0T2", tier=2, on=True, now=t0)
    async with db.session() as session:
        await owners.set_shift(session, agent="slack:U0OFF", tier=1, on=False, now=t0 + timedelta(seconds=5))

    ids = [
        await open_ticket(
            db, rules, t0 + timedelta(seconds=10 + n), sender=f"web-rr-{n}", text=f"printer {n}"
        )
        for n in range(30)
    ]
    got = [(await load(db, rules, i)).owner for i in ids]
    assert Counter(got) == {"slack:U0A": 10, "slack:U0B": 10, "slack:U0C": 10}
    assert got[:6] == ["slack:U0A", "slack:U0B", "slack:U0C"] * 2  # in turn, the longest waiting first
    # An agent who comes on shift later is next in line (never assigned), then the turn goes on.
    async with db.session() as session:
        await owners.set_shift(session, agent="slack:U0OFF", tier=1, on=True, now=t0 + timedelta(seconds=60))
    late = await open_ticket(db, rules, t0 + timedelta(seconds=61), sender="web-rr-late")
    assert (await load(db, rules, late)).owner == "slack:U0OFF"
    # Escalated, the ticket goes to the next tier's agent on shift.
    async with db.session() as session:
        await rules.escalate(session, late, actor="slack:U0MANAGER", now=t0 + timedelta(seconds=62))
    assert (await load(db, rules, late)).owner == "slack:U0T2"
