"""Tickets as JSON (docs/reference.md section 5), shared by the REST API and the agents' tools."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desk.tickets import TicketService
from storage.models import Ticket


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_json(
    ticket: Ticket, *, service: TicketService, now: datetime, events: bool = True
) -> dict[str, Any]:
    """The public shape of a ticket; `events` needs the ticket loaded with its events."""
    customer = ticket.customer
    out: dict[str, Any] = {
        "id": ticket.id,
        "category": ticket.category,
        "priority": ticket.priority,
        "status": ticket.status,
        "tier": ticket.tier,
        "channel": ticket.channel,
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
        },
        "subject": ticket.subject,
        "description": ticket.description,
        "troubleshooting": [
            {"step": s["step"], "answer": s["answer"], "note": s.get("note") or None}
            for s in ticket.troubleshooting
        ],
        "exclusion": ticket.exclusion,
        "language": ticket.language,
        "sentiment": ticket.sentiment,
        "articles_tried": list(ticket.articles_tried or []),
        "maintenance_id": ticket.maintenance_id,
        "created_at": iso(ticket.created_at),
        "response_due_at": iso(ticket.response_due_at),
        "first_response_at": iso(ticket.first_response_at),
        "resolved_at": iso(ticket.resolved_at),
        "sla_state": service.sla_state(ticket, now),
        # The life after the first response (desk/lifecycle.py).
        "clock": service.running_clock(ticket),
        "next_response_due_at": iso(ticket.next_response_due_at) if ticket.response_round else None,
        "response_round": ticket.response_round,
        "sla_breaches": ticket.sla_breaches,
        "waiting_since": iso(ticket.paused_at),
        "waiting_seconds": ticket.paused_seconds,
        "owner": ticket.owner,
        "closed_at": iso(ticket.closed_at),
        "reopened_from": ticket.reopened_from_id,
        "linked_ticket_id": ticket.reopened_from_id or ticket.followup_id,
        "followup_id": ticket.followup_id,
    }
    if events:
        out["events"] = [
            {"at": iso(e.at), "kind": e.kind, "actor": e.actor, "data": e.data} for e in ticket.events
        ]
    return out
