"""The SLA clock against the contract's examples, Cambodian holidays and properties over random times."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.policy import SHIPPED_POLICY, parse_policy
from desk.sla import SlaClock

PP = ZoneInfo("Asia/Phnom_Penh")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _policy_data() -> dict[str, Any]:
    """The shipped policy as a dict, so each test can change one key."""
    data = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


_BASE = _policy_data()


def make_clock(
    *, hours: dict[str, list[str]] | None = None, timezone: str | None = None, **overrides: Any
) -> SlaClock:
    """A clock for the shipped policy with some keys replaced."""
    data = copy.deepcopy(_BASE)
    if hours is not None:
        data["working_hours"] = {**data["working_hours"], **hours}
    if timezone is not None:
        data["timezone"] = timezone
    data.update(overrides)
    return SlaClock(parse_policy(data))


CLOCK = make_clock()
LUNCH = make_clock(hours={day: ["08:00", "12:00", "13:00", "18:00"] for day in WEEKDAYS})
BERLIN_CLOCK = make_clock(timezone="Europe/Berlin", holidays={"country": "DE", "extra": []})
ALWAYS_BERLIN = make_clock(
    timezone="Europe/Berlin",
    hours={day: ["00:00", "24:00"] for day in (*WEEKDAYS, "sat", "sun")},
    holidays={"extra": []},
)
NIGHT = make_clock(hours={"mon": ["20:00", "24:00"], "tue": ["00:00", "02:00", "20:00", "24:00"]})


def pp(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """A Phnom Penh wall time, the way the policy's examples are written."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=PP)


def local(value: datetime) -> datetime:
    return value.astimezone(PP)


# -- the contract's examples -------------------------------------------------------------------


def test_friday_afternoon_high_is_due_monday_morning() -> None:
    due = CLOCK.deadline(priority="high", created=pp(2026, 6, 5, 16, 30))
    assert due == pp(2026, 6, 8, 10, 30)
    assert due.tzinfo is UTC


def test_target_used_up_at_closing_time_is_due_at_closing_time() -> None:
    assert local(CLOCK.deadline(priority="high", created=pp(2026, 6, 1, 14))) == pp(2026, 6, 1, 18)
    assert CLOCK.add(pp(2026, 6, 1, 8), 20 * H, clock="business") == pp(2026, 6, 2, 18)


def test_medium_is_two_point_four_working_days() -> None:
    assert CLOCK.deadline(priority="medium", created=pp(2026, 6, 1, 8)) == pp(2026, 6, 3, 12)
    assert CLOCK.deadline(priority="low", created=pp(2026, 6, 1, 8)) == pp(2026, 6, 5, 16)


def test_created_on_saturday_starts_monday_at_opening() -> None:
    assert CLOCK.next_opening(pp(2026, 6, 6, 10)) == pp(2026, 6, 8, 8)
    assert CLOCK.deadline(priority="high", created=pp(2026, 6, 6, 10)) == pp(2026, 6, 8, 12)


def test_created_before_opening_starts_at_opening() -> None:
    assert CLOCK.next_opening(pp(2026, 6, 2, 7)) == pp(2026, 6, 2, 8)
    assert CLOCK.deadline(priority="high", created=pp(2026, 6, 2, 7)) == pp(2026, 6, 2, 12)


def test_created_after_closing_starts_next_morning() -> None:
    assert CLOCK.deadline(priority="high", created=pp(2026, 6, 2, 18)) == pp(2026, 6, 3, 12)
    assert CLOCK.deadline(priority="high", created=pp(2026, 6, 2, 21, 5)) == pp(2026, 6, 3, 12)


def test_critical_runs_around_the_clock() -> None:
    created = pp(2026, 6, 7, 3)  # a Sunday
    assert CLOCK.deadline(priority="critical", created=created) == created + H
    assert CLOCK.warn_at(priority="critical", created=created) == created + timedelta(minutes=45)


def test_seconds_level_targets() -> None:
    created = pp(2026, 6, 1, 17, 59, 30)
    due = CLOCK.deadline(priority="high", created=created, target=timedelta(seconds=45))
    assert due == pp(2026, 6, 2, 8, 0, 15)
    warn = CLOCK.warn_at(priority="high", created=created, target=timedelta(seconds=45))
    assert warn == pp(2026, 6, 2, 8, 0, 3, 750000)


def test_output_is_utc_whatever_the_input_zone() -> None:
    created = datetime(2026, 6, 5, 9, 30, tzinfo=UTC)  # 16:30 Phnom Penh
    due = CLOCK.deadline(priority="high", created=created)
    assert due.tzinfo is UTC and due == datetime(2026, 6, 8, 3, 30, tzinfo=UTC)


# -- holidays and closures ---------------------------------------------------------------------


def test_the_holidays_package_knows_khmer_new_year() -> None:
    kh = holidays.country_holidays("KH", years=[2026, 2027])
    for year in (2026, 2027):
        assert all(date(year, 4, day) in kh for day in (14, 15, 16))
    assert date(2026, 11, 9) in kh  # Independence Day


def test_khmer_new_year_is_skipped() -> None:
    assert CLOCK.is_closed_day(date(2026, 4, 14))
    assert "Khmer New Year" in (CLOCK.holiday_name(date(2026, 4, 15)) or "")
    assert CLOCK.open_periods(date(2026, 4, 16)) == []
    # Monday 13 April 16:00: two hours on Monday, Tuesday to Thursday closed, two on Friday.
    assert CLOCK.deadline(priority="high", created=pp(2026, 4, 13, 16)) == pp(2026, 4, 17, 10)
    assert CLOCK.deadline(priority="high", created=pp(2027, 4, 13, 16)) == pp(2027, 4, 19, 10)


def test_independence_day_and_water_festival_are_skipped() -> None:
    assert CLOCK.next_opening(pp(2026, 11, 9, 9)) == pp(2026, 11, 10, 8)
    assert CLOCK.deadline(priority="high", created=pp(2026, 11, 20, 17)) == pp(2026, 11, 26, 11)


def test_company_closure_and_new_year() -> None:
    assert CLOCK.holiday_name(date(2026, 12, 31)) == "Company closure"
    assert CLOCK.holiday_name(date(2026, 12, 30)) is None
    assert not CLOCK.is_closed_day(date(2026, 6, 6))  # a weekend is not a holiday
    # Wednesday 30 Dec 16:00: 2h, then the closure, New Year's Day and the weekend.
    assert CLOCK.deadline(priority="high", created=pp(2026, 12, 30, 16)) == pp(2027, 1, 4, 10)


def test_elapsed_skips_closed_time() -> None:
    assert CLOCK.elapsed(pp(2026, 4, 13, 16), pp(2026, 4, 17, 10), clock="business") == 4 * H
    assert CLOCK.elapsed(pp(2026, 6, 5, 12), pp(2026, 6, 8, 12), clock="business") == 10 * H
    assert CLOCK.elapsed(pp(2026, 6, 5, 12), pp(2026, 6, 8, 12), clock="24x7") == 72 * H
    assert CLOCK.elapsed(pp(2026, 6, 8, 12), pp(2026, 6, 5, 12), clock="business") == timedelta(0)
    assert CLOCK.elapsed(pp(2026, 6, 6, 1), pp(2026, 6, 7, 23), clock="business") == timedelta(0)
    four_weeks = CLOCK.elapsed(pp(2026, 6, 1, 8), pp(2026, 6, 29, 8), clock="business")
    assert four_weeks == 190 * H  # 19 working days: 18 June is a holiday


def test_is_business_time() -> None:
    assert CLOCK.is_business_time(pp(2026, 6, 1, 8))
    assert CLOCK.is_business_time(pp(2026, 6, 1, 17, 59, 59))
    assert not CLOCK.is_business_time(pp(2026, 6, 1, 18))
    assert not CLOCK.is_business_time(pp(2026, 6, 6, 10))
    assert not CLOCK.is_business_time(pp(2026, 4, 14, 10))
    assert CLOCK.is_business_time(datetime(2026, 6, 1, 1, tzinfo=UTC))  # 08:00 local


# -- other shapes of working hours ----------------------------------------------------------------


def test_lunch_break() -> None:
    assert LUNCH.deadline(priority="high", created=pp(2026, 6, 1, 10)) == pp(2026, 6, 1, 15)
    assert LUNCH.deadline(priority="high", created=pp(2026, 6, 1, 12, 30)) == pp(2026, 6, 1, 17)
    assert LUNCH.deadline(priority="high", created=pp(2026, 6, 1, 8)) == pp(2026, 6, 1, 12)
    assert LUNCH.deadline(priority="medium", created=pp(2026, 6, 1, 8)) == pp(2026, 6, 3, 15)
    assert not LUNCH.is_business_time(pp(2026, 6, 1, 12, 30))
    assert LUNCH.next_opening(pp(2026, 6, 1, 12, 30)) == pp(2026, 6, 1, 13)
    assert LUNCH.elapsed(pp(2026, 6, 1, 11), pp(2026, 6, 1, 14), clock="business") == 2 * H
    assert LUNCH.open_periods(date(2026, 6, 1)) == [
        (pp(2026, 6, 1, 8), pp(2026, 6, 1, 12)),
        (pp(2026, 6, 1, 13), pp(2026, 6, 1, 18)),
    ]


def test_periods_up_to_midnight() -> None:
    assert NIGHT.deadline(priority="high", created=pp(2026, 6, 1, 23)) == pp(2026, 6, 2, 21)
    assert NIGHT.add(pp(2026, 6, 1, 23), 2 * H, clock="business") == pp(2026, 6, 2, 1)
    assert NIGHT.add(pp(2026, 6, 1, 20), 4 * H, clock="business") == pp(2026, 6, 2, 0)
    assert NIGHT.open_periods(date(2026, 6, 1)) == [(pp(2026, 6, 1, 20), pp(2026, 6, 2, 0))]
    assert NIGHT.is_business_time(pp(2026, 6, 1, 23, 59, 59))
    assert NIGHT.is_business_time(pp(2026, 6, 2, 0))


def test_dst_zone_counts_real_time() -> None:
    # Python adds to an aware datetime in wall time; real time is reached through UTC.
    spring = datetime(2026, 3, 28, 12, tzinfo=BERLIN)  # the night to Sunday 29 March lasts 23 hours
    due = ALWAYS_BERLIN.add(spring, 24 * H, clock="business")
    assert due == spring.astimezone(UTC) + 24 * H
    assert due.astimezone(BERLIN) == datetime(2026, 3, 29, 13, tzinfo=BERLIN)
    autumn = datetime(2026, 10, 24, 12, tzinfo=BERLIN)  # the night to Sunday 25 October lasts 25 hours
    assert ALWAYS_BERLIN.elapsed(autumn, autumn + 48 * H, clock="business") == 49 * H
    assert ALWAYS_BERLIN.elapsed(autumn, autumn + 48 * H, clock="24x7") == 49 * H
    # Office hours stay 08:00-18:00 local on both sides of the change.
    due = BERLIN_CLOCK.deadline(priority="high", created=datetime(2026, 3, 27, 16, tzinfo=BERLIN))
    assert due == datetime(2026, 3, 30, 10, tzinfo=BERLIN)
    monday = BERLIN_CLOCK.open_periods(date(2026, 3, 30))
    assert [(s.hour, e.hour) for s, e in monday] == [(8, 18)]
    assert BERLIN_CLOCK.is_closed_day(date(2026, 12, 25))


# -- SLA states and errors ---------------------------------------------------------------------


def test_sla_states() -> None:
    warn, due = pp(2026, 6, 1, 11), pp(2026, 6, 1, 12)
    state = CLOCK.sla_state
    assert state(due=due, warn=warn, first_response_at=None, now=pp(2026, 6, 1, 10)) == "running"
    assert state(due=due, warn=warn, first_response_at=None, now=warn) == "warning"
    assert state(due=due, warn=warn, first_response_at=None, now=due) == "breached"
    assert state(due=due, warn=warn, first_response_at=due, now=pp(2026, 6, 9)) == "met"
    assert state(due=due, warn=warn, first_response_at=pp(2026, 6, 1, 9), now=warn) == "met"
    late = pp(2026, 6, 1, 12, 0, 1)
    assert state(due=due, warn=warn, first_response_at=late, now=late) == "breached"


def test_warn_at_uses_the_share_of_business_time() -> None:
    assert CLOCK.warn_at(priority="high", created=pp(2026, 6, 5, 16, 30)) == pp(2026, 6, 8, 9, 30)
    assert CLOCK.warn_at(priority="medium", created=pp(2026, 6, 1, 8)) == pp(2026, 6, 2, 16)


def test_errors_are_clear() -> None:
    naive = datetime(2026, 6, 1, 8)
    with pytest.raises(ValueError, match="timezone-aware"):
        CLOCK.deadline(priority="high", created=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CLOCK.is_business_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CLOCK.sla_state(due=naive, warn=naive, first_response_at=None, now=naive)
    with pytest.raises(ValueError, match="unknown priority"):
        CLOCK.deadline(priority="urgent", created=pp(2026, 6, 1))
    with pytest.raises(ValueError, match="unknown clock"):
        CLOCK.add(pp(2026, 6, 1), H, clock="weekdays")
    with pytest.raises(ValueError, match="negative"):
        CLOCK.add(pp(2026, 6, 1), -H, clock="business")
    with pytest.raises(ValueError, match="holidays"):
        make_clock(holidays={"country": "XX"})


def test_a_policy_without_hours_fails_instead_of_looping() -> None:
    closed = make_clock(hours={day: [] for day in WEEKDAYS})
    with pytest.raises(ValueError, match="no working hours"):
        closed.deadline(priority="high", created=pp(2026, 6, 1))
    with pytest.raises(ValueError, match="no working hours"):
        closed.next_opening(pp(2026, 6, 1))
    assert closed.deadline(priority="critical", created=pp(2026, 6, 1)) == pp(2026, 6, 1, 1)
    assert not closed.is_business_time(pp(2026, 6, 1, 10))
    assert closed.elapsed(pp(2026, 6, 1), pp(2026, 7, 1), clock="business") == timedelta(0)


def test_years_of_closures_fail_instead_of_looping() -> None:
    start = date(2026, 1, 1)
    closures = [(start + timedelta(days=n)).isoformat() for n in range(4 * 366)]
    shut = make_clock(holidays={"extra": closures})
    with pytest.raises(ValueError, match="no working time"):
        shut.next_opening(pp(2026, 1, 1))


# -- properties --------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, PP, BERLIN, ZoneInfo("America/New_York")])
CREATED = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31, 23, 59, 59), timezones=ZONES
)
TARGETS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=5))
CLOCKS = st.sampled_from([CLOCK, LUNCH, BERLIN_CLOCK, NIGHT])
FAST = settings(max_examples=200, deadline=None)


def _is_period_end(clock: SlaClock, at: datetime) -> bool:
    day = at.astimezone(clock._tz).date()
    return any(end == at for d in (day - timedelta(days=1), day) for _, end in clock.open_periods(d))


def _is_period_start(clock: SlaClock, at: datetime) -> bool:
    return any(start == at for start, _ in clock.open_periods(at.astimezone(clock._tz).date()))


@FAST
@given(clock=CLOCKS, created=CREATED, target=TARGETS)
def test_business_deadline_counts_exactly_the_target(
    clock: SlaClock, created: datetime, target: timedelta
) -> None:
    due = clock.add(created, target, clock="business")
    assert clock.elapsed(created, due, clock="business") == target
    assert clock.is_business_time(due) or _is_period_end(clock, due)
    assert due.tzinfo is UTC


@FAST
@given(clock=CLOCKS, created=CREATED, later=TARGETS, target=TARGETS, more=TARGETS)
def test_business_deadline_is_monotonic(
    clock: SlaClock, created: datetime, later: timedelta, target: timedelta, more: timedelta
) -> None:
    due = clock.add(created, target, clock="business")
    assert clock.add(created.astimezone(UTC) + later, target, clock="business") >= due
    assert clock.add(created, target + more, clock="business") >= due


@FAST
@given(created=CREATED, target=TARGETS)
def test_24x7_deadline_is_plain_addition(created: datetime, target: timedelta) -> None:
    real = created.astimezone(UTC) + target  # not `created + target`: that is wall-clock time
    assert CLOCK.add(created, target, clock="24x7") == real
    due = CLOCK.deadline(priority="critical", created=created, target=target)
    assert due == real and due.tzinfo is UTC
    assert CLOCK.elapsed(created, due, clock="24x7") == target


@FAST
@given(clock=CLOCKS, at=CREATED)
def test_next_opening_is_the_first_open_instant(clock: SlaClock, at: datetime) -> None:
    opening = clock.next_opening(at)
    assert opening >= at
    assert clock.is_business_time(opening)
    assert opening == at or _is_period_start(clock, opening)
    assert clock.elapsed(at, opening, clock="business") == timedelta(0)
    assert clock.is_business_time(at) == (opening == at)
