"""The agents' desk in Slack, wired into the app: one route, the outbox sender, the listeners.

- `POST /slack/events` takes the Events API, slash commands and interactivity through slack-bolt's
  AsyncApp (signature check → 401, url_verification, the bot's own messages ignored); a repeated
  Events API delivery is answered 200 and processed once.
- `send(row)` is the outbox sender for agents' notices (outbound.py).
- Without `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` the route answers 404 and notices are
  written to the log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import FileSource
from bot.delivery import NotReady, OutboxDelivery, log_agent_notice
from bot.services import Services
from bot.settings import Settings
from bot.slack import blocks as bk
from bot.slack.inbound import Inbound
from bot.slack.outbound import Notifier
from bot.slack.requests import handled, refusal
from bot.tasks import Tasks
from desk.relay import Agent
from storage.models import OutboxMessage

log = structlog.get_logger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
# Web API calls end well within the outbox's 60 s lease, even with the SDK's one retry.
API_TIMEOUT = 15


class SlackDesk:
    """Created with the app (`SlackDesk(settings)`), bound to the services when the app starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = bool(settings.slack_bot_token and settings.slack_signing_secret)
        self.router = APIRouter()
        self._services: Services | None = None
        self.delivery: OutboxDelivery | None = None
        self.notifier: Notifier | None = None
        self.names: dict[str, str] = {}  # Slack user ID → display name (agents' replies are signed)
        self._running = Tasks()  # listeners working after their ack
        self.client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=_api_url(settings.slack_api_url),
            timeout=API_TIMEOUT,
            logger=logging.getLogger("supportbot.slack.web"),
        )
        self.bolt: AsyncApp | None = None
        handler: AsyncSlackRequestHandler | None = None
        if self.enabled:
            self.bolt = AsyncApp(
                name="supportbot",
                client=self.client,
                signing_secret=settings.slack_signing_secret,
                process_before_response=False,  # ack first, the listener's work after
                logger=logging.getLogger("supportbot.slack.bolt"),
            )
            self._register(self.bolt)
            handler = AsyncSlackRequestHandler(self.bolt)

        @self.router.post("/slack/events", tags=["slack"], include_in_schema=False)
        async def slack_events(request: Request) -> Response:
            if handler is None:
                return JSONResponse({"detail": "Slack is not configured"}, status_code=404)
            if self._services is None:
                return JSONResponse({"detail": "starting up"}, status_code=503)
            refused = refusal(request.headers, await request.body(), str(settings.slack_signing_secret))
            if refused is not None:
                return refused
            return await handled(handler, request)

    def _register(self, app: AsyncApp) -> None:
        inbound = Inbound(self)
        app.middleware(inbound.dedupe)
        for action_id in (bk.ACK, bk.ESCALATE, bk.RESOLVE):
            app.action(action_id)(inbound.ticket_button)
        app.action(bk.BACK_TO_BOT)(inbound.back_to_bot)
        app.action(bk.SAVED_REPLY)(inbound.saved_reply)
        app.view(bk.SAVED_REPLY_VIEW)(inbound.saved_reply_submit)
        app.action(bk.TAKE)(inbound.take)
        app.action(bk.WAITING)(inbound.waiting)
        app.view(bk.WAITING_VIEW)(inbound.waiting_submitted)
        app.event("message")(inbound.message)
        app.command("/support")(inbound.support)

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the Slack desk is not bound to the services yet")
        return self._services

    def bind(
        self, services: Services, delivery: OutboxDelivery, files: dict[str, FileSource] | None = None
    ) -> None:
        """`files`: where the customers' attachments are fetched from, by channel."""
        self._services = services
        self.delivery = delivery
        if self.enabled:
            self.notifier = Notifier(self.client, services, files)

    async def send(self, row: OutboxMessage) -> None:
        """Outbox sender for agents' notices."""
        if self.notifier is None:
            if self.enabled:
                raise NotReady(retry_in=5)
            await log_agent_notice(row)
            return
        await self.notifier.send(row)

    @asynccontextmanager
    async def tracked(self) -> AsyncIterator[None]:
        """Mark a listener's work after its ack, so `aclose` can let it finish."""
        async with self._running.tracking():
            yield

    async def aclose(self, grace: float = 10.0) -> None:
        """Let listeners still working finish (cancelled after `grace` seconds); await it before
        the database closes: work cancelled mid-query can hang in the database driver's close."""
        await self._running.wait(grace)

    async def settled(self, grace: float = 10.0) -> None:
        """Wait (up to `grace` seconds) for the work listeners do after their ack, such as the
        deliveries a button press starts, without cancelling anything."""
        await self._running.wait(grace, cancel=False)

    def deliver_soon(self, **filters: Any) -> None:
        """Send what a command just queued (announcements), in the background after the ack."""
        if self.delivery is not None:
            self._running.start(self._deliver_quietly(filters), name="slack-deliver-soon")

    async def _deliver_quietly(self, filters: dict[str, Any]) -> None:
        assert self.delivery is not None
        try:
            await self.delivery.run_once(**filters)
        except Exception:  # the delivery job will pick it up
            log.exception("slack_deliver_soon_failed", filters=filters)

    async def deliver_now(self, ticket_id: int) -> None:
        """Send what a change just queued for this ticket (posts, the customer's notice) at once."""
        if self.delivery is None:
            return
        try:
            await self.delivery.run_once(ticket_id=ticket_id)
        except Exception:  # the delivery job will pick it up
            log.exception("slack_deliver_now_failed", ticket_id=ticket_id)

    async def agent(self, user_id: str) -> Agent:
        """The agent's audit identity and the name customers see (looked up once per user)."""
        if user_id not in self.names:
            try:
                response = await self.client.users_info(user=user_id)
                user = response.get("user") or {}
                profile = user.get("profile") or {}
                name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or ""
                self.names[user_id] = str(name).strip()
            except SlackApiError as exc:
                log.warning("slack_user_lookup_failed", user=user_id, error=str(exc))
                return Agent(actor=f"slack:{user_id}")
        return Agent(actor=f"slack:{user_id}", name=self.names[user_id] or None)


def _api_url(value: str | None) -> str:
    url = value or DEFAULT_API_URL
    return url if url.endswith("/") else f"{url}/"
