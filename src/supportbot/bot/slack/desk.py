"""Wiring of the Slack desk into the app. Without credentials every notice goes to the log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from supportbot.bot.delivery import OutboxDelivery, log_agent_notice
from supportbot.settings import Settings
from supportbot.storage.models import OutboxMessage


class SlackDesk:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = bool(settings.slack_bot_token and settings.slack_signing_secret)
        self.router = APIRouter()
        self.services: Any = None
        self.delivery: OutboxDelivery | None = None

        @self.router.post("/slack/events", tags=["slack"], include_in_schema=False)
        async def slack_events() -> JSONResponse:
            return JSONResponse({"detail": "Slack is not configured"}, status_code=404)

    def bind(self, services: Any, delivery: OutboxDelivery) -> None:
        self.services = services
        self.delivery = delivery

    async def send(self, row: OutboxMessage) -> None:
        """Outbox sender for agents' notices."""
        await log_agent_notice(row)
