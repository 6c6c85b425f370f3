"""The modals the card opens: the question of "Waiting on customer", a saved reply to edit.

Their callback, block and input ids are blocks.py's, beside the card's action ids: the listeners
(bot/slack/buttons.py, bot/slack/agent_replies.py) read what was submitted by them.
"""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import (
    QUESTION_BLOCK,
    QUESTION_INPUT,
    SAVED_REPLY_BLOCK,
    SAVED_REPLY_INPUT,
    SAVED_REPLY_VIEW,
    WAITING_VIEW,
)
from bot.slack.mrkdwn import cut
from desk import saved_replies


def saved_reply_modal(*, title: str, text: str, metadata: str) -> dict[str, Any]:
    """The modal an agent edits a saved reply in; `metadata` says which ticket and card."""
    return {
        "type": "modal",
        "callback_id": SAVED_REPLY_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Saved reply"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": SAVED_REPLY_BLOCK,
                "label": {"type": "plain_text", "text": cut(title, 2000)},
                "hint": {
                    "type": "plain_text",
                    "text": "Edit it as you like; Send delivers it to the customer.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": SAVED_REPLY_INPUT,
                    "multiline": True,
                    "max_length": saved_replies.MAX_TEXT,
                    "initial_value": text[: saved_replies.MAX_TEXT],
                },
            }
        ],
    }


def waiting_modal(ticket_id: int, channel: str, thread_ts: str | None) -> dict[str, Any]:
    """The modal of "Waiting on customer": the question the customer is asked."""
    return {
        "type": "modal",
        "callback_id": WAITING_VIEW,
        "private_metadata": f"{ticket_id}|{channel}|{thread_ts or ''}",
        "title": {"type": "plain_text", "text": cut(f"Ask about #{ticket_id}", 24)},
        "submit": {"type": "plain_text", "text": "Ask and wait"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": QUESTION_BLOCK,
                "label": {"type": "plain_text", "text": "Your question to the customer"},
                "hint": {
                    "type": "plain_text",
                    "text": "The SLA clock pauses until they answer; they are nudged, then the ticket "
                    "resolves itself if they stay silent.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": QUESTION_INPUT,
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }
