"""`supportbot outbox list|retry [--dead]`: the notifications not delivered yet, and sending them again.

`list` shows what is pending (or, with `--dead`, the dead letters with their reasons); `retry`
makes pending rows due at once, skipping their backoff, or (`--dead`) revives dead letters once
their cause is fixed (a token, an invitation to a channel). A running `supportbot serve` sends
them within seconds. bot/cli.py registers the commands.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from bot.settings import load_settings
from storage.db import Database
from storage.models import OutboxMessage, utcnow
from storage.repositories import outbox as outbox_rows

DeadOption = Annotated[bool, typer.Option("--dead", help="The dead letters instead of the pending rows.")]


def _line(row: OutboxMessage) -> dict[str, object]:
    """What an operator needs to judge a row; the payload's event, never what a customer wrote."""
    return {
        "id": row.id,
        "kind": row.kind,
        "target": row.target if row.kind == "agent" else row.target.split(":", 1)[0],
        "ticket_id": row.ticket_id,
        "event": row.payload.get("event"),
        "created_at": row.created_at.isoformat(),
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "dead_at": row.dead_at.isoformat() if row.dead_at else None,
        "dead_reason": row.dead_reason,
        "last_error": row.last_error,
    }


async def _list(dead: bool, limit: int) -> list[dict[str, object]]:
    db = Database(load_settings().database_url)
    try:
        return [_line(row) for row in await outbox_rows.listing(db, dead=dead, limit=limit)]
    finally:
        await db.dispose()


async def _retry(dead: bool, ids: list[int]) -> int:
    db = Database(load_settings().database_url)
    try:
        return await outbox_rows.retry(db, dead=dead, now=utcnow(), ids=ids)
    finally:
        await db.dispose()


def outbox_list_command(
    dead: DeadOption = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many rows.")] = 200,
) -> None:
    """Print the notifications not delivered yet (oldest first) as JSON lines."""
    for line in asyncio.run(_list(dead, limit)):
        typer.echo(json.dumps(line, ensure_ascii=False))


def outbox_retry_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Only these rows (default: all).")] = None,
    dead: DeadOption = False,
) -> None:
    """Send pending rows now, or (--dead) send the dead letters again."""
    count = asyncio.run(_retry(dead, ids or []))
    what = "dead letter(s) revived" if dead else "pending row(s) due now"
    typer.echo(f"{count} {what}")
