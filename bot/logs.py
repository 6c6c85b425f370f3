"""Structured logs: JSON lines when not on a terminal, readable lines on one."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", *, stdlib: bool = True) -> None:
    """structlog to stderr; with `stdlib`, the standard library's loggers too (the server)."""
    level = level.upper()
    if not isinstance(logging.getLevelName(level), int):
        level = "INFO"  # an unknown level name must not stop the program
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if sys.stderr.isatty() else structlog.processors.JSONRenderer()
    )
    if stdlib:
        logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
        # httpx logs each request's URL at INFO, and Telegram's carry the bot token
        # (`/bot<token>/sendMessage`): a token must never reach a log.
        for chatty in ("httpx", "httpcore"):
            logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
