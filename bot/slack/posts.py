"""A ticket's posts in the agents' desk: one per tier channel, posted once, threads in order.

A ticket is posted once per tier channel (`TicketPost`); everything later about it goes into a
thread of those posts, and status changes `chat.update` them. The outbox hands each row to one
worker and retries failures, so this module only has to make a retried row harmless:
- a ticket post is skipped when its `TicketPost` already has a `ts` (stored right after the call);
- a thread notice whose ticket post is still waiting in the outbox raises `NotReady`, so threads
  keep their order through a Slack outage; 429 becomes `RetryAfter(Retry-After)`;
- every message a row posts carries the row's id in Slack message metadata
  (`event_type: supportbot_outbox`); a row whose lease ran out (its worker died mid-post) first
  looks for that metadata in the channel's recent history, or the thread's replies, and a
  message found there is not posted again.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import retry_after
from bot.channels import FileSource
from bot.channels.keyed import KeyedLocks
from bot.delivery import NotReady
from bot.retry_after import RetryAfter
from bot.services import Services
from bot.slack import blocks as bk
from bot.slack import mrkdwn as md
from desk import outbox, ticket_ids
from storage.models import MaintenanceWindow, OutboxMessage, Ticket, TicketPost
from storage.repositories import maintenance, ticket_posts
from storage.repositories import outbox as outbox_rows

log = structlog.get_logger(__name__)

NOT_READY_SECONDS = 2.0  # a thread notice waits this long for its ticket's post
POSTING_EVENTS = frozenset({"ticket_created", "ticket_escalated"})
METADATA_EVENT = "supportbot_outbox"  # the event_type of our messages' metadata
HISTORY_SLACK = timedelta(minutes=5)  # looked back before the row was written (clock skew)
HISTORY_PAGES = 5  # pages of 200 messages searched for an earlier post of a row

# The outbox row being sent, so every message it posts carries its id (set by Notifier.send).
sending: ContextVar[OutboxMessage | None] = ContextVar("sending", default=None)


def rate_limited(exc: SlackApiError) -> RetryAfter | None:
    """Slack's 429 as the delivery job's RetryAfter (None for any other error)."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return retry_after.from_response(status, getattr(response, "headers", None))


@dataclass
class Loaded:
    """A ticket with its events and customer, its posts that have a ts, its maintenance window."""

    ticket: Ticket
    posts: dict[int, TicketPost]
    maintenance: MaintenanceWindow | None


class TicketPosts:
    """Loading a ticket with its posts, posting it once per tier, re-rendering, thread replies."""

    def __init__(
        self, client: AsyncWebClient, services: Services, files: dict[str, FileSource] | None = None
    ) -> None:
        self.client = client
        self.services = services
        self.files = files or {}
        self.policy = services.policy
        self._permalinks: dict[tuple[str, str], str] = {}
        self._channel_id_cache: dict[str, str] = {}
        self._locks: KeyedLocks[tuple[int, int]] = KeyedLocks()  # (ticket, tier): one post
        self._refreshing: KeyedLocks[int] = KeyedLocks()  # ticket: renders in order

    def now(self) -> datetime:
        return self.services.engine.now()

    # -- loading -------------------------------------------------------------------------------

    @staticmethod
    def _ticket_id(row: OutboxMessage) -> int | None:
        return ticket_ids.parse(row.ticket_id if row.ticket_id is not None else row.payload.get("ticket_id"))

    async def load(self, ticket_id: int) -> Loaded | None:
        async with self.services.db.reader() as session:
            ticket = await self.services.tickets.get(session, ticket_id, with_events=True)
            if ticket is None:
                return None
            posts = await ticket_posts.posted(session, ticket_id)
            window = await maintenance.window(session, ticket.maintenance_id)
            return Loaded(ticket=ticket, posts=posts, maintenance=window)

    async def _load_for(self, row: OutboxMessage) -> Loaded | None:
        ticket_id = self._ticket_id(row)
        loaded = await self.load(ticket_id) if ticket_id is not None else None
        if loaded is None:
            log.warning("slack_notice_without_ticket", outbox_id=row.id, notice=row.payload)
        return loaded

    async def _posting_pending(self, row: OutboxMessage) -> bool:
        """An earlier post of this ticket (creation or escalation) is still in the outbox."""
        payloads = await outbox_rows.pending_before(
            self.services.db, kind=outbox.AGENT, ticket_id=self._ticket_id(row), before_id=row.id
        )
        return any(isinstance(p, dict) and p.get("event") in POSTING_EVENTS for p in payloads)

    def _tier_of(self, row: OutboxMessage, ticket: Ticket) -> int:
        """The tier whose thread a notice belongs in: named in the payload, or by its channel."""
        tiers = self.policy.escalation.tiers
        named = row.payload.get("tier")
        if isinstance(named, int) and named in tiers:
            return named
        matching = [t for t, cfg in tiers.items() if cfg.slack_channel == row.target]
        if ticket.tier in matching or not matching:
            return ticket.tier
        return max(matching)

    async def _thread_for(self, row: OutboxMessage, loaded: Loaded) -> TicketPost | None:
        """The post to reply under; NotReady while it is still waiting to be posted."""
        post = loaded.posts.get(self._tier_of(row, loaded.ticket))
        if post is not None:
            return post
        if await self._posting_pending(row):
            raise NotReady(retry_in=NOT_READY_SECONDS)
        # The post was never made (dead-lettered): the nearest thread there is, else none.
        return (
            loaded.posts.get(loaded.ticket.tier)
            or loaded.posts.get(1)
            or next(iter(loaded.posts.values()), None)
        )

    # -- Slack calls ---------------------------------------------------------------------------

    async def permalink(self, post: TicketPost) -> str | None:
        assert post.ts is not None
        key = (post.channel, post.ts)
        if key not in self._permalinks:
            try:
                response = await self.client.chat_getPermalink(channel=post.channel, message_ts=post.ts)
            except SlackApiError as exc:
                if rate_limited(exc) is not None:
                    raise
                log.warning("slack_permalink_failed", channel=post.channel, ts=post.ts, error=str(exc))
                return None
            self._permalinks[key] = str(response["permalink"])
        return self._permalinks[key]

    async def view(self, loaded: Loaded, tier: int) -> bk.PostView:
        ticket = loaded.ticket
        root = loaded.posts.get(1)
        return bk.PostView(
            ticket=ticket,
            tier=tier,
            sla_state=self.services.tickets.sla_state(ticket, self.now()),
            policy=self.policy,
            channels={t: p.channel for t, p in loaded.posts.items()},
            root_link=await self.permalink(root) if root is not None and tier > 1 else None,
            maintenance=loaded.maintenance,
        )

    async def _post_ticket(self, loaded: Loaded, *, tier: int, channel: str) -> TicketPost:
        """Post the ticket in a tier channel, once: a retried row finds the stored ts.

        The check, the call and the stored ts are serialised per (ticket, tier): by a lock in this
        process and, on PostgreSQL, by the `TicketPost` row itself, inserted and locked in the
        transaction that stores the ts right after the call (another replica waits on it, then
        finds the ts). On SQLite (one process) the lock suffices, and no database write lock is
        held during the call.
        """
        existing = loaded.posts.get(tier)
        if existing is not None:
            return existing
        ticket = loaded.ticket
        async with self._locks[ticket.id, tier]:
            view = await self.view(loaded, tier)
            message = {
                "channel": channel,
                "text": bk.fallback_text(ticket, self.policy),
                "blocks": bk.ticket_blocks(view),
            }
            db = self.services.db
            posted = False
            if db.is_sqlite:
                post = await self._stored_post(ticket.id, tier)
                if post is None:
                    response = await self._post_message(message)
                    posted = True
                    post = await self._store_post(
                        ticket.id, tier, str(response["channel"]), str(response["ts"])
                    )
            else:
                async with db.session() as session:
                    post = await ticket_posts.claim(
                        session, ticket_id=ticket.id, tier=tier, channel=channel, now=self.now()
                    )
                    if post.ts is None:
                        response = await self._post_message(message)
                        posted = True
                        post.channel, post.ts = str(response["channel"]), str(response["ts"])
        loaded.posts[tier] = post
        if posted:
            log.info("slack_ticket_posted", ticket_id=ticket.id, tier=tier, channel=post.channel, ts=post.ts)
        return post

    async def _post_message(self, message: dict[str, Any]) -> Any:
        return await self._post(**message)

    async def _post(self, **message: Any) -> Any:
        """`chat.postMessage` with the row's id in the metadata; once per row and place."""
        row = sending.get()
        if row is None:
            return await self.client.chat_postMessage(**message, unfurl_links=False, unfurl_media=False)
        if row.lease_expired:
            found = await self._posted_before(row, str(message["channel"]), message.get("thread_ts"))
            if found is not None:
                log.info("slack_post_found_after_crash", outbox_id=row.id, ts=found["ts"])
                return found
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": row.id}}
        return await self.client.chat_postMessage(
            **message, metadata=metadata, unfurl_links=False, unfurl_media=False
        )

    async def _channel_id(self, channel: str) -> str | None:
        """A channel's ID (history needs it; posts may name the channel)."""
        if not channel.startswith("#"):
            return channel
        name = channel.removeprefix("#")
        cursor: str | None = None
        while True:
            page = await self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
            )
            for found in page.get("channels") or []:
                if found.get("name") == name:
                    return str(found["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    async def _posted_before(self, row: OutboxMessage, channel: str, thread_ts: Any) -> dict[str, str] | None:
        """The message this row posted before its worker died, if Slack has it: {channel, ts}.

        When the history cannot be read (an app installed without `channels:read`), the row is
        posted: a rare double after a crash is better than a notice never sent.
        """
        try:
            return await self._search_history(row, channel, thread_ts)
        except SlackApiError as exc:
            if rate_limited(exc) is not None:
                raise
            log.warning("slack_history_unavailable", outbox_id=row.id, channel=channel, error=str(exc))
            return None

    async def _search_history(
        self, row: OutboxMessage, channel: str, thread_ts: Any
    ) -> dict[str, str] | None:
        channel_id = self._channel_id_cache.get(channel) or await self._channel_id(channel)
        if channel_id is None:
            return None
        self._channel_id_cache[channel] = channel_id
        oldest = f"{(row.created_at - HISTORY_SLACK).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            if thread_ts:
                page = await self.client.conversations_replies(
                    channel=channel_id,
                    ts=str(thread_ts),
                    oldest=oldest,
                    limit=200,
                    include_all_metadata=True,
                    cursor=cursor,
                )
            else:
                page = await self.client.conversations_history(
                    channel=channel_id, oldest=oldest, limit=200, include_all_metadata=True, cursor=cursor
                )
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT
                    and (metadata.get("event_payload") or {}).get("outbox_id") == row.id
                    and (thread_ts is None or message.get("ts") != thread_ts)
                ):
                    return {"channel": channel_id, "ts": str(message["ts"])}
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def _stored_post(self, ticket_id: int, tier: int) -> TicketPost | None:
        async with self.services.db.reader() as session:
            return await ticket_posts.posted_in(session, ticket_id, tier)

    async def _store_post(self, ticket_id: int, tier: int, channel: str, ts: str) -> TicketPost:
        return await ticket_posts.store(
            self.services.db, ticket_id=ticket_id, tier=tier, channel=channel, ts=ts, now=self.now()
        )

    async def refresh(self, ticket_id: int) -> bool:
        """Re-render every post of the ticket (status, who did what, buttons); False if it is gone.

        What is shown is the ticket as it is now, read under the ticket's lock, not as a caller
        read it earlier: two deliveries refreshing one ticket at once (a button's listener, the
        delivery job) could otherwise send an older state last, e.g. a reopened ticket without buttons.
        """
        async with self._refreshing[ticket_id]:
            current = await self.load(ticket_id)
            if current is None:
                return False
            for tier, post in sorted(current.posts.items()):
                view = await self.view(current, tier)
                try:
                    await self.client.chat_update(
                        channel=post.channel,
                        ts=str(post.ts),
                        text=bk.fallback_text(current.ticket, self.policy),
                        blocks=bk.ticket_blocks(view),
                    )
                except SlackApiError as exc:
                    if rate_limited(exc) is not None:
                        raise
                    # A deleted post or an archived channel must not hold up the rest.
                    log.warning("slack_update_failed", ticket_id=ticket_id, tier=tier, error=str(exc))
            return True

    async def _reply(
        self,
        post: TicketPost,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        broadcast: bool = False,
    ) -> None:
        await self._post(
            channel=post.channel,
            thread_ts=post.ts,
            text=text,
            blocks=blocks,
            reply_broadcast=broadcast or None,
        )

    async def _thread_notice(
        self,
        row: OutboxMessage,
        text: str,
        *,
        broadcast: bool = False,
        refresh: bool = False,
        blocks: list[dict[str, Any]] | None = None,
        loaded: Loaded | None = None,
    ) -> None:
        """A notice in the ticket's thread (a standalone post when the ticket never got one)."""
        loaded = loaded or await self._load_for(row)
        if loaded is None:
            await self._plain(row.target, text)
            return
        post = await self._thread_for(row, loaded)
        if refresh:
            await self.refresh(loaded.ticket.id)
        if post is None:
            await self._plain(row.target, f"{md.escape(bk.headline(loaded.ticket, self.policy))}: {text}")
        else:
            await self._reply(post, text, blocks=blocks, broadcast=broadcast)

    async def _plain(self, channel: str, text: str) -> None:
        await self._post(channel=channel, text=text)

    def _due(self, row: OutboxMessage, ticket: Ticket | None) -> str:
        raw = row.payload.get("response_due_at")
        due: datetime | None = None
        if isinstance(raw, str):
            try:
                due = datetime.fromisoformat(raw)
            except ValueError:
                due = None
        if due is None and ticket is not None:
            due = ticket.response_due_at
        return md.date_token(due, self.policy) if due is not None else "soon"

    # -- the notices ---------------------------------------------------------------------------
