"""`/support` for managers: status, one ticket, SLA risk, statistics (with a chart), escalation and
maintenance windows.

Parsing lives here, the reports' text in bot/slack/report_texts.py; the figures come from
`desk.reports` and `desk.stats`, the changes from the ticket service and `desk.maintenance`.
Answers are ephemeral (only the manager sees them); times are Slack date tokens, shown in each
reader's own timezone.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import structlog

from actions.render import duration
from bot.jobs import run_announcements
from bot.slack import mrkdwn as md
from bot.slack.report_texts import sla_text, stats_text, status_text, ticket_text
from desk import lifecycle, maintenance, outbox, owners, reports, stats, ticket_ids
from desk.chart import sla_chart_png
from desk.maintenance import MaintenanceError
from desk.policy import Policy
from desk.ticket_transitions import TicketError
from storage.models import MaintenanceWindow
from storage.repositories import outbox as outbox_rows
from storage.repositories import ticket_posts

if TYPE_CHECKING:
    from bot.slack.desk import SlackDesk

log = structlog.get_logger(__name__)

DEFAULT_DAYS = 7
MAX_DAYS = 365
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
SELF_SERVICE = ("shift",)  # subcommands any agent may run about themselves
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})

REFUSAL = (
    "Sorry, `/support` is for the support managers. If you need it, ask an admin to add your "
    "Slack user ID to `SUPPORTBOT_MANAGERS`."
)


def help_text(policy: Policy) -> str:
    city = policy.timezone.rsplit("/", 1)[-1].replace("_", " ")
    return "\n".join(
        [
            "*`/support`: the support desk for managers*",
            "• `/support status`: open tickets by priority and tier, SLA risk, the oldest ticket, undelivered notifications",
            "• `/support ticket ID`: one ticket with its SLA and timeline",
            "• `/support sla`: tickets at risk (due within the hour) and breached",
            f"• `/support stats [DAYS]`: figures of the last DAYS days (1-{MAX_DAYS}, default {DEFAULT_DAYS}) "
            "and an SLA chart posted here",
            "• `/support escalate ID [reason]`: move a ticket one tier up",
            "• `/support outbox retry`: send the dead letters (undelivered notifications) again",
            "• `/support assign ID @agent`: make the agent the ticket's owner (reminders mention them)",
            "• `/support shift on|off [TIER]`: join or leave the tier's round-robin (any agent; the tier "
            "of this channel by default)",
            '• `/support maintenance add START END "MESSAGE"`: schedule a maintenance window; START and END '
            f"as ISO 8601 or `YYYY-MM-DD HH:MM` ({city} time), e.g. "
            '`/support maintenance add 2026-12-05 22:00 2026-12-06 02:00 "Database upgrade"`',
            "• `/support maintenance list`: current and upcoming windows",
            "• `/support maintenance cancel ID`: cancel a window",
            "• `/support help`: this help",
        ]
    )


class UsageError(ValueError):
    """The command was not understood; the message says how to write it."""


@dataclass
class Answer:
    """What goes back to the manager (mrkdwn); `chart` is uploaded to the channel afterwards."""

    text: str
    chart: bytes | None = None
    chart_title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def message(self) -> dict[str, Any]:
        return {"text": md.cut(self.text, 3000), "blocks": sections(self.text), "response_type": "ephemeral"}


def sections(text: str, limit: int = 2900) -> list[dict[str, Any]]:
    """Long mrkdwn split on line breaks into section blocks (a section holds 3,000 characters)."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        line = md.cut(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks[:50]]


# -- parsing -----------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """The command's words; quotes group (typographic quotes from Slack's editors count too)."""
    try:
        return shlex.split(html.unescape(text).translate(_QUOTES))
    except ValueError:
        raise UsageError('check the quotes: put the message between a pair of "double quotes"') from None


def ticket_number(value: str | None) -> int:
    ticket_id = ticket_ids.parse(value)
    if ticket_id is None:
        raise UsageError(f"{value or 'nothing'} is not a ticket number; write it like `42` or `#42`")
    return ticket_id


def days_of(value: str | None) -> int:
    if value is None:
        return DEFAULT_DAYS
    if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise UsageError(f"DAYS must be a whole number from 1 to {MAX_DAYS}, not `{value}`")
    return int(value)


def when(tokens: Sequence[str], at: int, policy: Policy, what: str) -> tuple[datetime, int]:
    """A START or END at `tokens[at]`: ISO 8601, or `YYYY-MM-DD HH:MM` as two words; local by default."""
    if at >= len(tokens):
        raise UsageError(f"{what} is missing; write it as `YYYY-MM-DD HH:MM` or ISO 8601")
    raw = tokens[at]
    used = 1
    if _DATE.match(raw):
        if at + 1 >= len(tokens) or not _TIME.match(tokens[at + 1]):
            raise UsageError(f"give {what} a time too, like `{raw} 22:00`")
        raw = f"{raw} {tokens[at + 1]}"
        used = 2
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"`{raw}` is not a date and time; write {what} as `YYYY-MM-DD HH:MM` or ISO 8601"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=policy.tz)
    return parsed, at + used


# -- formatting --------------------------------------------------------------------------------------


def window_line(window: MaintenanceWindow, policy: Policy, now: datetime) -> str:
    state = ":construction: under way" if window.starts_at <= now else "scheduled"
    return (
        f"• *#{window.id}* {state}: {md.date_token(window.starts_at, policy)} to "
        f"{md.date_token(window.ends_at, policy)}: {md.escape(window.message)} (by {md.actor_label(window.created_by)})"
    )


# -- the command ---------------------------------------------------------------------------------


class SupportCommand:
    """Runs one `/support` request for a manager and returns the answer."""

    def __init__(self, desk: SlackDesk) -> None:
        self.desk = desk

    async def run(self, text: str, *, user: str, channel: str = "") -> Answer:
        """`channel`: the name of the channel the command was typed in (a tier's, for `shift`)."""
        tokens = words(text)
        sub = tokens[0].lower() if tokens else "help"
        rest = tokens[1:]
        services = self.desk.services
        policy = services.policy
        if sub == "help":
            return Answer(help_text(policy))
        if sub == "shift":
            return await self._shift(rest, user, channel)
        handler = {
            "status": self._status,
            "ticket": self._ticket,
            "sla": self._sla,
            "stats": self._stats,
            "escalate": self._escalate,
            "maintenance": self._maintenance,
            "outbox": self._outbox,
            "assign": self._assign,
        }.get(sub)
        if handler is None:
            raise UsageError(f"I don't know `{md.escape(sub)}`. Try `/support help`.")
        return await handler(rest, user)

    @property
    def now(self) -> datetime:
        return self.desk.services.engine.now()

    async def _status(self, rest: list[str], user: str) -> Answer:
        now = self.now
        async with self.desk.services.db.reader() as session:
            report = await reports.status_report(session, now=now)
            reasons = await outbox_rows.dead_by_reason(session)
        text = status_text(report, self.desk.services.policy, now)
        if reasons:
            by_reason = ", ".join(f"{md.escape(name)} {count}" for name, count in reasons.items())
            text += f"\n*Dead letters by reason:* {by_reason} (`/support outbox retry` sends them again)"
        return Answer(text)

    async def _outbox(self, rest: list[str], user: str) -> Answer:
        """`/support outbox retry`: the dead letters, sent again once their cause is fixed."""
        if [w.lower() for w in rest[:1]] != ["retry"]:
            raise UsageError("Usage: `/support outbox retry` (sends the dead letters again).")
        services = self.desk.services
        revived = await outbox_rows.retry(services.db, dead=True, now=self.now)
        log.info("outbox_dead_letters_revived", count=revived, by=user)
        if not revived:
            return Answer("There are no dead letters to send again.")
        # The outbox job sends them within seconds.
        return Answer(f"{revived} dead letter(s) queued to be sent again.")

    async def _sla(self, rest: list[str], user: str) -> Answer:
        now = self.now
        async with self.desk.services.db.reader() as session:
            report = await reports.sla_report(session, now=now)
        return Answer(sla_text(report, self.desk.services.policy, now))

    async def _ticket(self, rest: list[str], user: str) -> Answer:
        ticket_id = ticket_number(rest[0] if rest else None)
        services = self.desk.services
        async with services.db.reader() as session:
            timeline = await reports.ticket_timeline(
                session, ticket_id, now=self.now, tickets=services.tickets
            )
            root = await ticket_posts.posted_in(session, ticket_id, 1)
        if timeline is None:
            raise UsageError(f"there is no ticket #{ticket_id}")
        link = None
        if root is not None and self.desk.notifier is not None:
            try:
                link = await self.desk.notifier.permalink(root)
            except Exception:  # a link is a nicety; the answer matters
                log.warning("slack_permalink_failed", ticket_id=ticket_id)
        return Answer(ticket_text(timeline, services.policy, link))

    async def _stats(self, rest: list[str], user: str) -> Answer:
        days = days_of(rest[0] if rest else None)
        services = self.desk.services
        async with services.db.reader() as session:
            report = await stats.stats_report(session, now=self.now, days=days, policy=services.policy)
        title = f"SLA met % per day, last {days} days" if days > 1 else "SLA met % today"
        daily: list[tuple[date, float | None]] = list(report.daily_sla_met)
        return Answer(
            stats_text(report, services.policy), chart=sla_chart_png(daily, title=title), chart_title=title
        )

    async def _escalate(self, rest: list[str], user: str) -> Answer:
        ticket_id = ticket_number(rest[0] if rest else None)
        reason = " ".join(rest[1:]).strip() or "escalated by a manager"
        services = self.desk.services
        try:
            async with services.db.session() as session:
                ticket = await services.tickets.escalate(
                    session, ticket_id, actor=f"slack:{user}", now=self.now, reason=reason
                )
                tier = ticket.tier
        except TicketError as exc:
            raise UsageError(f"I couldn't escalate it: {exc}") from None
        await self.desk.deliver_now(ticket_id)
        config = services.policy.escalation.tiers.get(tier)
        where = f" ({md.escape(config.name)}, {md.channel_link(config.slack_channel)})" if config else ""
        return Answer(f":arrow_up: Ticket #{ticket_id} is escalated to tier {tier}{where}.")

    async def _assign(self, rest: list[str], user: str) -> Answer:
        ticket_id = ticket_number(rest[0] if rest else None)
        match = _USER.match(rest[1]) if len(rest) > 1 else None
        if match is None:
            raise UsageError("write it as `/support assign ID @agent`, picking the agent from Slack's list")
        owner = f"slack:{match.group(1)}"
        services = self.desk.services
        try:
            async with services.db.session() as session:
                await lifecycle.set_owner(
                    session,
                    tickets=services.tickets,
                    ticket_id=ticket_id,
                    owner=owner,
                    actor=f"slack:{user}",
                    now=self.now,
                )
        except TicketError as exc:
            raise UsageError(f"I couldn't assign it: {exc}") from None
        await self.desk.deliver_now(ticket_id)
        return Answer(f":bust_in_silhouette: Ticket #{ticket_id} is now owned by <@{match.group(1)}>.")

    async def _shift(self, rest: list[str], user: str, channel: str = "") -> Answer:
        state = rest[0].lower() if rest else ""
        if state not in ("on", "off"):
            raise UsageError(
                "write `/support shift on` or `/support shift off` (optionally with a tier number)"
            )
        tiers = self.desk.services.policy.escalation.tiers
        if len(rest) > 1:
            if not rest[1].isdigit() or int(rest[1]) not in tiers:
                raise UsageError(f"TIER must be one of {', '.join(str(t) for t in tiers)}")
            tier = int(rest[1])
        else:
            here = [
                n for n, t in tiers.items() if channel and t.slack_channel.lstrip("#") == channel.lstrip("#")
            ]
            tier = here[0] if here else 1
        async with self.desk.services.db.session() as session:
            await owners.set_shift(session, agent=f"slack:{user}", tier=tier, on=state == "on", now=self.now)
            present = await owners.on_shift(session, tier)
        names = ", ".join(md.actor_label(s.agent) for s in present) or "nobody"
        verb = "You're on shift" if state == "on" else "You're off shift"
        robin = (
            "" if self.desk.services.policy.lifecycle.round_robin else " (round-robin is off in the policy)"
        )
        return Answer(f"{verb} for tier {tier}{robin}. On shift now: {names}.")

    async def _maintenance(self, rest: list[str], user: str) -> Answer:
        action = rest[0].lower() if rest else ""
        policy = self.desk.services.policy
        if action == "add":
            return await self._maintenance_add(rest[1:], user, policy)
        if action == "list":
            now = self.now
            async with self.desk.services.db.reader() as session:
                windows = await maintenance.current_and_upcoming(session, now, limit=20)
            if not windows:
                return Answer("No maintenance is scheduled.")
            return Answer("*Maintenance windows*\n" + "\n".join(window_line(w, policy, now) for w in windows))
        if action == "cancel":
            window_id = ticket_number(rest[1] if len(rest) > 1 else None)
            try:
                async with self.desk.services.db.session() as session:
                    window = await maintenance.cancel(session, window_id, now=self.now)
                    message = window.message
            except MaintenanceError as exc:
                raise UsageError(str(exc)) from None
            return Answer(f"Cancelled maintenance #{window_id}: {md.escape(message)}")
        raise UsageError(
            'use `maintenance add START END "MESSAGE"`, `maintenance list` or `maintenance cancel ID`'
        )

    async def _maintenance_add(self, args: list[str], user: str, policy: Policy) -> Answer:
        starts_at, at = when(args, 0, policy, "START")
        ends_at, at = when(args, at, policy, "END")
        message = " ".join(args[at:]).strip()
        if not message:
            raise UsageError('add a message for the customers in quotes, like "Database upgrade"')
        now = self.now
        try:
            async with self.desk.services.db.session() as session:
                window = await maintenance.schedule(
                    session,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    message=message,
                    created_by=f"slack:{user}",
                    now=now,
                )
                window_id = window.id
        except MaintenanceError as exc:
            raise UsageError(f"I couldn't schedule it: {exc}") from None
        # A window that starts now (or within the shortest lead) is announced at once, not at the
        # announcement job's next minute; the outbox job sends whatever this first round leaves.
        if await run_announcements(self.desk.services):
            self.desk.deliver_soon(kind=outbox.CUSTOMER)
        leads = " and ".join(duration(d) for d in policy.maintenance.announce_before)
        told = f" Customers are told {leads} before it starts." if leads else ""
        return Answer(
            f":construction: Scheduled maintenance #{window_id}: {md.date_token(starts_at, policy)} to "
            f"{md.date_token(ends_at, policy)}: {md.escape(message)}.{told}"
        )
