"""One Telegram update handled: a customer's message or pressed button through the conversation
engine, a bot blocked or unblocked, a group told to write in private.

An update is handled once: its `update_id` is the engine's message id, so a redelivery is
answered from what was stored. A pressed button is answered (`answerCallbackQuery`) and its
message edited to show the choice without the keyboard, so old buttons cannot be pressed twice.
Polling (polling.py) and the webhook (channel.py) both hand their updates to `handle`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from telegram import error as tg

from actions import catalog
from actions.messages import Incoming, Reply
from bot.channels.keyed import Seen
from bot.channels.telegram import wire
from bot.channels.telegram.sending import Sending
from storage.repositories import buttons

log = structlog.get_logger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]  # what `handle` reads (polling, setWebhook)
TYPING_AFTER = 0.4  # seconds of a turn before the customer sees "typing…"


class Updates(Sending):
    """The Telegram channel's way in, one update at a time."""

    username: str | None
    seen: Seen | None

    async def handle(self, raw: dict[str, Any]) -> None:
        """Handle one update: at most one answer however often it is delivered."""
        inbound = wire.read_update(raw, self.username)
        if inbound.chat_id is None or inbound.kind == "ignored":
            return
        chat = str(inbound.chat_id)
        if inbound.kind in ("blocked", "unblocked"):
            await self._set_reachable(chat, inbound.kind == "unblocked")
            return
        if inbound.kind == "group":
            await self._answer_callback(inbound)
            group_text = catalog.text("channel.group", catalog.language_of(inbound.language))
            await self._enqueue(chat, inbound.update_id, [{"text": group_text, "link": self._private_link()}])
            return
        async with self._chat_locks[chat]:  # one update of a chat at a time: replies keep their order
            answered = await self._answer_given(chat, inbound.update_id)
            if answered is not None:
                # Seen before. Enqueueing its answer again inserts nothing, unless the first
                # attempt stopped between the turn and the outbox: then it is sent now.
                await self._enqueue(chat, inbound.update_id, answered)
                return
            text = inbound.text
            if inbound.kind == "callback":
                await self._answer_callback(inbound)
                text = await self._pressed(inbound)
            typing = asyncio.create_task(self._typing_after(chat, TYPING_AFTER))
            try:
                replies: list[Reply] = await self.bound.engine.handle(
                    Incoming(
                        channel=wire.CHANNEL,
                        sender=chat,
                        text=text,
                        message_id=str(inbound.update_id),
                        display_name=inbound.display_name,
                        metadata=wire.metadata(inbound),
                    )
                )
            finally:
                typing.cancel()
            await self._enqueue(chat, inbound.update_id, [r.to_dict() for r in replies])

    async def _typing_after(self, chat: str, delay: float) -> None:
        """A slow turn (a busy NLU server) shows "typing…" instead of silence."""
        await asyncio.sleep(delay)
        if self.bot is not None:
            try:
                await self.bot.send_chat_action(chat_id=int(chat), action="typing")
            except tg.TelegramError as exc:
                log.info("telegram_chat_action_failed", error=str(exc))

    def _private_link(self) -> dict[str, str] | None:
        return (
            {"title": "Open a private chat", "url": f"https://t.me/{self.username}"}
            if self.username
            else None
        )

    async def _answer_given(self, chat: str, update_id: int) -> list[dict[str, Any]] | None:
        """The replies stored for an update already handled, or None."""
        if self.seen is None:
            raise RuntimeError("the Telegram channel is not bound to the services yet")
        return await self.seen.answered(chat, str(update_id))

    async def _answer_callback(self, inbound: wire.Inbound) -> None:
        if inbound.callback_id is None or self.bot is None:
            return
        try:
            await self.bot.answer_callback_query(inbound.callback_id)
        except tg.TelegramError as exc:  # an old query; the press is still handled
            log.info("telegram_callback_answer_failed", error=str(exc))

    async def _pressed(self, inbound: wire.Inbound) -> str:
        """The payload of the pressed button; its message now shows the choice, not the keyboard."""
        data = inbound.text
        payload: str | None = data
        if data.startswith(wire.HASHED):
            payload = await buttons.payload(self.bound.db, data)
        message = inbound.callback_message or {}
        title = wire.pressed_title(message, data)
        if title is not None and self.bot is not None and isinstance(message.get("message_id"), int):
            try:
                await self.throttle.wait(str(inbound.chat_id))
                await self.bot.edit_message_text(
                    wire.pressed_text(message, title),
                    chat_id=inbound.chat_id,
                    message_id=message["message_id"],
                    parse_mode="HTML",
                )
            except tg.TelegramError as exc:  # already edited (a redelivery) or too old
                log.info("telegram_edit_failed", error=str(exc))
        return payload or "/unknown_button"
