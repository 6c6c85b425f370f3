"""`supportbot tickets wait ID "QUESTION" --agent NAME` and `supportbot tickets assign ID AGENT`.

The bodies of the commands only; bot/cli.py registers them on its `tickets` group:
    tickets_app.command("wait")(tickets_wait_command)
    tickets_app.command("assign")(tickets_assign_command)
They change the database the server uses (`DATABASE_URL`); the server's outbox job delivers the
customer's message and the Slack notices.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from desk import lifecycle
from desk.policy import load_policy
from desk.serialize import ticket_json
from desk.sla import SlaClock
from desk.ticket_transitions import TicketError
from desk.tickets import TicketService
from storage.db import Database
from storage.models import utcnow

Change = Callable[[Database, TicketService], Awaitable[None]]


async def _run(ticket_id: int, change: Change) -> dict[str, object]:
    from bot.settings import load_settings

    settings = load_settings()
    policy = load_policy(settings.policy_path)
    tickets = TicketService(policy, SlaClock(policy))
    db = Database(settings.database_url)
    try:
        await change(db, tickets)
        async with db.reader() as session:
            ticket = await tickets.get(session, ticket_id, with_events=False)
            assert ticket is not None
            return ticket_json(ticket, service=tickets, now=utcnow(), events=False)
    finally:
        await db.dispose()


def _finish(ticket_id: int, change: Change) -> None:
    try:
        result = asyncio.run(_run(ticket_id, change))
    except TicketError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


def _actor(agent: str) -> str:
    return agent if ":" in agent else f"cli:{agent}"


def tickets_wait_command(
    ticket_id: Annotated[int, typer.Argument(min=1, help="The ticket number.")],
    question: Annotated[str, typer.Argument(help="The question the customer is asked.")],
    agent: Annotated[str, typer.Option(help="Who asks (shown to the customer).")] = "Support",
) -> None:
    """Ask the customer a question and pause the ticket's response clock until they answer."""
    if not question.strip():
        typer.echo("error: the question is empty", err=True)
        raise typer.Exit(2)

    async def change(db: Database, tickets: TicketService) -> None:
        async with db.session() as session:
            await lifecycle.wait_on_customer(
                session,
                tickets=tickets,
                ticket_id=ticket_id,
                question=question,
                actor=_actor(agent),
                agent_name=agent.split(":", 1)[-1],
                now=utcnow(),
            )

    _finish(ticket_id, change)


def tickets_assign_command(
    ticket_id: Annotated[int, typer.Argument(min=1, help="The ticket number.")],
    agent: Annotated[str, typer.Argument(help="The new owner: a name, or `slack:U123` for a Slack user.")],
) -> None:
    """Make an agent the ticket's owner (SLA reminders mention them)."""

    async def change(db: Database, tickets: TicketService) -> None:
        async with db.session() as session:
            await lifecycle.set_owner(
                session,
                tickets=tickets,
                ticket_id=ticket_id,
                owner=_actor(agent),
                actor=_actor(agent),
                now=utcnow(),
            )

    _finish(ticket_id, change)
