"""IDs and dates shared by the builders and every fake.

Counters are module-wide, so IDs only ever increase within a test run.
"""

from __future__ import annotations

import hashlib
import itertools
import time

_update_ids = itertools.count(700_000_001)
_last_update_id = 700_000_000
_message_ids: dict[int, int] = {}
_query_ids = itertools.count(1)
_file_ids = itertools.count(1)


def next_update_id() -> int:
    global _last_update_id
    _last_update_id = max(_last_update_id + 1, next(_update_ids))
    return _last_update_id


def _saw_update_id(update_id: int) -> None:
    global _last_update_id
    _last_update_id = max(_last_update_id, update_id)


def next_message_id(chat_id: int) -> int:
    """Message IDs increase per chat, shared by the customer's and the bot's messages."""
    _message_ids[chat_id] = _message_ids.get(chat_id, 0) + 1
    return _message_ids[chat_id]


def _saw_message_id(chat_id: int, message_id: int) -> None:
    _message_ids[chat_id] = max(_message_ids.get(chat_id, 0), message_id)


def _now() -> int:
    return int(time.time())


def _unique_id(file_id: str) -> str:
    return "AQAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]
