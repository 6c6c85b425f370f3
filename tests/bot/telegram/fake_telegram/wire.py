"""The wire format: recorded calls, uploads, stored files, errors, results and decoded parameters."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.bot.telegram.fake_telegram.ids import _unique_id


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    status: int = 200


@dataclass
class Upload:
    """A file the bot uploaded (multipart), as it appears in `Call.params`."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass
class StoredFile:
    file_id: str
    content: bytes = field(repr=False)
    file_path: str
    file_unique_id: str = ""

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id or _unique_id(self.file_id),
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Ok:
    result: Any
    description: str | None = None


_INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "user_id",
        "from_chat_id",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
    }
)


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Form fields are strings: numbers, booleans and JSON-serialized objects decoded as Telegram does."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key == "chat_id" and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
            elif key in _JSON_PARAMS:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass  # left as text: the method refuses it in Telegram's words
        params[key] = value
    return params
