"""The desk's protocol values, named once: ticket statuses and what the outbox carries.

`StrEnum`s, so each member is equal to (and stored as) its bare string: rows written before
these names existed read the same, and code that still spells a value as a string keeps working.
"""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


# A person still owes the customer something (the partial index `ix_tickets_open` names these).
OPEN_STATUSES: tuple[TicketStatus, ...] = (
    TicketStatus.OPEN,
    TicketStatus.ACKNOWLEDGED,
    TicketStatus.WAITING_CUSTOMER,
)
DONE_STATUSES: tuple[TicketStatus, ...] = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class Clock(StrEnum):
    """Which response clock runs on a ticket (`clock` in the ticket JSON; null when none runs)."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    PAUSED = "paused"  # waiting on the customer


class OutboxKind(StrEnum):
    """Who an outbox row is for, which picks its sender in the delivery job."""

    AGENT = "agent"  # `target` is a Slack channel (logged while Slack is off)
    CUSTOMER = "customer"  # `target` is `channel:sender`


class OutboxEvent(StrEnum):
    """The `event` of an outbox row's payload: what happened, for the desk that renders it."""

    TICKET_CREATED = "ticket_created"
    TICKET_ESCALATED = "ticket_escalated"
    TICKET_REOPENED = "ticket_reopened"
    ON_CALL = "on_call"
    CUSTOMER_ATTACHMENT = "customer_attachment"
    CUSTOMER_MESSAGE = "customer_message"
    CUSTOMER_FORGOTTEN = "customer_forgotten"
    HANDOFF_REQUESTED = "handoff_requested"
    SLA_REMINDER = "sla_reminder"
    SLA_BREACH = "sla_breach"
    SLA_BREACH_TOP_TIER = "sla_breach_top_tier"
    LOW_RATING = "low_rating"
    MAINTENANCE = "maintenance"
    DIGEST = "digest"
    # The life after the first response (desk/lifecycle.py, desk/owners.py).
    WAITING_CUSTOMER = "waiting_customer"
    CUSTOMER_NUDGED = "customer_nudged"
    AUTO_RESOLVED = "auto_resolved"
    TICKET_CLOSED = "ticket_closed"
    TICKET_FOLLOWUP = "ticket_followup"
    OWNER_CHANGED = "owner_changed"
    # The Slack desk's own notices about its posts.
    TICKET_UPDATED = "ticket_updated"
    THREAD_NOTE = "thread_note"
