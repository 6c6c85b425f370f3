"""Customer notices the desk queued as catalog messages, put into words when they are sent.

The desk (below actions/) writes no customer-facing text: a customer row's payload names a catalog
message, its values and the customer's language (desk/outbox.py `notice`), and the rating buttons'
titles are catalog messages too. Here they become the text of the customer's language, dates and
the timezone in that language as well. Rows queued with a finished "text" (by the conversation
flows, or by a version before this one and still in the outbox) go out as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from actions.catalog import language_of, text
from actions.render import duration, when, zone_label
from desk.policy import Policy


def render(payload: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The payload with its `text` (and button titles) written in the customer's language."""
    message = payload.get("message")
    buttons = payload.get("buttons")
    if not isinstance(message, str) and not isinstance(buttons, list):
        return payload
    lang = language_of(payload.get("language"))
    rendered = {k: v for k, v in payload.items() if k not in ("message", "values")}
    if isinstance(message, str) and "text" not in payload:
        rendered["text"] = _text(message, payload.get("values"), lang, policy)
    if isinstance(buttons, list):
        rendered["buttons"] = [_button(b, lang, policy) for b in buttons]
    return rendered


def _button(button: Any, lang: str, policy: Policy) -> Any:
    if isinstance(button, dict) and isinstance(button.get("title"), dict):
        return {**button, "title": _value(button["title"], lang, policy)}
    return button


def _text(message: str, values: Any, lang: str, policy: Policy) -> str:
    filled = {k: _value(v, lang, policy) for k, v in (values or {}).items()}
    filled.setdefault("zone", zone_label(policy, lang))  # "(Phnom Penh time)" beside the dates
    return text(message, lang, **filled)


def _value(value: Any, lang: str, policy: Policy) -> Any:
    """A value of `outbox.notice`: a date, a duration or a nested message in words; others as they are."""
    if not isinstance(value, dict):
        return value
    if "when" in value:
        return when(datetime.fromisoformat(str(value["when"])), policy, lang)
    if "duration" in value:
        return duration(timedelta(seconds=float(value["duration"])), lang)
    if isinstance(value.get("message"), str):
        return _text(value["message"], value.get("values"), lang, policy)
    return value
