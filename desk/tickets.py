"""Tickets: open, acknowledge, escalate, resolve, reopen, and the response clocks.

The first response has its clock from creation; after it, each customer message on an open
ticket starts the next-response clock (round 1, 2, ...) with the priority's target on the same
clocks. Any answer from a person (acknowledge, a reply, a resolution) stops the running clock.
Waiting on the customer (desk/lifecycle.py) holds the running clock: its deadline moves on by
the time spent waiting when the customer answers, so paused time never counts.

Each change writes its audit event and the notifications it causes in the caller's
transaction, so a ticket never exists without its trail or its agent notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from desk import outbox, owners
from desk.constants import DONE_STATUSES, Clock, OutboxEvent, TicketStatus
from desk.constants import OPEN_STATUSES as OPEN_STATUSES  # re-exported: callers import it from here
from desk.feedback import rating_buttons
from desk.maintenance import active_window
from desk.policy import Policy
from desk.sla import SlaClock
from storage import rows
from storage.models import Attachment, Customer, OutboxMessage, Ticket, TicketEvent


class TicketError(ValueError):
    """A change that the ticket's state does not allow (the message says why)."""


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


class TicketService:
    """The ticket rules of the policy, free of any transport."""

    def __init__(self, policy: Policy, clock: SlaClock | None = None) -> None:
        self.policy = policy
        self.clock = clock or SlaClock(policy)

    # -- reading ---------------------------------------------------------------------------

    async def get(self, session: AsyncSession, ticket_id: int, *, with_events: bool = False) -> Ticket | None:
        query = select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.customer))
        if with_events:
            query = query.options(selectinload(Ticket.events))
        return (await session.execute(query)).scalar_one_or_none()

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
    def current(ticket: Ticket) -> tuple[datetime, datetime, datetime | None]:
        """The due time, warning time and answer time of the ticket's current (latest) clock."""
        if ticket.response_round > 0 and ticket.next_response_due_at is not None:
            assert ticket.next_warn_at is not None
            return ticket.next_response_due_at, ticket.next_warn_at, ticket.next_response_at
        return ticket.response_due_at, ticket.warn_due_at, ticket.first_response_at

    def running_clock(self, ticket: Ticket) -> str | None:
        """`first_response`, `next_response`, `paused` (waiting on the customer) or None."""
        if ticket.status == TicketStatus.WAITING_CUSTOMER:
            return Clock.PAUSED
        if ticket.status not in OPEN_STATUSES:
            return None
        if ticket.first_response_at is None:
            return Clock.FIRST_RESPONSE
        if ticket.response_round > 0 and ticket.next_response_at is None:
            return Clock.NEXT_RESPONSE
        return None

    def sla_state(self, ticket: Ticket, now: datetime) -> str:
        """The state of the current clock; a held clock stays as it was when the wait began."""
        due, warn, answered = self.current(ticket)
        at = now
        if ticket.status == TicketStatus.WAITING_CUSTOMER and ticket.paused_at is not None:
            at = min(now, ticket.paused_at)
        return self.clock.sla_state(due=due, warn=warn, first_response_at=answered, now=at)

    def _rule_clock(self, ticket: Ticket) -> str:
        rule = self.policy.sla.priorities.get(ticket.priority)
        return rule.clock if rule is not None else "24x7"

    # -- changes ---------------------------------------------------------------------------

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
        if daily_limit:
            await self._within_daily_limit(session, customer.id, now)
        due = self.clock.deadline(priority=new.priority, created=now)
        warn = self.clock.warn_at(priority=new.priority, created=now)
        clock_kind = self.policy.sla.priorities[new.priority].clock
        started = now if clock_kind == "24x7" else self.clock.next_opening(now)
        window = await active_window(session, now) if new.category == "infrastructure" else None
        # Written as plain INSERTs (storage/rows.py): through the unit of work, these three rows
        # were two flushes and half the CPU of the customer's turn that opens the ticket.
        ticket = await rows.insert(
            session,
            Ticket,
            {
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
            },
        )
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

    async def _within_daily_limit(self, session: AsyncSession, customer_id: int, now: datetime) -> None:
        limit = self.policy.limits.open_tickets_per_day
        query = select(func.count(Ticket.id)).where(
            Ticket.customer_id == customer_id, Ticket.created_at > now - timedelta(days=1)
        )
        if (await session.execute(query)).scalar_one() >= limit:
            raise TicketLimitReached(f"at most {limit} tickets a day")

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

    @staticmethod
    def _first_response(ticket: Ticket, now: datetime) -> str | None:
        """A person answered: stop whichever response clock runs and take the ticket off the sweep.

        Returns the clock stopped now (`first_response` / `next_response`), None when none ran.
        """
        ticket.sla_check_at = None
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            return Clock.FIRST_RESPONSE
        if ticket.response_round > 0 and ticket.next_response_at is None:
            ticket.next_response_at = now
            return Clock.NEXT_RESPONSE
        return None

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

    def _start_next_response(self, ticket: Ticket, now: datetime) -> datetime:
        """The customer wrote after an answer: a new round with the priority's full target."""
        ticket.response_round += 1
        ticket.next_response_due_at = self.clock.deadline(priority=ticket.priority, created=now)
        ticket.next_warn_at = self.clock.warn_at(priority=ticket.priority, created=now)
        ticket.next_response_at = None
        ticket.reminded_tier = 0
        ticket.breached_tier = 0
        ticket.sla_check_at = ticket.next_warn_at
        return ticket.next_response_due_at

    def _resume(self, ticket: Ticket, now: datetime) -> datetime | None:
        """The customer answered a wait: the held clock runs again with the time it had left.

        Time left is counted on the priority's clock from the pause to the old deadline, then
        added from now on the same clock: the wait itself (nights, holidays included) never counts.
        """
        paused_at = ticket.paused_at or now
        ticket.paused_seconds += max(0, int((now - paused_at).total_seconds()))
        ticket.paused_at = None
        ticket.nudged_at = None
        ticket.lifecycle_check_at = None
        held = ticket.clock_paused
        ticket.clock_paused = False
        if not held:
            return None
        kind = self._rule_clock(ticket)
        due, warn, _ = self.current(ticket)
        new_due = self.resumed_deadline(due, paused_at=paused_at, resumed_at=now, clock=kind)
        new_warn = self.resumed_deadline(warn, paused_at=paused_at, resumed_at=now, clock=kind)
        if ticket.response_round > 0 and ticket.next_response_due_at is not None:
            ticket.next_response_due_at, ticket.next_warn_at = new_due, new_warn
        else:
            ticket.response_due_at, ticket.warn_due_at = new_due, new_warn
        ticket.sla_check_at = new_warn if ticket.reminded_tier < ticket.tier else new_due
        return new_due

    def resumed_deadline(
        self, due: datetime, *, paused_at: datetime, resumed_at: datetime, clock: str
    ) -> datetime:
        """A deadline held from `paused_at` to `resumed_at`: what was left of it, from `resumed_at`."""
        left = self.clock.elapsed(paused_at, due, clock=clock)
        if left <= timedelta(0):
            return due  # already due when the wait began: the wait cannot make it less late
        return self.clock.add(resumed_at, left, clock=clock)

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

    # -- listing ---------------------------------------------------------------------------

    async def for_customer(self, session: AsyncSession, customer_id: int, *, limit: int = 5) -> list[Ticket]:
        # Asked in many customers' turns ("what is the status of my tickets"): plain SQL, as
        # storage/rows.py explains, about half the cost of the ORM's query.
        return await rows.select(
            session,
            Ticket,
            "customer_id = {0}",
            [customer_id],
            order_by="created_at DESC, id DESC",
            limit=limit,
        )

    async def open_for_customer(self, session: AsyncSession, customer_id: int) -> Ticket | None:
        query = (
            select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(1)
        )
        return (await session.execute(query)).scalar_one_or_none()
