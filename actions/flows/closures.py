"""Questions about one day ("are you open on new year's eve?", "open on Khmer new year?"): the
answer names the closure from the policy (its public holidays and company closures), or says the
day's hours. The info flow asks here first when someone asks about working hours.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from actions import render
from actions.messages import Reply
from actions.turn import Turn
from desk.policy import Policy
from desk.sla import COMPANY_CLOSURE, SlaClock

# Days people name that are not always public holidays where the policy is (month, day, name).
_NAMED_DAYS: dict[str, tuple[int, int, str]] = {
    "new year eve": (12, 31, "New Year's Eve"),
    "new years eve": (12, 31, "New Year's Eve"),
    "nye": (12, 31, "New Year's Eve"),
    "new year day": (1, 1, "New Year's Day"),
    "new year": (1, 1, "New Year's Day"),
    "christmas eve": (12, 24, "Christmas Eve"),
    "christmas day": (12, 25, "Christmas Day"),
    "christmas": (12, 25, "Christmas Day"),
    "xmas": (12, 25, "Christmas Day"),
}
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        )
    )
    for m in names.split()
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_DATES = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b"),
)
_NAME_NOISE = re.compile(r"\b(day|hm|the|of)\b")
_LOOKAHEAD = 366  # days of the calendar searched for a holiday named in the question


def _normal(text: str) -> str:
    """Lower case, no possessive 's, punctuation as spaces: `Khmer New Year's Day` → `khmer new year day`."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _key(name: str) -> str:
    return " ".join(_NAME_NOISE.sub(" ", _normal(name)).split())


def _next(month: int, day: int, today: date) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def day_asked(text: str, *, clock: SlaClock, today: date) -> tuple[date, str | None] | None:
    """The day a question is about, and the name the customer gave it; None when it names none.

    "Today" is left to the general answer, which says whether we are open right now."""
    said = f" {_normal(text)} "
    candidates: list[tuple[str, date, str | None]] = []
    for offset in range(_LOOKAHEAD):
        day = today + timedelta(days=offset)
        name = clock.holiday_name(day)
        if name is None or name == COMPANY_CLOSURE:
            continue
        for part in name.split(";"):
            key = _key(part)
            if key and not any(k == key for k, _, _ in candidates):
                candidates.append((key, day, None))
    for key, (month, day_of_month, named) in _NAMED_DAYS.items():
        on = _next(month, day_of_month, today)
        if on is not None:
            candidates.append((key, on, named))
    for key, on, given in sorted(candidates, key=lambda c: len(c[0]), reverse=True):
        if f" {key} " in said:
            return on, given
    if re.search(r"\btomorrow\b", said):
        return today + timedelta(days=1), None
    for pattern in _DATES:
        match = pattern.search(said)
        if match:
            when = _next(_MONTHS[match.group("month")], int(match.group("day")), today)
            if when is not None:
                return when, None
    return None


def _day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b} {day.year}"


def _span(day: date, name: str, clock: SlaClock) -> tuple[date, date]:
    """The run of consecutive days closed for the same reason around `day` (Khmer New Year: three)."""
    first = last = day
    while clock.holiday_name(first - timedelta(days=1)) == name:
        first -= timedelta(days=1)
    while clock.holiday_name(last + timedelta(days=1)) == name:
        last += timedelta(days=1)
    return first, last


def closure_answer(t: Turn, policy: Policy, clock: SlaClock) -> Reply | None:
    """The answer to a question about one day's opening, or None when it names no day."""
    today = t.now.astimezone(policy.tz).date()
    asked = day_asked(t.text, clock=clock, today=today) if not t.is_payload else None
    if asked is None:
        return None
    day, label = asked
    name = clock.holiday_name(day)
    start = datetime.combine(day, time.min, tzinfo=policy.tz)
    critical = render.weekend_note(policy, t.lang)
    if name is not None:
        first, last = _span(day, name, clock)
        shown = t.say("info.closed.company", what=label) if name == COMPANY_CLOSURE and label else name
        when = (
            t.say("info.closed.on", day=_day_label(day))
            if first == last
            else t.say("info.closed.from", first=_day_label(first), last=_day_label(last))
        )
        back = render.when(clock.next_opening(start), policy)
        return t.reply("info.closed", when=when, name=shown, back=back, critical=critical)
    periods = clock.open_periods(day)
    if not periods:
        weekends = policy.weekend_support or t.say("info.hours.weekends")
        return t.reply("info.day.weekend", day=_day_label(day), weekends=weekends, critical=critical)
    hours = ", ".join(f"{a.astimezone(policy.tz):%H:%M}-{b.astimezone(policy.tz):%H:%M}" for a, b in periods)
    named = t.say("info.day.named", name=label) if label else ""
    zone = render.zone_label(policy, t.lang)
    return t.reply("info.day.open", day=_day_label(day), named=named, hours=hours, zone=zone)
