"""Structured logs in one format: JSON lines when not on a terminal, readable lines on one.

The app's own lines come from structlog; the standard library's records (uvicorn, slack-bolt,
python-telegram-bot, APScheduler, Alembic) go through structlog's `ProcessorFormatter`, so they
come out in the same format, with the same context (the request id of the customer message being
handled, see `request_context`).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

# Library loggers kept at WARNING unless the level asks for DEBUG:
# - httpx/httpcore log each request's URL at INFO, and Telegram's carry the bot token
#   (`/bot<token>/sendMessage`): a token must never reach a log.
# - APScheduler writes two lines per job run ("Running job", "executed successfully"): with the SLA
#   sweep and the outbox every few seconds they would bury everything an operator needs.
QUIET_BELOW_DEBUG = ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler")


# Customers' words and who they are never reach the log: these keys are replaced by a marker
# (an outbox target keeps its channel, `webchat:…`), a payload keeps only its `event`, and any
# email address or phone number left in another value is masked.
PERSONAL_KEYS = frozenset(
    {"sender", "session_id", "text", "message", "email", "phone", "name", "display_name", "chat"}
)
TARGET_KEYS = frozenset({"target", "to"})
PAYLOAD_KEYS = frozenset({"notice", "payload"})
REDACTED = "[redacted]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits with separators, but not an ISO date (2026-11-30).
_PHONE = re.compile(r"(?<![\w-])(?!\d{4}-\d\d-\d\d)\+?\d(?:[\s().-]?\d){6,18}(?![\w-])")


def _mask(value: str) -> str:
    return _PHONE.sub(REDACTED, _EMAIL.sub(REDACTED, value))


def redact_personal_data(
    logger: Any, method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """A structlog processor: session ids, message texts, emails and phones out of every line."""
    for key, value in event_dict.items():
        if key in PERSONAL_KEYS and value is not None:
            event_dict[key] = REDACTED
        elif key in TARGET_KEYS and isinstance(value, str):
            channel, colon, _ = value.partition(":")
            event_dict[key] = f"{channel}:…" if colon else value
        elif key in PAYLOAD_KEYS and isinstance(value, dict):
            event_dict[key] = {"event": value.get("event")}
        elif isinstance(value, str) and key not in ("exception", "timestamp"):
            event_dict[key] = _mask(value)
    return event_dict


def _level_number(level: str) -> int:
    number = logging.getLevelName(level.upper())
    return number if isinstance(number, int) else logging.INFO  # an unknown name must not stop the program


def _renderer() -> structlog.typing.Processor:
    if sys.stderr.isatty():
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer()


def configure_logging(level: str = "INFO", *, stdlib: bool = True) -> None:
    """structlog to stderr; with `stdlib`, the standard library's loggers too (the server)."""
    number = _level_number(level)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]
    renderer = _renderer()
    if stdlib:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            )
        )
        root = logging.getLogger()
        root.handlers = [handler]
        root.setLevel(number)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            # uvicorn's own handlers would print plain text beside ours: its records go to the root.
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
        for name in QUIET_BELOW_DEBUG:
            logging.getLogger(name).setLevel(number if number <= logging.DEBUG else logging.WARNING)
    # The app's own lines are rendered straight to stderr: the same processors and renderer as the
    # formatter's, without a detour through the standard library for every line.
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def request_context(**fields: str) -> Iterator[str]:
    """Bind a request id (and `fields`) to every log line written while one message is handled."""
    request_id = fields.pop("request_id", None) or new_request_id()
    with structlog.contextvars.bound_contextvars(request_id=request_id, **fields):
        yield request_id
