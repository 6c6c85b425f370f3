"""Maintenance announcements (policy section 6): tell customers ahead of a window, and when it starts.

For each window not cancelled and not over, the announcement due now is the one of the smallest
lead time in `maintenance.announce_before` that has been reached (`starts_at - lead <= now`), or
"under way" once the window has started. So a window scheduled 30 minutes ahead, or a process back
after downtime, sends only the latest announcement instead of a burst of stale ones.

Recipients: customers who allow announcements (Telegram's `/stop` turns them off) and whose platform
still delivers to them (not blocked): on channels whose chats last (Telegram) all of them, on the
others (the web chat, whose sessions come and go) those who talked to us in the last 90 days. Each
(window, lead, customer) is one outbox row with a unique `dedupe_key`, inserted in bulk with
`ON CONFLICT DO NOTHING`, so two replicas running this together never send anything twice.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import structlog

from desk import outbox
from desk.constants import OutboxEvent
from desk.outbox import enqueue_once
from desk.policy import Policy
from storage.db import Database
from storage.models import MaintenanceWindow
from storage.repositories import Session
from storage.repositories import maintenance as maintenance_rows

log = structlog.get_logger(__name__)

RECENT = timedelta(days=90)  # customers of passing sessions who talked to us this recently hear about it
# Channels whose chats last: their customers hear until they opt out (Telegram's /stop). The app
# passes its channel registry's (`bot.channels.CHANNELS.lasting()`); this is for callers without it.
LASTING_CHATS = ("telegram",)
CHUNK = 500  # rows per INSERT statement (well under SQLite's bound-parameter limit)
UNDER_WAY = timedelta(0)  # the "lead" of the announcement sent once a window has started


def announcement(
    window: MaintenanceWindow, *, under_way: bool, language: str | None = None
) -> dict[str, Any]:
    """The notice as a catalog message, rendered in the customer's language when it is sent."""
    return outbox.notice(
        "maintenance.under_way" if under_way else "maintenance.ahead",
        language,
        message=window.message.strip().rstrip("."),
        start={"when": window.starts_at.isoformat()},
        end={"when": window.ends_at.isoformat()},
    )


def due_lead(window: MaintenanceWindow, policy: Policy, now: datetime) -> timedelta | None:
    """The announcement due for `window` at `now`: its lead time, UNDER_WAY, or None."""
    if window.cancelled_at is not None or now >= window.ends_at:
        return None
    if now >= window.starts_at:
        return UNDER_WAY
    reached = [lead for lead in policy.maintenance.announce_before if window.starts_at - lead <= now]
    return min(reached) if reached else None


async def _announce_window(
    session: Session,
    window: MaintenanceWindow,
    lead: timedelta,
    *,
    policy: Policy,
    now: datetime,
    lasting: Collection[str],
) -> int:
    prefix = f"maint:{window.id}:{int(lead.total_seconds())}:"
    customers = await maintenance_rows.recipients(
        session, key_prefix=prefix, lasting=lasting, talked_since=now - RECENT
    )
    payload = {
        **announcement(window, under_way=lead == UNDER_WAY),
        "event": OutboxEvent.MAINTENANCE,
        "maintenance_id": window.id,
        # Past this the notice is stale; a transport holding it for an absent customer may drop it.
        "expires_at": window.ends_at.isoformat(),
    }
    rows = [
        {
            "kind": outbox.CUSTOMER,
            "target": outbox.customer_target(channel, external_id),
            "payload": {**payload, "language": language or outbox.DEFAULT_LANGUAGE},
            "dedupe_key": f"{prefix}{customer_id}",
            "now": now,
        }
        for customer_id, channel, external_id, language in customers
    ]
    sent = 0
    for start in range(0, len(rows), CHUNK):
        sent += len(await enqueue_once(session, rows[start : start + CHUNK]))
    return sent


async def announce_due(
    db: Database, *, policy: Policy, now: datetime, lasting: Collection[str] = LASTING_CHATS
) -> int:
    """Enqueue every maintenance announcement due at `now`; returns how many rows were written.

    `lasting`: the channels whose customers hear however long ago they wrote (the others: within
    `RECENT`)."""
    horizon = max(policy.maintenance.announce_before, default=UNDER_WAY)
    async with db.reader() as session:
        windows = await maintenance_rows.upcoming(session, now=now, until=now + horizon)
    sent = 0
    for candidate in windows:
        async with db.session() as session:
            # Read again in the writing transaction: a window cancelled meanwhile is not announced.
            window = await maintenance_rows.window(session, candidate.id, fresh=True)
            lead = due_lead(window, policy, now) if window is not None else None
            if window is None or lead is None:
                continue
            written = await _announce_window(session, window, lead, policy=policy, now=now, lasting=lasting)
        if written:
            log.info(
                "maintenance_announced",
                maintenance_id=window.id,
                lead_seconds=int(lead.total_seconds()),
                customers=written,
            )
        sent += written
    return sent
