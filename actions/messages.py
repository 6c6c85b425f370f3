"""The channel-independent message model: adapters turn wire messages into these and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 4000  # longer customer messages are cut here, and told so


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_rest(self, recipient_id: str) -> dict[str, Any]:
        """Rasa's REST channel shape (`buttons` only where there are some)."""
        out: dict[str, Any] = {"recipient_id": recipient_id, "text": self.text}
        if self.buttons:
            out["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        return out

    def as_socketio(self) -> dict[str, Any]:
        """Rasa's SocketIO `bot_uttered` shape."""
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["quick_replies"] = [
                {"content_type": "text", "title": b.title, "payload": b.payload} for b in self.buttons
            ]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(data["text"], tuple(Button(b["title"], b["payload"]) for b in data.get("buttons", ())))


@dataclass(frozen=True)
class Incoming:
    """One customer message: text typed, or a button payload like `/affirm`."""

    channel: str
    sender: str
    text: str
    message_id: str | None = None
    display_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
