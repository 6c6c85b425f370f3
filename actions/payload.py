"""Rasa-style button payloads: `/intent` or `/intent{"slot": "value"}` skip the NLU."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z_][A-Za-z0-9_]{0,63})(?P<slots>\{.*\})?\s*$", re.DOTALL)


@dataclass(frozen=True)
class Payload:
    intent: str
    slots: dict[str, Any]


def parse_payload(text: str) -> Payload | None:
    """The payload in `text`, or None when it is ordinary text (or a malformed payload)."""
    match = _PAYLOAD.match(text.strip())
    if not match:
        return None
    slots: dict[str, Any] = {}
    if match.group("slots"):
        try:
            loaded = json.loads(match.group("slots"))
        except json.JSONDecodeError:
            return None
        if not isinstance(loaded, dict):
            return None
        slots = {str(k): v for k, v in loaded.items() if isinstance(v, str | int | float | bool)}
    return Payload(match.group("intent"), slots)


_MADE: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}
MADE_KEPT = 1024  # the same buttons come back in every conversation (priorities, menus, ratings)


def make_payload(intent: str, **slots: Any) -> str:
    if not slots:
        return f"/{intent}"
    key = (intent, tuple(slots.items()))
    try:
        made = _MADE.get(key)
    except TypeError:  # a value that cannot be a key (a list): made each time
        return f"/{intent}" + json.dumps(slots, separators=(",", ":"))
    if made is None:
        made = f"/{intent}" + json.dumps(slots, separators=(",", ":"))
        if len(_MADE) >= MADE_KEPT:
            _MADE.clear()
        _MADE[key] = made
    return made
