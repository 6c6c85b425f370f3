"""What the fake keeps for one bot, and what updates show it (chats, messages, queries, files)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.bot.telegram.fake_telegram.constants import TOKEN
from tests.bot.telegram.fake_telegram.ids import _saw_message_id
from tests.bot.telegram.fake_telegram.wire import Call, StoredFile
from tests.helpers import Failure


class BotState:
    """The state of the fake Bot API; the methods and the test-facing API work on it."""

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
