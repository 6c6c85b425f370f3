"""Dialogue state per conversation, kept as JSON in the database (see docs/conversation.mmd)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FlowName(StrEnum):
    """The flow a conversation is in; no flow (None) is idle."""

    INTAKE = "intake"
    FEEDBACK = "feedback"  # waiting for the comment on a rating (`feedback_ticket_id`)
    HANDOFF = "handoff"  # asking what a person needs to know (`intake` holds the draft ticket)


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
    # Answers the description already gave, by troubleshooting step index ("0", "1", ...):
    # {answer, note}; filled once (`prefilled`) when the checks start, taken instead of asking.
    known: dict[str, dict[str, str]] = field(default_factory=dict)
    prefilled: bool = False
    # What the description names besides the checks (product, since, error), for the summary.
    details: dict[str, str] = field(default_factory=dict)
    sentiment: str | None = None  # "frustrated" once the customer's words say so
    tries: int = 0  # replies at the current step that answered nothing
    unclear: list[str] = field(default_factory=list)  # those replies' words, kept for the ticket
    said: list[str] = field(default_factory=list)  # other words typed meanwhile, for the ticket
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
    # "Delete your data?" was asked and not yet answered: only then does a confirmation delete.
    forget_asked: bool = False
    feedback_ticket_id: int | None = None  # the rated ticket whose comment the bot waits for
    # The customer's language for the whole conversation (actions/language.py), what set it
    # (`button`, `channel` metadata or their `text`), and the digits they write (`latn`/`khmr`).
    language: str | None = None
    language_source: str | None = None
    digits: str | None = None

    def start_intake(self) -> Intake:
        self.flow = FlowName.INTAKE
        self.intake = Intake()
        return self.intake

    def start_handoff(self, draft: Intake) -> Intake:
        self.flow = FlowName.HANDOFF
        self.intake = draft
        return draft

    def start_feedback(self, ticket_id: int) -> None:
        self.flow = FlowName.FEEDBACK
        self.step = FEEDBACK_STEP
        self.feedback_ticket_id = ticket_id

    def clear(self) -> None:
        self.flow = None
        self.step = None
        self.intake = None
        self.feedback_ticket_id = None
        self.forget_asked = False

    # to_dict and from_dict copy by hand what dataclasses.asdict and copy.deepcopy would: the
    # state's shape is known (scalars, and a few lists and maps in the intake), and every turn does both.

    def to_dict(self) -> dict[str, Any]:
        intake = self.intake
        return {
            "flow": self.flow,
            "step": self.step,
            "intake": None if intake is None else _intake_dict(vars(intake)),
            "handoff_acknowledged": self.handoff_acknowledged,
            "forget_asked": self.forget_asked,
            "feedback_ticket_id": self.feedback_ticket_id,
            "language": self.language,
            "language_source": self.language_source,
            "digits": self.digits,
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
            forget_asked=bool(data.get("forget_asked", False)),
            feedback_ticket_id=ticket_id if isinstance(ticket_id, int) else legacy_ticket_id,
            language=_str_or_none(data.get("language")),
            language_source=_str_or_none(data.get("language_source")),
            digits=_str_or_none(data.get("digits")),
        )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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
    for name in ("attachments", "unclear", "said", "articles_offered"):
        if isinstance(out.get(name), list):
            out[name] = list(out[name])
    for name in ("known", "details"):
        if isinstance(out.get(name), dict):
            out[name] = {k: dict(v) if isinstance(v, dict) else v for k, v in out[name].items()}
    return out
