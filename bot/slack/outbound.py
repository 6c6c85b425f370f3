"""Agents' notices (outbox rows of kind `agent`) as Slack messages in the tickets' threads.

Each notice event has its handler here; where it goes (which post, which thread, posted once)
is posts.py's. Within one row the idempotent calls (`chat.update`, permalinks) come first and
the one message that must not be doubled comes last, so a retried row is harmless.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import FileSource
from bot.delivery import NotReady, Transient, Undeliverable
from bot.services import Services
from bot.slack import blocks as bk
from bot.slack import mrkdwn as md
from bot.slack.notices import THREAD_NOTE, UPDATED
from bot.slack.posts import NOT_READY_SECONDS, TicketPosts, rate_limited, sending
from desk.chart import sla_chart_png
from storage.models import OutboxMessage
from storage.repositories import tickets as ticket_rows

log = structlog.get_logger(__name__)

# Slack's answers that the same call would get again until a person fixes something (a token,
# an invitation, a channel): the row is dead at once, with the error as its reason.
PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)


def classified(exc: SlackApiError) -> Exception:
    """A Slack error as the delivery job reads it: wait (429), retry (5xx), dead (PERMANENT)."""
    limited = rate_limited(exc)
    if limited is not None:
        return limited
    response = exc.response
    status = getattr(response, "status_code", None) or 0
    error = str(response.get("error") or "") if isinstance(getattr(response, "data", None), dict) else ""
    if error in PERMANENT:
        return Undeliverable(f"Slack answered {error}", reason=error)
    if status >= 500 or error in {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}:
        return Transient(f"Slack answered HTTP {status} {error}".strip())
    return exc


class Notifier(TicketPosts):
    """The outbox sender for kind `agent` (see the module docstring)."""

    def __init__(
        self, client: AsyncWebClient, services: Services, files: dict[str, FileSource] | None = None
    ) -> None:
        super().__init__(client, services, files)
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
            "weekly_report": self._weekly_report,
            "waiting_customer": self._waiting_customer,
            "customer_nudged": self._lifecycle_notice,
            "auto_resolved": self._lifecycle_notice,
            "ticket_closed": self._lifecycle_notice,
            "ticket_followup": self._lifecycle_notice,
            "owner_changed": self._owner_changed,
            UPDATED: self._updated,
            THREAD_NOTE: self._thread_note,
        }

    def now(self) -> datetime:
        return self.services.engine.now()

    async def send(self, row: OutboxMessage) -> None:
        event = str(row.payload.get("event") or "")
        handler = self._handlers.get(event, self._other)
        token = sending.set(row)
        try:
            await handler(row)
        except SlackApiError as exc:
            raise classified(exc) from exc
        finally:
            sending.reset(token)

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
        by = f" by {md.actor_label(moved[-1].actor)}" if moved else ""
        reason = str(row.payload.get("reason") or "")
        tier = self.policy.escalation.tiers.get(to_tier)
        name = f" ({md.escape(tier.name)})" if tier else ""
        text = f":arrow_up: Escalated to tier {to_tier}{name}{by}" + (
            f": {md.escape(reason)}" if reason else ""
        )
        await self._reply(origin, f"{text}. It continues in {md.channel_link(new.channel)}.")

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
            f":rotating_light: <!here> Critical ticket {md.escape(bk.headline(ticket, self.policy))} arrived "
            f"outside working hours: {md.escape(ticket.subject)}. Response due {md.date_token(ticket.response_due_at, self.policy)}."
        )
        if link:
            text += f" <{link}|Open the ticket thread>"
        more = row.payload.get("more")
        if isinstance(more, int) and more > 0:  # pages coalesced (desk/tickets.py)
            text += (
                f" {more} more critical ticket{'s' if more > 1 else ''} arrived since; see the tier channels."
            )
        await self._plain(row.target, text)

    async def _reopened(self, row: OutboxMessage) -> None:
        reason = str(row.payload.get("reason") or "")
        text = ":arrows_counterclockwise: The ticket was reopened" + (
            f": {md.escape(reason)}" if reason else "."
        )
        await self._thread_notice(row, text, refresh=True)

    async def _customer_message(self, row: OutboxMessage) -> None:
        text = str(row.payload.get("text") or "")
        await self._thread_notice(row, f"Customer: {md.escape(text)}")

    async def _customer_attachment(self, row: OutboxMessage) -> None:
        """The customer's file, fetched from their platform and uploaded into the ticket's thread."""
        attachment = await ticket_rows.attachment(self.services.db, row.payload.get("attachment_id"))
        if attachment is None:
            log.warning("slack_attachment_missing", outbox_id=row.id, notice=row.payload)
            return
        loaded = await self._load_for(row)
        post = await self._thread_for(row, loaded) if loaded is not None else None
        caption = f": {md.escape(attachment.caption)}" if attachment.caption else ""
        comment = f"Customer sent {md.escape(attachment.file_name)}{caption}"
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
        who = str(row.payload.get("mention") or "<!here>")
        what = (
            "the customer's latest message has no answer yet"
            if row.payload.get("clock") == "next_response"
            else "has no first response yet"
        )
        text = (
            f"{who} {md.channel_link(row.target)}: :alarm_clock: ticket #{self._ticket_id(row)} ({priority}) "
            f"{what}; the response is due {self._due(row, ticket)}."
        )
        await self._thread_notice(row, text, broadcast=True, refresh=True, loaded=loaded)

    async def _sla_breach(self, row: OutboxMessage) -> None:
        loaded = await self._load_for(row)
        ticket = loaded.ticket if loaded else None
        priority = str(row.payload.get("priority") or (ticket.priority if ticket else ""))
        escalating = row.payload.get("escalating_to")
        who = str(row.payload.get("mention") or "<!here>")
        what = (
            "answer to the customer's latest message"
            if row.payload.get("clock") == "next_response"
            else "first response"
        )
        text = (
            f"{who} :rotating_light: SLA breached: ticket #{self._ticket_id(row)} ({priority}) got no "
            f"{what} by {self._due(row, ticket)}."
        )
        if isinstance(escalating, int):
            tier = self.policy.escalation.tiers.get(escalating)
            where = f" ({md.channel_link(tier.slack_channel)})" if tier else ""
            text += f" It has been escalated to tier {escalating}{where}."
        else:
            text += " It is at the top tier; the managers have been alerted."
        await self._thread_notice(row, text, broadcast=True, refresh=True, loaded=loaded)

    async def _managers(self, row: OutboxMessage) -> None:
        """Plain posts in the managers' channel, with a link to the ticket's thread when there is one."""
        event = row.payload.get("event")
        text = md.escape(str(row.payload.get("text") or event or "notice"))
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

    async def _weekly_report(self, row: OutboxMessage) -> None:
        """The weekly figures in the managers' channel, and the SLA chart in the post's thread."""
        text = f":calendar: *Weekly report*\n```{md.escape(str(row.payload.get('text') or ''))}```"
        posted = await self.client.chat_postMessage(
            channel=row.target, text=text, unfurl_links=False, unfurl_media=False
        )
        daily = weekly_daily(row.payload.get("daily_sla_met"))
        title = "SLA met % per day, last 7 days"
        # The upload needs the channel's ID, which the post's answer gives (the target is a #name).
        await self.client.files_upload_v2(
            channel=str(posted["channel"]),
            thread_ts=str(posted["ts"]),
            file=sla_chart_png(daily, title=title),
            filename="weekly-sla.png",
            title=title,
            alt_txt=title,
        )

    async def _waiting_customer(self, row: OutboxMessage) -> None:
        who = md.actor_label(str(row.payload.get("actor") or ""))
        question = md.quote(str(row.payload.get("question") or ""), 2000)
        text = f":hourglass_flowing_sand: {who} asked the customer; the SLA clock is paused until they answer:\n{question}"
        await self._thread_notice(row, text, refresh=True)

    async def _lifecycle_notice(self, row: OutboxMessage) -> None:
        """Nudged, resolved after silence, closed, followed up: one line in the thread, the card redrawn."""
        event = row.payload.get("event")
        if event == "customer_nudged":
            text = ":bell: The customer has not answered yet; they were reminded of the question."
        elif event == "auto_resolved":
            text = ":white_check_mark: The customer stayed silent, so the ticket was resolved automatically."
        elif event == "ticket_closed":
            text = ":lock: The ticket is closed; a new message from the customer will open a linked ticket."
        else:
            text = f":link: The customer wrote again after the ticket closed: see ticket #{row.payload.get('followup_id')}."
        await self._thread_notice(row, text, refresh=True)

    async def _owner_changed(self, row: OutboxMessage) -> None:
        owner = md.actor_label(str(row.payload.get("owner") or ""))
        actor = str(row.payload.get("actor") or "")
        if actor == row.payload.get("owner"):
            text = f":raised_hand: {owner} took the ticket."
        else:
            text = f":bust_in_silhouette: {md.actor_label(actor)} assigned the ticket to {owner}."
        await self._thread_notice(row, text, refresh=True)

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
        text = md.escape(str(row.payload.get("text") or f"Notice: {row.payload.get('event') or 'update'}"))
        if self._ticket_id(row) is not None:
            await self._thread_notice(row, text)
        else:
            await self._plain(row.target, text)


def weekly_daily(raw: object) -> list[tuple[date, float | None]]:
    """The weekly report's `[["2026-11-24", 87.5], ...]` back as (day, percent) pairs."""
    out: list[tuple[date, float | None]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            try:
                day = date.fromisoformat(item[0])
            except ValueError:
                continue
            pct = item[1]
            out.append((day, float(pct) if isinstance(pct, int | float) else None))
    return out
