"""Delivers outbox rows: each row is claimed by one worker, sent, and marked delivered once.

A claim is a short lease (`next_attempt_at` pushed ahead) taken with `FOR UPDATE SKIP LOCKED`
on PostgreSQL, so several replicas share the work without sending a row twice; sending happens
outside the claiming transaction so no database lock is held during network calls. Failures are
retried with exponential backoff and jitter; after `max_attempts` a row is dead-lettered, and at once
when the platform refuses the recipient for good (`Undeliverable`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.retry_after import RetryAfter
from desk import metrics
from storage.db import Database
from storage.models import OutboxMessage, utcnow
from storage.repositories import outbox as outbox_rows

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=60)
WAITING = "waiting for the recipient"  # last_error of rows held back by NotReady
MARK_EVERY = 1.0  # seconds of sending between writes of the delivered rows' marks


class NotReady(Exception):
    """The recipient cannot take the message now (e.g. a web chat not connected); try later."""

    def __init__(self, retry_in: float = 30.0) -> None:
        super().__init__(f"not ready, retry in {retry_in}s")
        self.retry_in = retry_in


class Undeliverable(Exception):
    """The platform refused the recipient for good (blocked the bot, chat gone): never retry."""


Sender = Callable[[OutboxMessage], Awaitable[None]]


def backoff(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter, in seconds."""
    return random.uniform(0, min(cap, base * (2 ** max(0, attempts - 1))))


class OutboxDelivery:
    def __init__(
        self,
        db: Database,
        senders: dict[str, Sender],
        *,
        batch: int = 50,
        max_attempts: int = 8,
        lease: timedelta = LEASE,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.senders = senders
        self.batch = batch
        self.max_attempts = max_attempts
        self.lease = lease
        self.now = now

    async def claim(self, **filters: Any) -> list[OutboxMessage]:
        return await outbox_rows.claim(
            self.db, now=self.now(), lease=self.lease, batch=self.batch, filters=filters
        )

    async def run_once(self, **filters: Any) -> int:
        """Send what is due; returns how many rows were delivered.

        Rows go out one by one under the claim's lease. Once half of it is spent (a slow
        platform), the rest are handed back rather than left to expire under us, when another
        worker could claim and send them a second time.

        Deliveries are marked together, one transaction per second of sending rather than one
        per row: on SQLite every transaction queues for the one writer behind the customers'
        turns, and under load a batch of 50 notices took seconds to mark. A crash before the
        marks are written resends at most that second's rows, as an expired lease would.
        """
        delivered = 0
        rows = await self.claim(**filters)
        started = last_marked = time.monotonic()
        outcomes: list[dict[str, Any]] = []
        for index, row in enumerate(rows):
            if time.monotonic() - started > self.lease.total_seconds() / 2:
                await self._mark(outcomes)
                await self._release(rows[index:])
                return delivered
            outcome = await self._deliver(row)
            delivered += "delivered_at" in outcome
            outcomes.append({"id": row.id, **outcome})
            # Only deliveries wait for the next write: a recipient found away must be marked
            # WAITING at once, or `deliver_waiting` on its return would not see the row.
            if "delivered_at" not in outcome or time.monotonic() - last_marked >= MARK_EVERY:
                await self._mark(outcomes)
                last_marked = time.monotonic()
        await self._mark(outcomes)
        return delivered

    async def _mark(self, outcomes: list[dict[str, Any]]) -> None:
        """Write the rows' outcomes: one UPDATE per kind of outcome, executed for all its rows."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for outcome in outcomes:
            groups.setdefault(tuple(sorted(outcome)), []).append(outcome)
        outcomes.clear()
        if not groups:
            return
        await outbox_rows.mark(self.db, groups.values())

    async def _release(self, rows: list[OutboxMessage]) -> None:
        await outbox_rows.release(self.db, [row.id for row in rows], now=self.now())

    async def deliver_waiting(self, *, kind: str, target: str) -> int:
        """The recipient is back (a web chat reconnected): send what waited for it now."""
        await outbox_rows.wake_waiting(self.db, kind=kind, target=target, waiting=WAITING, now=self.now())
        return await self.run_once(kind=kind, target=target)

    async def _deliver(self, row: OutboxMessage) -> dict[str, Any]:
        """Send one row; the columns its outcome sets (delivered, retry later, dead)."""
        sender = self.senders.get(row.kind)
        values: dict[str, Any]
        try:
            if _expired(row, self.now()):
                raise Undeliverable(f"expired at {row.payload['expires_at']}")
            if sender is None:
                raise LookupError(f"no sender for outbox kind {row.kind!r}")
            await sender(row)
        except NotReady as exc:
            values = {"next_attempt_at": self.now() + timedelta(seconds=exc.retry_in), "last_error": WAITING}
        except RetryAfter as exc:
            values = {"next_attempt_at": self.now() + timedelta(seconds=exc.seconds), "last_error": str(exc)}
        except Undeliverable as exc:
            values = {"dead_at": self.now(), "last_error": f"undeliverable: {exc}"[:2000]}
            metrics.OUTBOX_DEAD.labels(row.kind).inc()
            log.info("outbox_undeliverable", outbox_id=row.id, kind=row.kind, error=str(exc))
        except Exception as exc:  # every failure is recorded; the row is retried or dead-lettered
            attempts = row.attempts + 1
            metrics.OUTBOX_FAILED.labels(row.kind).inc()
            values = {"attempts": attempts, "last_error": f"{type(exc).__name__}: {exc}"[:2000]}
            if attempts >= self.max_attempts:
                values["dead_at"] = self.now()
                metrics.OUTBOX_DEAD.labels(row.kind).inc()
                log.error("outbox_dead_letter", outbox_id=row.id, kind=row.kind, error=values["last_error"])
            else:
                values["next_attempt_at"] = self.now() + timedelta(seconds=backoff(attempts))
                log.warning(
                    "outbox_retry",
                    outbox_id=row.id,
                    kind=row.kind,
                    attempts=attempts,
                    error=values["last_error"],
                )
        else:
            values = {"delivered_at": self.now()}
            metrics.OUTBOX_DELIVERED.labels(row.kind).inc()
        return values


def _expired(row: OutboxMessage, now: datetime) -> bool:
    """A notice past its `expires_at` (a maintenance window already over) is not sent late."""
    expires = row.payload.get("expires_at") if isinstance(row.payload, dict) else None
    if not isinstance(expires, str):
        return False
    try:
        return datetime.fromisoformat(expires) <= now
    except ValueError:
        return False


async def log_agent_notice(row: OutboxMessage) -> None:
    """Until Slack is connected, agents' notifications are written to the log."""
    log.info("agent_notification", channel=row.target, ticket_id=row.ticket_id, notice=row.payload)
