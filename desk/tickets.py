"""Tickets: open one, find and list them, and what a customer's message or file does to one.

TicketService is the one service callers hold: it builds on the people's changes
(desk/ticket_transitions.py) and the response clocks (desk/ticket_clocks.py). Each change writes
its audit event and the notifications it causes in the caller's transaction, so a ticket never
exists without its trail or its agent notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from desk.constants import OPEN_STATUSES as OPEN_STATUSES  # re-exported: callers import it from here
from desk.constants import OutboxEvent, TicketStatus
from desk.maintenance import active_window
from desk.ticket_transitions import TicketError, TicketTransitions
from storage import rows
from storage.models import Attachment, Customer, OutboxMessage, Ticket, TicketEvent


class TicketLimitReached(TicketError):
    """The customer opened `limits.open_tickets_per_day` tickets in the last 24 hours."""


@dataclass(frozen=True)
class NewTicket:
    """What the intake collected."""

    category: str
    priority: str
    channel: str
    description: str
    subject: str
    troubleshooting: list[dict[str, str]]
    exclusion: str | None = None
    conversation_id: int | None = None
    attachment_ids: tuple[int, ...] = ()  # files sent during the intake, waiting for this ticket
    language: str = "en"  # the customer's language (en | km): agents see it, replies go out in it
    sentiment: str | None = None  # "frustrated" when the customer's words said so
    articles_tried: tuple[str, ...] = ()  # self-service articles offered first, which did not solve it
    reopened_from: int | None = None  # the closed ticket this one follows up


@dataclass(frozen=True)
class CustomerWrote:
    """What a customer's message about their ticket did (the conversation tells them)."""

    ticket: Ticket  # the ticket the message now belongs to (a follow-up when the old one closed)
    resumed: bool = False  # it was waiting on the customer and is back on the clock
    reopened: bool = False  # it was resolved and is open again
    followup_of: int | None = None  # the closed ticket this new one follows
    next_due: datetime | None = None  # a clock started or resumed: the next answer is due then


class TicketService(TicketTransitions):
    """The ticket rules of the policy, free of any transport."""

    # -- reading ---------------------------------------------------------------------------

    async def get(self, session: AsyncSession, ticket_id: int, *, with_events: bool = False) -> Ticket | None:
        query = select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.customer))
        if with_events:
            query = query.options(selectinload(Ticket.events))
        return (await session.execute(query)).scalar_one_or_none()

    # -- opening ---------------------------------------------------------------------------

    async def open(
        self,
        session: AsyncSession,
        *,
        customer: Customer,
        new: NewTicket,
        now: datetime,
        actor: str | None = None,
        daily_limit: bool = False,
    ) -> Ticket:
        """Create a ticket with its SLA deadline, audit event and tier-1 notification.

        With `daily_limit` (a customer opening it from a chat), raises TicketLimitReached once
        the customer opened `limits.open_tickets_per_day` tickets in the last 24 hours: a script
        posing as a customer cannot flood the desk.
        """
        due = self.clock.deadline(priority=new.priority, created=now)
        warn = self.clock.warn_at(priority=new.priority, created=now)
        clock_kind = self.policy.sla.priorities[new.priority].clock
        started = now if clock_kind == "24x7" else self.clock.next_opening(now)
        window = await active_window(session, now) if new.category == "infrastructure" else None
        # Written as plain INSERTs (storage/rows.py): through the unit of work, these three rows
        # were two flushes and half the CPU of the customer's turn that opens the ticket.
        values = {
            "category": new.category,
            "priority": new.priority,
            "status": TicketStatus.OPEN,
            "tier": 1,
            "channel": new.channel,
            "customer_id": customer.id,
            "conversation_id": new.conversation_id,
            "subject": new.subject[:200],
            "description": new.description,
            "troubleshooting": new.troubleshooting,
            "exclusion": new.exclusion,
            "language": new.language,
            "sentiment": new.sentiment,
            "articles_tried": list(new.articles_tried) or None,
            "maintenance_id": window.id if window else None,
            "created_at": now,
            "clock_started_at": started,
            "response_due_at": due,
            "warn_due_at": warn,
            "sla_check_at": warn,
            "reopened_from_id": new.reopened_from,
        }
        if daily_limit:
            # Counted in the INSERT itself: no statement of its own, and never a flush of the
            # session (the turn writes what it changed itself, at its end).
            limit = self.policy.limits.open_tickets_per_day
            within = await rows.insert_within(
                session,
                Ticket,
                values,
                limit=limit,
                where="customer_id = {customer_id} AND created_at > {created_at}",
                customer_id=customer.id,
                created_at=now - timedelta(days=1),
            )
            if within is None:
                raise TicketLimitReached(f"at most {limit} tickets a day")
            ticket = within
        else:
            ticket = await rows.insert(session, Ticket, values)
        actor = actor or f"customer:{customer.id}"
        created = self._event_row(
            ticket,
            "created",
            actor,
            now,
            category=new.category,
            priority=new.priority,
            channel=new.channel,
            response_due_at=due.isoformat(),
            exclusion=new.exclusion,
            maintenance_id=ticket.maintenance_id,
            **({"articles_tried": list(new.articles_tried)} if new.articles_tried else {}),
            **({"reopened_from": new.reopened_from} if new.reopened_from else {}),
        )
        await rows.add(session, TicketEvent, created)
        if self.policy.lifecycle.round_robin:
            await self._assign_in_turn(session, ticket, now)
        await rows.add(session, OutboxMessage, self._notice_row(ticket, OutboxEvent.TICKET_CREATED, now))
        if new.priority == "critical" and not self.clock.is_business_time(now):
            on_call = self.policy.escalation.on_call_channel
            if on_call:
                await self._page_on_call(session, ticket, on_call, now)
        if new.attachment_ids and new.conversation_id is not None:
            waiting = await session.execute(
                select(Attachment).where(
                    Attachment.id.in_(new.attachment_ids),
                    Attachment.conversation_id == new.conversation_id,
                    Attachment.ticket_id.is_(None),
                )
            )
            for attachment in waiting.scalars():
                self._attach(session, ticket, attachment, actor, now)
        return ticket

    async def _page_on_call(self, session: AsyncSession, ticket: Ticket, channel: str, now: datetime) -> None:
        """Page the on-call channel, at most once per `limits.on_call_coalesce_minutes`: a page
        not sent yet takes the new ticket into its count; after a page went out, the next one
        waits for the end of the window and counts what arrived meanwhile."""
        window = timedelta(minutes=self.policy.limits.on_call_coalesce_minutes)
        recent = (
            await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.target == channel, OutboxMessage.created_at > now - window)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .limit(50)
            )
        ).scalars()
        last = next((r for r in recent if r.payload.get("event") == OutboxEvent.ON_CALL), None)
        if last is not None and last.delivered_at is None and last.dead_at is None:
            last.payload = {**last.payload, "more": int(last.payload.get("more", 0)) + 1}
            return
        notice = self._notice_row(ticket, OutboxEvent.ON_CALL, now, channel=channel)
        if last is not None:
            notice["next_attempt_at"] = max(now, (last.delivered_at or last.created_at) + window)
        await rows.add(session, OutboxMessage, notice)

    async def add_attachment(
        self, session: AsyncSession, ticket_id: int, attachment: Attachment, *, actor: str, now: datetime
    ) -> Ticket:
        """A file the customer sent about an open ticket: on its trail and in its agents' thread."""
        ticket = await self._require(session, ticket_id, lock=False)
        self._attach(session, ticket, attachment, actor, now)
        return ticket

    def _attach(
        self, session: AsyncSession, ticket: Ticket, attachment: Attachment, actor: str, now: datetime
    ) -> None:
        attachment.ticket_id = ticket.id
        self._event(
            session,
            ticket,
            "attachment",
            actor,
            now,
            file_name=attachment.file_name,
            file_kind=attachment.kind,
        )
        self._agent_notice(session, ticket, OutboxEvent.CUSTOMER_ATTACHMENT, now, attachment_id=attachment.id)

    # -- the customer's side ---------------------------------------------------------------

    async def add_customer_message(
        self, session: AsyncSession, ticket_id: int, *, text: str, actor: str, now: datetime
    ) -> Ticket:
        """A customer's message about their ticket goes on its trail and to its agents."""
        return (await self.customer_wrote(session, ticket_id, text=text, actor=actor, now=now)).ticket

    async def customer_wrote(
        self, session: AsyncSession, ticket_id: int, *, text: str, actor: str, now: datetime
    ) -> CustomerWrote:
        """A customer's message about their ticket, and what it does to the ticket's life:

        waiting on them: back to open, the held clock runs again; open and answered: the
        next-response clock starts; resolved: reopened (the thread says so); closed: a new
        ticket linked to the old one.
        """
        ticket = await self._require(session, ticket_id)
        if ticket.status == TicketStatus.CLOSED:
            return await self._follow_up(session, ticket, text=text, actor=actor, now=now)
        reopened = ticket.status == TicketStatus.RESOLVED
        if reopened:
            await self.reopen(session, ticket.id, actor=actor, now=now, reason="the customer wrote again")
        resumed = ticket.status == TicketStatus.WAITING_CUSTOMER
        next_due: datetime | None = None
        if resumed:
            ticket.status = TicketStatus.OPEN
            next_due = self._resume(ticket, now)
            self._event(session, ticket, "customer_answered", actor, now, clock_resumed=next_due is not None)
        self._event(session, ticket, OutboxEvent.CUSTOMER_MESSAGE, actor, now, text=text)
        self._agent_notice(session, ticket, OutboxEvent.CUSTOMER_MESSAGE, now, text=text)
        if next_due is None and self.running_clock(ticket) is None:
            next_due = self._start_next_response(ticket, now)
            self._event(
                session,
                ticket,
                "next_response_clock",
                actor,
                now,
                round=ticket.response_round,
                due_at=next_due.isoformat(),
            )
        if next_due is not None and not reopened:
            # The card shows the clock that runs now (a reopening redraws it already).
            self._agent_notice(session, ticket, OutboxEvent.TICKET_UPDATED, now)
        return CustomerWrote(ticket=ticket, resumed=resumed, reopened=reopened, next_due=next_due)

    async def _follow_up(
        self, session: AsyncSession, old: Ticket, *, text: str, actor: str, now: datetime
    ) -> CustomerWrote:
        """A message about a closed ticket opens a new one, linked both ways."""
        customer = await session.get(Customer, old.customer_id)
        if customer is None:
            raise TicketError(f"ticket #{old.id} has no customer any more")
        description = text.strip() or old.description
        new = await self.open(
            session,
            customer=customer,
            now=now,
            actor=actor,
            new=NewTicket(
                category=old.category,
                priority=old.priority,
                channel=old.channel,
                description=description,
                subject=f"Follow-up to #{old.id}: {old.subject}"[:200],
                troubleshooting=list(old.troubleshooting or []),
                conversation_id=old.conversation_id,
                reopened_from=old.id,
            ),
        )
        old.followup_id = new.id
        self._event(session, old, "followed_up", actor, now, ticket_id=new.id)
        self._agent_notice(session, old, OutboxEvent.TICKET_FOLLOWUP, now, followup_id=new.id)
        return CustomerWrote(ticket=new, followup_of=old.id, next_due=new.response_due_at)

    async def customer_forgotten(
        self, session: AsyncSession, ticket_id: int, *, actor: str, now: datetime
    ) -> Ticket:
        """The customer deleted their data: the ticket's agents can no longer reach them in chat."""
        return await self._from_customer(session, ticket_id, OutboxEvent.CUSTOMER_FORGOTTEN, actor, now)

    async def request_human(
        self, session: AsyncSession, ticket_id: int, *, actor: str, now: datetime
    ) -> Ticket:
        return await self._from_customer(session, ticket_id, OutboxEvent.HANDOFF_REQUESTED, actor, now)

    async def _from_customer(
        self, session: AsyncSession, ticket_id: int, kind: str, actor: str, now: datetime, **data: Any
    ) -> Ticket:
        """Something from the customer's side: an audit event and the same notice to the agents."""
        ticket = await self._require(session, ticket_id, lock=False)
        self._event(session, ticket, kind, actor, now, **data)
        self._agent_notice(session, ticket, kind, now, **data)
        return ticket

    # -- listing ---------------------------------------------------------------------------

    async def open_for_customer(self, session: AsyncSession, customer_id: int) -> Ticket | None:
        query = (
            select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(1)
        )
        return (await session.execute(query)).scalar_one_or_none()
