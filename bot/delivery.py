"""Delivers outbox rows: each row is claimed by one worker, sent, and marked delivered once.

A claim is a short lease (`next_attempt_at` pushed ahead) taken with `FOR UPDATE SKIP LOCKED`
on PostgreSQL, so several replicas share the work without sending a row twice; sending happens
outside the claiming transaction so no database lock is held during network calls.

What a failure does depends on what it says:
- a transport failure (`Transient`: refused, reset, timeout, 5xx) is retried with capped
  exponential backoff and jitter for as long as the row is younger than the horizon
  (`SUPPORTBOT_OUTBOX_HORIZON`, 3 days): an outage of any length short of that loses nothing,
  and it never counts toward dead-lettering;
- 429 (`RetryAfter`) and an absent recipient (`NotReady`) wait as told;
- a permanent answer (`Undeliverable`: invalid_auth, channel_not_found, a Telegram 403) dead-letters
  the row at once, with its reason (`dead_reason`, `/support status`, `/metrics`, the log);
- anything else (a bug, an answer nobody classified) counts an attempt; after `max_attempts`
  the row is dead with reason `error`.
Dead rows are sent again by `supportbot outbox retry --dead` or `/support outbox retry`.
A ticket's rows go out in order: when one fails, its later rows in the batch wait for it.
"""

from __future__ import annotations

import asyncio
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
HORIZON = timedelta(days=3)
BACKOFF_CAP = 300.0  # seconds: during an outage a row is tried at least every five minutes
WAITING = "waiting for the recipient"  # last_error of rows held back by NotReady
MARK_EVERY = 1.0  # seconds of sending between writes of the delivered rows' marks


class NotReady(Exception):
    """The recipient cannot take the message now (e.g. a web chat not connected); try later."""

    def __init__(self, retry_in: float = 30.0) -> None:
        super().__init__(f"not ready, retry in {retry_in}s")
        self.retry_in = retry_in


class Undeliverable(Exception):
    """The platform refused the recipient for good (blocked the bot, chat gone): never retry.

    `reason` is a short code for reports and metrics (`invalid_auth`, `channel_not_found`,
    `telegram_forbidden`...).
    """

    def __init__(self, message: str, *, reason: str = "undeliverable") -> None:
        super().__init__(message)
        self.reason = reason


class Transient(Exception):
    """The platform could not be reached or failed on its side (5xx): retry until the horizon."""


def is_transport_error(exc: BaseException) -> bool:
    """A failure of the way there, not an answer: refused, reset, DNS, TLS, timeouts."""
    return isinstance(exc, Transient | OSError | TimeoutError | asyncio.TimeoutError) or (
        type(exc).__module__.split(".")[0] in {"aiohttp", "httpx", "httpcore"}
        and not type(exc).__name__.startswith(("ContentType", "InvalidURL", "Decoding"))
    )


Sender = Callable[[OutboxMessage], Awaitable[None]]


def backoff(attempts: int, *, base: float = 2.0, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with full jitter, in seconds (never below one second)."""
    return max(1.0, random.uniform(0, min(cap, base * (2 ** max(0, min(attempts, 30) - 1)))))


class OutboxDelivery:
    def __init__(
        self,
        db: Database,
        senders: dict[str, Sender],
        *,
        batch: int = 50,
        max_attempts: int = 8,
        lease: timedelta = LEASE,
        horizon: timedelta = HORIZON,
        backoff_cap: float = BACKOFF_CAP,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.senders = senders
        self.batch = batch
        self.max_attempts = max_attempts
        self.lease = lease
        self.horizon = horizon
        self.backoff_cap = backoff_cap
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
        held: set[tuple[str, int]] = set()  # tickets whose earlier row did not go out this time
        for index, row in enumerate(rows):
            if time.monotonic() - started > self.lease.total_seconds() / 2:
                await self._mark(outcomes)
                await self._release(rows[index:])
                return delivered
            if row.ticket_id is not None and (row.kind, row.ticket_id) in held:
                await self._mark(outcomes)
                await self._release([row])  # after its ticket's earlier row, never before
                continue
            outcome = await self._deliver(row)
            if row.ticket_id is not None and "delivered_at" not in outcome and "dead_at" not in outcome:
                held.add((row.kind, row.ticket_id))
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
        now = self.now()
        values: dict[str, Any] = {"claimed_at": None}
        try:
            if _expired(row, now):
                raise Undeliverable(f"expired at {row.payload['expires_at']}", reason="expired")
            if sender is None:
                raise LookupError(f"no sender for outbox kind {row.kind!r}")
            await sender(row)
        except NotReady as exc:
            values |= {"next_attempt_at": now + timedelta(seconds=exc.retry_in), "last_error": WAITING}
        except RetryAfter as exc:
            values |= {"next_attempt_at": now + timedelta(seconds=exc.seconds), "last_error": str(exc)}
        except Undeliverable as exc:
            values |= self._dead(row, exc.reason, f"undeliverable: {exc}")
        except Exception as exc:  # every failure is recorded; the row is retried or dead-lettered
            error = f"{type(exc).__name__}: {exc}"[:2000]
            attempts = row.attempts + 1
            metrics.OUTBOX_FAILED.labels(row.kind).inc()
            values |= {"attempts": attempts, "last_error": error}
            transport = is_transport_error(exc) or is_transport_error(exc.__cause__ or exc)
            if transport and now - row.created_at >= self.horizon:
                values |= self._dead(row, "horizon", f"still failing after {self.horizon}: {error}")
            elif not transport and attempts >= self.max_attempts:
                values |= self._dead(row, "error", error)
            else:
                values["next_attempt_at"] = now + timedelta(seconds=backoff(attempts, cap=self.backoff_cap))
                log.warning(
                    "outbox_retry",
                    outbox_id=row.id,
                    kind=row.kind,
                    attempts=attempts,
                    transport=transport,
                    error=error,
                )
        else:
            values["delivered_at"] = now
            metrics.OUTBOX_DELIVERED.labels(row.kind).inc()
        return values

    def _dead(self, row: OutboxMessage, reason: str, error: str) -> dict[str, Any]:
        metrics.OUTBOX_DEAD.labels(row.kind, reason).inc()
        log.error("outbox_dead_letter", outbox_id=row.id, kind=row.kind, reason=reason, error=error)
        now = self.now()  # due at its death, so a revival sends it at once
        return {"dead_at": now, "next_attempt_at": now, "dead_reason": reason, "last_error": error[:2000]}


def _expired(row: OutboxMessage, now: datetime) -> bool:
    """A notice past its `expires_at` (a maintenance window already over) is not sent late."""
    expires = row.payload.get("expires_at") if isinstance(row.payload, dict) else None
    if not isinstance(expires, str):
        return False
    try:
        return datetime.fromisoformat(expires) <= now
    except ValueError:
        return False


# Payload keys that carry what a customer wrote or how to reach them: never written to the log.
PRIVATE_KEYS = frozenset({"text", "blocks", "description", "subject", "name", "email", "phone", "caption"})


async def log_agent_notice(row: OutboxMessage) -> None:
    """Until Slack is connected, agents' notifications are written to the log, without what the
    customer wrote (a handoff's or a message's text stays in the database, for the desk)."""
    notice = {k: v for k, v in row.payload.items() if k not in PRIVATE_KEYS}
    log.info("agent_notification", channel=row.target, ticket_id=row.ticket_id, notice=notice)
