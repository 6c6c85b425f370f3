"""The desk rules on both databases: tickets and their trail, maintenance windows, policy errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from bot.notices import render
from bot.services import Services
from desk import maintenance
from desk.maintenance import MaintenanceError
from desk.policy import SHIPPED_POLICY, PolicyError, load_policy, parse_policy
from desk.serialize import ticket_json
from desk.ticket_transitions import TicketError
from desk.tickets import NewTicket
from storage.models import Customer, OutboxMessage, Ticket, TicketEvent
from tests.helpers import TICKET_KEYS, FrozenClock

PP = ZoneInfo("Asia/Phnom_Penh")
STEPS = [{"step": "Have you restarted the application?", "answer": "yes"}]


def pp(*args: int) -> datetime:
    return datetime(*args, tzinfo=PP)  # type: ignore[misc]


def new(category: str = "technical", priority: str = "high", **extra: Any) -> NewTicket:
    return NewTicket(
        category=category,
        priority=priority,
        channel="webchat",
        description="The ERP crashes when we print invoices.",
        subject="The ERP crashes when we print invoices.",
        troubleshooting=list(STEPS),
        **extra,
    )


async def open_ticket(services: Services, clock: FrozenClock, ticket: NewTicket | None = None) -> int:
    async with services.db.session() as session:
        customer = (
            await session.execute(select(Customer).where(Customer.external_id == "cust-1"))
        ).scalar_one_or_none()
        if customer is None:
            customer = Customer(
                channel="webchat",
                external_id="cust-1",
                name="Sokha Chan",
                email="sokha@example.com",
                phone="012345678",
                created_at=clock(),
            )
            session.add(customer)
            await session.flush()
        opened = await services.tickets.open(session, customer=customer, new=ticket or new(), now=clock())
        return opened.id


async def outbox(services: Services, ticket_id: int) -> list[OutboxMessage]:
    async with services.db.reader() as session:
        query = select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id).order_by(OutboxMessage.id)
        return list((await session.execute(query)).scalars())


async def events(services: Services, ticket_id: int) -> list[TicketEvent]:
    async with services.db.reader() as session:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return list((await session.execute(query)).scalars())


async def load(services: Services, ticket_id: int) -> Ticket:
    async with services.db.reader() as session:
        ticket = await services.tickets.get(session, ticket_id, with_events=True)
        assert ticket is not None
        return ticket


# -- tickets -------------------------------------------------------------------------------------------


async def test_open_writes_event_and_tier1_notice(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    ticket = await load(services, ticket_id)
    assert (ticket.status, ticket.tier, ticket.priority, ticket.category) == ("open", 1, "high", "technical")
    assert ticket.created_at == clock()
    assert ticket.response_due_at == pp(2026, 11, 30, 14, 0)  # Mon 10:00 + 4 business hours
    assert ticket.warn_due_at == pp(2026, 11, 30, 13, 0)
    assert ticket.troubleshooting == STEPS
    assert ticket.first_response_at is None
    [created] = ticket.events
    assert created.kind == "created"
    assert created.actor == f"customer:{ticket.customer_id}"
    assert created.data["priority"] == "high"
    assert datetime.fromisoformat(created.data["response_due_at"]) == ticket.response_due_at
    [notice] = await outbox(services, ticket_id)
    assert (notice.kind, notice.target) == ("agent", "#support-tier1")
    assert notice.payload == {"event": "ticket_created", "ticket_id": ticket_id}
    assert services.tickets.sla_state(ticket, clock()) == "running"


async def test_critical_outside_hours_pages_on_call(services: Services, clock: FrozenClock) -> None:
    clock.set(pp(2026, 12, 5, 22, 0))  # Saturday night
    critical = await open_ticket(services, clock, new(priority="critical"))
    targets = [(o.target, o.payload["event"]) for o in await outbox(services, critical)]
    assert targets == [("#support-tier1", "ticket_created"), ("#support-tier2", "on_call")]
    ticket = await load(services, critical)
    assert ticket.response_due_at == pp(2026, 12, 5, 23, 0)  # 24x7: one hour later

    high = await open_ticket(services, clock, new(priority="high"))
    assert [o.target for o in await outbox(services, high)] == ["#support-tier1"]
    assert (await load(services, high)).response_due_at == pp(2026, 12, 7, 12, 0)


async def test_critical_inside_hours_does_not_page(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock, new(priority="critical"))
    assert [o.target for o in await outbox(services, ticket_id)] == ["#support-tier1"]


async def test_acknowledge(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    clock.advance(minutes=30)
    async with services.db.session() as session:
        await services.tickets.acknowledge(session, ticket_id, actor="agent:U1", now=clock())
    ticket = await load(services, ticket_id)
    assert ticket.status == "acknowledged"
    assert ticket.first_response_at == clock()
    assert services.tickets.sla_state(ticket, clock()) == "met"
    clock.advance(days=3)  # met stays met
    assert services.tickets.sla_state(ticket, clock()) == "met"
    assert ticket.events[-1].kind == "acknowledged"
    assert ticket.events[-1].data == {"sla_state": "met"}
    customer_rows = [o for o in await outbox(services, ticket_id) if o.kind == "customer"]
    [row] = customer_rows
    assert row.target == "webchat:cust-1"
    assert render(row.payload, services.policy)["text"] == (
        f"Good news: an engineer has picked up your ticket #{ticket_id}."
    )

    # A second acknowledgement is refused: the first response time stays, the customer is told once.
    first = ticket.first_response_at
    clock.advance(minutes=5)
    with pytest.raises(TicketError, match="already acknowledged"):
        async with services.db.session() as session:
            await services.tickets.acknowledge(session, ticket_id, actor="agent:U2", now=clock())
    assert (await load(services, ticket_id)).first_response_at == first
    assert len([o for o in await outbox(services, ticket_id) if o.kind == "customer"]) == 1


async def test_acknowledge_after_the_deadline_is_breached(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    clock.set(pp(2026, 11, 30, 13, 30))
    assert services.tickets.sla_state(await load(services, ticket_id), clock()) == "warning"
    clock.set(pp(2026, 11, 30, 15, 0))
    assert services.tickets.sla_state(await load(services, ticket_id), clock()) == "breached"
    async with services.db.session() as session:
        await services.tickets.acknowledge(session, ticket_id, actor="agent:U1", now=clock())
    ticket = await load(services, ticket_id)
    assert services.tickets.sla_state(ticket, clock()) == "breached"
    assert ticket.events[-1].data == {"sla_state": "breached"}


async def test_escalate_up_to_the_top_tier(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    for to_tier in (2, 3):
        async with services.db.session() as session:
            ticket = await services.tickets.escalate(
                session, ticket_id, actor="agent:U1", now=clock(), reason="needs a specialist"
            )
            assert ticket.tier == to_tier
    with pytest.raises(TicketError, match="top tier"):
        async with services.db.session() as session:
            await services.tickets.escalate(session, ticket_id, actor="agent:U1", now=clock())
    ticket = await load(services, ticket_id)
    assert ticket.tier == 3
    escalations = [e.data for e in ticket.events if e.kind == "escalated"]
    # Unanswered, so each tier gets the full response target (high: 4 business hours) from now.
    due = services.tickets.clock.deadline(priority=ticket.priority, created=clock()).isoformat()
    assert escalations == [
        {"from_tier": 1, "to_tier": 2, "reason": "needs a specialist", "response_due_at": due},
        {"from_tier": 2, "to_tier": 3, "reason": "needs a specialist", "response_due_at": due},
    ]
    assert ticket.response_due_at.isoformat() == due
    notices = [(o.target, o.payload["event"]) for o in await outbox(services, ticket_id)]
    assert notices == [
        ("#support-tier1", "ticket_created"),
        ("#support-tier2", "ticket_escalated"),
        ("#support-tier3", "ticket_escalated"),
    ]


async def test_resolve_and_reopen_rules(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    with pytest.raises(TicketError, match="not resolved"):
        async with services.db.session() as session:
            await services.tickets.reopen(session, ticket_id, actor="agent:U1", now=clock())

    clock.advance(hours=1)
    async with services.db.session() as session:
        await services.tickets.resolve(session, ticket_id, actor="agent:U1", now=clock(), note="Patched.")
    ticket = await load(services, ticket_id)
    assert ticket.status == "resolved"
    assert ticket.resolved_at == clock()
    rows = await outbox(services, ticket_id)
    told = [render(o.payload, services.policy)["text"] for o in rows if o.kind == "customer"]
    assert told == [f"Your ticket #{ticket_id} has been resolved. Patched."]

    for change in (services.tickets.resolve, services.tickets.acknowledge, services.tickets.escalate):
        with pytest.raises(TicketError, match="resolved"):
            async with services.db.session() as session:
                await change(session, ticket_id, actor="agent:U1", now=clock())

    clock.advance(hours=1)
    async with services.db.session() as session:
        await services.tickets.reopen(
            session, ticket_id, actor="customer:1", now=clock(), reason="back again"
        )
    ticket = await load(services, ticket_id)
    assert ticket.status == "open"
    assert ticket.resolved_at is None
    assert [o.payload["event"] for o in await outbox(services, ticket_id) if o.kind == "agent"][-1] == (
        "ticket_reopened"
    )


async def test_missing_ticket_is_an_error(services: Services, clock: FrozenClock) -> None:
    for change in (
        services.tickets.acknowledge,
        services.tickets.escalate,
        services.tickets.resolve,
        services.tickets.reopen,
    ):
        with pytest.raises(TicketError, match="does not exist"):
            async with services.db.session() as session:
                await change(session, 424242, actor="agent:U1", now=clock())


async def test_every_change_is_audited_in_order(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    changes = [
        (services.tickets.acknowledge, {}),
        (services.tickets.escalate, {"reason": "hard"}),
        (services.tickets.escalate, {"reason": "harder"}),
        (services.tickets.resolve, {"note": "done"}),
        (services.tickets.reopen, {"reason": "not done"}),
        (services.tickets.resolve, {}),
    ]
    for n, (change, extra) in enumerate(changes):
        clock.advance(minutes=5)
        async with services.db.session() as session:
            await change(session, ticket_id, actor=f"agent:U{n}", now=clock(), **extra)
    trail = await events(services, ticket_id)
    assert [e.kind for e in trail] == [
        "created",
        "acknowledged",
        "escalated",
        "escalated",
        "resolved",
        "reopened",
        "resolved",
    ]
    assert [e.actor for e in trail[1:]] == [f"agent:U{n}" for n in range(len(changes))]
    times = [e.at for e in trail]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)


async def test_ticket_json_has_the_contract_keys(services: Services, clock: FrozenClock) -> None:
    ticket_id = await open_ticket(services, clock)
    clock.advance(minutes=20)
    async with services.db.session() as session:
        await services.tickets.acknowledge(session, ticket_id, actor="agent:U1", now=clock())
        await services.tickets.resolve(session, ticket_id, actor="agent:U1", now=clock())
    ticket = await load(services, ticket_id)
    out = ticket_json(ticket, service=services.tickets, now=clock())
    json.dumps(out)  # plain JSON
    assert TICKET_KEYS <= set(out)
    assert set(out["customer"]) >= {"id", "name", "email", "phone"}
    assert out["customer"]["email"] == "sokha@example.com"
    assert out["category"] in ("technical", "billing", "infrastructure", "security")
    assert out["priority"] in ("critical", "high", "medium", "low")
    assert out["status"] == "resolved"
    assert out["tier"] == 1
    assert out["channel"] == "webchat"
    assert out["troubleshooting"] == [{**s, "note": None} for s in STEPS]  # no words: a null note
    assert out["exclusion"] is None
    assert out["sentiment"] is None
    assert out["sla_state"] == "met"
    for key in ("created_at", "response_due_at", "first_response_at", "resolved_at"):
        value = datetime.fromisoformat(out[key])
        assert value.utcoffset() is not None, key
    assert datetime.fromisoformat(out["response_due_at"]) == pp(2026, 11, 30, 14, 0)
    assert [e["kind"] for e in out["events"]] == ["created", "acknowledged", "resolved"]
    for event in out["events"]:
        assert set(event) == {"at", "kind", "actor", "data"}
        assert datetime.fromisoformat(event["at"]).utcoffset() is not None

    unanswered = await load(services, await open_ticket(services, clock))
    out = ticket_json(unanswered, service=services.tickets, now=clock())
    assert out["first_response_at"] is None and out["resolved_at"] is None
    assert out["sla_state"] == "running"


# -- maintenance ---------------------------------------------------------------------------------------


async def test_maintenance_validation(services: Services, clock: FrozenClock) -> None:
    now = clock()
    bad = [
        (now + timedelta(hours=2), now + timedelta(hours=1), "Upgrade", "after the start"),
        (now + timedelta(hours=1), now + timedelta(hours=1), "Upgrade", "after the start"),
        (now - timedelta(hours=3), now - timedelta(hours=1), "Upgrade", "already over"),
        (now + timedelta(hours=1), now + timedelta(hours=2), "   ", "what the maintenance"),
    ]
    for starts_at, ends_at, message, error in bad:
        with pytest.raises(MaintenanceError, match=error):
            async with services.db.session() as session:
                await maintenance.schedule(
                    session, starts_at=starts_at, ends_at=ends_at, message=message, created_by="t", now=now
                )
    async with services.db.reader() as session:
        assert await maintenance.current_and_upcoming(session, now) == []


async def test_active_window_links_infrastructure_tickets(services: Services, clock: FrozenClock) -> None:
    now = clock()
    async with services.db.session() as session:
        window = await maintenance.schedule(
            session,
            starts_at=now - timedelta(minutes=30),
            ends_at=now + timedelta(hours=1),
            message="  Database upgrade  ",
            created_by="manager:U1",
            now=now,
        )
        window_id = window.id
        assert window.message == "Database upgrade"
    infra = await load(services, await open_ticket(services, clock, new(category="infrastructure")))
    assert infra.maintenance_id == window_id
    assert infra.events[0].data["maintenance_id"] == window_id
    technical = await load(services, await open_ticket(services, clock, new(category="technical")))
    assert technical.maintenance_id is None

    clock.advance(hours=2)  # the window is over
    later = await load(services, await open_ticket(services, clock, new(category="infrastructure")))
    assert later.maintenance_id is None


async def test_cancelled_window_is_not_active(services: Services, clock: FrozenClock) -> None:
    now = clock()
    async with services.db.session() as session:
        window = await maintenance.schedule(
            session,
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=1),
            message="Upgrade",
            created_by="t",
            now=now,
        )
        await maintenance.cancel(session, window.id, now=now)
    infra = await load(services, await open_ticket(services, clock, new(category="infrastructure")))
    assert infra.maintenance_id is None
    with pytest.raises(MaintenanceError):
        async with services.db.session() as session:
            await maintenance.cancel(session, window.id, now=now)


# -- policy --------------------------------------------------------------------------------------------


def _policy_data() -> dict[str, Any]:
    data = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


BASE = _policy_data()


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def test_shipped_policy_is_valid() -> None:
    policy = parse_policy(copy.deepcopy(BASE))
    assert policy.sla.priorities["high"].response == timedelta(hours=4)
    assert policy.escalation.tiers[1].slack_channel == "#support-tier1"


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (
            lambda d: d["sla"]["priorities"]["high"].update(response="4 hours"),
            ["sla.priorities.high.response", "4 hours"],
        ),
        (lambda d: d["sla"]["priorities"]["low"].update(response="0h"), ["sla.priorities.low.response"]),
        (lambda d: d["categories"].pop("security"), ["categories", "security"]),
        (lambda d: d["working_hours"].update(funday=["08:00", "18:00"]), ["working_hours", "funday"]),
        (lambda d: d["working_hours"].pop("sun"), ["working_hours", "sun"]),
        (lambda d: d.update(timezone="Mars/Olympus_Mons"), ["timezone", "Mars/Olympus_Mons"]),
        (lambda d: d["sla"]["priorities"].pop("medium"), ["sla.priorities", "medium"]),
        (lambda d: d["sla"]["priorities"]["high"].update(clock="sometimes"), ["sla.priorities.high.clock"]),
        (lambda d: d.update(colour="blue"), ["colour", "not a known key"]),
        (lambda d: d["working_hours"].update(mon=["18:00", "08:00"]), ["working_hours", "mon"]),
    ],
)
def test_policy_errors_name_the_key(change: Any, names: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(broken(change), source="policy.yml")
    message = str(caught.value)
    assert message.startswith("policy.yml: ")
    for name in names:
        assert name in message, message
    assert "\n" not in message


def test_policy_must_be_a_mapping() -> None:
    with pytest.raises(PolicyError, match="mapping"):
        parse_policy(["not", "a", "mapping"])


def test_load_policy_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(PolicyError, match="SUPPORTBOT_POLICY") as caught:
        load_policy(missing)
    assert "nope.yml" in str(caught.value)


def test_load_policy_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("timezone: [Asia/Phnom_Penh\nsla: {", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(path)


def test_load_policy_names_the_key_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    data = broken(lambda d: d["sla"]["priorities"]["critical"].update(response="soon"))
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"sla\.priorities\.critical\.response"):
        load_policy(path)
    assert load_policy(SHIPPED_POLICY).timezone == "Asia/Phnom_Penh"


def test_iso_times_round_trip_in_utc() -> None:
    """A sanity check of the serializer helper on its own."""
    from desk.serialize import iso

    assert iso(None) is None
    assert iso(datetime(2026, 11, 30, 3, 0, tzinfo=UTC)) == "2026-11-30T03:00:00+00:00"
