"""What tests call: scripting failures, chats, files and updates, and asking what the bot did."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from tests.bot.telegram.fake_telegram.ids import _saw_update_id, next_update_id
from tests.bot.telegram.fake_telegram.state import BotState
from tests.bot.telegram.fake_telegram.updates import chat
from tests.bot.telegram.fake_telegram.wire import Call, StoredFile
from tests.helpers import Failure

# Tells "no `secret` given" (send the registered one) from `secret=None` (send no header).
_UNSET: Any = object()


class Scripting(BotState):
    """Driving the fake from a test and asserting on what it saw."""

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
