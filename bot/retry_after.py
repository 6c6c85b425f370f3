"""A platform's "wait before trying again" (HTTP 429 `Retry-After`, Telegram's `retry_after`).

The outbox's delivery job reads `RetryAfter` raised by any sender: the row is tried again after
that many seconds, without counting a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

DEFAULT_SECONDS = 30  # a 429 without a readable Retry-After
TOO_MANY_REQUESTS = 429


class RetryAfter(Exception):
    """The platform asked us to wait (HTTP 429 Retry-After)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds}s")
        self.seconds = seconds


def seconds(value: Any, *, default: float = DEFAULT_SECONDS) -> float:
    """The wait asked for, in seconds: a timedelta, a number, or a header's text; `default` when
    it cannot be read."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return default


def from_response(status: int | None, headers: Mapping[str, str] | None) -> RetryAfter | None:
    """An HTTP answer as `RetryAfter` when it is a 429 (whole seconds, at least one), else None."""
    if status != TOO_MANY_REQUESTS:
        return None
    headers = headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    return RetryAfter(max(1, int(seconds(value))))


def header(wait: int) -> dict[str, str]:
    """The header that asks a platform calling us (a webhook) to come back in `wait` seconds."""
    return {"Retry-After": str(wait)}
