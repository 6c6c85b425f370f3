"""The SLA clock: business hours, holidays, deadlines and states (docs/reference.md section 6).

`clock: business` counts only working periods in the policy timezone, on days that are neither
public holidays of `holidays.country` nor `holidays.extra` company closures; `24x7` counts every
second. Time is always measured in real (UTC) seconds, so a DST night counts what it really lasts.
Working periods are built per local date with zoneinfo and cached per date; holidays are cached
per year. Every search is bounded: with no working time for three years, a ValueError says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays as holidays_lib

from desk.policy import Policy

CLOCKS: tuple[str, ...] = ("24x7", "business")
SLA_STATES: tuple[str, ...] = ("running", "warning", "breached", "met")
COMPANY_CLOSURE = "Company closure"

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_HORIZON_DAYS = 3 * 366  # give up after this many days in a row without working time
_DAY_CACHE_LIMIT = 20_000  # cached dates (about 55 years); cleared wholesale when exceeded

_Period = tuple[datetime, datetime]
_Day = tuple[tuple[_Period, ...], timedelta]  # UTC periods of one local date, and their total


def _aware(value: datetime, name: str) -> datetime:
    """Reject naive datetimes: a wall time without a zone cannot be placed on the clock."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


class SlaClock:
    """Counts SLA time under one policy; cheap to call many times (the sweep does)."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._tz = policy.tz
        # Per weekday: (start, end) local times; end None means 24:00 (midnight of the next day).
        self._weekdays: tuple[tuple[tuple[time, time | None], ...], ...] = tuple(
            tuple((start, None if end == time.max else end) for start, end in policy.periods(weekday))
            for weekday in range(7)
        )
        self._has_hours = any(self._weekdays)
        self._extra = frozenset(policy.holidays.extra)
        self._country = policy.holidays.country
        self._subdiv = policy.holidays.subdiv
        self._language: str | None = None
        self._holiday_names: dict[date, str] = {}
        self._holiday_years: set[int] = set()
        self._days: dict[date, _Day] = {}
        if self._country:
            try:
                calendar = holidays_lib.country_holidays(self._country, subdiv=self._subdiv)
            except NotImplementedError as exc:
                raise ValueError(f"holidays.country / holidays.subdiv: {exc}") from None
            if "en_US" in (getattr(calendar, "supported_languages", ()) or ()):
                self._language = "en_US"  # stable English names whatever the server's locale

    # -- calendar -------------------------------------------------------------------------------

    def _load_year(self, year: int) -> None:
        """Fetch one year of public holidays once; the package is slow compared with a dict."""
        self._holiday_years.add(year)
        if not self._country:
            return
        calendar = holidays_lib.country_holidays(
            self._country, subdiv=self._subdiv, years=year, language=self._language
        )
        for day, name in calendar.items():
            self._holiday_names.setdefault(day, name)

    def holiday_name(self, day: date) -> str | None:
        """Name why a date is closed, for messages like 'due after Khmer New Year'."""
        if day.year not in self._holiday_years:
            self._load_year(day.year)
        name = self._holiday_names.get(day)
        if name is not None:
            return name
        return COMPANY_CLOSURE if day in self._extra else None

    def is_closed_day(self, day: date) -> bool:
        """A public holiday or company closure: no working hours whatever the weekday says."""
        return self.holiday_name(day) is not None

    def _day(self, day: date) -> _Day:
        """UTC working periods of a local date, cached: the hot loops only touch this dict."""
        hit = self._days.get(day)
        if hit is not None:
            return hit
        spans = self._weekdays[day.weekday()]
        periods: list[_Period] = []
        total = _ZERO
        if spans and not self.is_closed_day(day):
            tz = self._tz
            previous_end: datetime | None = None
            for start_time, end_time in spans:
                start = datetime.combine(day, start_time, tzinfo=tz).astimezone(UTC)
                if end_time is None:
                    end = datetime.combine(day + _ONE_DAY, time(0), tzinfo=tz).astimezone(UTC)
                else:
                    end = datetime.combine(day, end_time, tzinfo=tz).astimezone(UTC)
                if previous_end is not None and start < previous_end:
                    start = previous_end  # a DST gap can map local times out of order; never count twice
                if start < end:
                    periods.append((start, end))
                    total += end - start
                    previous_end = end
        if len(self._days) >= _DAY_CACHE_LIMIT:
            self._days.clear()
        entry: _Day = (tuple(periods), total)
        self._days[day] = entry
        return entry

    def open_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working periods of a local date in the policy timezone, for display and schedules."""
        tz = self._tz
        return [(start.astimezone(tz), end.astimezone(tz)) for start, end in self._day(day)[0]]

    def is_business_time(self, at: datetime) -> bool:
        """Whether the desk is open at an instant (start inclusive, end exclusive)."""
        moment = _aware(at, "at")
        for start, end in self._day(moment.astimezone(self._tz).date())[0]:
            if start <= moment < end:
                return True
        return False

    # -- counting -------------------------------------------------------------------------------

    def _require_hours(self) -> None:
        """Fail loudly instead of searching forever for an opening that never comes."""
        if not self._has_hours:
            raise ValueError(
                "the policy has no working hours (working_hours is [] for every day), "
                "so a business-clock SLA can never run; give some hours or use clock: 24x7"
            )

    def _advance(self, start: datetime, duration: timedelta) -> datetime:
        """Walk working periods from `start` until `duration` of working time is used up."""
        self._require_hours()
        cur = start
        remaining = duration
        day = cur.astimezone(self._tz).date()
        last_open = day
        while True:
            periods, total = self._day(day)
            if periods:
                last_open = day
                if cur <= periods[0][0] and remaining > total:
                    remaining -= total  # the whole day fits: skip it in one step
                    cur = periods[-1][1]
                    day += _ONE_DAY
                    continue
                for period_start, period_end in periods:
                    if period_end <= cur:
                        continue
                    if period_start > cur:
                        cur = period_start
                    available = period_end - cur
                    if remaining <= available:
                        return cur + remaining  # uses the target up exactly at 18:00 -> 18:00
                    remaining -= available
                    cur = period_end
            elif (day - last_open).days > _HORIZON_DAYS:
                raise ValueError(
                    f"no working time for {_HORIZON_DAYS} days after {last_open.isoformat()}: "
                    "check working_hours and holidays.extra in the policy"
                )
            day += _ONE_DAY

    def next_opening(self, at: datetime) -> datetime:
        """When a clock started at `at` begins to run: `at` itself when open, else the next start."""
        return self._advance(_aware(at, "at"), _ZERO)

    def add(self, start: datetime, duration: timedelta, *, clock: str) -> datetime:
        """The instant when `duration` of SLA time has run from `start` on the given clock."""
        begin = _aware(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if clock == "24x7":
            return begin + duration
        if clock == "business":
            return self._advance(begin, duration)
        raise ValueError(f"unknown clock {clock!r}; expected one of {', '.join(CLOCKS)}")

    def elapsed(self, start: datetime, end: datetime, *, clock: str) -> timedelta:
        """SLA time counted between two instants (0 when `end` is not after `start`)."""
        begin = _aware(start, "start")
        finish = _aware(end, "end")
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}; expected one of {', '.join(CLOCKS)}")
        if finish <= begin:
            return _ZERO
        if clock == "24x7":
            return finish - begin
        counted = _ZERO
        cur = begin
        day = begin.astimezone(self._tz).date()
        last_day = finish.astimezone(self._tz).date() + _ONE_DAY
        while day <= last_day:
            periods, total = self._day(day)
            if periods and cur <= periods[0][0] and periods[-1][1] <= finish:
                counted += total  # the whole day lies inside [start, end)
                cur = periods[-1][1]
            else:
                for period_start, period_end in periods:
                    if period_end <= cur:
                        continue
                    if period_start >= finish:
                        return counted
                    if period_start > cur:
                        cur = period_start
                    stop = min(period_end, finish)
                    counted += stop - cur
                    cur = stop
                    if cur >= finish:
                        return counted
            day += _ONE_DAY
        return counted

    # -- SLA ------------------------------------------------------------------------------------

    def _target(self, priority: str, target: timedelta | None) -> tuple[timedelta, str]:
        """Resolve a priority's target and clock, naming a bad priority rather than a KeyError."""
        rule = self._policy.sla.priorities.get(priority)
        if rule is None:
            known = ", ".join(self._policy.sla.priorities)
            raise ValueError(f"unknown priority {priority!r}; expected one of {known}")
        chosen = rule.response if target is None else target
        if chosen < _ZERO:
            raise ValueError(f"target must not be negative, got {chosen}")
        return chosen, rule.clock

    def deadline(self, *, priority: str, created: datetime, target: timedelta | None = None) -> datetime:
        """First-response due time: the priority's target on its clock, from creation."""
        chosen, clock = self._target(priority, target)
        return self.add(created, chosen, clock=clock)

    def warn_at(self, *, priority: str, created: datetime, target: timedelta | None = None) -> datetime:
        """When the `warn_at` share of the target is used, so a reminder goes out before breach."""
        chosen, clock = self._target(priority, target)
        return self.add(created, chosen * self._policy.sla.warn_at, clock=clock)

    def sla_state(
        self, *, due: datetime, warn: datetime, first_response_at: datetime | None, now: datetime
    ) -> str:
        """The ticket's SLA state at `now`: running, warning, breached or met."""
        due_utc = _aware(due, "due")
        warn_utc = _aware(warn, "warn")
        now_utc = _aware(now, "now")
        if first_response_at is not None:
            return "met" if _aware(first_response_at, "first_response_at") <= due_utc else "breached"
        if now_utc >= due_utc:
            return "breached"
        if now_utc >= warn_utc:
            return "warning"
        return "running"
