"""What agents and managers do in Slack: button presses, thread replies, `/support`.

Every listener acknowledges first (Slack wants an answer within 3 seconds) and does the work
after: bolt's AsyncApp runs the rest of the listener once `ack()` has answered. The changes
themselves are the desk's (TicketService, relay); their notifications go through the outbox,
which is then run at once for the ticket, so the Slack posts and the customer follow in a blink
and a failure is retried like any other notification.

Inbound is the object bolt's listeners are bound to (bot/slack/desk.py): the buttons are
buttons.py's, the agents' replies agent_replies.py's; the Events API's retries and `/support`
are handled here. requests.py checks a request before bolt reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.channels.keyed import Seen
from bot.ratelimit import RateLimits
from bot.slack.buttons import Buttons
from bot.slack.commands import REFUSAL, SELF_SERVICE, Answer, SupportCommand, UsageError
from bot.slack.requests import EVENTS_CHANNEL, EVENTS_SENDER

if TYPE_CHECKING:
    from bot.slack.desk import SlackDesk

log = structlog.get_logger(__name__)

ACK_BUDGET = 1.5  # seconds a /support answer may take to go back with the acknowledgement itself


class Inbound(Buttons):
    """Bolt listeners bound to the desk."""

    def __init__(self, desk: SlackDesk) -> None:
        self.desk = desk
        self.command = SupportCommand(desk)
        # Not an abuse limit: on whatever SUPPORTBOT_RATE_LIMITS says.
        self.presses = RateLimits(
            redis_url=desk.settings.redis_url, prefix=f"{desk.settings.redis_prefix}:slack-presses"
        )

    # -- middleware ------------------------------------------------------------------------------

    async def dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        """An Events API delivery already seen (Slack's retries, a replay) is answered 200, once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not await self._first_time(event_id[:128]):
            log.info("slack_event_duplicate", event_id=event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def _first_time(self, event_id: str) -> bool:
        services = self.desk.services
        seen = Seen(services.db, EVENTS_CHANNEL, services.engine.now)
        return await seen.first_time(EVENTS_SENDER, event_id)

    # -- /support --------------------------------------------------------------------------------

    async def support(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        async with self.desk.tracked():
            await self._support(ack, command, respond)

    async def _support(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        """Managers only; the answer goes back with the acknowledgement when it is quick, else via
        the command's response_url."""
        user = str(command.get("user_id") or "")
        text = str(command.get("text") or "")
        own = text.split()[0].lower() in SELF_SERVICE if text.split() else False
        if user not in self.desk.settings.managers and not own:
            await ack(text=REFUSAL, response_type="ephemeral")
            return
        channel = str(command.get("channel_name") or "")
        task = asyncio.ensure_future(self._answer(text, user, channel))
        done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET)
        if task in done:
            answer = task.result()
            await ack(**answer.message())
        else:
            await ack()
            answer = await task
            await respond(**answer.message(), replace_original=False)
        if answer.chart is not None:
            await self._upload_chart(answer, channel=str(command.get("channel_id") or ""), respond=respond)

    async def _answer(self, text: str, user: str, channel: str = "") -> Answer:
        try:
            return await self.command.run(text, user=user, channel=channel)
        except UsageError as exc:
            return Answer(f"{exc}")
        except Exception:
            log.exception("slack_support_command_failed")
            return Answer("Sorry, that failed on our side; it has been logged.")

    async def _upload_chart(self, answer: Answer, *, channel: str, respond: AsyncRespond) -> None:
        assert answer.chart is not None
        try:
            await self.desk.client.files_upload_v2(
                channel=channel,
                file=answer.chart,
                filename="sla-chart.png",
                title=answer.chart_title,
                alt_txt=answer.chart_title,
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if hasattr(exc.response, "get") else str(exc)
            log.warning("slack_chart_upload_failed", channel=channel, error=error)
            await respond(
                text=f"I couldn't post the chart here ({error}); invite me to this channel with `/invite`.",
                response_type="ephemeral",
                replace_original=False,
            )
