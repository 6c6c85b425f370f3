"""How times and policy facts read to a customer, in the policy's timezone (texts: catalog.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from babel import Locale
from babel.dates import DateTimePattern, get_timezone_location, parse_pattern

from actions.catalog import DEFAULT_LANGUAGE, LANGUAGES, text
from desk.policy import WEEKDAYS, Policy, localized
from desk.sla import SlaClock

# Khmer digits (CLDR numbering system `khmr`, U+17E0-U+17E9) for customers who write them.
_DIGITS = {"khmr": str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")}
# Parsed once: Babel would parse the locale's name again in every call (times are in many replies).
_LOCALES = {lang: Locale.parse(lang) for lang in LANGUAGES}
_ZONE_LABELS: dict[tuple[object, str], str] = {}  # (timezone, language): a fixed CLDR name each
_WHEN: dict[str, DateTimePattern] = {}  # the catalog's `time.when`, parsed once per language


def _locale(lang: str) -> Locale:
    return _LOCALES.get(lang, _LOCALES[DEFAULT_LANGUAGE])


def localize_digits(value: Any, digits: str) -> Any:
    """`value` (a number, or a text of numbers and dates) written in the digits `digits`."""
    table = _DIGITS.get(digits)
    if table is None or isinstance(value, bool) or not isinstance(value, int | str):
        return value
    return str(value).translate(table)


def when(at: datetime, policy: Policy, lang: str = DEFAULT_LANGUAGE) -> str:
    """`Mon 30 Nov, 11:30` (Khmer: `ថ្ងៃច័ន្ទ ទី30 ខែវិច្ឆិកា ម៉ោង 11:30`) in the policy's timezone.

    The pattern is the catalog's `time.when` (a CLDR pattern), the names are Babel's for the locale.
    """
    if lang not in _LOCALES:
        lang = DEFAULT_LANGUAGE
    pattern = _WHEN.get(lang)
    if pattern is None:
        pattern = _WHEN[lang] = parse_pattern(text("time.when", lang))
    return pattern.apply(at.astimezone(policy.tz), _locale(lang))


def zone_label(policy: Policy, lang: str = DEFAULT_LANGUAGE) -> str:
    """`Phnom Penh time` (Khmer: `ម៉ោងភ្នំពេញ`): the zone's city as CLDR names it in the language."""
    label = _ZONE_LABELS.get((policy.tz, lang))
    if label is None:
        city = get_timezone_location(policy.tz, locale=_locale(lang), return_city=True)
        label = _ZONE_LABELS[(policy.tz, lang)] = text("time.zone", lang, city=city)
    return label


def duration(delta: timedelta, lang: str = DEFAULT_LANGUAGE) -> str:
    seconds = int(delta.total_seconds())
    for size, one, many in (
        (86400, "duration.day", "duration.days"),
        (3600, "duration.hour", "duration.hours"),
    ):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return text(one if n == 1 else many, lang, n=n)
    if seconds % 60 == 0 and seconds >= 60:
        n = seconds // 60
        return text("duration.minute" if n == 1 else "duration.minutes", lang, n=n)
    return text("duration.seconds", lang, n=seconds)


def hours_summary(policy: Policy, lang: str = DEFAULT_LANGUAGE) -> str:
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
        first = text(f"day.{days[0]}", lang)
        label = (
            first
            if len(days) == 1
            else text("time.day_range", lang, first=first, last=text(f"day.{days[-1]}", lang))
        )
        parts.append(text("time.day_span", lang, days=label, hours=spans))
    return "; ".join(parts) if parts else text("time.no_hours", lang)


def open_status(policy: Policy, clock: SlaClock, now: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """Open now, or closed and when the team is back (naming a holiday when it is one)."""
    if clock.is_business_time(now):
        return text("time.open_now", lang)
    local_day = now.astimezone(policy.tz).date()
    holiday = clock.holiday_name(local_day)
    back = when(clock.next_opening(now), policy, lang)
    if holiday:
        return text("time.closed_holiday", lang, holiday=holiday, back=back)
    return text("time.closed", lang, back=back)


def weekend_note(policy: Policy, lang: str = DEFAULT_LANGUAGE) -> str:
    critical = policy.sla.priorities["critical"]
    if critical.clock == "24x7":
        return text("time.critical_weekends", lang, within=duration(critical.response, lang))
    return localized(policy.weekend_support, lang)
