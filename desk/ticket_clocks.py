"""A ticket's response clocks: which one runs, when it is due, and how answers and waits move it.

The first response has its clock from creation; after it, each customer message on an open
ticket starts the next-response clock (round 1, 2, ...) with the priority's target on the same
clocks. Any answer from a person (acknowledge, a reply, a resolution) stops the running clock.
Waiting on the customer (desk/lifecycle.py) holds the running clock: its deadline moves on by
the time spent waiting when the customer answers, so paused time never counts.

The rules only, on the ticket's fields: TicketService (desk/tickets.py) builds on them and
writes the changes with their audit events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from desk.constants import OPEN_STATUSES, Clock, TicketStatus
from desk.policy import Policy
from desk.sla import SlaClock
from storage.models import Ticket


class TicketClocks:
    """The policy's response clocks on a ticket (no database)."""

    def __init__(self, policy: Policy, clock: SlaClock | None = None) -> None:
        self.policy = policy
        self.clock = clock or SlaClock(policy)

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
