"""Privacy to the last copy: after a customer is forgotten (REST `DELETE /api/customers/{id}`, the
CLI) or purged by retention, no text column of any table holds their email, phone or card number;
the Slack card is redrawn without them; `customers export` gives their data as JSON first.

The PII reaches the tables through the doors it takes in production: the ticket's description,
the customer's messages relayed to agents during a handoff, a manager's escalation reason, a
troubleshooting note and an attachment caption.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

from sqlalchemy import JSON, String, Text, select
from structlog.testing import capture_logs
from typer.testing import CliRunner

from bot import jobs
from bot.cli import app as cli
from bot.delivery import log_agent_notice
from storage.models import Attachment, Base, Conversation, OutboxMessage, Ticket, utcnow
from tests.bot.slack.conftest import Desk, MakeDesk, slack_env
from tests.bot.slack.fake_slack import FakeSlack

TOKEN = "test-api-token-0123456789"
EMAIL = "sokha.chan@example.com"
PHONE = "+855 12 345 678"
CARD = "4111 1111 1111 1111"
# The ways the same data may have been written down.
NEEDLES = [EMAIL, "sokha.chan", PHONE, "12 345 678", "85512345678", "012345678", CARD, "4111111111111111"]


async def pii_columns(desk: Desk) -> dict[str, list[str]]:
    """Every text/JSON column of every table whose value holds one of the NEEDLES: table.column → hits."""
    found: dict[str, list[str]] = {}
    async with desk.services.db.reader() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                    flat = re.sub(r"[\s-]", "", text or "")
                    hits = [n for n in NEEDLES if n in (text or "") or re.sub(r"[\s+-]", "", n) in flat]
                    if hits:
                        found.setdefault(f"{table.name}.{column.name}", []).extend(hits)
    return found


async def desk_with_pii(make_desk: MakeDesk, fake_slack: FakeSlack) -> tuple[Desk, int, int, str]:
    """A customer whose ticket, messages, audit trail, notes and attachment hold their PII."""
    desk = await make_desk(**slack_env(fake_slack, SUPPORTBOT_API_TOKEN=TOKEN))
    sender = "web-privacy-1"
    ticket_id = await desk.open_ticket(
        sender=sender,
        email=EMAIL,
        phone=PHONE,
        description=f"Charged twice on card {CARD}!! call me at {PHONE} or mail {EMAIL}",
    )
    await desk.deliver()
    await desk.say(sender, "/human_handoff")
    await desk.say(sender, f"hello?? still waiting, my number is 012345678 and email {EMAIL}")
    await desk.command(f"escalate {ticket_id} customer asks for a call back on {PHONE}")
    async with desk.services.db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.troubleshooting = [
            *ticket.troubleshooting,
            {"step": "Which account?", "answer": "other", "note": f"the one under {EMAIL}"},
        ]
        [conversation] = (await session.execute(select(Conversation))).scalars()
        conversation.state = {**conversation.state, "email": EMAIL, "phone": PHONE}
        session.add(
            Attachment(
                ticket_id=ticket_id,
                conversation_id=conversation.id,
                channel="webchat",
                kind="photo",
                file_id="AgACAgIAAxkBAAIBQ2",
                file_name="receipt.jpg",
                caption=f"receipt for card {CARD}",
                created_at=desk.clock(),
            )
        )
        customer_id = ticket.customer_id
    await desk.deliver()
    return desk, ticket_id, customer_id, sender


async def test_forget_over_rest_leaves_no_pii_in_any_table(
    make_desk: MakeDesk, fake_slack: FakeSlack, db_url: str
) -> None:
    desk, ticket_id, customer_id, _ = await desk_with_pii(make_desk, fake_slack)
    before = await pii_columns(desk)
    assert {
        "customers.email",
        "tickets.description",
        "ticket_events.data",
        "outbox.payload",
        "attachments.caption",
    } <= set(before), before
    root = await desk.root(ticket_id)
    assert EMAIL in root.all_text()

    env = {"DATABASE_URL": db_url, "SUPPORTBOT_LOG_LEVEL": "WARNING"}
    exported = await asyncio.to_thread(
        CliRunner().invoke, cli, ["customers", "export", str(customer_id)], env=env
    )
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.output)
    assert data["customer"]["email"] == EMAIL and data["customer"]["phone"] == PHONE
    assert [t["id"] for t in data["tickets"]] == [ticket_id]
    assert data["attachments"][0]["caption"] == f"receipt for card {CARD}"

    assert (await desk.http.delete(f"/api/customers/{customer_id}")).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert (await desk.http.delete(f"/api/customers/{customer_id}", headers=wrong)).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await desk.http.delete("/api/customers/987654", headers=auth)).status_code == 404
    assert (await desk.http.delete("/api/customers/abc", headers=auth)).status_code == 422
    answer = await desk.http.delete(f"/api/customers/{customer_id}", headers=auth)
    assert answer.status_code == 204 and answer.content == b""

    assert await pii_columns(desk) == {}
    await desk.deliver()
    root = await desk.root(ticket_id)
    assert EMAIL not in root.all_text() and "345 678" not in root.all_text()  # the card, redrawn
    assert root.updates >= 1
    ticket = (await desk.http.get(f"/api/tickets/{ticket_id}", headers=auth)).json()
    assert ticket["customer"]["email"] is None and "[card number removed]" in ticket["description"]

    unknown = await asyncio.to_thread(CliRunner().invoke, cli, ["customers", "forget", "987654"], env=env)
    assert unknown.exit_code == 1 and "no customer 987654" in unknown.output


async def test_forget_from_the_cli(make_desk: MakeDesk, fake_slack: FakeSlack, db_url: str) -> None:
    desk, _, customer_id, _ = await desk_with_pii(make_desk, fake_slack)
    env = {"DATABASE_URL": db_url, "SUPPORTBOT_LOG_LEVEL": "WARNING"}
    done = await asyncio.to_thread(
        CliRunner().invoke, cli, ["customers", "forget", str(customer_id)], env=env
    )
    assert done.exit_code == 0, done.output
    assert f"customer {customer_id} forgotten; 1 ticket(s) kept" in done.output
    assert await pii_columns(desk) == {}


async def test_retention_purges_a_closed_conversation_and_keeps_a_recent_one(
    make_desk: MakeDesk, fake_slack: FakeSlack
) -> None:
    desk, ticket_id, _, _ = await desk_with_pii(make_desk, fake_slack)
    async with desk.services.db.session() as session:
        await desk.services.tickets.resolve(session, ticket_id, actor="agent:U0AGENT", now=desk.clock())
    await desk.deliver()
    assert await jobs.run_retention(desk.services) == 0  # resolved today: kept
    assert await pii_columns(desk) != {}

    # A year on (conversations stamp their updates with the real time, so a year after that too).
    desk.clock.set(max(desk.clock(), utcnow()) + timedelta(days=366))
    recent = await desk.open_ticket(sender="web-recent", email="dara@example.org", phone="+855 99 888 777")
    assert await jobs.run_retention(desk.services) == 1
    assert await pii_columns(desk) == {}
    async with desk.services.db.reader() as session:
        kept = await desk.services.tickets.get(session, recent)
        assert kept is not None and kept.customer.email == "dara@example.org"
    cutoff = desk.clock() - timedelta(days=desk.services.policy.privacy.retain_days)
    assert all(r.delivered_at is None or r.delivered_at >= cutoff for r in await desk.outbox())
    assert await jobs.run_retention(desk.services) == 0  # nothing twice


async def test_handoff_messages_are_not_logged_with_their_text_when_slack_is_off() -> None:
    row = OutboxMessage(
        id=7,
        kind="agent",
        target="#support-tier1",
        ticket_id=3,
        payload={"event": "customer_message", "ticket_id": 3, "text": f"call me on {PHONE}"},
    )
    with capture_logs() as logs:
        await log_agent_notice(row)
    [entry] = logs
    assert entry["event"] == "agent_notification" and entry["notice"]["event"] == "customer_message"
    assert PHONE not in json.dumps(entry)
