"""Builders of updates exactly as Telegram sends them."""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.bot.telegram.fake_telegram.ids import (
    _now,
    _query_ids,
    _saw_message_id,
    _saw_update_id,
    _unique_id,
    next_message_id,
    next_update_id,
)
from tests.bot.telegram.fake_telegram.text_entities import _utf16_len


def user(
    user_id: int = 555001,
    first_name: str = "Sokha",
    last_name: str | None = "Chan",
    username: str | None = "sokha_chan",
    *,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """A customer's User object as it appears in `from`."""
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name is not None:
        found["last_name"] = last_name
    if username is not None:
        found["username"] = username
    if language_code is not None:
        found["language_code"] = language_code
    return found


def chat(
    chat_id: int, chat_type: str = "private", *, of_user: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Chat object: a private chat carries the user's names, a group its title."""
    if chat_type == "private":
        person = of_user or user(chat_id)
        found: dict[str, Any] = {"id": chat_id, "first_name": person["first_name"]}
        for key in ("last_name", "username"):
            if key in person:
                found[key] = person[key]
        found["type"] = "private"
        return found
    if chat_type not in ("group", "supergroup", "channel"):
        raise ValueError(f"unknown chat type {chat_type!r}")
    return {"id": chat_id, "title": "I One Tech Customers", "type": chat_type}


def _sender(chat_id: int, chat_type: str, from_user: dict[str, Any] | None) -> dict[str, Any]:
    if from_user is not None:
        return from_user
    # In a private chat the chat ID is the user's ID.
    return user(chat_id) if chat_type == "private" else user()


def _message(
    chat_id: int,
    *,
    from_user: dict[str, Any] | None,
    chat_type: str,
    message_id: int | None,
) -> dict[str, Any]:
    sender = _sender(chat_id, chat_type, from_user)
    if message_id is None:
        message_id = next_message_id(chat_id)
    else:
        _saw_message_id(chat_id, message_id)
    return {
        "message_id": message_id,
        "from": sender,
        "chat": chat(chat_id, chat_type, of_user=sender),
        "date": _now(),
    }


def _update(key: str, payload: dict[str, Any], update_id: int | None) -> dict[str, Any]:
    if update_id is None:
        update_id = next_update_id()
    else:
        _saw_update_id(update_id)
    return {"update_id": update_id, key: payload}


_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def text_update(
    chat_id: int,
    text: str,
    *,
    from_user: dict[str, Any] | None = None,
    chat_type: str = "private",
    update_id: int | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """A customer's text message; "/start" and "/start@bot" get their bot_command entity."""
    message = _message(chat_id, from_user=from_user, chat_type=chat_type, message_id=message_id)
    message["text"] = text
    command = _COMMAND.match(text)
    if command:
        message["entities"] = [{"offset": 0, "length": _utf16_len(command.group()), "type": "bot_command"}]
    return _update("message", message, update_id)


def edited_text_update(
    chat_id: int,
    message_id: int,
    text: str,
    *,
    from_user: dict[str, Any] | None = None,
    chat_type: str = "private",
    update_id: int | None = None,
) -> dict[str, Any]:
    """The customer edited an earlier message (`edited_message` with `edit_date`)."""
    message = _message(chat_id, from_user=from_user, chat_type=chat_type, message_id=message_id)
    message["date"] -= 60
    message["edit_date"] = _now()
    message["text"] = text
    return _update("edited_message", message, update_id)


def callback_update(
    chat_id: int,
    message: dict[str, Any],
    data: str,
    *,
    from_user: dict[str, Any] | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    """A press on an inline button of `message` (the bot's message as the fake keeps it)."""
    chat_type = message.get("chat", {}).get("type", "private")
    query = {
        "id": str(4_382_000_000_000_000_000 + next(_query_ids)),
        "from": _sender(chat_id, chat_type, from_user),
        "message": copy.deepcopy(message),
        "chat_instance": str(-(abs(chat_id) * 7919 % 9_000_000_000_000_000_000) - 1),
        "data": data,
    }
    return _update("callback_query", query, update_id)


def photo_sizes(file_id: str, *, file_size: int = 120_000) -> list[dict[str, Any]]:
    """Three sizes, smallest first; the largest carries `file_id` itself."""
    sizes = [
        (f"{file_id}-s", 90, 67, max(1, file_size // 100)),
        (f"{file_id}-m", 320, 240, max(1, file_size // 8)),
    ]
    sizes.append((file_id, 1280, 960, file_size))
    return [
        {"file_id": fid, "file_unique_id": _unique_id(fid), "width": w, "height": h, "file_size": size}
        for fid, w, h, size in sizes
    ]


def photo_update(
    chat_id: int,
    file_id: str,
    *,
    caption: str | None = None,
    from_user: dict[str, Any] | None = None,
    update_id: int | None = None,
    chat_type: str = "private",
) -> dict[str, Any]:
    message = _message(chat_id, from_user=from_user, chat_type=chat_type, message_id=None)
    message["photo"] = photo_sizes(file_id)
    if caption is not None:
        message["caption"] = caption
    return _update("message", message, update_id)


def document_update(
    chat_id: int,
    file_id: str,
    *,
    file_name: str = "error-log.txt",
    mime_type: str = "text/plain",
    caption: str | None = None,
    file_size: int = 2048,
    from_user: dict[str, Any] | None = None,
    update_id: int | None = None,
    chat_type: str = "private",
) -> dict[str, Any]:
    message = _message(chat_id, from_user=from_user, chat_type=chat_type, message_id=None)
    message["document"] = {
        "file_name": file_name,
        "mime_type": mime_type,
        "file_id": file_id,
        "file_unique_id": _unique_id(file_id),
        "file_size": file_size,
    }
    if caption is not None:
        message["caption"] = caption
    return _update("message", message, update_id)


def update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")
