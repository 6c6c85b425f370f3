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

The builders make updates exactly as Telegram sends them; message and update IDs come from
module-wide counters, so they only ever increase within a test run.
"""

from tests.bot.telegram.fake_telegram.constants import (
    BOT_FROM,
    BOT_USER,
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    CHAT_ACTIONS,
    NOT_BY_DEFAULT,
    NOT_MODIFIED,
    PROXY_502,
    QUERY_INVALID,
    TEXT_LIMIT,
    TOKEN,
    UPDATE_TYPES,
    WEBHOOK_PORTS,
)
from tests.bot.telegram.fake_telegram.html_format import HTML_TAGS, parse_html
from tests.bot.telegram.fake_telegram.ids import next_message_id, next_update_id
from tests.bot.telegram.fake_telegram.markdown_format import parse_markdown, parse_markdown_v2
from tests.bot.telegram.fake_telegram.server import API_METHODS, FakeBotApi
from tests.bot.telegram.fake_telegram.text_entities import EntityError
from tests.bot.telegram.fake_telegram.updates import (
    callback_update,
    chat,
    document_update,
    edited_text_update,
    photo_sizes,
    photo_update,
    text_update,
    update_type,
    user,
)
from tests.bot.telegram.fake_telegram.wire import ApiError, Call, StoredFile, Upload

__all__ = [
    "API_METHODS",
    "BOT_FROM",
    "BOT_USER",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "CHAT_ACTIONS",
    "HTML_TAGS",
    "NOT_BY_DEFAULT",
    "NOT_MODIFIED",
    "PROXY_502",
    "QUERY_INVALID",
    "TEXT_LIMIT",
    "TOKEN",
    "UPDATE_TYPES",
    "WEBHOOK_PORTS",
    "ApiError",
    "Call",
    "EntityError",
    "FakeBotApi",
    "StoredFile",
    "Upload",
    "callback_update",
    "chat",
    "document_update",
    "edited_text_update",
    "next_message_id",
    "next_update_id",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "photo_sizes",
    "photo_update",
    "text_update",
    "update_type",
    "user",
]
