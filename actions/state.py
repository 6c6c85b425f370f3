"""Dialogue state per conversation, kept as JSON in the database (see docs/conversation.mmd)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FlowName(StrEnum):
    """The flow a conversation is in; no flow (None) is idle."""

    INTAKE = "intake"
    FEEDBACK = "feedback"  # waiting for the comment on a rating (`feedback_ticket_id`)


FEEDBACK_STEP = "feedback_comment"


@dataclass
class Intake:
    """What the intake form has collected so far (one field per step of actions/flows/intake_steps.py)."""

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
    # Self-service articles (actions/flows/articles.py): searched once, the ones offered (a ticket
    # that follows carries them), and whether the next message may answer the offer in words.
    articles_checked: bool = False
    articles_offered: list[str] = field(default_factory=list)
    articles_answer_due: bool = False


@dataclass
class DialogueState:
    """`flow` is None (idle), intake or feedback; `step` is what the bot asked last.

    A rating's comment step keeps an intake in progress in `intake`, to carry on with after it.
    """

    flow: FlowName | None = None
    step: str | None = None
    intake: Intake | None = None
    handoff_acknowledged: bool = False
    feedback_ticket_id: int | None = None  # the rated ticket whose comment the bot waits for

    def start_intake(self) -> Intake:
        self.flow = FlowName.INTAKE
        self.intake = Intake()
        return self.intake

    def start_feedback(self, ticket_id: int) -> None:
        self.flow = FlowName.FEEDBACK
        self.step = FEEDBACK_STEP
        self.feedback_ticket_id = ticket_id

    def clear(self) -> None:
        self.flow = None
        self.step = None
        self.intake = None
        self.feedback_ticket_id = None

    # to_dict and from_dict copy by hand what dataclasses.asdict and copy.deepcopy would: the
    # state's shape is known (scalars, and two lists in the intake), and every turn does both.

    def to_dict(self) -> dict[str, Any]:
        intake = self.intake
        return {
            "flow": self.flow,
            "step": self.step,
            "intake": None if intake is None else _intake_dict(vars(intake)),
            "handoff_acknowledged": self.handoff_acknowledged,
            "feedback_ticket_id": self.feedback_ticket_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        # Copies, not the loaded JSON itself: changing it in place would hide the change from the ORM.
        intake = data.get("intake")
        known = Intake.__dataclass_fields__
        flow, legacy_ticket_id = _flow(data.get("flow"))
        ticket_id = data.get("feedback_ticket_id")
        return cls(
            flow=flow,
            step=data.get("step"),
            intake=Intake(**_intake_dict({k: v for k, v in intake.items() if k in known}))
            if intake
            else None,
            handoff_acknowledged=bool(data.get("handoff_acknowledged", False)),
            feedback_ticket_id=ticket_id if isinstance(ticket_id, int) else legacy_ticket_id,
        )


def _flow(value: Any) -> tuple[FlowName | None, int | None]:
    """The stored flow, and the rated ticket of states saved as `feedback:ID` before it had a field."""
    if value is None:
        return None, None
    name, _, ticket = str(value).partition(":")
    try:
        flow = FlowName(name)
    except ValueError:
        return None, None  # a flow that no longer exists: idle
    return flow, int(ticket) if flow is FlowName.FEEDBACK and ticket.isdigit() else None


def _intake_dict(fields: dict[str, Any]) -> dict[str, Any]:
    """The intake's fields with its lists (and the troubleshooting answers in them) copied."""
    out = dict(fields)
    if isinstance(out.get("troubleshooting"), list):
        out["troubleshooting"] = [dict(a) if isinstance(a, dict) else a for a in out["troubleshooting"]]
    if isinstance(out.get("attachments"), list):
        out["attachments"] = list(out["attachments"])
    if isinstance(out.get("articles_offered"), list):
        out["articles_offered"] = list(out["articles_offered"])
    return out
