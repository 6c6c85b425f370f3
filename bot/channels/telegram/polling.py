"""Telegram's updates by long polling (`getUpdates`): one process polls, chats side by side.

The offset moves only past updates that were handled (or given up on), so a crash loses none;
different chats are handled side by side, each in order. Only one process may poll a bot: with
several replicas, Telegram runs in webhook mode (channel.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from telegram import error as tg

from actions import catalog
from bot.channels.telegram import wire
from bot.channels.telegram.sending import retry_seconds
from bot.channels.telegram.updates import ALLOWED_UPDATES, Updates

log = structlog.get_logger(__name__)

POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates call open
BUSY_POLL = 1.0  # seconds other chats' new updates wait for a slow one before they are fetched


class Polling(Updates):
    """The getUpdates loop of the Telegram channel."""

    retry_base: float

    async def _poll(self) -> None:
        """Long polling. Updates of different chats are handled side by side, each chat's in order.

        The offset confirms only updates handled (or given up on), so a crash loses none. While
        one is still being handled (a slow turn, a retry), Telegram returns it again with the
        newer ones: those already started are skipped, the new ones start, and the other chats
        wait for a slow one at most `BUSY_POLL` seconds instead of until it ends.
        """
        assert self.bot is not None
        offset: int | None = None
        newest: int | None = None
        failures = 0
        running: dict[int, asyncio.Task[None]] = {}  # update_id -> its handling, until it ends
        started: set[int] = set()  # update ids at or above the offset already started
        last_of_chat: dict[Any, asyncio.Task[None]] = {}
        try:
            while True:
                if running:
                    # Turns take milliseconds: usually all end here and the next call confirms them.
                    await asyncio.wait(running.values(), timeout=BUSY_POLL)
                    running = {u: task for u, task in running.items() if not task.done()}
                    last_of_chat = {c: task for c, task in last_of_chat.items() if not task.done()}
                    assert newest is not None
                    offset = min(running) if running else newest + 1
                    started = {u for u in started if u >= offset}
                try:
                    updates = await self.bot.get_updates(
                        offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                    )
                    failures = 0
                except tg.InvalidToken:
                    log.error("telegram_token_refused", hint="check TELEGRAM_BOT_TOKEN")
                    return
                except tg.RetryAfter as exc:
                    await asyncio.sleep(retry_seconds(exc))
                    continue
                except tg.TelegramError as exc:  # Conflict (another poller or a webhook), network, 5xx
                    failures += 1
                    log.warning("telegram_poll_failed", error=str(exc), failures=failures)
                    await asyncio.sleep(min(30.0, 2.0**failures))
                    continue
                for received in updates:
                    update_id = received.update_id
                    if update_id in started:
                        continue
                    started.add(update_id)
                    newest = update_id if newest is None else max(newest, update_id)
                    # The same JSON a webhook would have POSTed (fields PTB does not know included).
                    raw = received.to_dict()
                    chat = wire.read_update(raw, self.username).chat_id
                    task = asyncio.create_task(self._after(last_of_chat.get(chat), raw))
                    running[update_id] = last_of_chat[chat] = task
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _after(self, previous: asyncio.Task[None] | None, raw: dict[str, Any]) -> None:
        """Handle `raw` once the chat's previous update is done with: replies keep their order."""
        if previous is not None:
            await asyncio.wait([previous])
        await self._handle_with_retries(raw)

    async def _handle_with_retries(self, raw: dict[str, Any], attempts: int = 4) -> None:
        """A passing failure (the database restarting) is waited out; an update that keeps failing
        is given up on with an apology, so it cannot hold up every other customer's messages."""
        for attempt in range(1, attempts + 1):
            try:
                await self.handle(raw)
                return
            except Exception:
                log.exception("telegram_update_failed", update_id=raw.get("update_id"), attempt=attempt)
                if attempt < attempts:
                    await asyncio.sleep(self.retry_base * 2.0 ** (attempt - 1))
        inbound = wire.read_update(raw, self.username)
        if inbound.chat_id is not None:
            # In the language of the customer's Telegram app when the bot speaks it.
            await self._apologise(str(inbound.chat_id), catalog.language_of(inbound.language))
