"""Dialogue state per conversation, kept as JSON in the database (see docs/conversation.mmd)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        # A deep copy: mutating the loaded JSON in place would hide the change from the ORM.
        data = copy.deepcopy(data)
        intake = data.get("intake")
        known = Intake.__dataclass_fields__
        return cls(
            flow=data.get("flow"),
            step=data.get("step"),
            intake=Intake(**{k: v for k, v in intake.items() if k in known}) if intake else None,
            handoff_acknowledged=bool(data.get("handoff_acknowledged", False)),
        )
