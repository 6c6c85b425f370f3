"""Slack's requests before bolt reads them: unsigned ones refused, signed ones Slack would never
send answered 400, and the names its deliveries are remembered under.

bolt parses a body before it checks the signature, so these checks run first (bot/slack/desk.py).
The listeners mark Events API deliveries (bot/slack/inbound.py) and button presses
(bot/slack/buttons.py) as seen under `EVENTS_CHANNEL`, so a retry or a replay is applied once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qs

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier

log = structlog.get_logger(__name__)

EVENTS_CHANNEL = "slack"
EVENTS_SENDER = "events"


def refusal(headers: Mapping[str, str], body: bytes, signing_secret: str) -> Response | None:
    """A 401 for a request Slack did not sign (checked before bolt reads the body), a 400 for a
    signed one Slack would never send; None for the rest, which bolt handles.

    bolt parses the body before it checks the signature, and takes the timestamp header for a
    number: `X-Slack-Request-Timestamp: abc` or a body nested thousands deep from anyone would
    crash it. Only what Slack signed gets that far.
    """
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp.isascii() or not timestamp.isdigit() or not signature:
        return JSONResponse({"detail": "not signed by Slack"}, status_code=401)
    if not SignatureVerifier(signing_secret).is_valid(body, timestamp, signature):
        return JSONResponse({"detail": "not signed by Slack, or too old"}, status_code=401)
    problem = malformed(body, headers.get("content-type", ""))
    if problem is not None:
        return JSONResponse({"detail": f"not a Slack request: {problem}"}, status_code=400)
    return None


# The parts of a Slack request bolt reads as objects (or lists of them) before any listener runs.
_OBJECTS = ("event", "user", "team", "channel", "container", "message", "view")


def malformed(body: bytes, content_type: str) -> str | None:
    """What makes a signed body something Slack would never send, or None when it may be one."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            if "payload" not in form:
                return None  # a slash command: flat fields, read as strings
            data = json.loads(form["payload"][0])
        else:
            data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "the body is not JSON"
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    for key in _OBJECTS:
        if key in data and not isinstance(data[key], dict):
            return f"{key} must be an object"
    actions = data.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return "actions must be a list of objects"
    return None


async def handled(handler: AsyncSlackRequestHandler, request: Request) -> Response:
    """bolt's answer to a signed request; 400 for one it cannot read (Slack never sends those)."""
    try:
        return await handler.handle(request)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        log.warning("slack_request_unreadable", error=type(exc).__name__)
        return JSONResponse({"detail": "unreadable Slack request"}, status_code=400)
