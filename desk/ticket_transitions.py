"""What the desk's people do to a ticket: acknowledge it, answer it, escalate, resolve, reopen.

Each change writes its audit event and the notifications it causes in the caller's
transaction, so a ticket never exists without its trail or its agent notice. The helpers that
write the trail, the agents' notices and the customer's are here too: opening a ticket and the
customer's side of it (desk/tickets.py) use them the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox, owners
from desk.constants import DONE_STATUSES, OPEN_STATUSES, Clock, OutboxEvent, TicketStatus
from desk.feedback import rating_buttons
from desk.ticket_clocks import TicketClocks
from storage import rows
from storage.models import Customer, OutboxMessage, Ticket, TicketEvent


class TicketError(ValueError):
    """A change that the ticket's state does not allow (the message says why)."""


class TicketTransitions(TicketClocks):
    """The changes people make, and the audit events and notices every change writes."""

    async def _require(self, session: AsyncSession, ticket_id: int, *, lock: bool = True) -> Ticket:
        query = select(Ticket).where(Ticket.id == ticket_id)
        if lock:
            query = query.with_for_update()
        ticket = (await session.execute(query)).scalar_one_or_none()
        if ticket is None:
            raise TicketError(f"ticket #{ticket_id} does not exist")
        return ticket

    async def locked(self, session: AsyncSession, ticket_id: int) -> Ticket:
        """The ticket, locked for a change in the caller's transaction (TicketError if missing)."""
        return await self._require(session, ticket_id)

    @staticmethod
    def _event_row(ticket: Ticket, kind: str, actor: str, now: datetime, **data: Any) -> dict[str, Any]:
        return {"ticket_id": ticket.id, "at": now, "kind": kind, "actor": actor, "data": data}

    def _event(
        self, session: AsyncSession, ticket: Ticket, kind: str, actor: str, now: datetime, **data: Any
    ) -> None:
        session.add(TicketEvent(**self._event_row(ticket, kind, actor, now, **data)))

    def _notice_row(
        self, ticket: Ticket, event: str, now: datetime, channel: str | None = None, **data: Any
    ) -> dict[str, Any]:
        """The outbox row of a notice to the agents (the tier's Slack channel unless `channel`)."""
        return outbox.row(
            kind=outbox.AGENT,
            target=channel or self.policy.escalation.tiers[ticket.tier].slack_channel,
            now=now,
            ticket_id=ticket.id,
            payload={"event": event, "ticket_id": ticket.id, **data},
        )

    def _agent_notice(
        self,
        session: AsyncSession,
        ticket: Ticket,
        event: str,
        now: datetime,
        channel: str | None = None,
        **data: Any,
    ) -> None:
        session.add(OutboxMessage(**self._notice_row(ticket, event, now, channel, **data)))

    async def _tell_customer(
        self, session: AsyncSession, ticket: Ticket, message: str, now: datetime, **values: Any
    ) -> None:
        customer = await session.get(Customer, ticket.customer_id)
        if customer is not None:
            outbox.enqueue(
                session,
                kind=outbox.CUSTOMER,
                now=now,
                ticket_id=ticket.id,
                target=outbox.customer_target(customer.channel, customer.external_id),
                payload=outbox.notice(message, ticket.language, **values),
            )

    async def _assign_in_turn(self, session: AsyncSession, ticket: Ticket, now: datetime) -> None:
        """Round-robin: the tier's next agent on shift owns the ticket (nobody on shift: no owner)."""
        agent = await owners.next_agent(session, tier=ticket.tier, now=now)
        if agent is None:
            return
        previous = ticket.owner
        ticket.owner = agent
        await rows.add(
            session,
            TicketEvent,
            self._event_row(ticket, "owner", "round_robin", now, owner=agent, previous=previous),
        )

    # -- changes ---------------------------------------------------------------------------

    async def acknowledge(
        self, session: AsyncSession, ticket_id: int, *, actor: str, now: datetime
    ) -> Ticket:
        """The first response: the SLA clock stops and the customer hears a person has it."""
        ticket = await self._require(session, ticket_id)
        if ticket.status not in OPEN_STATUSES:
            raise TicketError(f"ticket #{ticket.id} is {ticket.status}")
        if ticket.status == TicketStatus.ACKNOWLEDGED:
            # Telling the customer twice helps nobody; the first response time stays.
            raise TicketError(f"ticket #{ticket.id} is already acknowledged")
        if ticket.status == TicketStatus.WAITING_CUSTOMER:
            raise TicketError(f"ticket #{ticket.id} is waiting on the customer")
        self._first_response(ticket, now)
        ticket.status = TicketStatus.ACKNOWLEDGED
        self._event(session, ticket, "acknowledged", actor, now, sla_state=self.sla_state(ticket, now))
        await self._tell_customer(session, ticket, "desk.acknowledged", now, id=ticket.id)
        return ticket

    async def record_first_response(
        self, session: AsyncSession, ticket_id: int, *, actor: str, now: datetime
    ) -> Ticket:
        """An agent's reply to the customer answers the running clock (first or next response)."""
        ticket = await self._require(session, ticket_id)
        if ticket.status == TicketStatus.WAITING_CUSTOMER:
            return ticket  # the clock is held until the customer answers; a reply does not restart it
        stopped = self._first_response(ticket, now)
        if stopped == Clock.FIRST_RESPONSE:
            self._event(session, ticket, "first_response", actor, now, sla_state=self.sla_state(ticket, now))
        elif stopped == Clock.NEXT_RESPONSE:
            self._event(
                session,
                ticket,
                "next_response",
                actor,
                now,
                round=ticket.response_round,
                sla_state=self.sla_state(ticket, now),
            )
        return ticket

    async def escalate(
        self, session: AsyncSession, ticket_id: int, *, actor: str, now: datetime, reason: str = ""
    ) -> Ticket:
        """Move the ticket one tier up (up to the top tier) and notify that tier's channel."""
        ticket = await self._require(session, ticket_id)
        if ticket.status not in OPEN_STATUSES:
            raise TicketError(f"ticket #{ticket.id} is {ticket.status}")
        if ticket.tier >= self.policy.max_tier:
            raise TicketError(f"ticket #{ticket.id} is already at tier {ticket.tier}, the top tier")
        previous = ticket.tier
        ticket.tier += 1
        running = self.running_clock(ticket)
        if running == Clock.FIRST_RESPONSE:
            # Still unanswered: the new tier gets the priority's full response target from now.
            ticket.response_due_at = self.clock.deadline(priority=ticket.priority, created=now)
            ticket.warn_due_at = self.clock.warn_at(priority=ticket.priority, created=now)
            ticket.sla_check_at = ticket.warn_due_at
        elif running == Clock.NEXT_RESPONSE:
            ticket.next_response_due_at = self.clock.deadline(priority=ticket.priority, created=now)
            ticket.next_warn_at = self.clock.warn_at(priority=ticket.priority, created=now)
            ticket.sla_check_at = ticket.next_warn_at
        if self.policy.lifecycle.round_robin:
            await self._assign_in_turn(session, ticket, now)
        self._event(
            session,
            ticket,
            "escalated",
            actor,
            now,
            from_tier=previous,
            to_tier=ticket.tier,
            reason=reason,
            response_due_at=self.current(ticket)[0].isoformat(),
        )
        self._agent_notice(
            session, ticket, OutboxEvent.TICKET_ESCALATED, now, from_tier=previous, reason=reason
        )
        return ticket

    async def resolve(
        self,
        session: AsyncSession,
        ticket_id: int,
        *,
        actor: str,
        now: datetime,
        note: str = "",
        told: dict[str, Any] | None = None,
    ) -> Ticket:
        """Resolve the ticket and tell the customer, with the agent's `note` (or `told`: a catalog
        message in `outbox.notice` value form, e.g. why the desk resolved it by itself)."""
        ticket = await self._require(session, ticket_id)
        if ticket.status not in OPEN_STATUSES:
            raise TicketError(f"ticket #{ticket.id} is {ticket.status}")
        self._first_response(ticket, now)  # a resolution answers the customer too
        if ticket.status == TicketStatus.WAITING_CUSTOMER:
            self._resume(ticket, now)  # the wait ends here; its time is on record
        ticket.status = TicketStatus.RESOLVED
        ticket.resolved_at = now
        ticket.lifecycle_check_at = now + self.policy.lifecycle.close_after
        self._event(session, ticket, "resolved", actor, now, note=note)
        said: str | dict[str, Any] | None = told or note or None
        customer = await session.get(Customer, ticket.customer_id)
        if customer is not None:
            payload = (
                outbox.notice("desk.resolved_note", ticket.language, id=ticket.id, note=said)
                if said
                else outbox.notice("desk.resolved", ticket.language, id=ticket.id)
            )
            if self.policy.feedback.ask_on_resolve:
                payload["buttons"] = rating_buttons(ticket.id, self.policy)
            outbox.enqueue(
                session,
                kind=outbox.CUSTOMER,
                now=now,
                ticket_id=ticket.id,
                target=outbox.customer_target(customer.channel, customer.external_id),
                payload=payload,
            )
        return ticket

    async def reopen(
        self, session: AsyncSession, ticket_id: int, *, actor: str, now: datetime, reason: str = ""
    ) -> Ticket:
        ticket = await self._require(session, ticket_id)
        if ticket.status not in DONE_STATUSES:
            raise TicketError(f"ticket #{ticket.id} is {ticket.status}, not resolved")
        ticket.status = TicketStatus.OPEN
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.lifecycle_check_at = None
        self._event(session, ticket, "reopened", actor, now, reason=reason)
        self._agent_notice(session, ticket, OutboxEvent.TICKET_REOPENED, now, reason=reason)
        return ticket
