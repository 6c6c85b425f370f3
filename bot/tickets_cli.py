"""`supportbot tickets list|show|reply|resolve`: the agents' desk in a terminal, without Slack.

A reply written here is the same as a Slack thread reply or `POST /api/tickets/{id}/replies`
(desk/relay.py): it goes into the outbox in the same transaction as its audit event, and the
running server (`supportbot serve`) delivers it on the customer's channel (the open web chat,
else when they return; Telegram). bot/cli.py registers this app as `tickets`.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer

from bot.settings import SettingsError, load_settings
from desk import relay, saved_replies
from desk.policy import PRIORITIES, Policy, PolicyError, load_policy
from desk.serialize import ticket_json
from desk.ticket_transitions import TicketError
from desk.tickets import TicketService
from storage.db import Database
from storage.models import utcnow
from storage.repositories import tickets as ticket_rows

tickets_app = typer.Typer(help="Tickets: list, show, reply to the customer, resolve.", no_args_is_help=True)
STATUSES = ("open", "acknowledged", "waiting_customer", "resolved", "closed")
T = TypeVar("T")


def _error(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _run(work: Callable[[Database, TicketService, Policy], Awaitable[T]]) -> T:
    """Run `work` against the configured database; a bad setting or ticket is one line on stderr."""
    try:
        settings = load_settings()
        policy = load_policy(settings.policy_path)
    except (SettingsError, PolicyError) as exc:
        raise _error(str(exc), 2) from None

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await work(db, TicketService(policy), policy)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except (TicketError, saved_replies.SavedReplyError) as exc:
        raise _error(str(exc), 1) from None


def _agent(name: str | None) -> relay.Agent:
    shown = (name or "").strip() or getpass.getuser()
    return relay.Agent(actor=f"cli:{shown}", name=shown)


def _local(iso: str | None, policy: Policy) -> str:
    if iso is None:
        return "-"
    at = datetime.fromisoformat(iso).astimezone(policy.tz)
    return f"{at:%a} {at.day} {at:%b} {at:%H:%M}"


@tickets_app.command("list")
def list_tickets(
    status: Annotated[
        str | None, typer.Option(help="open, acknowledged, waiting_customer, resolved, closed.")
    ] = None,
    priority: Annotated[str | None, typer.Option(help="critical, high, medium or low.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many, newest first.")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the tickets as JSON (the API's shape).")
    ] = False,
) -> None:
    """The newest tickets, one line each: number, status, priority, category, due, customer, subject."""
    if status is not None and status not in STATUSES:
        raise _error(f"--status must be one of {', '.join(STATUSES)}", 2)
    if priority is not None and priority not in PRIORITIES:
        raise _error(f"--priority must be one of {', '.join(PRIORITIES)}", 2)

    async def work(db: Database, tickets: TicketService, policy: Policy) -> list[dict[str, Any]]:
        found = await ticket_rows.newest(
            db, filters={"status": status, "priority": priority}, before_id=None, limit=limit
        )
        return [ticket_json(t, service=tickets, now=utcnow(), events=False) for t in found]

    found = _run(work)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo("no tickets")
        return
    policy = load_policy(load_settings().policy_path)
    for t in found:
        who = t["customer"]["name"] or t["customer"]["email"] or t["customer"]["phone"] or "-"
        typer.echo(
            f"#{t['id']:<5} {t['status']:<16} {t['priority']:<8} {t['category']:<14} {t['channel']:<8} "
            f"due {_local(t['response_due_at'], policy):<16} {t['sla_state']:<8} {who}: {t['subject']}"
        )


@tickets_app.command("show")
def show_ticket(
    ticket_id: Annotated[int, typer.Argument(min=1, help="The ticket's number.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the ticket as JSON (the API's shape).")
    ] = False,
) -> None:
    """One ticket with its customer, description and audit trail."""

    async def work(db: Database, tickets: TicketService, policy: Policy) -> dict[str, Any]:
        async with db.reader() as session:
            ticket = await tickets.get(session, ticket_id, with_events=True)
        if ticket is None:
            raise TicketError(f"ticket #{ticket_id} does not exist")
        return ticket_json(ticket, service=tickets, now=utcnow())

    t = _run(work)
    if as_json:
        typer.echo(json.dumps(t, ensure_ascii=False, indent=2))
        return
    policy = load_policy(load_settings().policy_path)
    c = t["customer"]
    contact = ", ".join(x for x in (c["name"], c["email"], c["phone"]) if x) or "-"
    lines = [
        f"Ticket #{t['id']}: {t['subject']}",
        f"  {t['status']}, {t['priority']}, {t['category']}, tier {t['tier']}, on {t['channel']}",
        f"  customer: {contact}",
        f"  reply due: {_local(t['response_due_at'], policy)} (SLA {t['sla_state']}),"
        f" first response: {_local(t['first_response_at'], policy)}",
        "",
        t["description"],
        "",
    ]
    for e in t["events"]:
        said = e["data"].get("text") if isinstance(e["data"], dict) else None
        lines.append(
            f"  {_local(e['at'], policy)}  {e['kind']:<18} {e['actor'] or ''}" + (f": {said}" if said else "")
        )
    typer.echo("\n".join(lines))


@tickets_app.command("reply")
def reply_to_ticket(
    ticket_id: Annotated[int, typer.Argument(min=1, help="The ticket's number.")],
    text: Annotated[str, typer.Argument(help="What the customer reads.")] = "",
    agent: Annotated[
        str | None, typer.Option(help="Your name, shown to the customer (default: your login).")
    ] = None,
    internal: Annotated[bool, typer.Option("--internal", help="A note for agents only; never sent.")] = False,
    saved: Annotated[
        str | None,
        typer.Option(help="Send this saved reply (`supportbot replies list`), in the customer's language."),
    ] = None,
) -> None:
    """Answer the customer on their channel (as a Slack thread reply does), or keep an internal note."""
    if saved is not None and text.strip():
        raise _error("give the reply's TEXT or --saved NAME, not both", 2)
    if saved is None and not text.strip():
        raise _error("the reply is empty", 2)
    who = _agent(agent)

    async def work(db: Database, tickets: TicketService, policy: Policy) -> str:
        nonlocal text
        async with db.session() as session:
            if saved is not None:
                text = await saved_replies.render_for_ticket(
                    session, tickets=tickets, ticket_id=ticket_id, name=saved
                )
            if internal:
                await relay.internal_note(
                    session,
                    tickets=tickets,
                    ticket_id=ticket_id,
                    text=text,
                    agent=who,
                    now=utcnow(),
                    echo=True,
                )
                return f"note kept on ticket #{ticket_id}"
            relayed = await relay.agent_reply(
                session, tickets=tickets, ticket_id=ticket_id, text=text, agent=who, now=utcnow(), echo=True
            )
        first = " (first response: the SLA clock stopped)" if relayed.first_response else ""
        return f"reply to ticket #{ticket_id} queued for {relayed.target}{first}; the server delivers it"

    typer.echo(_run(work))


@tickets_app.command("resolve")
def resolve_ticket(
    ticket_id: Annotated[int, typer.Argument(min=1, help="The ticket's number.")],
    note: Annotated[str, typer.Option(help="A line for the customer with the resolution.")] = "",
    agent: Annotated[str | None, typer.Option(help="Your name (default: your login).")] = None,
) -> None:
    """Resolve the ticket; the customer is told (and asked for a rating) on their channel."""
    who = _agent(agent)

    async def work(db: Database, tickets: TicketService, policy: Policy) -> str:
        async with db.session() as session:
            await tickets.resolve(session, ticket_id, actor=who.actor, now=utcnow(), note=note.strip())
        return f"ticket #{ticket_id} resolved; the customer is told"

    typer.echo(_run(work))
