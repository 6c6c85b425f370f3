"""The company's support policy as validated data (docs/reference.md section 6).

The YAML file is the single source of truth for SLA targets, hours, holidays, tiers, categories,
troubleshooting steps, exclusions, contact channels, maintenance lead times and feedback. It is
validated once at start; every error names the key that is wrong.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)

PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
CATEGORIES: tuple[str, ...] = ("technical", "billing", "infrastructure", "security")
EXCLUSIONS: tuple[str, ...] = ("third_party", "customization", "hardware")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# In a checkout (editable install) policy.yml sits at the repository root; a wheel carries a copy here.
_HERE = Path(__file__).resolve().parent
SHIPPED_POLICY = next(
    (p for p in (_HERE.parent / "policy.yml", _HERE / "policy.yml") if p.exists()),
    _HERE.parent / "policy.yml",
)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class PolicyError(ValueError):
    """The policy file is missing or invalid; the message names the key."""


def parse_duration(value: Any) -> timedelta:
    """Turn `45s`, `30m`, `4h` or `2d` into a timedelta."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value))
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a positive duration like 45s, 30m, 4h or 2d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _parse_clock(value: Any) -> time:
    if isinstance(value, int):  # YAML 1.1 reads 08:00 unquoted as a base-60 integer of minutes
        return time(value // 60, value % 60)
    text = str(value)
    if text == "24:00":
        return time.max
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day like 08:00") from None


TEXT_LANGUAGES: tuple[str, ...] = ("en", "km")


class Text(str):
    """A customer-facing policy text: English as the string itself, other languages by `get`.

    A str, so everything that shows the policy to agents (Slack, reports) and reads it (the
    troubleshooting concepts are read from the English) keeps working unchanged; the conversation
    asks for the customer's language with `get`.
    """

    translations: dict[str, str]

    def __new__(cls, english: str, translations: dict[str, str] | None = None) -> Text:
        made = super().__new__(cls, english)
        made.translations = dict(translations or {})
        return made

    def get(self, lang: str) -> str:
        """The text in `lang`, or the English when the policy gives none for it."""
        return self.translations.get(lang) or str(self)


def _text(value: Any) -> Text:
    """A policy text: a plain string (every language), or a map of languages `{en: ..., km: ...}`."""
    if isinstance(value, Text):
        return value
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, dict):
        unknown = [str(k) for k in value if k not in TEXT_LANGUAGES]
        if unknown:
            raise ValueError(f"unknown languages {', '.join(unknown)}; use {', '.join(TEXT_LANGUAGES)}")
        missing = [
            lang for lang in TEXT_LANGUAGES if not isinstance(value.get(lang), str) or not value[lang].strip()
        ]
        if missing:
            raise ValueError(f"missing the {' and '.join(missing)} text")
        return Text(value["en"], {lang: value[lang] for lang in TEXT_LANGUAGES})
    raise ValueError("give a text, or a map of languages like {en: ..., km: ...}")


def localized(value: str, lang: str) -> str:
    """A policy text in `lang`: a `Text`'s translation, or a plain string as it is."""
    return value.get(lang) if isinstance(value, Text) else value


# A customer-facing text; written back as the map of languages it was read from.
LocalText = Annotated[
    Text,
    PlainValidator(_text),
    PlainSerializer(lambda t: t.translations or str(t), return_type=Any),
]

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
ClockTime = Annotated[time, BeforeValidator(_parse_clock)]


def _exactly(value: dict[str, Any], names: tuple[str, ...], what: str) -> dict[str, Any]:
    """The mapping must name each of `names`, and nothing else."""
    missing = [n for n in names if n not in value]
    unknown = [k for k in value if k not in names]
    if missing:
        raise ValueError(f"missing {what}: {', '.join(missing)}")
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)}; use {', '.join(names)}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrioritySla(_Model):
    response: Duration
    clock: Literal["24x7", "business"]


class Sla(_Model):
    warn_at: float = Field(gt=0, lt=1)
    priorities: dict[str, PrioritySla]

    @field_validator("priorities")
    @classmethod
    def _all_priorities(cls, value: dict[str, PrioritySla]) -> dict[str, PrioritySla]:
        return _exactly(value, PRIORITIES, "priorities")


class Tier(_Model):
    name: str
    slack_channel: str
    description: str = ""


class Escalation(_Model):
    tiers: dict[int, Tier]
    managers_channel: str
    on_call_channel: str | None = None

    @field_validator("tiers")
    @classmethod
    def _tiers_are_1_to_n(cls, value: dict[int, Tier]) -> dict[int, Tier]:
        if sorted(value) != list(range(1, len(value) + 1)):
            raise ValueError("tiers must be numbered 1, 2, 3... without gaps")
        return value


class Category(_Model):
    title: LocalText
    description: LocalText
    priorities: dict[str, LocalText]
    troubleshooting: list[LocalText] = []

    @field_validator("priorities")
    @classmethod
    def _all_priorities(cls, value: dict[str, Text]) -> dict[str, Text]:
        return _exactly(value, PRIORITIES, "priority definitions")


class Exclusion(_Model):
    title: LocalText
    description: LocalText
    keywords: list[str] = []


class Contact(_Model):
    email: str
    phone: str
    live_chat: LocalText


class Holidays(_Model):
    country: str | None = None
    subdiv: str | None = None
    extra: list[date] = []


class Maintenance(_Model):
    announce_before: list[Duration] = []


class Feedback(_Model):
    ask_on_resolve: bool = True
    scale: tuple[int, int] = (1, 5)
    low_rating_alert: int = 2
    comment_prompt: LocalText = Text("Anything we could do better? (optional)")


class Lifecycle(_Model):
    """After the first response: waiting on the customer, closing, who takes new tickets."""

    nudge_after: Duration = timedelta(days=2)  # a reminder to a customer who has not answered
    auto_resolve_after: Duration = timedelta(days=5)  # silence after the question resolves the ticket
    close_after: Duration = timedelta(days=3)  # a resolved ticket closes; until then a message reopens it
    round_robin: bool = False  # new tickets go to the tier's agents on shift, in turn

    @field_validator("auto_resolve_after")
    @classmethod
    def _after_the_nudge(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        nudge = info.data.get("nudge_after")
        if nudge is not None and value <= nudge:
            raise ValueError("must be longer than lifecycle.nudge_after (the nudge comes first)")
        return value


class Digest(_Model):
    # The weekly report (figures of the last 7 days and a chart) to the managers' channel; before
    # `time`, whose name would hide the `time` type in the lines after it.
    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    weekly_time: ClockTime = time(8, 0)
    time: ClockTime = time(8, 30)


class Knowledge(_Model):
    """Self-service articles offered in the chat before a ticket (actions/flows/articles.py)."""

    offer_in_chat: bool = True
    # Where customers open the articles (the public address of `supportbot serve`); empty: links
    # are the path alone, `/kb/en/password-reset`, which the web chat opens on its own site.
    base_url: str = ""


class Privacy(_Model):
    # Closed and resolved conversations, and the personal data in them, are purged this many
    # days after their last activity (the nightly `privacy_retention` job).
    retain_days: int = Field(default=365, ge=1, le=36500)


class Limits(_Model):
    # Tickets one customer may open in 24 hours; past it they are pointed at their open tickets.
    open_tickets_per_day: Annotated[int, Field(ge=1)] = 5
    # Out-of-hours on-call pages within this many minutes of the last one join it (with a count).
    on_call_coalesce_minutes: Annotated[int, Field(ge=0)] = 5


class Policy(_Model):
    """The whole policy. Build with `load_policy`."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    company: str = "I One Tech Solutions"
    timezone: str
    working_hours: dict[str, list[ClockTime]]
    weekend_support: LocalText = Text("")
    holidays: Holidays = Holidays()
    sla: Sla
    contact: Contact
    escalation: Escalation
    categories: dict[str, Category]
    exclusions: dict[str, Exclusion] = {}
    maintenance: Maintenance = Maintenance()
    feedback: Feedback = Feedback()
    digest: Digest = Digest()
    knowledge: Knowledge = Knowledge()
    privacy: Privacy = Privacy()
    lifecycle: Lifecycle = Lifecycle()
    limits: Limits = Limits()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[time]]) -> dict[str, list[time]]:
        unknown = [k for k in value if k not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown days {', '.join(unknown)}; use {', '.join(WEEKDAYS)}")
        for day in WEEKDAYS:
            periods = value.get(day)
            if periods is None:
                raise ValueError(f"missing day {day!r} (use [] for closed)")
            if len(periods) % 2:
                raise ValueError(f"{day}: give opening and closing times in pairs")
            if any(a >= b for a, b in pairwise(periods)):
                raise ValueError(f"{day}: times must increase, like ['08:00', '12:00', '13:00', '18:00']")
        return value

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, value: dict[str, Category]) -> dict[str, Category]:
        return _exactly(value, CATEGORIES, "categories")

    @field_validator("exclusions")
    @classmethod
    def _known_exclusions(cls, value: dict[str, Exclusion]) -> dict[str, Exclusion]:
        unknown = [k for k in value if k not in EXCLUSIONS]
        if unknown:
            raise ValueError(f"unknown exclusions {', '.join(unknown)}; use {', '.join(EXCLUSIONS)}")
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def periods(self, weekday: int) -> list[tuple[time, time]]:
        """Open periods of a weekday (0 = Monday) as (start, end) pairs."""
        times = self.working_hours[WEEKDAYS[weekday]]
        return [(times[i], times[i + 1]) for i in range(0, len(times), 2)]

    @property
    def max_tier(self) -> int:
        return max(self.escalation.tiers)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    """Validate policy data; raise PolicyError naming the first bad key."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: the policy must be a mapping of keys")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "is required"
        elif first["type"] == "extra_forbidden":
            message = "is not a known key"
        raise PolicyError(f"{source}: {where}: {message}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate the policy YAML (the shipped one when no path is given)."""
    file = Path(path) if path else SHIPPED_POLICY
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"SUPPORTBOT_POLICY: cannot read {file}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{file}: not valid YAML: {exc}") from None
    return parse_policy(data, source=str(file))
