"""`supportbot customers export|forget ID`: one customer's data as JSON, or erased from every copy.

The commands' bodies only; bot/cli.py registers them. `forget` is what the customer's own "delete
my data" does (desk/privacy.py); a running `supportbot serve` redraws the Slack cards.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from bot.settings import load_settings
from desk import privacy
from desk.policy import load_policy
from desk.tickets import TicketService
from storage.db import Database
from storage.models import utcnow

T = TypeVar("T")
CustomerId = Annotated[int, typer.Argument(help="The customer's id (as in a ticket's `customer.id`).")]


async def _with(work: Callable[[Database, TicketService], Awaitable[T]]) -> T:
    settings = load_settings()
    tickets = TicketService(load_policy(settings.policy_path))
    db = Database(settings.database_url)
    try:
        return await work(db, tickets)
    finally:
        await db.dispose()


def customers_export_command(customer_id: CustomerId) -> None:
    """Print everything stored about one customer as JSON."""

    async def export(db: Database, tickets: TicketService) -> dict[str, Any] | None:
        async with db.reader() as session:
            return await privacy.export_customer(
                session, tickets=tickets, customer_id=customer_id, now=utcnow()
            )

    data = asyncio.run(_with(export))
    if data is None:
        typer.echo(f"error: no customer {customer_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def customers_forget_command(customer_id: CustomerId) -> None:
    """Erase one customer's contact details and scrub their data from every copy."""

    async def forget(db: Database, tickets: TicketService) -> int | None:
        async with db.session() as session:
            return await privacy.forget_by_id(session, tickets=tickets, customer_id=customer_id, now=utcnow())

    kept = asyncio.run(_with(forget))
    if kept is None:
        typer.echo(f"error: no customer {customer_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"customer {customer_id} forgotten; {kept} ticket(s) kept without their personal data")
