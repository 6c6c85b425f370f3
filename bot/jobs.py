"""The background jobs a running supportbot schedules (each safe with several replicas).

Every job takes its time from `services.engine.now`, so tests drive time with the app's clock.
- `outbox`: deliver notifications.
- `sla_sweep`: reminders, breach notices and escalations (desk/sweep.py); also once at start, so
  whatever fell due while the process was down is sent at once.
- `maintenance_announcements`: tell customers about maintenance windows (desk/announce.py).
- `feedback_alerts`: low ratings whose customer never answered the comment prompt.
- `daily_digest`: the managers' digest at `digest.time` in the policy's timezone, once a day.
- `weekly_report`: the last seven whole days with the SLA chart, to the managers' channel, at
  `digest.weekly_day` / `digest.weekly_time`.
- `privacy_retention`: nightly (03:15 in the policy's timezone), customers with nothing open and
  no activity for `privacy.retain_days` are forgotten (desk/privacy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import structlog

from bot.channels import CHANNELS
from bot.delivery import OutboxDelivery
from bot.scheduler import Scheduler
from bot.services import Services
from desk import outbox, privacy, reports
from desk.announce import announce_due
from desk.digest import digest_text, weekly_text
from desk.feedback import alert_stale_low_ratings
from desk.outbox import enqueue_once
from desk.stats import StatsReport, stats_report
from desk.sweep import SweepResult, sweep
from storage.repositories import outbox as outbox_rows

log = structlog.get_logger(__name__)

OUTBOX_SECONDS = 2
ANNOUNCE_SECONDS = 60
FEEDBACK_SECONDS = 60


async def run_sweep(services: Services) -> SweepResult:
    return await sweep(services.db, tickets=services.tickets, now=services.engine.now())


async def run_announcements(services: Services) -> int:
    return await announce_due(
        services.db, policy=services.policy, now=services.engine.now(), lasting=CHANNELS.lasting()
    )


async def run_feedback_alerts(services: Services) -> int:
    return await alert_stale_low_ratings(services.db, policy=services.policy, now=services.engine.now())


def digest_key(now: datetime, services: Services) -> str:
    return f"digest:{now.astimezone(services.policy.tz).date().isoformat()}"


async def _managers_report(
    services: Services,
    key: str,
    days: int,
    payload: Callable[[reports.StatusReport, StatsReport], dict[str, Any]],
) -> bool:
    """Queue a report of the last `days` whole local days for the managers' channel, once per
    `key`; False when it was already queued (by another replica, or before a restart)."""
    policy = services.policy
    now = services.engine.now()
    async with services.db.session() as session:
        if await outbox_rows.has_key(session, key):
            return False
        status = await reports.status_report(session, now=now)
        # The window of `days` ends at `now`: end it at local midnight, for whole days.
        midnight = datetime.combine(now.astimezone(policy.tz).date(), time.min, tzinfo=policy.tz)
        stats = await stats_report(
            session, now=midnight - timedelta(microseconds=1), days=days, policy=policy
        )
        row = {
            "kind": outbox.AGENT,
            "target": policy.escalation.managers_channel,
            "payload": payload(status, stats),
            "dedupe_key": key,
            "now": now,
        }
        return bool(await enqueue_once(session, [row]))


async def run_digest(services: Services) -> bool:
    """Post the managers' daily digest (yesterday); False when today's was already posted."""
    key = digest_key(services.engine.now(), services)
    day = key.removeprefix("digest:")
    sent = await _managers_report(
        services,
        key,
        1,
        lambda status, stats: {
            "event": "digest",
            "date": day,
            "text": digest_text(status, stats, policy=services.policy),
        },
    )
    if sent:
        log.info("daily_digest", date=day)
    return sent


def weekly_key(now: datetime, services: Services) -> str:
    year, week, _ = now.astimezone(services.policy.tz).isocalendar()
    return f"weekly:{year}-W{week:02d}"


async def run_weekly_report(services: Services) -> bool:
    """Post the managers' weekly report (the last 7 whole local days); False when this week's was
    already posted."""
    key = weekly_key(services.engine.now(), services)
    week = key.removeprefix("weekly:")
    sent = await _managers_report(
        services,
        key,
        7,
        lambda status, stats: {
            "event": "weekly_report",
            "week": week,
            "text": weekly_text(status, stats, policy=services.policy),
            # The chart is drawn when the post is sent, from these figures.
            "daily_sla_met": [[day.isoformat(), pct] for day, pct in stats.daily_sla_met],
        },
    )
    if sent:
        log.info("weekly_report", week=week)
    return sent


async def run_retention(services: Services) -> int:
    """Purge what is past `privacy.retain_days`; how many customers were forgotten."""
    async with services.db.session() as session:
        forgotten = await privacy.purge_expired(session, tickets=services.tickets, now=services.engine.now())
    if forgotten:
        log.info("privacy_retention", customers_forgotten=forgotten)
    return forgotten


def register(scheduler: Scheduler, *, services: Services, delivery: OutboxDelivery) -> None:
    """Declare every job in one place."""
    scheduler.every(OUTBOX_SECONDS, "outbox", delivery.run_once)

    async def sla_sweep() -> None:
        await run_sweep(services)

    async def announcements() -> None:
        await run_announcements(services)

    async def feedback_alerts() -> None:
        await run_feedback_alerts(services)

    async def digest() -> None:
        await run_digest(services)

    scheduler.every(services.settings.sweep_seconds, "sla_sweep", sla_sweep, run_at_start=True)
    scheduler.every(ANNOUNCE_SECONDS, "maintenance_announcements", announcements)
    scheduler.every(FEEDBACK_SECONDS, "feedback_alerts", feedback_alerts)
    at = services.policy.digest.time
    scheduler.daily_at(at.hour, at.minute, services.policy.tz, "daily_digest", digest)

    async def weekly() -> None:
        await run_weekly_report(services)

    weekly_at = services.policy.digest.weekly_time
    scheduler.weekly_at(
        services.policy.digest.weekly_day,
        weekly_at.hour,
        weekly_at.minute,
        services.policy.tz,
        "weekly_report",
        weekly,
    )

    async def retention() -> None:
        await run_retention(services)

    scheduler.daily_at(3, 15, services.policy.tz, "privacy_retention", retention)
