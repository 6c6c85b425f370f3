"""Telegram's wire format and ours: updates in, `sendMessage` arguments out. No network here.

- A private message becomes an `Incoming` for the conversation engine: its text (or a photo's or
  file's caption), the files it carries, the sender's Telegram name. Commands map to the
  engine's payloads (`/hours` → `/working_hours`), so they skip the NLU like buttons do.
- A bot reply becomes HTML-escaped text (customers' words are never read as markup) with an
  inline keyboard. Telegram allows 64 bytes of callback data per button: a longer payload (a
  name in Khmer script, say) travels as `~` + a hash, looked up in `button_payloads`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Any

CHANNEL = "telegram"
MAX_CALLBACK_DATA = 64  # bytes, Bot API
MAX_TEXT = 4096  # characters of one message, Bot API
HASHED = "~"  # callback data that stands for a payload kept in the database

# (command, description, the engine payload it stands for), in the order Telegram shows them.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "Start: greeting and menu", "/greet"),
    ("new", "Report a new problem", "/report_issue"),
    ("status", "Status of my tickets", "/ticket_status"),
    ("hours", "Working hours", "/working_hours"),
    ("contact", "How to reach us", "/contact_channels"),
    ("cancel", "Cancel what we are doing", "/cancel"),
    ("help", "What I can do", "/help"),
    ("stop", "No more maintenance announcements", "/stop_announcements"),
    ("forget", "Delete my data", "/forget_me"),
)
COMMAND_PAYLOADS = {name: payload for name, _, payload in COMMANDS}


@dataclass(frozen=True)
class Inbound:
    """What one Telegram update asks of us."""

    kind: str  # message | callback | group | blocked | unblocked | ignored
    update_id: int
    chat_id: int | None = None
    text: str = ""
    display_name: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    callback_id: str | None = None
    callback_message: dict[str, Any] | None = None  # the bot's message whose button was pressed
    language: str | None = None  # the user's Telegram app language (`language_code`, IETF tag)


def display_name(user: dict[str, Any] | None) -> str | None:
    if not isinstance(user, dict):
        return None
    parts = [str(user.get(k) or "").strip() for k in ("first_name", "last_name")]
    name = " ".join(p for p in parts if p)
    return name or None


def language_code(user: Any) -> str | None:
    """The `language_code` of a Telegram user (`km`, `en-US`), when the update has one."""
    code = user.get("language_code") if isinstance(user, dict) else None
    return code if isinstance(code, str) and 0 < len(code) <= 35 else None


def metadata(inbound: Inbound) -> dict[str, Any]:
    """What the conversation engine learns besides the text: files, and the app's language."""
    out: dict[str, Any] = {}
    if inbound.attachments:
        out["attachments"] = inbound.attachments
    if inbound.language:
        out["language"] = inbound.language
    return out


def command_payload(text: str, bot_username: str | None) -> str | None:
    """`/hours` or `/hours@ourbot` → `/working_hours`; None for other text or other bots' commands."""
    if not text.startswith("/"):
        return None
    word = text.split(maxsplit=1)[0][1:]
    name, _, addressed_to = word.partition("@")
    if addressed_to and bot_username and addressed_to.lower() != bot_username.lower():
        return None
    return COMMAND_PAYLOADS.get(name.lower())


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    photos = message.get("photo")
    if isinstance(photos, list) and photos:
        # Telegram sends every size it made; the last is the largest.
        best = photos[-1]
        if isinstance(best, dict) and isinstance(best.get("file_id"), str):
            files.append(
                {
                    "kind": "photo",
                    "file_id": best["file_id"],
                    "file_name": f"photo-{message.get('message_id', 0)}.jpg",
                    "mime_type": "image/jpeg",
                    "size": best.get("file_size") if isinstance(best.get("file_size"), int) else None,
                }
            )
    document = message.get("document")
    if isinstance(document, dict) and isinstance(document.get("file_id"), str):
        name = str(document.get("file_name") or f"file-{message.get('message_id', 0)}")[:256]
        files.append(
            {
                "kind": "document",
                "file_id": document["file_id"],
                "file_name": name,
                "mime_type": str(document["mime_type"])[:128] if document.get("mime_type") else None,
                "size": document.get("file_size") if isinstance(document.get("file_size"), int) else None,
            }
        )
    return files


def malformed(raw: Any) -> str | None:
    """What makes `raw` something Telegram would never send, or None when it is an update."""
    if not isinstance(raw, dict):
        return "an update is a JSON object"
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        return "update_id must be a non-negative integer"
    for key in ("message", "edited_message", "channel_post", "callback_query", "my_chat_member"):
        if key in raw and not isinstance(raw[key], dict):
            return f"{key} must be an object"
    message = raw.get("message")
    if message is not None:
        chat = message.get("chat")
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
            return "message.chat.id must be an integer"
        for key in ("text", "caption"):
            if key in message and not isinstance(message[key], str):
                return f"message.{key} must be a string"
    callback = raw.get("callback_query")
    if callback is not None and not isinstance(callback.get("id"), str):
        return "callback_query.id must be a string"
    return None


def read_update(update: dict[str, Any], bot_username: str | None = None) -> Inbound:
    """Classify an update (already checked to be an object with an integer `update_id`)."""
    update_id = int(update["update_id"])
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        message = callback.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        data = callback.get("data")
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int) or not isinstance(data, str):
            return Inbound("ignored", update_id)
        kind = "callback" if chat.get("type") == "private" else "group"
        return Inbound(
            kind,
            update_id,
            chat_id=chat["id"],
            text=data,
            display_name=display_name(callback.get("from")),
            callback_id=str(callback.get("id") or "") or None,
            language=language_code(callback.get("from")),
            callback_message=message,
        )
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        chat = member.get("chat")
        new_member = member.get("new_chat_member")
        status = new_member.get("status") if isinstance(new_member, dict) else None
        if isinstance(chat, dict) and chat.get("type") == "private" and isinstance(chat.get("id"), int):
            if status == "kicked":
                return Inbound("blocked", update_id, chat_id=chat["id"])
            if status == "member":
                return Inbound("unblocked", update_id, chat_id=chat["id"])
        return Inbound("ignored", update_id)
    message = update.get("message")
    if not isinstance(message, dict):
        return Inbound("ignored", update_id)  # edited messages, channel posts, ...
    chat = message.get("chat")
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        return Inbound("ignored", update_id)
    said = message.get("text", message.get("caption"))
    text = said.strip() if isinstance(said, str) else ""
    if chat.get("type") != "private":
        # In a group the bot answers only what is addressed to it (its commands).
        addressed = text.startswith("/") and command_payload(text, bot_username) is not None
        kind = "group" if addressed else "ignored"
        return Inbound(kind, update_id, chat_id=chat["id"], language=language_code(message.get("from")))
    payload = command_payload(text, bot_username)
    return Inbound(
        "message",
        update_id,
        chat_id=chat["id"],
        text=payload or text,
        display_name=display_name(message.get("from")),
        attachments=_attachments(message),
        language=language_code(message.get("from")),
    )


# -- outgoing -------------------------------------------------------------------------------


def payload_key(payload: str) -> str:
    """The callback data standing for a payload too long for Telegram (deterministic)."""
    digest = hashlib.sha256(payload.encode()).digest()
    return HASHED + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:40]


def callback_data(payload: str) -> str:
    return payload if len(payload.encode()) <= MAX_CALLBACK_DATA else payload_key(payload)


def long_payloads(buttons: list[dict[str, Any]]) -> dict[str, str]:
    """key → payload for the buttons whose payload does not fit in callback data."""
    return {
        payload_key(b["payload"]): b["payload"]
        for b in buttons
        if len(str(b["payload"]).encode()) > MAX_CALLBACK_DATA
    }


_LABEL = re.compile(r"(.+?)(: |\u17d6 )(.+)", re.DOTALL)  # Khmer writes the colon as ៖ (U+17D6)


def _label(title: str) -> tuple[str, str | None]:
    """A long `Label: definition` title shows as its label on the button, the rest in the text."""
    match = _LABEL.match(title)
    if match and len(title) > 32 and len(match.group(1)) <= 32:
        return match.group(1), match.group(2) + match.group(3)
    return title, None


def keyboard(buttons: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[str]]:
    """The inline keyboard for `buttons`, and the lines to add to the text for long titles."""
    if not buttons:
        return None, []
    labels = [_label(str(b["title"])) for b in buttons]
    notes = [f"• {label}{rest}" for label, rest in labels if rest]
    keys = [
        {"text": label, "callback_data": callback_data(str(b["payload"]))}
        for (label, _), b in zip(labels, buttons, strict=True)
    ]
    short = len(keys) <= 5 and all(len(k["text"]) <= 12 for k in keys)
    rows = [keys] if short else [[k] for k in keys]
    return {"inline_keyboard": rows}, notes


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram's 4,096 characters per message: cut at line breaks where possible."""
    text = text or " "
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts


def messages_for(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """`sendMessage` arguments (without chat_id) for an outbox payload `{text, buttons, link}`."""
    buttons = [b for b in payload.get("buttons") or [] if isinstance(b, dict) and b.get("payload")]
    markup, notes = keyboard(buttons)
    link = payload.get("link")
    if isinstance(link, dict) and link.get("url"):
        markup = {"inline_keyboard": [[{"text": str(link.get("title") or "Open"), "url": str(link["url"])}]]}
    text = str(payload.get("text") or "")
    if notes:
        text = text + "\n\n" + "\n".join(notes)
    parts = split_text(text, MAX_TEXT - 96)  # room for what escaping does not count but edits add
    out: list[dict[str, Any]] = [
        {"text": html.escape(part, quote=False), "parse_mode": "HTML"} for part in parts
    ]
    if markup is not None:
        out[-1]["reply_markup"] = markup
    return out


def pressed_text(message: dict[str, Any], title: str) -> str:
    """The pressed message's text with the choice under it (and, by omission, no keyboard)."""
    original = str(message.get("text") or message.get("caption") or "")
    choice = f"\n\n» {title}"
    # Telegram counts the text after its entities are read: cut the plain text, then escape it
    # (cutting the escaped text could split an `&amp;` and make the edit unreadable).
    return html.escape(original[: MAX_TEXT - len(choice)] + choice, quote=False)


def pressed_title(message: dict[str, Any], data: str) -> str | None:
    """The title of the button carrying `data` in the pressed message's keyboard."""
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard") or []:
        for key in row:
            if isinstance(key, dict) and key.get("callback_data") == data:
                return str(key.get("text") or "")
    return None
