"""Waiting on the customer holds the response clock: paused time never counts (property tests).

The shipped policy: Monday to Friday 08:00-18:00 in Phnom Penh, Cambodian public holidays, and
the company closure of 31 December 2026. The dates drawn span the turn of the year, so pauses
cross nights, weekends, 31 December (closure), 1 January and 7 January (public holidays).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.policy import load_policy
from desk.sla import SlaClock
from desk.tickets import TicketService
from tests.helpers import PP, pp

POLICY = load_policy()
CLOCK = SlaClock(POLICY)
TICKETS = TicketService(POLICY, CLOCK)

instants = st.datetimes(
    min_value=datetime(2026, 12, 24), max_value=datetime(2027, 1, 12), timezones=st.just(PP)
).map(lambda d: d.replace(second=0, microsecond=0))
gaps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)).map(
    lambda d: timedelta(minutes=int(d.total_seconds() // 60))
)


@settings(max_examples=300, deadline=None)
@given(
    priority=st.sampled_from(["high", "medium", "low", "critical"]),
    created=instants,
    before_pause=gaps,
    pause=gaps,
)
def test_paused_time_never_counts(
    priority: str, created: datetime, before_pause: timedelta, pause: timedelta
) -> None:
    rule = POLICY.sla.priorities[priority]
    due = CLOCK.deadline(priority=priority, created=created)
    paused_at = created + before_pause
    resumed_at = paused_at + pause

    moved = TICKETS.resumed_deadline(due, paused_at=paused_at, resumed_at=resumed_at, clock=rule.clock)

    assert moved >= due  # a wait never brings a deadline forward
    if paused_at >= due:
        assert moved == due  # already late when the wait began: it stays as late
        return
    assert moved >= resumed_at
    counted = CLOCK.elapsed(created, paused_at, clock=rule.clock) + CLOCK.elapsed(
        resumed_at, moved, clock=rule.clock
    )
    assert counted == rule.response  # the whole target, and not a second of the wait
    if rule.clock == "24x7":
        assert moved - resumed_at == due - paused_at


@settings(max_examples=100, deadline=None)
@given(created=instants, cut=gaps, pause=gaps)
def test_a_wait_split_in_two_counts_as_one(created: datetime, cut: timedelta, pause: timedelta) -> None:
    """Two waits back to back hold the clock exactly as long as one wait over the same time."""
    due = CLOCK.deadline(priority="high", created=created)
    start = created + timedelta(minutes=30)
    end = start + pause
    middle = start + min(cut, pause)
    once = TICKETS.resumed_deadline(due, paused_at=start, resumed_at=end, clock="business")
    twice = TICKETS.resumed_deadline(
        TICKETS.resumed_deadline(due, paused_at=start, resumed_at=middle, clock="business"),
        paused_at=middle,
        resumed_at=end,
        clock="business",
    )
    assert once == twice


def test_a_wait_over_the_closure_and_new_year_moves_the_deadline_to_the_next_working_day() -> None:
    # High priority (4 business hours) opened Wednesday 30 December 2026 at 09:00: due 13:00.
    created = pp(2026, 12, 30, 9, 0)
    due = CLOCK.deadline(priority="high", created=created)
    assert due == pp(2026, 12, 30, 13, 0)
    # The agent asks at 10:00 (1 h used, 3 h left); the customer answers on 1 January (a public
    # holiday, after the 31 December closure): the clock runs again on Monday 4 January at 08:00.
    moved = TICKETS.resumed_deadline(
        due, paused_at=pp(2026, 12, 30, 10, 0), resumed_at=pp(2027, 1, 1, 10, 0), clock="business"
    )
    assert moved == pp(2027, 1, 4, 11, 0)
