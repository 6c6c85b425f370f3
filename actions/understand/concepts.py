"""What a troubleshooting step asks, read from its text: the policy's steps are free text, so answers
and facts are matched to a step by the concept it names, never by its position."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from actions.understand.text import clean

Concept = Literal[
    "restart",
    "other_network",
    "others_affected",
    "internet",
    "error_message",
    "invoice_checked",
    "bank_confirmed",
    "maintenance_window",
    "password_changed",
    "disconnected",
]

CONCEPTS: tuple[Concept, ...] = (
    "restart",
    "other_network",
    "others_affected",
    "internet",
    "error_message",
    "invoice_checked",
    "bank_confirmed",
    "maintenance_window",
    "password_changed",
    "disconnected",
)

# Checked in this order; the first that matches names the step. "from another network or device"
# comes before "other devices affected", a disconnected machine before a changed password.
_STEP_KEYWORDS: tuple[tuple[Concept, re.Pattern[str]], ...] = (
    ("maintenance_window", re.compile(r"maintenance|status page|announce|ការថែទាំ")),
    (
        "other_network",
        re.compile(
            r"(?:another|other|different|second) (?:network|connection|location)|from another device|mobile data|បណ្តាញផ្សេង"
        ),
    ),
    ("disconnected", re.compile(r"disconnect|unplug|isolat|off the network|ផ្តាច់")),
    ("password_changed", re.compile(r"password|sign(?:ed)? out|log(?:ged)? out|credential|ពាក្យសម្ងាត់")),
    ("bank_confirmed", re.compile(r"\bbank|payment left|debited|deducted|ធនាគារ")),
    ("invoice_checked", re.compile(r"invoice|\bbill\b|contract|វិក្កយបត្រ")),
    ("error_message", re.compile(r"error|screenshot|message on (?:the )?screen|warning|កំហុស|រូបថតអេក្រង់")),
    (
        "restart",
        re.compile(
            r"restart|reboot|re-?start|turn(?:ed)? (?:it )?off and on|power[- ]cycle|reinstall|ចាប់ផ្តើមឡើងវិញ|បិទបើក"
        ),
    ),
    (
        "others_affected",
        re.compile(
            r"other (?:people|users|devices|colleagues|computers|staff)|anyone else|someone else|colleague|affected|អ្នកផ្សេង"
        ),
    ),
    ("internet", re.compile(r"internet|other (?:web)?sites|websites|wi-?fi|online|អ៊ីនធឺណិត")),
)


@lru_cache(maxsize=256)  # the policy's step texts, in its languages
def step_concept(step: str) -> Concept | None:
    """The concept a step's text asks about, or None for a step this module does not know."""
    text = clean(step)
    for concept, pattern in _STEP_KEYWORDS:
        if pattern.search(text):
            return concept
    return None
