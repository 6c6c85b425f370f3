"""What parsing an intake step's answer gives: a value to store, a retry, or the intake's end."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from actions.messages import Reply
from actions.state import Intake
from desk.policy import Category, Policy

# In steps that take free text (description, name, email), a question interrupts only when
# the NLU is this sure, so "my printer is down, what are your hours" stays a description.
INTERRUPT_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Answer:
    """A valid answer: `value` is what the step's `store` keeps; `noted`: catalog keys said first."""

    value: Any
    noted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retry:
    """Not an answer: say `hint` (a catalog key), then ask the step again if `ask_again`.

    `replies`, when given, are said instead (a short re-ask rather than the whole step again)."""

    hint: str
    ask_again: bool = True
    replies: tuple[Reply, ...] = ()


class Outcome(StrEnum):
    """An answer that ends the intake."""

    DECLINED = "declined"  # the customer keeps an excluded request to themselves
    SOLVED = "solved"  # a troubleshooting step fixed it: no ticket
    OPEN_TICKET = "open_ticket"
    DISCARDED = "discarded"


Parsed = Answer | Retry | Outcome


def category_of(policy: Policy, i: Intake) -> Category:
    """The policy's entry for the intake's category (set before any step that needs it)."""
    assert i.category is not None
    return policy.categories[i.category]
