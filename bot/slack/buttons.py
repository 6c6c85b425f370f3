"""The buttons of a ticket's posts: Acknowledge, Escalate, Resolve, Take it, Waiting on
customer (with its modal), and Back to bot in the ticket's thread.

Each press is applied once: a delivery Slack repeats is recognised by its `action_ts`, and the
same press within `PRESS_WINDOW` is refused. The ticket service (or the lifecycle, the relay)
decides; the posts follow through the outbox.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.channels.keyed import Seen
from bot.ratelimit import Limit, RateLimits
from bot.slack import blocks as bk
from bot.slack import modals
from bot.slack.agent_replies import AgentReplies
from bot.slack.notices import enqueue_refresh
from bot.slack.requests import EVENTS_CHANNEL
from desk import lifecycle, relay, ticket_ids
from desk.ticket_transitions import TicketError
from storage.repositories import Session
from storage.repositories import tickets as ticket_rows

log = structlog.get_logger(__name__)

# A button is applied once per (action, ticket, agent) within this window: a double click, or a
# signed press replayed, does not escalate twice. Shared through Redis when replicas run.
PRESS_WINDOW = Limit("slack_press", "1/10 seconds")


class Buttons(AgentReplies):
    """Listeners of the ticket posts' buttons."""

    presses: RateLimits

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
