"""The small value types the understanding functions return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AnswerKind = Literal["yes", "no", "not_sure", "fixed", "how_to_check", "none"]


@dataclass(frozen=True, slots=True)
class StepAnswer:
    """How a customer's words answer one troubleshooting step.

    kind: yes, no, not_sure, fixed (the problem went away), how_to_check (they ask how to find
    out), none (no answer in the words). note: what they said beyond the bare answer (a reply's
    remaining words, the error text at the error-message step, the sentence of a description the
    fact came from), at most a few hundred characters; empty for a bare answer.
    """

    kind: AnswerKind
    note: str = ""
