"""First look at a problem description: a suggested priority and the service exclusions it touches.

Suggestions only: the customer always picks the priority, and an excluded request can still be
passed on (the ticket then carries `exclusion`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from desk.policy import Policy

# Signs that the policy's "critical" definitions apply: core functionality down for everyone,
# or a security breach. Checked on lower-cased text.
_CRITICAL = re.compile(
    r"\b(every(one|body)|all (of )?(our |the )?(users|staff|employees|branches|shops|stores|customers)|"
    r"whole (company|office|team)|nobody can|no one can|company[- ]wide|production (is )?down|(nobody|no one) (in|at) (the |our )?\w+ can|"
    r"(completely|totally) down|outage|breach(ed)?|hacked|ransomware|data leak|leaked|stolen data|"
    r"compromised|malware|can'?t (work|operate|sell|take payments)|cannot (work|operate|sell))\b"
)
_HIGH = re.compile(
    r"\b(urgent(ly)?|asap|as soon as possible|immediately|right now|emergency|critical|"
    r"many users|several users|(is|are|went) down|not working at all|overcharged|double charged)\b"
)
_LOW = re.compile(
    r"\b(just (a )?question|wondering|curious|general question|when you have time|"
    r"no rush|not urgent|low priority|minor)\b"
)


def suggest_priority(text: str) -> str | None:
    """A priority the description makes obvious, or None when it does not."""
    lowered = text.lower()
    if _CRITICAL.search(lowered):
        return "critical"
    if _HIGH.search(lowered):
        return "high"
    if _LOW.search(lowered):
        return "low"
    return None


def detect_exclusion(text: str, policy: Policy) -> str | None:
    """The first service exclusion whose keywords the description mentions."""
    lowered = f" {text.lower()} "
    for key, exclusion in policy.exclusions.items():
        if exclusion.keywords and _any_of(tuple(exclusion.keywords)).search(lowered):
            return key
    return None


@lru_cache(maxsize=64)
def _any_of(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for a list of keywords, each a whole word or phrase (compiled once per list)."""
    alternatives = "|".join(re.escape(keyword.lower()) for keyword in keywords)
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")


def subject_of(description: str, *, limit: int = 80) -> str:
    """A one-line subject from the first sentence of the description."""
    first = re.split(r"(?<=[.!?])\s|\n", description.strip(), maxsplit=1)[0].strip()
    first = " ".join(first.split())
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
