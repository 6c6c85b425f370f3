"""A fake Telegram Bot API on loopback, speaking the real wire format (aiohttp).

python-telegram-bot reaches it through `Bot(TOKEN, base_url=f"{root}/bot",
base_file_url=f"{root}/file/bot")` (`TELEGRAM_API_URL` = root). Like the real server it takes
query strings, form-urlencoded, multipart (uploads) and JSON bodies, where complex values
(`reply_markup`, `allowed_updates`, `commands`...) arrive JSON-encoded inside form fields; it
checks the token in the path (401 "Unauthorized"), answers `{"ok": true, "result": ...}` with real
object shapes, and refuses what Telegram refuses with Telegram's own descriptions (HTML and
MarkdownV2 parsed like tdlib does, `BUTTON_DATA_INVALID`, "message is not modified", "chat not
found"...). It keeps the bot's messages in their current state, serves `getUpdates` (offsets, long
polling, a second poller or a webhook is a 409 Conflict), delivers updates to a webhook with the
secret header, serves files, records every call, and fails on demand (429 with `retry_after`, 5xx,
a 502 HTML page from the proxy, a user who blocked the bot).

The module-level builders make updates exactly as Telegram sends them; message and update IDs
come from module-wide counters, so they only ever increase within a test run.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import mimetypes
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web

from tests.helpers import Failure, aiohttp_on_loopback, next_failure

TOKEN = "123456789:AAtest-supportbot-token"
BOT_USER: dict[str, Any] = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "I One Tech Support",
    "username": "ionetech_support_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# The bot as it appears in `from` of its own messages.
BOT_FROM: dict[str, Any] = {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")}

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
WEBHOOK_PORTS = (80, 88, 443, 8443)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Telegram's default when allowed_updates is not given (or empty): everything but these.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
PROXY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# -- IDs shared by the builders and every fake --------------------------------------------------

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


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _unique_id(file_id: str) -> str:
    return "AQAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]


# -- update builders ----------------------------------------------------------------------------


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


# -- formatting: HTML and MarkdownV2 as tdlib parses them ----------------------------------------


class EntityError(Exception):
    """Text Telegram refuses: answered as "Bad Request: can't parse entities: <message>"."""


HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
}
_SPACES = " \t\r\n\f\v"


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """`&lt;` `&gt;` `&amp;` `&quot;` and numeric references (tdlib's decode_html_entity)."""
    end = pos + 1
    if text[end : end + 1] == "#":
        end += 1
        hexadecimal = text[end : end + 1] in ("x", "X")
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(text) and text[end] in digits and end - start < 9:
            end += 1
        if end == start:
            return None
        code = int(text[start:end], 16 if hexadecimal else 10)
        if code == 0 or code > 0x10FFFF:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise EntityError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        decoded = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        decoded = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, "")
        if not decoded:
            return None
    if text[end : end + 1] == ";":
        end += 1
    return decoded, end


def _normalize_url(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.startswith("tg:"):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "tg", "ton", "tonsite") or (
        parts.scheme in ("http", "https") and "." not in parts.netloc
    ):
        return None
    if parts.scheme in ("http", "https") and not parts.path:
        url = url.replace(parts.netloc, parts.netloc + "/", 1) if not parts.query else url
    return url


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of Telegram-HTML; EntityError with tdlib's message otherwise.

    `strict_ampersand`: an "&" that starts no entity is refused, as the Bot API documentation
    demands (the live server keeps it literally).
    """
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, len(out) at start
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += _utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise EntityError(
                    f'Character "&" at byte offset {_byte_offset(text, i)} starts no HTML entity '
                    "and must be escaped as &amp;"
                )
        if c != "<":
            out.append(c)
            utf16 += _utf16_len(c)
            i += 1
            continue
        begin = i
        at = _byte_offset(text, begin)
        i += 1
        if text[i : i + 1] != "/":
            while i < n and text[i] not in _SPACES and text[i] != ">":
                i += 1
            if i >= n:
                raise EntityError(f"Unclosed start tag at byte offset {at}")
            tag = text[begin + 1 : i].lower()
            if tag not in HTML_TAGS:
                raise EntityError(f'Unsupported start tag "{tag}" at byte offset {at}')
            argument = ""
            while i < n and text[i] != ">":
                while i < n and text[i] in _SPACES:
                    i += 1
                if i < n and text[i] == ">":
                    break
                name_begin = i
                while i < n and text[i] not in _SPACES and text[i] not in "=>":
                    i += 1
                name = text[name_begin:i].lower()
                if not name:
                    raise EntityError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
                while i < n and text[i] in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityError(f'Unclosed start tag "{tag}" at byte offset {at}')
                if text[i] != "=":
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                        continue
                    raise EntityError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {at}'
                    )
                i += 1
                while i < n and text[i] in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityError(f'Unclosed start tag "{tag}" at byte offset {at}')
                if text[i] not in "'\"":
                    token_begin = i
                    while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in ".-")):
                        i += 1
                    value = text[token_begin:i].lower()
                    if i < n and text[i] not in _SPACES and text[i] != ">":
                        raise EntityError(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        decoded = _decode_entity(text, i) if text[i] == "&" else None
                        if decoded is not None:
                            chars.append(decoded[0])
                            i = decoded[1]
                        else:
                            chars.append(text[i])
                            i += 1
                    if i < n:
                        i += 1
                    if i >= n:
                        raise EntityError(f"Unclosed start tag at byte offset {at}")
                    value = "".join(chars)
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value.removeprefix("language-")
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value.removeprefix("tg-")
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and name == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
            if tag == "tg-emoji" and not argument.isdigit():
                raise EntityError("Invalid custom emoji identifier specified")
            stack.append((tag, argument, utf16, len(out)))
            i += 1  # the ">"
            continue
        # an end tag
        if not stack:
            raise EntityError(f"Unexpected end tag at byte offset {at}")
        i += 1
        while i < n and text[i] != ">" and text[i] not in _SPACES:
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != ">":
            raise EntityError(f"Unclosed end tag at byte offset {at}")
        tag, argument, offset, out_at = stack.pop()
        if end_tag and end_tag != tag:
            raise EntityError(
                f'Unmatched end tag at byte offset {at}, expected "</{tag}>", found "</{end_tag}>"'
            )
        i += 1
        length = utf16 - offset
        if length <= 0:
            continue
        entity: dict[str, Any] = {"offset": offset, "length": length}
        if tag in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[tag]
            if tag == "code" and argument:
                entity["language"] = argument  # a <pre> around it takes it over below
        elif tag == "a":
            target = argument or "".join(out[out_at:])
            if target.startswith("tg://user?id="):
                entity.update(type="text_mention", user={"id": int(target.split("=", 1)[1] or 0)})
            else:
                url = _normalize_url(target)
                if url is None:
                    continue
                entity.update(type="text_link", url=url)
        elif tag == "pre":
            entity["type"] = "pre"
            inner = [
                e for e in entities if e["type"] == "code" and e["offset"] == offset and e["length"] == length
            ]
            if inner and inner[-1].get("language"):
                entities.remove(inner[-1])
                entity["language"] = inner[-1]["language"]
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        else:  # blockquote
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        entities.append(entity)
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return "".join(out), entities


_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of MarkdownV2 (tdlib's rules, block quotes by line)."""
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []  # type, offset, at (byte offset), language, out_at
    quote_start: int | None = None
    line_start = True
    n = len(text)
    i = 0

    def emit(ch: str) -> None:
        nonlocal utf16
        out.append(ch)
        utf16 += _utf16_len(ch)

    while i < n:
        c = text[i]
        top = stack[-1]["type"] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            line_start = text[i + 1] == "\n"
            i += 2
            continue
        in_code = top in ("code", "pre")
        if in_code and c != "`":
            emit(c)
            i += 1
            continue
        if c == "\n":
            emit(c)
            if quote_start is not None and text[i + 1 : i + 2] != ">":
                entities.append({"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start})
                quote_start = None
            line_start = True
            i += 1
            continue
        if c not in _MD2_RESERVED:
            emit(c)
            line_start = False
            i += 1
            continue
        if c == ">" and line_start and not stack:
            if quote_start is None:
                quote_start = utf16
            line_start = False
            i += 1
            continue
        line_start = False
        ends = {
            "bold": c == "*",
            "italic": c == "_" and text[i + 1 : i + 2] != "_",
            "underline": c == "_" and text[i + 1 : i + 2] == "_",
            "strikethrough": c == "~",
            "spoiler": c == "|" and text[i + 1 : i + 2] == "|",
            "code": c == "`",
            "pre": text[i : i + 3] == "```",
            "text_link": c == "]",
            "custom_emoji": c == "]",
        }
        if top is not None and ends[top]:
            opened = stack.pop()
            i += {"underline": 2, "spoiler": 2, "pre": 3}.get(top, 1)
            entity: dict[str, Any] = {
                "type": top,
                "offset": opened["offset"],
                "length": utf16 - opened["offset"],
            }
            if top in ("text_link", "custom_emoji"):
                url = ""
                if text[i : i + 1] == "(":
                    url_at = _byte_offset(text, i + 1)
                    i += 1
                    while i < n and text[i] != ")":
                        if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                            i += 1
                        url += text[i]
                        i += 1
                    if i >= n:
                        raise EntityError(f"Can't find end of a URL at byte offset {url_at}")
                    i += 1
                elif top == "text_link":
                    url = "".join(out[opened["out_at"] :])
                if top == "custom_emoji":
                    emoji_id = url.removeprefix("tg://emoji?id=")
                    if not emoji_id.isdigit():
                        raise EntityError("Custom emoji entity must contain a tg://emoji URL")
                    entity["custom_emoji_id"] = emoji_id
                else:
                    normalized = _normalize_url(url)
                    if normalized is None:
                        continue
                    entity["url"] = normalized
            if top == "pre" and opened.get("language"):
                entity["language"] = opened["language"]
            if entity["length"] > 0:
                entities.append(entity)
            continue
        at = _byte_offset(text, i)
        if c == "_" and text[i + 1 : i + 2] == "_":
            kind, i = "underline", i + 2
        elif c == "_":
            kind, i = "italic", i + 1
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and text[i + 1 : i + 2] == "|":
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif c == "!" and text[i + 1 : i + 2] == "[":
            kind, i = "custom_emoji", i + 2
        elif text[i : i + 3] == "```":
            i += 3
            j = i
            while j < n and text[j] not in _SPACES and text[j] != "`":
                j += 1
            language = ""
            if j != i and j < n and text[j] != "`":
                language, i = text[i:j], j
            if text[i : i + 2] in ("\r\n", "\n\r"):
                i += 2
            elif text[i : i + 1] in ("\r", "\n"):
                i += 1
            stack.append({"type": "pre", "offset": utf16, "at": at, "language": language, "out_at": len(out)})
            continue
        elif c == "`":
            kind, i = "code", i + 1
        else:
            raise EntityError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        stack.append({"type": kind, "offset": utf16, "at": at, "out_at": len(out)})
    if stack:
        opened = stack[-1]
        name = "PreCode" if opened["type"] == "pre" and opened.get("language") else _MD2_NAMES[opened["type"]]
        raise EntityError(f"Can't find end of {name} entity at byte offset {opened['at']}")
    if quote_start is not None and utf16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start})
    return "".join(out), entities


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            utf16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            utf16 += _utf16_len(c)
            i += 1
            continue
        at = _byte_offset(text, i)
        pre = text[i : i + 3] == "```"
        closing = "```" if pre else {"[": "]"}.get(c, c)
        start = i + (3 if pre else 1)
        end = text.find(closing, start)
        if end < 0:
            raise EntityError(f"Can't find end of the entity starting at byte offset {at}")
        inner = text[start:end]
        i = end + len(closing)
        entity: dict[str, Any] = {"offset": utf16, "length": _utf16_len(inner)}
        if c == "[":
            url = None
            if text[i : i + 1] == "(" and ")" in text[i:]:
                close = text.index(")", i)
                url = _normalize_url(text[i + 1 : close])
                i = close + 1
            if url:
                entity.update(type="text_link", url=url)
        else:
            entity["type"] = "pre" if pre else {"_": "italic", "*": "bold", "`": "code"}[c]
        out.append(inner)
        utf16 += entity["length"]
        if "type" in entity and entity["length"]:
            entities.append(entity)
    return "".join(out), entities


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace; entities follow the text."""
    stripped = text.strip()
    if not stripped:
        return "", []
    head = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept


# -- the fake server ----------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    status: int = 200


@dataclass
class Upload:
    """A file the bot uploaded (multipart), as it appears in `Call.params`."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass
class StoredFile:
    file_id: str
    content: bytes = field(repr=False)
    file_path: str
    file_unique_id: str = ""

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id or _unique_id(self.file_id),
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Ok:
    result: Any
    description: str | None = None


_INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "user_id",
        "from_chat_id",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
    }
)
_UNSET: Any = object()


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Form fields are strings: numbers, booleans and JSON-serialized objects decoded as Telegram does."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key == "chat_id" and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
            elif key in _JSON_PARAMS:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass  # left as text: the method refuses it in Telegram's words
        params[key] = value
    return params


class FakeBotApi:
    """The Bot API for one bot: `async with FakeBotApi() as api: Bot(TOKEN, base_url=api.base_url)`."""

    def __init__(self, token: str = TOKEN, *, strict_html: bool = True) -> None:
        self.token = token
        self.strict_html = strict_html
        self.url = ""
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        # Where deliver_webhook() sends when given no `url`: the registered URL's path on this
        # origin (e.g. the app on loopback). Unset: only a loopback webhook URL is delivered to.
        self.webhook_target: str | None = None
        self.commands: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_actions: list[dict[str, Any]] = []
        self.deleted: list[dict[str, Any]] = []  # the bot's messages as they were when deleted
        self.chats: dict[int, dict[str, Any]] = {}
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}  # last custom keyboard per chat
        self.files: dict[str, StoredFile] = {}
        self.failures: list[Failure] = []
        self._blocked: set[int] = set()
        self._sent: dict[int, dict[int, dict[str, Any]]] = {}  # chat → message_id → the bot's message
        self._seen: dict[int, set[int]] = {}  # chat → message IDs of the customers' messages
        self._queries: dict[str, bool] = {}  # callback_query id → answered
        self._scoped_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._pending: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._wake = asyncio.Event()
        self._poll_generation = 0
        self._stopping = False
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner, self.url = await aiohttp_on_loopback(app)
        return self.url

    async def stop(self) -> None:
        self._stopping = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For `Bot(base_url=...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- scripting -------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int | None = 1,
    ) -> None:
        """The next `times` calls of `method` ("*": any) fail (None: until `recover()`)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self.failures.append(Failure(method, status, retry_after, times, description))

    def recover(self) -> None:
        self.failures.clear()

    def block(self, chat_id: int) -> None:
        """The customer blocked the bot (a group: the bot was removed)."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def add_chat(self, chat_or_id: int | dict[str, Any]) -> dict[str, Any]:
        """A chat the bot may write to without a pushed update (a private chat by default)."""
        found = chat(chat_or_id) if isinstance(chat_or_id, int) else dict(chat_or_id)
        self.chats[found["id"]] = found
        return found

    def add_file(self, file_id: str, content: bytes, *, file_path: str = "photos/file_0.jpg") -> None:
        self.files[file_id] = StoredFile(file_id, content, file_path)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (a fresh update_id if it has none); returns it."""
        if "update_id" not in update:
            update["update_id"] = next_update_id()
        else:
            _saw_update_id(update["update_id"])
        self._remember(update)
        self._pending.append(update)
        self._notify()
        return update

    async def deliver_webhook(
        self, update: dict[str, Any], *, url: str | None = None, secret: str | None = _UNSET
    ) -> tuple[int, str]:
        """POST the update as Telegram does to a webhook; `secret` None leaves the header out."""
        if "update_id" not in update:
            update["update_id"] = next_update_id()
        self._remember(update)
        if url is None:
            if self.webhook is None:
                raise AssertionError("no webhook is set (setWebhook) and no url was given")
            url = self.webhook["url"]
            if self.webhook_target is not None:
                parts = urlsplit(url)
                url = urljoin(self.webhook_target, parts.path + (f"?{parts.query}" if parts.query else ""))
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"refusing to deliver outside loopback: {url} (set webhook_target)")
        if secret is _UNSET:
            secret = (self.webhook or {}).get("secret_token")
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers
            ) as response,
        ):
            return response.status, await response.text()

    # -- queries for tests -----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in that chat as they are now (after edits; deleted ones gone)."""
        return [copy.deepcopy(m) for m in self._sent.get(chat_id, {}).values()]

    def last_message(self, chat_id: int) -> dict[str, Any]:
        found = self.messages(chat_id)
        if not found:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}; calls: {self._call_summary()}")
        return found[-1]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        try:
            return copy.deepcopy(self._sent[chat_id][message_id])
        except KeyError:
            raise AssertionError(f"no message {message_id} of the bot in chat {chat_id}") from None

    def file_content(self, file_id: str) -> bytes:
        return self.files[file_id].content

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._pending)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, saw "
                    f"{len(self.calls_to(method))}; calls so far: {self._call_summary()}"
                )
            await asyncio.sleep(0.01)
        return self.calls_to(method)

    def _call_summary(self) -> str:
        return ", ".join(f"{c.method}({c.status})" for c in self.calls) or "none"

    # -- bookkeeping -----------------------------------------------------------------------------

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _remember(self, update: dict[str, Any]) -> None:
        """Chats, messages, callback queries and files an update shows the bot."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post", "business_message"):
            message = update.get(key)
            if isinstance(message, dict):
                self._remember_message(message)
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._queries.setdefault(str(query.get("id")), False)
            if isinstance(query.get("message"), dict):
                self._remember_message(query["message"], own=True)
        for key in ("my_chat_member", "chat_member", "chat_join_request"):
            if isinstance(update.get(key), dict) and "chat" in update[key]:
                self.chats.setdefault(update[key]["chat"]["id"], update[key]["chat"])

    def _remember_message(self, message: dict[str, Any], *, own: bool = False) -> None:
        chat_id = message["chat"]["id"]
        self.chats[chat_id] = message["chat"]
        _saw_message_id(chat_id, message["message_id"])
        if not own:
            self._seen.setdefault(chat_id, set()).add(message["message_id"])
        for size in message.get("photo") or []:
            self.files.setdefault(
                size["file_id"],
                StoredFile(size["file_id"], b"\xff\xd8\xff\xe0fake-jpeg", f"photos/{size['file_id']}.jpg"),
            )
        document = message.get("document")
        if isinstance(document, dict):
            name = document.get("file_name", "file")
            self.files.setdefault(
                document["file_id"],
                StoredFile(document["file_id"], b"fake document content\n", f"documents/{name}"),
            )

    # -- the wire --------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("parameters must be a JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        raw[key] = value
        return _decode_params(raw)

    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.status)

    def _failure(self, method: str) -> Failure | None:
        return next_failure(self.failures, method)

    def _failure_response(self, failure: Failure) -> web.Response:
        if failure.status == 502 and failure.description is None:
            return web.Response(status=502, text=PROXY_502, content_type="text/html")
        if failure.description is not None:
            description = failure.description
        elif failure.status == 429:
            description = f"Too Many Requests: retry after {failure.retry_after}"
        elif failure.status >= 500:
            description = "Internal Server Error"
        elif failure.status == 403:
            description = "Forbidden: bot was blocked by the user"
        elif failure.status == 409:
            description = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        else:
            description = "Bad Request: " if failure.status == 400 else ""
            description += "something went wrong" if failure.status == 400 else "Error"
        parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
        return self._error_response(ApiError(failure.status, description, parameters))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        handler_name = _METHODS.get(name.lower())
        method = handler_name or name
        call = Call(method, {}, time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", request.match_info["token"]):
                    raise ApiError(401, "Unauthorized")
                raise ApiError(404, "Not Found")
            call.params = await self._params(request)
            if handler_name is None:
                raise ApiError(404, "Not Found")
            failure = self._failure(method)
            if failure is not None:
                call.status = failure.status
                return self._failure_response(failure)
            result = getattr(self, "_" + handler_name)(call.params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            call.status = error.status
            return self._error_response(error)
        ok = result if isinstance(result, _Ok) else _Ok(result)
        body: dict[str, Any] = {"ok": True, "result": ok.result}
        if ok.description:
            body["description"] = ok.description
        return web.json_response(body)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(Call("file", {"path": request.match_info["path"]}, time.monotonic()))
        found = [f for f in self.files.values() if f.file_path == request.match_info["path"]]
        if request.match_info["token"] != self.token or not found:
            self.calls[-1].status = 404
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        content_type = mimetypes.guess_type(found[0].file_path)[0] or "application/octet-stream"
        return web.Response(body=found[0].content, content_type=content_type)

    # -- parameter checks ------------------------------------------------------------------------

    @staticmethod
    def _int(params: dict[str, Any], name: str, *, default: int | None = None) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f"invalid {name} specified")
        return value

    def _chat_id(self, params: dict[str, Any], *, sending: bool = True) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, str):
            named = [
                cid
                for cid, c in self.chats.items()
                if value.startswith("@") and c.get("username") == value[1:]
            ]
            if not named:
                raise _bad("chat not found")
            value = named[0]
        if not isinstance(value, int) or isinstance(value, bool) or value not in self.chats:
            raise _bad("chat not found")
        if sending and value in self._blocked:
            if self.chats[value].get("type") == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return value

    def _formatted(
        self, params: dict[str, Any], key: str, entities_key: str, limit: int, *, required: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        text = params.get(key)
        if text is None or text == "":
            if required:
                raise _bad("message text is empty")
            return "", []
        if not isinstance(text, str):
            text = json.dumps(text)
        parse_mode = params.get("parse_mode") or ""
        try:
            if parse_mode == "HTML":
                plain, entities = parse_html(text, strict_ampersand=self.strict_html)
            elif parse_mode == "MarkdownV2":
                plain, entities = parse_markdown_v2(text)
            elif parse_mode == "Markdown":
                plain, entities = parse_markdown(text)
            elif parse_mode:
                raise _bad(f"unsupported parse_mode {parse_mode!r}")
            else:
                plain, entities = text, self._entities(params.get(entities_key), text)
        except EntityError as error:
            raise _bad(f"can't parse entities: {error}") from None
        plain, entities = _strip(plain, entities)
        if not plain and required:
            raise _bad("message text is empty")
        if _utf16_len(plain) > limit:
            raise _bad("message caption is too long" if key == "caption" else "message is too long")
        return plain, entities

    @staticmethod
    def _entities(value: Any, text: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise _bad("can't parse entities JSON object")
        size = _utf16_len(text)
        for entity in value:
            offset, length = entity.get("offset"), entity.get("length")
            if not isinstance(offset, int) or not isinstance(length, int) or "type" not in entity:
                raise _bad("can't parse entities JSON object")
            if offset < 0 or length <= 0 or offset + length > size:
                raise _bad("entity beginning out of bounds" if offset >= size else "entity end out of bounds")
        return [dict(e) for e in value]

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    if not button["text"]:
                        raise _bad("BUTTON_TEXT_INVALID")
                    actions = [k for k in button if k != "text"]
                    if not actions:
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                            raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button:
                        url = button["url"]
                        if not isinstance(url, str) or _normalize_url(url) is None:
                            raise _bad("BUTTON_URL_INVALID")
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, params: dict[str, Any], chat_id: int) -> int | None:
        reply = params.get("reply_parameters")
        message_id = self._int(params, "reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        known = message_id in self._seen.get(chat_id, set()) or message_id in self._sent.get(chat_id, {})
        if not known and not allow:
            raise _bad("message to be replied not found")
        return message_id if known else None

    def _new_message(
        self, chat_id: int, params: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next_message_id(chat_id),
            "from": dict(BOT_FROM),
            "chat": copy.deepcopy(self.chats[chat_id]),
            "date": _now(),
        }
        reply_to = self._reply_to(params, chat_id)
        if reply_to is not None and reply_to in self._sent.get(chat_id, {}):
            message["reply_to_message"] = copy.deepcopy(self._sent[chat_id][reply_to])
        elif reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to,
                "chat": copy.deepcopy(self.chats[chat_id]),
                "date": _now(),
            }
        if markup is not None:
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
            elif markup.get("remove_keyboard"):
                self.reply_keyboards[chat_id] = None
            elif "keyboard" in markup:
                self.reply_keyboards[chat_id] = markup
        return message

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        self._sent.setdefault(message["chat"]["id"], {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _own_message(self, params: dict[str, Any], *, action: str) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        found = self._sent.get(chat_id, {}).get(message_id)
        if found is None:
            if message_id in self._seen.get(chat_id, set()):
                raise _bad("message can't be edited")
            raise _bad(f"message to {action} not found")
        return found

    # -- methods ---------------------------------------------------------------------------------

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER)

    def _logOut(self, params: dict[str, Any]) -> bool:
        return True

    def _close(self, params: dict[str, Any]) -> bool:
        return True

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._int(params, "offset", default=0) or 0
        limit = min(max(self._int(params, "limit", default=100) or 100, 1), 100)
        timeout = max(self._int(params, "timeout", default=0) or 0, 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str) and allowed:
            raise _bad("can't parse allowed updates JSON object")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an earlier poll still waiting is terminated
        deadline = time.monotonic() + timeout
        while True:
            if self._stopping:
                return []
            if generation != self._poll_generation:
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: terminated by setWebhook request")
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            ready = [u for u in self._pending if self._allowed(u)][:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return copy.deepcopy(ready)
            wake = self._wake
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                pass

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = update_type(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in NOT_BY_DEFAULT

    def _setWebhook(self, params: dict[str, Any]) -> _Ok:
        url = params.get("url") or ""
        if not url:
            return self._deleteWebhook(params)
        if not isinstance(url, str):
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if not parts.hostname:
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        try:
            port = parts.port or 443
        except ValueError:
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443") from None
        if port not in WEBHOOK_PORTS:
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and secret != "":
            if not isinstance(secret, str) or len(secret) > 256:
                raise _bad("secret token is too long")
            if not re.fullmatch(r"[A-Za-z0-9_-]+", secret):
                raise _bad("secret token contains unallowed characters")
        else:
            secret = None
        max_connections = self._int(params, "max_connections", default=40) or 40
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str) and allowed:
            raise _bad("can't parse allowed updates JSON object")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        drop = bool(params.get("drop_pending_updates"))
        if drop:
            self._pending.clear()
        webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed if isinstance(allowed, list) else None,
            "drop_pending_updates": drop,
            "max_connections": max_connections,
            "ip_address": params.get("ip_address"),
        }
        already = self.webhook is not None and self.webhook["url"] == url
        self.webhook = webhook
        self._poll_generation += 1
        self._notify()
        return _Ok(True, "Webhook is already set" if already else "Webhook was set")

    def _deleteWebhook(self, params: dict[str, Any]) -> _Ok:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        was = self.webhook is not None
        self.webhook = None
        return _Ok(True, "Webhook was deleted" if was else "Webhook is already deleted")

    def _getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
            "max_connections": self.webhook["max_connections"],
            "ip_address": self.webhook.get("ip_address") or "149.154.167.220",
        }
        if self.webhook["allowed_updates"]:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text, entities = self._formatted(params, "text", "entities", TEXT_LIMIT, required=True)
        markup = self._markup(params)
        message = self._new_message(chat_id, params, markup)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if message.get("reply_markup") is not None:
            message["reply_markup"] = message.pop("reply_markup")  # keep Telegram's field order
        return self._store(message)

    def _media(self, params: dict[str, Any], kind: str) -> StoredFile:
        value = params.get(kind)
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        folder = "photos" if kind == "photo" else "documents"
        if isinstance(value, Upload):
            file_id = f"BQACAgIAAxkDAAI{next(_file_ids):06d}"
            name = value.filename or f"file_{len(self.files)}"
            stored = StoredFile(file_id, value.content, f"{folder}/{name}")
        elif isinstance(value, str) and re.match(r"https?://", value):
            file_id = f"BQACAgIAAxkDAAI{next(_file_ids):06d}"
            name = value.rsplit("/", 1)[-1] or "file"
            stored = StoredFile(file_id, b"", f"{folder}/{name}")
        elif isinstance(value, str) and value in self.files:
            return self.files[value]
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        self.files[file_id] = stored
        return stored

    def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        stored = self._media(params, "photo")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, required=False
        )
        markup = self._markup(params)
        message = self._new_message(chat_id, params, markup)
        sizes = photo_sizes(stored.file_id, file_size=max(len(stored.content), 1))
        for size in sizes:
            self.files.setdefault(
                size["file_id"], StoredFile(size["file_id"], stored.content, stored.file_path)
            )
        message["photo"] = sizes
        self._caption(message, caption, entities)
        return self._store(message)

    def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        stored = self._media(params, "document")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, required=False
        )
        markup = self._markup(params)
        message = self._new_message(chat_id, params, markup)
        upload = params.get("document")
        name = stored.file_path.rsplit("/", 1)[-1]
        mime = upload.content_type if isinstance(upload, Upload) else None
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        message["document"] = {
            "file_name": name,
            "mime_type": mime,
            "file_id": stored.file_id,
            "file_unique_id": _unique_id(stored.file_id),
            "file_size": len(stored.content),
        }
        self._caption(message, caption, entities)
        return self._store(message)

    @staticmethod
    def _caption(message: dict[str, Any], caption: str, entities: list[dict[str, Any]]) -> None:
        markup = message.pop("reply_markup", None)
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, action="edit")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", TEXT_LIMIT, required=True)
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        message.pop("reply_markup", None)  # without reply_markup the keyboard goes, as on Telegram
        if entities:
            message["entities"] = entities
        message["edit_date"] = _now()
        if markup is not None:
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _editMessageCaption(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, action="edit")
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, required=False
        )
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if (
            caption == message.get("caption", "")
            and entities == message.get("caption_entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(NOT_MODIFIED)
        for key in ("caption", "caption_entities", "reply_markup"):
            message.pop(key, None)
        message["edit_date"] = _now()
        self._caption(message, caption, entities)
        if markup is not None:
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, action="edit")
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if markup == message.get("reply_markup") or (
            markup == {"inline_keyboard": []} and "reply_markup" not in message
        ):
            raise _bad(NOT_MODIFIED)
        message.pop("reply_markup", None)
        message["edit_date"] = _now()
        if markup is not None and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _deleteMessage(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params, sending=False)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        sent = self._sent.get(chat_id, {})
        if message_id in sent:
            self.deleted.append(sent.pop(message_id))
            return True
        seen = self._seen.get(chat_id, set())
        if message_id in seen:
            seen.discard(message_id)
            return True
        raise _bad("message to delete not found")

    def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id or self._queries.get(str(query_id)) is not False:
            raise _bad(QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._queries[str(query_id)] = True
        self.callback_answers.append(dict(params))
        return True

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), str(language)

    def _setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse commands JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._scope_key(params)
        self._scoped_commands[key] = cleaned
        if key == (json.dumps({"type": "default"}), ""):
            self.commands = list(cleaned)
        return True

    def _getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._scoped_commands.get(self._scope_key(params), []))

    def _deleteMyCommands(self, params: dict[str, Any]) -> bool:
        key = self._scope_key(params)
        self._scoped_commands.pop(key, None)
        if key == (json.dumps({"type": "default"}), ""):
            self.commands = []
        return True

    def _sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append(dict(params))
        return True

    def _getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        if not file_id or file_id not in self.files:
            raise _bad("invalid file_id")
        stored = self.files[file_id]
        if len(stored.content) > 20 * 1024 * 1024:
            raise _bad("file is too big")
        return stored.as_file()

    def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params, sending=False)
        info = copy.deepcopy(self.chats[chat_id])
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info


API_METHODS = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendChatAction",
    "getFile",
    "getChat",
)
# Telegram's method names are case-insensitive.
_METHODS = {name.lower(): name for name in API_METHODS}
