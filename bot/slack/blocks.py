"""Block Kit for the agents' desk: ticket posts with their buttons, thread notes, and the ids of
the actions, modals and inputs Slack sends back.

Pure functions of the ticket and the policy, so every post and every `chat.update` of it render
the same way. The text in them is written with mrkdwn.py (customers' and agents' words escaped);
the modals are modals.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.channels import CHANNELS
from bot.slack.mrkdwn import actor_label, channel_link, cut, escape, quote

# tests/bot/slack/test_blocks.py reads these two through this module.
from bot.slack.mrkdwn import date_token as date_token
from bot.slack.mrkdwn import plain_text as plain_text
from desk import saved_replies
from desk.policy import Policy
from desk.tickets import OPEN_STATUSES
from storage.models import MaintenanceWindow, Ticket, TicketEvent

ACK = "ticket_ack"
ESCALATE = "ticket_escalate"
RESOLVE = "ticket_resolve"
BACK_TO_BOT = "ticket_back_to_bot"
TAKE = "ticket_take"
WAITING = "ticket_waiting"
WAITING_VIEW = "ticket_waiting_view"  # the modal that asks the agent for the customer's question
QUESTION_BLOCK = "question"
QUESTION_INPUT = "question_text"
ACTIONS_BLOCK = "ticket_actions"
DESCRIPTION_BLOCK = "ticket_description"
SAVED_REPLY = "ticket_saved_reply"  # the overflow menu of saved replies, beside the description
SAVED_REPLY_VIEW = "saved_reply_modal"  # the modal's callback_id
SAVED_REPLY_BLOCK = "saved_reply"
SAVED_REPLY_INPUT = "text"
OVERFLOW_MAX = 5  # Block Kit: an overflow menu holds 2 to 5 options
OPTION_MAX = 75  # characters of an option's text and value

HEADER_MAX = 150
FIELD_MAX = 2000
SECTION_MAX = 3000
CONTEXT_MAX = 2000

STATUS_LABELS = {
    "open": ":large_orange_circle: Open",
    "acknowledged": ":large_blue_circle: Acknowledged",
    "waiting_customer": ":hourglass_flowing_sand: Waiting for the customer",
    "resolved": ":white_check_mark: Resolved",
    "closed": ":white_check_mark: Closed",
}
LANGUAGE_LABELS = {"en": "English", "km": "Khmer (ភាសាខ្មែរ)"}
CLOCK_LABELS = {
    "first_response": "first response",
    "next_response": ":speech_balloon: next response",
    "paused": ":double_vertical_bar: paused (waiting on the customer)",
}
SLA_LABELS = {
    "running": "running",
    "warning": ":warning: due soon",
    "breached": ":rotating_light: breached",
    "met": ":white_check_mark: met",
}


def headline(ticket: Ticket, policy: Policy) -> str:
    category = (
        policy.categories[ticket.category].title if ticket.category in policy.categories else ticket.category
    )
    return f"#{ticket.id} {category} · {ticket.priority.capitalize()}"


def fallback_text(ticket: Ticket, policy: Policy) -> str:
    """The notification text of a ticket post (what phones and search show)."""
    return f"{headline(ticket, policy)}: {escape(ticket.subject)}"


@dataclass
class PostView:
    """Everything one ticket post needs; `tier` is the tier channel the post sits in."""

    ticket: Ticket  # loaded with its customer and events
    tier: int
    sla_state: str
    policy: Policy
    channels: dict[int, str] = field(default_factory=dict)  # tier → channel ID of its post
    root_link: str | None = None  # permalink of the tier-1 post (for posts above tier 1)
    maintenance: MaintenanceWindow | None = None


def _events(ticket: Ticket, kind: str) -> list[TicketEvent]:
    return [e for e in ticket.events if e.kind == kind]


def _tier_channel(view: PostView, tier: int) -> str:
    if tier in view.channels:
        return channel_link(view.channels[tier])
    config = view.policy.escalation.tiers.get(tier)
    return channel_link(config.slack_channel) if config else f"tier {tier}"


def status_lines(view: PostView) -> list[str]:
    """Who did what to the ticket, for the context line under the post."""
    ticket, policy = view.ticket, view.policy
    lines = []
    acknowledged = _events(ticket, "acknowledged")
    if acknowledged:
        first = acknowledged[0]
        lines.append(f":eyes: Acknowledged by {actor_label(first.actor)} · {date_token(first.at, policy)}")
    if view.tier < ticket.tier:
        moved = [e for e in _events(ticket, "escalated") if e.data.get("from_tier") == view.tier]
        by = f" by {actor_label(moved[-1].actor)}" if moved else ""
        lines.append(
            f":arrow_up: Escalated to tier {ticket.tier}{by} · continues in {_tier_channel(view, ticket.tier)}"
        )
    waits = _events(ticket, "waiting_customer")
    if ticket.status == "waiting_customer" and waits:
        lines.append(
            f":hourglass_flowing_sand: Waiting on the customer since {date_token(waits[-1].at, policy)} "
            f"(asked by {actor_label(waits[-1].actor)})"
        )
    if ticket.reopened_from_id:
        lines.append(f":link: Follows up closed ticket #{ticket.reopened_from_id}")
    if ticket.followup_id:
        lines.append(f":link: Followed up by ticket #{ticket.followup_id}")
    if ticket.status in ("resolved", "closed"):
        resolved = _events(ticket, "resolved")
        if resolved:
            last = resolved[-1]
            lines.append(
                f":white_check_mark: Resolved by {actor_label(last.actor)} · {date_token(last.at, policy)}"
            )
        else:
            lines.append(f":white_check_mark: {ticket.status.capitalize()}")
    elif _events(ticket, "reopened"):
        last = _events(ticket, "reopened")[-1]
        lines.append(
            f":arrows_counterclockwise: Reopened by {actor_label(last.actor)} · {date_token(last.at, policy)}"
        )
    return lines


def _customer_field(ticket: Ticket) -> str:
    customer = ticket.customer
    parts = [escape(customer.name) if customer.name else "_name not given_"]
    parts += [escape(x) for x in (customer.email, customer.phone) if x]
    return "*Customer*\n" + "\n".join(parts)


def _buttons(view: PostView) -> dict[str, Any] | None:
    ticket, policy = view.ticket, view.policy
    if view.tier != ticket.tier or ticket.status not in OPEN_STATUSES:
        return None
    value = str(ticket.id)
    elements: list[dict[str, Any]] = []
    if ticket.status == "open":
        elements.append(
            {
                "type": "button",
                "action_id": ACK,
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "style": "primary",
                "value": value,
            }
        )
    if ticket.tier < policy.max_tier:
        elements.append(
            {
                "type": "button",
                "action_id": ESCALATE,
                "text": {"type": "plain_text", "text": "Escalate"},
                "value": value,
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": RESOLVE,
            "text": {"type": "plain_text", "text": "Resolve"},
            "value": value,
            "confirm": {
                "title": {"type": "plain_text", "text": cut(f"Resolve ticket #{ticket.id}?", 100)},
                "text": {
                    "type": "mrkdwn",
                    "text": "The customer is told that the ticket is resolved and is asked to rate the support.",
                },
                "confirm": {"type": "plain_text", "text": "Resolve"},
                "deny": {"type": "plain_text", "text": "Cancel"},
            },
        }
    )
    # The life of a ticket: an owner, a question to the customer.
    if ticket.owner is None:
        elements.append(
            {
                "type": "button",
                "action_id": TAKE,
                "text": {"type": "plain_text", "text": "Take it"},
                "value": value,
            }
        )
    if ticket.status != "waiting_customer":
        elements.append(
            {
                "type": "button",
                "action_id": WAITING,
                "text": {"type": "plain_text", "text": "Waiting on customer"},
                "value": value,
            }
        )
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": elements}


def _check_line(s: dict[str, Any]) -> str:
    """A troubleshooting answer, with the customer's own words and where they came from."""
    answer = str(s.get("answer", "")).replace("_", " ")
    line = f"• {escape(str(s.get('step', '')))} *{escape(answer)}*"
    if s.get("note"):
        line += f" _{escape(cut(str(s['note']), 300))}_"
    if s.get("source") == "description":
        line += " (from their first message)"
    return line


def saved_reply_menu(ticket_id: int) -> dict[str, Any] | None:
    """The overflow menu of saved replies (replies/), each option `TICKET:NAME`; None without two."""
    try:
        replies = saved_replies.shared()
    except saved_replies.SavedReplyError:
        return None  # logged when the desk starts; the card works without the menu
    options = [
        {
            "text": {"type": "plain_text", "text": cut(f"Reply: {replies.get(name).title}", OPTION_MAX)},
            "value": f"{ticket_id}:{name}"[:OPTION_MAX],
        }
        for name in replies.names()[:OVERFLOW_MAX]
    ]
    if len(options) < 2:
        return None
    return {"type": "overflow", "action_id": SAVED_REPLY, "options": options}


def _due_field(view: PostView) -> str:
    """The due time of the clock that runs (or ran last), which clock it is, and its SLA state."""
    ticket, policy = view.ticket, view.policy
    sla = f"SLA: {SLA_LABELS.get(view.sla_state, view.sla_state)}"
    if ticket.response_round and ticket.next_response_due_at is not None:
        text = f"*Next response due*\n{date_token(ticket.next_response_due_at, policy)}\n{sla}"
    else:
        text = f"*Response due*\n{date_token(ticket.response_due_at, policy)}\n{sla}"
    running = None
    if ticket.status == "waiting_customer":
        running = "paused"
    elif ticket.status in OPEN_STATUSES and ticket.first_response_at is None:
        running = "first_response"
    elif ticket.status in OPEN_STATUSES and ticket.response_round and ticket.next_response_at is None:
        running = "next_response"
    if running is not None:
        text += f" · clock {CLOCK_LABELS[running]}"
    if ticket.sla_breaches:
        text += f" · {ticket.sla_breaches} breach{'es' if ticket.sla_breaches > 1 else ''} on record"
    return text


def ticket_blocks(view: PostView) -> list[dict[str, Any]]:
    """The ticket as a Block Kit message: header, fields, description, checks, notes, buttons."""
    ticket, policy = view.ticket, view.policy
    tier = policy.escalation.tiers.get(ticket.tier)
    fields = [
        f"*Tier*\n{ticket.tier}" + (f" · {escape(tier.name)}" if tier else ""),
        f"*Status*\n{STATUS_LABELS.get(ticket.status, escape(ticket.status))}",
        _customer_field(ticket),
        f"*Channel*\n{CHANNELS.label(ticket.channel) or escape(ticket.channel)}",
        f"*Language*\n{LANGUAGE_LABELS.get(ticket.language, escape(str(ticket.language)))}",
        f"*Created*\n{date_token(ticket.created_at, policy)}",
        _due_field(view),
    ]
    if ticket.owner:
        fields.append(f"*Owner*\n{actor_label(ticket.owner)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(headline(ticket, policy), HEADER_MAX)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": cut(f, FIELD_MAX)} for f in fields]},
        {
            "type": "section",
            "block_id": DESCRIPTION_BLOCK,
            "text": {
                "type": "mrkdwn",
                "text": cut("*Description*\n" + quote(ticket.description, 2800), SECTION_MAX),
            },
        },
    ]
    # Saved replies: an overflow menu beside the description, while the card has its buttons.
    overflow = (
        saved_reply_menu(ticket.id) if view.tier == ticket.tier and ticket.status in OPEN_STATUSES else None
    )
    if overflow is not None:
        blocks[-1]["accessory"] = overflow
    checks = [s for s in ticket.troubleshooting if isinstance(s, dict)]
    if checks:
        lines = [_check_line(s) for s in checks]
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": cut("*Troubleshooting*\n" + "\n".join(lines), SECTION_MAX),
                },
            }
        )
    notes = []
    if ticket.sentiment == "frustrated":
        notes.append(":rage: *Customer is frustrated*: acknowledge it in the first reply")
    tried = [escape(str(slug)) for slug in ticket.articles_tried or []]
    if tried:
        base = policy.knowledge.base_url.rstrip("/")
        shown = [f"<{base}/kb/en/{slug}|{slug}>" if base else f"`{slug}`" for slug in tried]
        notes.append(":books: *Articles offered before the ticket* (not solved): " + ", ".join(shown))
    if ticket.exclusion:
        exclusion = policy.exclusions.get(ticket.exclusion)
        what = (
            f"{escape(exclusion.title)}: {escape(exclusion.description)}"
            if exclusion
            else escape(ticket.exclusion)
        )
        notes.append(f":warning: *Possibly outside standard support* ({what})")
    if view.maintenance is not None:
        window = view.maintenance
        notes.append(
            f":construction: Opened during maintenance #{window.id}: {escape(window.message)} "
            f"({date_token(window.starts_at, policy)} to {date_token(window.ends_at, policy)})"
        )
    if view.tier > 1:
        moved = [e for e in _events(ticket, "escalated") if e.data.get("to_tier") == view.tier]
        line = f":arrow_up: Escalated from tier {view.tier - 1}"
        if moved:
            line += f" by {actor_label(moved[-1].actor)}"
            reason = str(moved[-1].data.get("reason") or "")
            if reason:
                line += f": {escape(reason)}"
        if view.root_link:
            line += f" · <{view.root_link}|original thread>"
        notes.append(line)
    notes += status_lines(view)
    if notes:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": cut(n, CONTEXT_MAX)} for n in notes[:10]],
            }
        )
    buttons = _buttons(view)
    if buttons is not None:
        blocks.append(buttons)
    return blocks


def back_to_bot_blocks(ticket_id: int, text: str) -> list[dict[str, Any]]:
    """A thread note with the button that hands the customer back to the assistant."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "agent_mode",
            "elements": [
                {
                    "type": "button",
                    "action_id": BACK_TO_BOT,
                    "text": {"type": "plain_text", "text": "Back to bot"},
                    "value": str(ticket_id),
                }
            ],
        },
    ]
