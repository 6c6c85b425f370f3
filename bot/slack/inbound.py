"""What agents and managers do in Slack: button presses, thread replies, `/support`.

Every listener acknowledges first (Slack wants an answer within 3 seconds) and does the work
after: bolt's AsyncApp runs the rest of the listener once `ack()` has answered. The changes
themselves are the desk's (TicketService, relay); their notifications go through the outbox,
which is then run at once for the ticket, so the Slack posts and the customer follow in a blink
and a failure is retried like any other notification.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.channels.keyed import Seen
from bot.ratelimit import Limit, RateLimits
from bot.slack import blocks as bk
from bot.slack import modals
from bot.slack import mrkdwn as md
from bot.slack.commands import REFUSAL, SELF_SERVICE, Answer, SupportCommand, UsageError
from bot.slack.notices import enqueue_refresh, enqueue_thread_note
from desk import lifecycle, relay, saved_replies, ticket_ids
from desk.ticket_transitions import TicketError
from storage.models import TicketPost
from storage.repositories import Session, ticket_posts
from storage.repositories import tickets as ticket_rows

if TYPE_CHECKING:
    from bot.slack.desk import SlackDesk

log = structlog.get_logger(__name__)

EVENTS_CHANNEL = "slack"
EVENTS_SENDER = "events"
HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")
NOTE = re.compile(r"^\s*note\s*:\s*", re.IGNORECASE)
ACK_BUDGET = 1.5  # seconds a /support answer may take to go back with the acknowledgement itself
# A button is applied once per (action, ticket, agent) within this window: a double click, or a
# signed press replayed, does not escalate twice. Shared through Redis when replicas run.
PRESS_WINDOW = Limit("slack_press", "1/10 seconds")


def refusal(headers: Mapping[str, str], body: bytes, signing_secret: str) -> Response | None:
    """A 401 for a request Slack did not sign (checked before bolt reads the body), a 400 for a
    signed one Slack would never send; None for the rest, which bolt handles.

    bolt parses the body before it checks the signature, and takes the timestamp header for a
    number: `X-Slack-Request-Timestamp: abc` or a body nested thousands deep from anyone would
    crash it. Only what Slack signed gets that far.
    """
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp.isascii() or not timestamp.isdigit() or not signature:
        return JSONResponse({"detail": "not signed by Slack"}, status_code=401)
    if not SignatureVerifier(signing_secret).is_valid(body, timestamp, signature):
        return JSONResponse({"detail": "not signed by Slack, or too old"}, status_code=401)
    problem = malformed(body, headers.get("content-type", ""))
    if problem is not None:
        return JSONResponse({"detail": f"not a Slack request: {problem}"}, status_code=400)
    return None


# The parts of a Slack request bolt reads as objects (or lists of them) before any listener runs.
_OBJECTS = ("event", "user", "team", "channel", "container", "message", "view")


def malformed(body: bytes, content_type: str) -> str | None:
    """What makes a signed body something Slack would never send, or None when it may be one."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            if "payload" not in form:
                return None  # a slash command: flat fields, read as strings
            data = json.loads(form["payload"][0])
        else:
            data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "the body is not JSON"
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    for key in _OBJECTS:
        if key in data and not isinstance(data[key], dict):
            return f"{key} must be an object"
    actions = data.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return "actions must be a list of objects"
    return None


async def handled(handler: AsyncSlackRequestHandler, request: Request) -> Response:
    """bolt's answer to a signed request; 400 for one it cannot read (Slack never sends those)."""
    try:
        return await handler.handle(request)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        log.warning("slack_request_unreadable", error=type(exc).__name__)
        return JSONResponse({"detail": "unreadable Slack request"}, status_code=400)


def is_agent_thread_reply(event: dict[str, Any]) -> bool:
    """A person's reply in a thread (not the thread's root, not a bot, not an edit or a join)."""
    thread_ts = event.get("thread_ts")
    return (
        event.get("subtype") in HUMAN_SUBTYPES
        and not event.get("bot_id")
        and isinstance(event.get("user"), str)
        and isinstance(thread_ts, str)
        and thread_ts != event.get("ts")
        and isinstance(event.get("channel"), str)
    )


class Inbound:
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

    # -- helpers ---------------------------------------------------------------------------------

    async def _ephemeral(self, body: dict[str, Any], user: str, text: str) -> None:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if not channel:
            return
        thread_ts = (body.get("message") or {}).get("thread_ts")
        try:
            await self.desk.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.warning("slack_ephemeral_failed", channel=channel, error=str(exc))

    def _target(self, tier: int) -> str:
        tiers = self.desk.services.policy.escalation.tiers
        return tiers[tier].slack_channel if tier in tiers else tiers[1].slack_channel

    # -- ticket buttons --------------------------------------------------------------------------

    async def ticket_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._ticket_button(ack, body, action)

    @staticmethod
    async def _pressed(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> tuple[str, int] | None:
        """Acknowledge a card's button; who pressed it and the card's ticket, or None."""
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        ticket_id = ticket_ids.parse(action.get("value"))
        return (user, ticket_id) if ticket_id is not None and user else None

    async def _ticket_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Acknowledge, Escalate, Resolve: the ticket service decides; the posts follow via the outbox."""
        pressed = await self._pressed(ack, body, action)
        if pressed is None:
            return
        user, ticket_id = pressed
        action_id = action.get("action_id")
        if not await self._first_press(user, ticket_id, action):
            log.info("slack_press_repeated", ticket_id=ticket_id, action=action_id)
            await self._ephemeral(body, user, f"That was applied once to ticket #{ticket_id} a moment ago.")
            return
        services = self.desk.services
        now = services.engine.now()
        actor = f"slack:{user}"
        verb = {bk.ACK: "acknowledge", bk.ESCALATE: "escalate", bk.RESOLVE: "resolve"}.get(
            str(action_id), "change"
        )
        try:
            async with services.db.session() as session:
                if action_id == bk.ACK:
                    await self._not_acknowledged_yet(session, ticket_id)
                    ticket = await services.tickets.acknowledge(session, ticket_id, actor=actor, now=now)
                elif action_id == bk.ESCALATE:
                    ticket = await services.tickets.escalate(session, ticket_id, actor=actor, now=now)
                elif action_id == bk.RESOLVE:
                    ticket = await services.tickets.resolve(session, ticket_id, actor=actor, now=now)
                else:
                    return
                if action_id != bk.ESCALATE:  # an escalation's own notice re-renders the posts
                    enqueue_refresh(session, ticket, target=self._target(ticket.tier), now=now)
        except TicketError as exc:
            await self._ephemeral(body, user, f"Sorry, I couldn't {verb} ticket #{ticket_id}: {exc}.")
            return
        log.info("slack_ticket_action", ticket_id=ticket_id, action=action_id, actor=actor)
        await self.desk.deliver_now(ticket_id)

    async def _first_press(self, user: str, ticket_id: int, action: dict[str, Any]) -> bool:
        """False for the same press delivered again (its `action_ts`) or repeated within the window."""
        action_ts = action.get("action_ts")
        if isinstance(action_ts, str) and action_ts:
            services = self.desk.services
            seen = Seen(services.db, EVENTS_CHANNEL, services.engine.now)
            if not await seen.first_time(f"press:{user}"[:128], action_ts[:128]):
                return False
        key = f"{action.get('action_id')}:{ticket_id}:{user}"
        return await self.presses.check((PRESS_WINDOW,), key) is None

    @staticmethod
    async def _not_acknowledged_yet(session: Session, ticket_id: int) -> None:
        """Two agents pressing at once (or a stale button): the customer hears it once."""
        status = await ticket_rows.status_for_update(session, ticket_id)
        if status == "acknowledged":
            raise TicketError(f"ticket #{ticket_id} is already acknowledged")

    async def back_to_bot(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._back_to_bot(ack, body, action)

    async def _back_to_bot(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """End agent mode: the assistant answers the customer again, and the customer is told."""
        pressed = await self._pressed(ack, body, action)
        if pressed is None:
            return
        user, ticket_id = pressed
        services = self.desk.services
        agent = await self.desk.agent(user)
        try:
            async with services.db.session() as session:
                done = await relay.back_to_bot(
                    session,
                    tickets=services.tickets,
                    ticket_id=ticket_id,
                    agent=agent,
                    now=services.engine.now(),
                )
        except TicketError as exc:
            await self._ephemeral(body, user, f"Sorry, that didn't work: {exc}.")
            return
        if not done:
            await self._ephemeral(body, user, "The customer is already talking to the assistant.")
            return
        channel = (body.get("channel") or {}).get("id")
        ts = (body.get("message") or {}).get("ts")
        if channel and ts:
            try:
                await self.desk.client.chat_update(
                    channel=channel,
                    ts=ts,
                    text=f":robot_face: <@{user}> handed the customer back to the assistant.",
                    blocks=[],
                )
            except SlackApiError as exc:
                log.warning("slack_update_failed", ticket_id=ticket_id, error=str(exc))
        await self.desk.deliver_now(ticket_id)

    # -- the life of a ticket: an owner, waiting on the customer -------------------------------------

    async def take(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._take(ack, body, action)

    async def _take(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """ "Take it": the agent who pressed owns the ticket; the card shows it, reminders name them."""
        pressed = await self._pressed(ack, body, action)
        if pressed is None:
            return
        user, ticket_id = pressed
        services = self.desk.services
        actor = f"slack:{user}"
        try:
            async with services.db.session() as session:
                await lifecycle.set_owner(
                    session,
                    tickets=services.tickets,
                    ticket_id=ticket_id,
                    owner=actor,
                    actor=actor,
                    now=services.engine.now(),
                )
        except TicketError as exc:
            await self._ephemeral(body, user, f"Sorry, I couldn't give you ticket #{ticket_id}: {exc}.")
            return
        log.info("slack_ticket_taken", ticket_id=ticket_id, owner=actor)
        await self.desk.deliver_now(ticket_id)

    async def waiting(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """ "Waiting on customer" opens a modal for the question (the trigger lasts 3 seconds)."""
        await ack()
        ticket_id = ticket_ids.parse(action.get("value"))
        trigger = body.get("trigger_id")
        if ticket_id is None or not isinstance(trigger, str):
            return
        channel = str((body.get("channel") or {}).get("id") or "")
        thread_ts = (body.get("message") or {}).get("ts")
        try:
            await self.desk.client.views_open(
                trigger_id=trigger, view=modals.waiting_modal(ticket_id, channel, thread_ts)
            )
        except SlackApiError as exc:
            log.warning("slack_views_open_failed", ticket_id=ticket_id, error=str(exc))

    async def waiting_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._waiting_submitted(ack, body, view)

    async def _waiting_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The question is sent, the clock held; a state the ticket cannot take shows in the modal."""
        user = str((body.get("user") or {}).get("id") or "")
        meta = str(view.get("private_metadata") or "").split("|")
        ticket_id = ticket_ids.parse(meta[0] if meta else None)
        values = (view.get("state") or {}).get("values") or {}
        question = str(
            ((values.get(bk.QUESTION_BLOCK) or {}).get(bk.QUESTION_INPUT) or {}).get("value") or ""
        )
        if ticket_id is None or not user:
            await ack()
            return
        if not question.strip():
            await ack(
                response_action="errors", errors={bk.QUESTION_BLOCK: "Write the question for the customer."}
            )
            return
        services = self.desk.services
        agent = await self.desk.agent(user)
        now = services.engine.now()
        try:
            async with services.db.session() as session:
                await lifecycle.wait_on_customer(
                    session,
                    tickets=services.tickets,
                    ticket_id=ticket_id,
                    question=question,
                    actor=agent.actor,
                    agent_name=agent.name,
                    now=now,
                )
        except TicketError as exc:
            await ack(response_action="errors", errors={bk.QUESTION_BLOCK: str(exc)})
            return
        await ack()
        log.info("slack_ticket_waiting", ticket_id=ticket_id, actor=agent.actor)
        await self.desk.deliver_now(ticket_id)

    # -- thread replies --------------------------------------------------------------------------

    async def message(self, event: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._message(event)

    async def _message(self, event: dict[str, Any]) -> None:
        """An agent's reply in a ticket thread goes to the customer; `note:` stays internal."""
        if not is_agent_thread_reply(event):
            return
        services = self.desk.services
        post = await ticket_posts.by_thread(services.db, channel=event["channel"], ts=event["thread_ts"])
        if post is None:
            return
        user = event["user"]
        text = str(event.get("text") or "")
        agent = await self.desk.agent(user)
        now = services.engine.now()
        if NOTE.match(text):
            async with services.db.session() as session:
                await relay.internal_note(
                    session,
                    tickets=services.tickets,
                    ticket_id=post.ticket_id,
                    text=md.plain_text(NOTE.sub("", text, count=1)),
                    agent=agent,
                    now=now,
                )
            log.info("slack_internal_note", ticket_id=post.ticket_id, actor=agent.actor)
            return
        reply = md.plain_text(text, self.desk.names)
        if not reply:
            return
        await self._relay(post, user, reply)

    async def _relay(self, post: TicketPost, user: str, reply: str, *, saved: str | None = None) -> bool:
        """`reply` to the ticket's customer, as `user` wrote it in the thread of `post`; False when the
        desk refused it (the agent is told why). `saved`: the saved reply's title, noted in the thread."""
        services = self.desk.services
        agent = await self.desk.agent(user)
        now = services.engine.now()
        try:
            async with services.db.session() as session:
                relayed = await relay.agent_reply(
                    session,
                    tickets=services.tickets,
                    ticket_id=post.ticket_id,
                    text=reply,
                    agent=agent,
                    now=now,
                )
                target = self._target(post.tier)
                if relayed.first_response:
                    enqueue_refresh(session, relayed.ticket, target=target, now=now)
                if relayed.agent_mode_started:
                    note = (
                        f":speech_balloon: <@{user}>'s reply went to the customer. The assistant stays quiet "
                        "while you handle the conversation; the customer's messages appear in this thread. "
                        "Start a reply with `note:` to keep it internal."
                    )
                    enqueue_thread_note(
                        session,
                        relayed.ticket,
                        target=target,
                        tier=post.tier,
                        now=now,
                        text=note,
                        blocks=bk.back_to_bot_blocks(post.ticket_id, note),
                    )
                if saved is not None:
                    # Sent from a modal, the reply is not in the thread yet: show what the customer got.
                    enqueue_thread_note(
                        session,
                        relayed.ticket,
                        target=target,
                        tier=post.tier,
                        now=now,
                        text=f":outbox_tray: <@{user}> sent the saved reply “{md.escape(saved)}”:\n"
                        + md.quote(reply, 2800),
                    )
        except TicketError as exc:
            await self._ephemeral(
                {"channel": {"id": post.channel}, "message": {"thread_ts": post.ts}}, user, str(exc)
            )
            return False
        log.info(
            "slack_agent_reply",
            ticket_id=post.ticket_id,
            actor=agent.actor,
            to=relayed.target.split(":", 1)[0],
            saved=saved,
        )
        await self.desk.deliver_now(post.ticket_id)
        return True

    # -- saved replies ---------------------------------------------------------------------------

    async def saved_reply(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._saved_reply(ack, body, action)

    async def _saved_reply(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A saved reply picked from the card's overflow menu: a modal with its text to edit."""
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        value = str((action.get("selected_option") or {}).get("value") or "")
        raw_id, _, name = value.partition(":")
        ticket_id = ticket_ids.parse(raw_id)
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
        trigger_id = body.get("trigger_id")
        if ticket_id is None or not name or not user or not channel or not ts or not trigger_id:
            return
        services = self.desk.services
        try:
            replies = saved_replies.shared()
            async with services.db.reader() as session:
                text = await saved_replies.render_for_ticket(
                    session, tickets=services.tickets, ticket_id=ticket_id, name=name, replies=replies
                )
            title = replies.get(name).title
        except (saved_replies.SavedReplyError, TicketError) as exc:
            await self._ephemeral(body, user, f"Sorry, that didn't work: {exc}.")
            return
        metadata = json.dumps({"ticket_id": ticket_id, "name": name, "channel": channel, "ts": ts})
        try:
            await self.desk.client.views_open(
                trigger_id=str(trigger_id),
                view=modals.saved_reply_modal(
                    title=f"{title} · ticket #{ticket_id}", text=text, metadata=metadata
                ),
            )
        except SlackApiError as exc:
            log.warning("slack_views_open_failed", ticket_id=ticket_id, error=str(exc))
            await self._ephemeral(body, user, "Sorry, Slack did not open the reply window; please try again.")

    async def saved_reply_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        async with self.desk.tracked():
            await self._saved_reply_submit(ack, body, view)

    async def _saved_reply_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Send: the edited text goes to the customer like a thread reply."""
        values = (view.get("state") or {}).get("values") or {}
        typed = ((values.get(bk.SAVED_REPLY_BLOCK) or {}).get(bk.SAVED_REPLY_INPUT) or {}).get("value")
        text = str(typed or "").strip()
        if not text:
            await ack(
                response_action="errors", errors={bk.SAVED_REPLY_BLOCK: "Write the reply, or press Cancel."}
            )
            return
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        try:
            meta = json.loads(str(view.get("private_metadata") or ""))
            channel, ts, name = str(meta["channel"]), str(meta["ts"]), str(meta["name"])
        except (ValueError, KeyError, TypeError):
            log.warning("slack_saved_reply_bad_metadata")
            return
        post = await ticket_posts.by_thread(self.desk.services.db, channel=channel, ts=ts)
        if post is None or not user:
            return
        try:
            title = saved_replies.shared().get(name).title
        except saved_replies.SavedReplyError:
            title = name
        await self._relay(post, user, text, saved=title)

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
