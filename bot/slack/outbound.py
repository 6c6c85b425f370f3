"""Agents' notices (outbox rows of kind `agent`) as Slack messages.

A ticket is posted once per tier channel (`TicketPost`); everything later about it goes into a
thread of those posts, and status changes `chat.update` them. The outbox hands each row to one
worker and retries failures, so this module only has to make a retried row harmless:
- a ticket post is skipped when its `TicketPost` already has a `ts` (stored right after the call);
- within one row, the idempotent calls (`chat.update`, permalinks) come first and the one
  message that must not be doubled comes last;
- a thread notice whose ticket post is still waiting in the outbox raises `NotReady`, so threads
  keep their order through a Slack outage; 429 becomes `RetryAfter(Retry-After)`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import NotReady, RetryAfter
from bot.services import Services
from bot.slack import blocks as bk
from desk import outbox
from storage.models import Attachment, MaintenanceWindow, OutboxMessage, Ticket, TicketPost

log = structlog.get_logger(__name__)

NOT_READY_SECONDS = 2.0  # a thread notice waits this long for its ticket's post
POSTING_EVENTS = frozenset({"ticket_created", "ticket_escalated"})
UPDATED = "ticket_updated"  # this desk's own notice: re-render the ticket's posts
THREAD_NOTE = "thread_note"  # this desk's own notice: a note (maybe with buttons) in a ticket thread

# Fetches a customer's file from the platform it was sent on (Telegram's getFile), by file id.
FileSource = Callable[[str], Awaitable[bytes]]


def retry_after(exc: SlackApiError) -> RetryAfter | None:
    """Slack's 429 as the delivery job's RetryAfter (None for any other error)."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if status != 429:
        return None
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        seconds = int(float(str(value)))
    except ValueError:
        seconds = 30
    return RetryAfter(max(1, seconds))


def enqueue_refresh(session: AsyncSession, ticket: Ticket, *, target: str, now: datetime) -> None:
    """Ask for the ticket's posts to be re-rendered (after a button press or a first reply)."""
    outbox.enqueue(
        session,
        kind=outbox.AGENT,
        target=target,
        now=now,
        ticket_id=ticket.id,
        payload={"event": UPDATED, "ticket_id": ticket.id},
    )


def enqueue_thread_note(
    session: AsyncSession,
    ticket: Ticket,
    *,
    target: str,
    tier: int,
    text: str,
    now: datetime,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """A note in the ticket's thread of `tier`, delivered (and retried) by the outbox."""
    payload: dict[str, Any] = {"event": THREAD_NOTE, "ticket_id": ticket.id, "tier": tier, "text": text}
    if blocks:
        payload["blocks"] = blocks
    outbox.enqueue(session, kind=outbox.AGENT, target=target, now=now, ticket_id=ticket.id, payload=payload)


@dataclass
class Loaded:
    """A ticket with its events and customer, its posts that have a ts, its maintenance window."""

    ticket: Ticket
    posts: dict[int, TicketPost]
    maintenance: MaintenanceWindow | None


class Notifier:
    """The outbox sender for kind `agent` (see the module docstring)."""

    def __init__(
        self, client: AsyncWebClient, services: Services, files: dict[str, FileSource] | None = None
    ) -> None:
        self.client = client
        self.services = services
        self.files = files or {}
        self.policy = services.policy
        self._permalinks: dict[tuple[str, str], str] = {}
        self._locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._refreshing: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._handlers: dict[str, Callable[[OutboxMessage], Awaitable[None]]] = {
            "ticket_created": self._created,
            "ticket_escalated": self._escalated,
            "on_call": self._on_call,
            "ticket_reopened": self._reopened,
            "customer_message": self._customer_message,
            "customer_attachment": self._customer_attachment,
            "customer_forgotten": self._customer_forgotten,
            "handoff_requested": self._handoff_requested,
            "sla_reminder": self._sla_reminder,
            "sla_breach": self._sla_breach,
            "sla_breach_top_tier": self._managers,
            "low_rating": self._managers,
            "digest": self._managers,
            UPDATED: self._updated,
            THREAD_NOTE: self._thread_note,
        }

    def now(self) -> datetime:
        return self.services.engine.now()

    async def send(self, row: OutboxMessage) -> None:
        event = str(row.payload.get("event") or "")
        handler = self._handlers.get(event, self._other)
        try:
            await handler(row)
        except SlackApiError as exc:
            limited = retry_after(exc)
            if limited is not None:
                raise limited from exc
            raise

    # -- loading -------------------------------------------------------------------------------

    @staticmethod
    def _ticket_id(row: OutboxMessage) -> int | None:
        value = row.ticket_id if row.ticket_id is not None else row.payload.get("ticket_id")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    async def load(self, ticket_id: int) -> Loaded | None:
        async with self.services.db.reader() as session:
            ticket = await self.services.tickets.get(session, ticket_id, with_events=True)
            if ticket is None:
                return None
            query = select(TicketPost).where(TicketPost.ticket_id == ticket_id, TicketPost.ts.is_not(None))
            posts = {p.tier: p for p in (await session.execute(query)).scalars()}
            window = (
                await session.get(MaintenanceWindow, ticket.maintenance_id) if ticket.maintenance_id else None
            )
            return Loaded(ticket=ticket, posts=posts, maintenance=window)

    async def _load_for(self, row: OutboxMessage) -> Loaded | None:
        ticket_id = self._ticket_id(row)
        loaded = await self.load(ticket_id) if ticket_id is not None else None
        if loaded is None:
            log.warning("slack_notice_without_ticket", outbox_id=row.id, notice=row.payload)
        return loaded

    async def _posting_pending(self, row: OutboxMessage) -> bool:
        """An earlier post of this ticket (creation or escalation) is still in the outbox."""
        ticket_id = self._ticket_id(row)
        async with self.services.db.reader() as session:
            query = select(OutboxMessage.payload).where(
                OutboxMessage.kind == outbox.AGENT,
                OutboxMessage.ticket_id == ticket_id,
                OutboxMessage.id < row.id,
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.dead_at.is_(None),
            )
            payloads = list((await session.execute(query)).scalars())
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
                if retry_after(exc) is not None:
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
        key = (ticket.id, tier)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
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
                    post = await self._claim_post(session, ticket.id, tier, channel)
                    if post.ts is None:
                        response = await self._post_message(message)
                        posted = True
                        post.channel, post.ts = str(response["channel"]), str(response["ts"])
        loaded.posts[tier] = post
        if posted:
            log.info("slack_ticket_posted", ticket_id=ticket.id, tier=tier, channel=post.channel, ts=post.ts)
        return post

    async def _post_message(self, message: dict[str, Any]) -> Any:
        return await self.client.chat_postMessage(**message, unfurl_links=False, unfurl_media=False)

    async def _stored_post(self, ticket_id: int, tier: int) -> TicketPost | None:
        async with self.services.db.reader() as session:
            query = select(TicketPost).where(
                TicketPost.ticket_id == ticket_id, TicketPost.tier == tier, TicketPost.ts.is_not(None)
            )
            return (await session.execute(query)).scalar_one_or_none()

    async def _claim_post(self, session: AsyncSession, ticket_id: int, tier: int, channel: str) -> TicketPost:
        """The (ticket, tier) row, created if need be and locked until the transaction ends."""
        await session.execute(
            pg_insert(TicketPost)
            .values(ticket_id=ticket_id, tier=tier, channel=channel[:80], ts=None, created_at=self.now())
            .on_conflict_do_nothing(index_elements=["ticket_id", "tier"])
        )
        query = (
            select(TicketPost)
            .where(TicketPost.ticket_id == ticket_id, TicketPost.tier == tier)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await session.execute(query)).scalar_one()

    async def _store_post(self, ticket_id: int, tier: int, channel: str, ts: str) -> TicketPost:
        async with self.services.db.session() as session:
            query = select(TicketPost).where(TicketPost.ticket_id == ticket_id, TicketPost.tier == tier)
            post = (await session.execute(query)).scalar_one_or_none()
            if post is None:
                post = TicketPost(
                    ticket_id=ticket_id, tier=tier, channel=channel, ts=ts, created_at=self.now()
                )
                session.add(post)
            else:
                post.channel, post.ts = channel, ts
        return post

    async def refresh(self, ticket_id: int) -> bool:
        """Re-render every post of the ticket (status, who did what, buttons); False if it is gone.

        What is shown is the ticket as it is now, read under the ticket's lock, not as a caller
        read it earlier: two deliveries refreshing one ticket at once (a button's listener, the
        delivery job) could otherwise send an older state last, e.g. a reopened ticket without buttons.
        """
        lock = self._refreshing.get(ticket_id)
        if lock is None:
            lock = self._refreshing[ticket_id] = asyncio.Lock()
        async with lock:
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
                    if retry_after(exc) is not None:
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
        await self.client.chat_postMessage(
            channel=post.channel,
            thread_ts=post.ts,
            text=text,
            blocks=blocks,
            reply_broadcast=broadcast or None,
            unfurl_links=False,
            unfurl_media=False,
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
            await self._plain(row.target, f"{bk.escape(bk.headline(loaded.ticket, self.policy))}: {text}")
        else:
            await self._reply(post, text, blocks=blocks, broadcast=broadcast)

    async def _plain(self, channel: str, text: str) -> None:
        await self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False)

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
        return bk.date_token(due, self.policy) if due is not None else "soon"

    # -- the notices ---------------------------------------------------------------------------

    async def _created(self, row: OutboxMessage) -> None:
        loaded = await self._load_for(row)
        if loaded is not None:
            await self._post_ticket(loaded, tier=1, channel=row.target)

    async def _escalated(self, row: OutboxMessage) -> None:
        loaded = await self._load_for(row)
        if loaded is None:
            return
        ticket = loaded.ticket
        from_tier = row.payload.get("from_tier")
        from_tier = from_tier if isinstance(from_tier, int) else max(1, ticket.tier - 1)
        to_tier = from_tier + 1
        if to_tier not in loaded.posts and await self._posting_pending(row):
            raise NotReady(retry_in=NOT_READY_SECONDS)  # the earlier post first: its thread is linked
        new = await self._post_ticket(loaded, tier=to_tier, channel=row.target)
        await self.refresh(ticket.id)  # the earlier posts lose their buttons and point here
        origin = loaded.posts.get(from_tier) or loaded.posts.get(1)
        if origin is None or origin is new:
            return
        moved = [e for e in ticket.events if e.kind == "escalated" and e.data.get("to_tier") == to_tier]
        by = f" by {bk.actor_label(moved[-1].actor)}" if moved else ""
        reason = str(row.payload.get("reason") or "")
        tier = self.policy.escalation.tiers.get(to_tier)
        name = f" ({bk.escape(tier.name)})" if tier else ""
        text = f":arrow_up: Escalated to tier {to_tier}{name}{by}" + (
            f": {bk.escape(reason)}" if reason else ""
        )
        await self._reply(origin, f"{text}. It continues in {bk.channel_link(new.channel)}.")

    async def _on_call(self, row: OutboxMessage) -> None:
        loaded = await self._load_for(row)
        if loaded is None:
            return
        root = loaded.posts.get(1)
        if root is None and await self._posting_pending(row):
            raise NotReady(retry_in=NOT_READY_SECONDS)
        ticket = loaded.ticket
        link = await self.permalink(root) if root is not None else None
        text = (
            f":rotating_light: <!here> Critical ticket {bk.escape(bk.headline(ticket, self.policy))} arrived "
            f"outside working hours: {bk.escape(ticket.subject)}. Response due {bk.date_token(ticket.response_due_at, self.policy)}."
        )
        if link:
            text += f" <{link}|Open the ticket thread>"
        await self._plain(row.target, text)

    async def _reopened(self, row: OutboxMessage) -> None:
        reason = str(row.payload.get("reason") or "")
        text = ":arrows_counterclockwise: The ticket was reopened" + (
            f": {bk.escape(reason)}" if reason else "."
        )
        await self._thread_notice(row, text, refresh=True)

    async def _customer_message(self, row: OutboxMessage) -> None:
        text = str(row.payload.get("text") or "")
        await self._thread_notice(row, f"Customer: {bk.escape(text)}")

    async def _customer_attachment(self, row: OutboxMessage) -> None:
        """The customer's file, fetched from their platform and uploaded into the ticket's thread."""
        async with self.services.db.reader() as session:
            attachment = await session.get(Attachment, row.payload.get("attachment_id"))
        if attachment is None:
            log.warning("slack_attachment_missing", outbox_id=row.id, notice=row.payload)
            return
        loaded = await self._load_for(row)
        post = await self._thread_for(row, loaded) if loaded is not None else None
        caption = f": {bk.escape(attachment.caption)}" if attachment.caption else ""
        comment = f"Customer sent {bk.escape(attachment.file_name)}{caption}"
        source = self.files.get(attachment.channel)
        content: bytes | None = None
        if source is not None and post is not None:
            try:
                content = await source(attachment.file_id)
            except Exception as exc:  # too big, or gone: the agents still hear about it
                log.warning("attachment_fetch_failed", attachment_id=attachment.id, error=str(exc))
        if content is None or post is None:
            await self._thread_notice(row, f"{comment} (the file could not be fetched)", loaded=loaded)
            return
        await self.client.files_upload_v2(
            channel=post.channel,
            thread_ts=post.ts,
            file=content,
            filename=attachment.file_name,
            title=attachment.file_name,
            initial_comment=comment,
        )

    async def _customer_forgotten(self, row: OutboxMessage) -> None:
        await self._thread_notice(
            row, "The customer deleted their data: they can no longer be reached in chat.", refresh=True
        )

    async def _handoff_requested(self, row: OutboxMessage) -> None:
        await self._thread_notice(
            row,
            ":raising_hand: <!here> The customer asked to talk to a person. Reply in this thread to "
            "answer them; start a reply with `note:` to keep it internal.",
        )

    async def _sla_reminder(self, row: OutboxMessage) -> None:
        loaded = await self._load_for(row)
        ticket = loaded.ticket if loaded else None
        priority = str(row.payload.get("priority") or (ticket.priority if ticket else ""))
        text = (
            f"<!here> {bk.channel_link(row.target)}: :alarm_clock: ticket #{self._ticket_id(row)} ({priority}) "
            f"has no first response yet; the response is due {self._due(row, ticket)}."
        )
        await self._thread_notice(row, text, broadcast=True, refresh=True, loaded=loaded)

    async def _sla_breach(self, row: OutboxMessage) -> None:
        loaded = await self._load_for(row)
        ticket = loaded.ticket if loaded else None
        priority = str(row.payload.get("priority") or (ticket.priority if ticket else ""))
        escalating = row.payload.get("escalating_to")
        text = (
            f"<!here> :rotating_light: SLA breached: ticket #{self._ticket_id(row)} ({priority}) got no first "
            f"response by {self._due(row, ticket)}."
        )
        if isinstance(escalating, int):
            tier = self.policy.escalation.tiers.get(escalating)
            where = f" ({bk.channel_link(tier.slack_channel)})" if tier else ""
            text += f" It has been escalated to tier {escalating}{where}."
        else:
            text += " It is at the top tier; the managers have been alerted."
        await self._thread_notice(row, text, broadcast=True, refresh=True, loaded=loaded)

    async def _managers(self, row: OutboxMessage) -> None:
        """Plain posts in the managers' channel, with a link to the ticket's thread when there is one."""
        event = row.payload.get("event")
        text = bk.escape(str(row.payload.get("text") or event or "notice"))
        if event == "digest":
            text = f":bar_chart: *Daily digest*\n```{text}```"
        elif event == "low_rating":
            text = f":disappointed: {text}"
        elif event == "sla_breach_top_tier":
            text = f":rotating_light: <!here> {text}"
        ticket_id = self._ticket_id(row)
        if ticket_id is not None:
            loaded = await self.load(ticket_id)
            root = loaded.posts.get(1) if loaded else None
            link = await self.permalink(root) if root is not None else None
            if link:
                text += f" <{link}|Ticket #{ticket_id} thread>"
        await self._plain(row.target, text)

    async def _updated(self, row: OutboxMessage) -> None:
        # Nothing but the refresh, which reads the ticket itself: no load here.
        ticket_id = self._ticket_id(row)
        if ticket_id is None or not await self.refresh(ticket_id):
            log.warning("slack_notice_without_ticket", outbox_id=row.id, notice=row.payload)

    async def _thread_note(self, row: OutboxMessage) -> None:
        raw = row.payload.get("blocks")
        note_blocks = raw if isinstance(raw, list) else None
        await self._thread_notice(row, str(row.payload.get("text") or ""), blocks=note_blocks)

    async def _other(self, row: OutboxMessage) -> None:
        """A notice this desk does not know yet: its text, in the ticket's thread or the channel."""
        text = bk.escape(str(row.payload.get("text") or f"Notice: {row.payload.get('event') or 'update'}"))
        if self._ticket_id(row) is not None:
            await self._thread_notice(row, text)
        else:
            await self._plain(row.target, text)
