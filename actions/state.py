"""Dialogue state per conversation, kept as JSON in the database (see docs/conversation.mmd)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Intake:
    """What the intake form has collected so far."""

    category: str | None = None
    description: str | None = None
    priority: str | None = None
    suggested_priority: str | None = None
    exclusion: str | None = None
    exclusion_checked: bool = False
    troubleshooting: list[dict[str, str]] = field(default_factory=list)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    saved_contact_declined: bool = False
    attachments: list[int] = field(default_factory=list)  # files sent meanwhile, for the ticket


@dataclass
class DialogueState:
    """`flow` is None (idle) or `intake`; `step` is what the bot asked last."""

    flow: str | None = None
    step: str | None = None
    intake: Intake | None = None
    handoff_acknowledged: bool = False

    def start_intake(self) -> Intake:
        self.flow = "intake"
        self.intake = Intake()
        return self.intake

    def clear(self) -> None:
        self.flow = None
        self.step = None
        self.intake = None

    # to_dict and from_dict copy by hand what dataclasses.asdict and copy.deepcopy would: the
    # state's shape is known (scalars, and two lists in the intake), and every turn does both.

    def to_dict(self) -> dict[str, Any]:
        intake = self.intake
        return {
            "flow": self.flow,
            "step": self.step,
            "intake": None if intake is None else _intake_dict(vars(intake)),
            "handoff_acknowledged": self.handoff_acknowledged,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        # Copies, not the loaded JSON itself: changing it in place would hide the change from the ORM.
        intake = data.get("intake")
        known = Intake.__dataclass_fields__
        return cls(
            flow=data.get("flow"),
            step=data.get("step"),
            intake=Intake(**_intake_dict({k: v for k, v in intake.items() if k in known}))
            if intake
            else None,
            handoff_acknowledged=bool(data.get("handoff_acknowledged", False)),
        )


def _intake_dict(fields: dict[str, Any]) -> dict[str, Any]:
    """The intake's fields with its lists (and the troubleshooting answers in them) copied."""
    out = dict(fields)
    if isinstance(out.get("troubleshooting"), list):
        out["troubleshooting"] = [dict(a) if isinstance(a, dict) else a for a in out["troubleshooting"]]
    if isinstance(out.get("attachments"), list):
        out["attachments"] = list(out["attachments"])
    return out
