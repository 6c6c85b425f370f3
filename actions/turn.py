"""One customer message's handling: what the engine understood, and what the flows change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from actions.catalog import DEFAULT_LANGUAGE, label, text
from actions.messages import Button, Incoming, Reply
from actions.render import localize_digits
from actions.state import DialogueState, Intake
from actions.understand.feelings import Feelings, read_feelings
from desk.policy import localized
from storage.models import Conversation, Customer
from storage.repositories.conversation import ConversationTurn

# Placeholders that hold numbers, dates and times (render.py), written in the customer's digits;
# the others (names, emails, descriptions) are shown exactly as they are.
NUMERIC = frozenset(
    {"n", "total", "id", "wanted", "limit", "rating", "due", "until", "start", "end", "back", "at"}
    | {"hours", "within", "leads", "open_status", "under_way"}
)


@dataclass
class Turn:
    """Everything one message's handling needs."""

    msg: Incoming
    repo: ConversationTurn
    conversation: Conversation
    customer: Customer
    state: DialogueState
    text: str
    truncated: bool
    now: datetime
    is_payload: bool
    intent: str
    confidence: float
    slots: dict[str, Any]
    entities: dict[str, str]
    ranking: list[dict[str, Any]] = field(default_factory=list)
    lang: str = DEFAULT_LANGUAGE
    digits: str = "latn"  # `khmr` once the customer writes Khmer digits (actions/language.py)

    @property
    def intake(self) -> Intake:
        assert self.state.intake is not None
        return self.state.intake

    @cached_property
    def feelings(self) -> Feelings:
        """How the message reads (frustration, urgency, outage...), read once for all flows."""
        return read_feelings(self.text)

    @property
    def actor(self) -> str:
        """Who the audit trail says did what the customer did."""
        return f"customer:{self.customer.id}"

    def say(self, key: str, /, **values: Any) -> str:
        """The catalog's message `key` in the customer's language, numbers in their digits."""
        if self.digits != "latn":
            values = {k: localize_digits(v, self.digits) if k in NUMERIC else v for k, v in values.items()}
        return text(key, self.lang, **values)

    def pick(self, value: str) -> str:
        """A policy text (desk/policy.py `Text`) in the customer's language."""
        return localized(value, self.lang)

    def label(self, kind: str, value: str) -> str:
        """A value's name in the customer's language (`priority`, `high`: High)."""
        return label(kind, value, self.lang)

    def reply(self, key: str, /, *buttons: Button, **values: Any) -> Reply:
        """A reply of the catalog's message `key` with `buttons`."""
        return Reply(self.say(key, **values), buttons)
