"""An agent's words to the customer from Slack: a reply in the ticket's thread, or a saved reply
picked on the card and edited in a modal; `note:` keeps a thread reply internal.

The relay (desk/relay.py) decides and records; the reply goes out through the outbox, run at once
for the ticket. AgentReplies is the base of the desk's listeners (bot/slack/inbound.py): its
helpers, telling an agent something only they see and the tier's channel, serve the buttons too.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import structlog
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.slack import blocks as bk
from bot.slack import modals
from bot.slack import mrkdwn as md
from bot.slack.notices import enqueue_refresh, enqueue_thread_note
from desk import relay, saved_replies, ticket_ids
from desk.ticket_transitions import TicketError
from storage.models import TicketPost
from storage.repositories import ticket_posts

if TYPE_CHECKING:
    from bot.slack.desk import SlackDesk

log = structlog.get_logger(__name__)

HUMAN_SUBTYPES = (None, "thread_broadcast", "file_share")
NOTE = re.compile(r"^\s*note\s*:\s*", re.IGNORECASE)


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


class AgentReplies:
    """Listeners of the agents' replies, and the helpers every listener of the desk uses."""

    desk: SlackDesk

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
