"""`supportbot tickets wait|assign` (bot/lifecycle_cli.py), registered on a `tickets` group the way
bot/cli.py registers them, run against a migrated SQLite database through typer's runner."""

from __future__ import annotations

import asyncio
import json

import typer
from typer.testing import CliRunner

from bot.lifecycle_cli import tickets_assign_command, tickets_wait_command
from desk.policy import load_policy
from desk.tickets import NewTicket, TicketService
from storage.db import Database
from storage.models import Customer, utcnow

tickets_app = typer.Typer(no_args_is_help=True)
tickets_app.command("wait")(tickets_wait_command)
tickets_app.command("assign")(tickets_assign_command)


async def _open(url: str) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            customer = Customer(channel="telegram", external_id="555", name="Dara")
            session.add(customer)
            await session.flush()
            ticket = await TicketService(load_policy()).open(
                session,
                customer=customer,
                now=utcnow(),
                new=NewTicket(
                    category="billing",
                    priority="medium",
                    channel="telegram",
                    description="invoice INV-2291 charged twice??",
                    subject="invoice charged twice",
                    troubleshooting=[],
                ),
            )
            return ticket.id
    finally:
        await db.dispose()


def test_wait_and_assign_change_the_ticket_and_refuse_what_it_cannot_take(sqlite_url: str) -> None:
    ticket_id = asyncio.run(_open(sqlite_url))
    runner = CliRunner()
    env = {"DATABASE_URL": sqlite_url}

    waited = runner.invoke(
        tickets_app, ["wait", str(ticket_id), "Which card did you pay with?", "--agent", "alice"], env=env
    )
    assert waited.exit_code == 0, waited.output
    body = json.loads(waited.stdout)
    assert (body["status"], body["clock"]) == ("waiting_customer", "paused")

    again = runner.invoke(tickets_app, ["wait", str(ticket_id), "And the amount?"], env=env)
    assert again.exit_code == 1 and "already waiting on the customer" in again.output

    assigned = runner.invoke(tickets_app, ["assign", str(ticket_id), "slack:U0AGENT"], env=env)
    assert assigned.exit_code == 0, assigned.output
    assert json.loads(assigned.stdout)["owner"] == "slack:U0AGENT"

    missing = runner.invoke(tickets_app, ["assign", "999999", "bob"], env=env)
    assert missing.exit_code == 1 and "does not exist" in missing.output
