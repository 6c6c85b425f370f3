"""Telegram replies out: the outbox's rows sent within Telegram's limits, and a customer's files
fetched for the agents.

Replies are outbox rows keyed by update and position, inserted once and sent at once in the
background, in order per chat; if Telegram is down they wait in the outbox and go out with
retries. Sending respects Telegram's flood limits (throttle.py) and its `retry_after`; a customer
who blocked the bot (403) is marked unreachable and dropped from announcements.
"""

from __future__ import annotations

import warnings
from typing import Any

import structlog
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram import error as tg
from telegram.warnings import PTBDeprecationWarning

from actions import catalog
from bot import retry_after
from bot.channels.base import BaseChannel
from bot.channels.keyed import KeyedLocks
from bot.channels.telegram import wire
from bot.channels.telegram.throttle import Throttle
from bot.delivery import Transient, Undeliverable
from bot.retry_after import RetryAfter
from bot.tasks import Tasks
from desk import outbox
from storage.models import OutboxMessage
from storage.repositories import buttons, customers

log = structlog.get_logger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's own limit for bots' downloads


def retry_seconds(exc: tg.RetryAfter) -> float:
    # An int in 22.x unless PTB_TIMEDELTA is set, then a timedelta (the future default): either is
    # read, and the property's notice of that coming change is no news to an operator.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return retry_after.seconds(exc.retry_after)


def _markup(data: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    if not data:
        return None
    rows = [
        [
            InlineKeyboardButton(key["text"], url=key["url"])
            if "url" in key
            else InlineKeyboardButton(key["text"], callback_data=key["callback_data"])
            for key in row
        ]
        for row in data["inline_keyboard"]
    ]
    return InlineKeyboardMarkup(rows)


class Sending(BaseChannel):
    """The Telegram channel's way out; TelegramChannel (channel.py) sets up the attributes below."""

    bot: Bot | None
    enabled: bool
    throttle: Throttle
    _background: Tasks
    _chat_locks: KeyedLocks[str]

    async def _apologise(self, chat: str, lang: str = catalog.DEFAULT_LANGUAGE) -> None:
        if self.bot is not None:
            try:
                await self.bot.send_message(chat_id=int(chat), text=catalog.text("channel.error", lang))
            except tg.TelegramError as exc:
                log.warning("telegram_apology_failed", error=str(exc))

    async def _enqueue(self, chat: str, update_id: int, payloads: list[dict[str, Any]]) -> None:
        now = self.bound.engine.now()
        target = outbox.customer_target(wire.CHANNEL, chat)
        rows = [
            {
                "kind": outbox.CUSTOMER,
                "target": target,
                "payload": payload,
                "dedupe_key": f"tg:{chat}:{update_id}:{index}",
                "now": now,
            }
            for index, payload in enumerate(payloads)
        ]
        async with self.bound.db.session() as session:
            inserted = await outbox.enqueue_once(session, rows)
        if inserted:
            self.deliver_soon(target)

    def deliver_soon(self, target: str) -> None:
        """Send what waits for `target` now, in the background, in order."""
        self._background.start(self._deliver(target))

    async def _deliver(self, target: str) -> None:
        if self.delivery is None:
            return
        try:
            async with self._chat_locks[target]:
                await self.delivery.run_once(kind=outbox.CUSTOMER, target=target)
        except Exception:
            log.exception("telegram_delivery_failed", target=target)  # the outbox job retries

    async def _set_reachable(self, chat: str, reachable: bool) -> None:
        services = self.bound
        since = None if reachable else services.engine.now()
        await customers.set_unreachable(services.db, channel=wire.CHANNEL, external_id=chat, since=since)
        log.info("telegram_reachability", chat=chat, reachable=reachable)

    # -- out -------------------------------------------------------------------------------------

    async def send(self, row: OutboxMessage) -> None:
        """The outbox sender for `telegram:<chat>` customer targets."""
        if self.bot is None:
            raise Undeliverable("Telegram is not configured (TELEGRAM_BOT_TOKEN)", reason="not_configured")
        chat = row.target.split(":", 1)[1]
        buttons = [b for b in row.payload.get("buttons") or [] if isinstance(b, dict)]
        await self._keep_long_payloads(wire.long_payloads(buttons))
        for message in wire.messages_for(row.payload):
            await self.throttle.wait(chat)
            try:
                await self.bot.send_message(
                    chat_id=int(chat),
                    text=message["text"],
                    parse_mode=message["parse_mode"],
                    reply_markup=_markup(message.get("reply_markup")),
                )
            except tg.RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.throttle.pause(seconds)
                raise RetryAfter(seconds) from exc
            except tg.Forbidden as exc:  # blocked the bot, or was deactivated
                await self._set_reachable(chat, False)
                raise Undeliverable(str(exc), reason="telegram_forbidden") from exc
            except tg.BadRequest as exc:
                if "chat not found" in str(exc).lower():
                    await self._set_reachable(chat, False)
                    reason = "telegram_chat_not_found"
                else:
                    log.error("telegram_message_refused", target=row.target, error=str(exc))
                    reason = "telegram_bad_request"
                raise Undeliverable(str(exc), reason=reason) from exc  # it would fail again
            except tg.NetworkError as exc:  # unreachable, timed out, 5xx: retried until the horizon
                raise Transient(str(exc)) from exc

    async def _keep_long_payloads(self, keyed: dict[str, str]) -> None:
        if keyed:
            await buttons.keep(self.bound.db, keyed, now=self.bound.engine.now())

    @property
    def can_fetch_files(self) -> bool:
        return self.enabled

    async def fetch_file(self, file_id: str) -> bytes:
        """A file the customer sent, for the agents' desk (Telegram lets bots fetch up to 20 MB)."""
        if self.bot is None:
            raise LookupError("Telegram is not configured")
        file = await self.bot.get_file(file_id)
        if file.file_size and file.file_size > MAX_DOWNLOAD:
            raise LookupError(f"file of {file.file_size} bytes is over Telegram's download limit")
        return bytes(await file.download_as_bytearray())
