"""How times and policy facts read to a customer, in the policy's timezone."""

from __future__ import annotations

from datetime import datetime, timedelta

from desk.policy import WEEKDAYS, Policy
from desk.sla import SlaClock

_DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)


def when(at: datetime, policy: Policy) -> str:
    """`Mon 30 Nov, 11:30` in the policy's timezone."""
    local = at.astimezone(policy.tz)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def zone_label(policy: Policy) -> str:
    city = policy.timezone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400} day" + ("s" if seconds >= 2 * 86400 else "")
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} hour" + ("s" if seconds >= 7200 else "")
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} minute" + ("s" if seconds >= 120 else "")
    return f"{seconds} seconds"


def hours_summary(policy: Policy) -> str:
    """`Monday to Friday, 08:00-18:00` built from the policy's working hours."""
    groups: list[tuple[list[str], str]] = []
    for day in WEEKDAYS:
        times = policy.working_hours[day]
        if not times:
            continue
        spans = ", ".join(
            f"{times[i]:%H:%M}-{'24:00' if times[i + 1].hour == 23 and times[i + 1].minute == 59 else f'{times[i + 1]:%H:%M}'}"
            for i in range(0, len(times), 2)
        )
        if groups and groups[-1][1] == spans and WEEKDAYS.index(groups[-1][0][-1]) == WEEKDAYS.index(day) - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    parts = []
    for days, spans in groups:
        label = _DAY_NAMES[days[0]] if len(days) == 1 else f"{_DAY_NAMES[days[0]]} to {_DAY_NAMES[days[-1]]}"
        parts.append(f"{label}, {spans}")
    return "; ".join(parts) if parts else "no regular hours"


def open_status(policy: Policy, clock: SlaClock, now: datetime) -> str:
    """Open now, or closed and when the team is back (naming a holiday when it is one)."""
    if clock.is_business_time(now):
        return "We're open right now."
    local_day = now.astimezone(policy.tz).date()
    holiday = clock.holiday_name(local_day)
    reason = f" (today is {holiday})" if holiday else ""
    back = clock.next_opening(now)
    return f"We're closed right now{reason}; the team is back {when(back, policy)}."


def weekend_note(policy: Policy) -> str:
    critical = policy.sla.priorities["critical"]
    if critical.clock == "24x7":
        return (
            f"Critical issues are handled on weekends and holidays too: we reply within "
            f"{duration(critical.response)}, around the clock."
        )
    return policy.weekend_support
