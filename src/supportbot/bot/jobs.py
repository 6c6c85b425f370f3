"""The background jobs a running supportbot schedules (each safe with several replicas)."""

from __future__ import annotations

from supportbot.bot.delivery import OutboxDelivery
from supportbot.bot.scheduler import Scheduler
from supportbot.bot.services import Services

OUTBOX_SECONDS = 2


def register(scheduler: Scheduler, *, services: Services, delivery: OutboxDelivery) -> None:
    """Declare every job in one place."""
    scheduler.every(OUTBOX_SECONDS, "outbox", delivery.run_once)
