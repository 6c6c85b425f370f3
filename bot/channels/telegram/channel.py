"""Customers on Telegram: updates in (polling or webhook), the conversation engine, replies out.

- Start: `getMe`, `setMyCommands`, then `setWebhook` (URL + secret) or, when polling,
  `deleteWebhook` and a `getUpdates` long-poll loop whose offset moves only past updates that
  were handled; different chats are handled side by side, each in order. Telegram being
  unreachable at start delays this, never the app.
- `POST /telegram/webhook` checks `X-Telegram-Bot-Api-Secret-Token` (missing 401, wrong 403),
  refuses a malformed update with 400, handles the update and answers 200.
- Webhook mode works with several replicas: Telegram may deliver a chat's updates side by side to
  different replicas. Each update is kept in the database first, then the chat's kept updates are
  handled lowest `update_id` first, by one replica at a time (a PostgreSQL advisory lock per chat).
  Since Telegram numbers a bot's updates one after another, an update that follows a hole waits
  for the missing one at most `ORDER_WAIT` seconds. Polling is one process: only one may poll.
- An update is handled once: its `update_id` is the engine's message id (a redelivery is
  answered from what was stored) and each reply is an outbox row keyed by update and position,
  inserted once. Replies are sent at once in the background, in order per chat; if Telegram is
  down they wait in the outbox and go out with retries.
- A pressed button is answered (`answerCallbackQuery`) and its message edited to show the choice
  without the keyboard, so old buttons cannot be pressed twice.
- Sending respects Telegram's flood limits (throttle.py) and its `retry_after`; a customer who
  blocked the bot (403) is marked unreachable and dropped from announcements.

Here: starting and stopping, and the webhook with its order across replicas; polling.py has the
getUpdates loop, updates.py handles one update, sending.py sends the replies.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from telegram import Bot, BotCommand
from telegram import error as tg
from telegram.request import HTTPXRequest

from bot import retry_after
from bot.channels.base import ChannelInfo
from bot.channels.keyed import KeyedLocks, Seen
from bot.channels.telegram import wire
from bot.channels.telegram.polling import POLL_TIMEOUT, Polling
from bot.channels.telegram.throttle import Throttle
from bot.channels.telegram.updates import ALLOWED_UPDATES
from bot.delivery import OutboxDelivery
from bot.services import Services
from bot.settings import Settings
from bot.tasks import Tasks
from desk import outbox
from storage.repositories import inbound as inbound_rows

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
API_TIMEOUT = 15.0  # one Bot API call, well within the outbox's lease
ORDER_WAIT = 1.0  # seconds an update waits for a lower update_id still on its way
UPDATE_ATTEMPTS = 4  # webhook deliveries of an update that fails before it is given up on
KEEP_UPDATES = timedelta(days=1)  # handled updates kept (a late redelivery is recognised after, too)


class TelegramChannel(Polling):
    """Created with the app; `bind` gives it the services, `start`/`aclose` run with the app."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.info = INFO
        self.settings = settings
        self.enabled = bool(settings.telegram_bot_token)
        self.webhook_mode = settings.telegram_mode == "webhook"
        self.seen: Seen | None = None
        self.throttle = Throttle()
        self.username: str | None = None
        self.retry_base = 1.0  # seconds before the first retry of an update that failed
        self.ready = asyncio.Event()  # commands registered, webhook set or polling
        self._runner: asyncio.Task[None] | None = None
        self._background = Tasks()  # replies being sent
        self._chat_locks: KeyedLocks[str] = KeyedLocks()  # by chat (updates) and by target (sends)
        self._order_locks: KeyedLocks[str] = KeyedLocks()  # by chat: the webhook's in-order handling
        self._pruned_at = 0.0  # monotonic time handled webhook updates were last dropped
        self.bot: Bot | None = None
        if self.enabled:
            root = settings.telegram_api_url.rstrip("/")
            self.bot = Bot(
                str(settings.telegram_bot_token),
                base_url=f"{root}/bot",
                base_file_url=f"{root}/file/bot",
                request=HTTPXRequest(
                    connection_pool_size=16,
                    connect_timeout=5.0,
                    read_timeout=API_TIMEOUT,
                    write_timeout=API_TIMEOUT,
                    pool_timeout=API_TIMEOUT,
                ),
                get_updates_request=HTTPXRequest(
                    connection_pool_size=1, connect_timeout=5.0, read_timeout=POLL_TIMEOUT + 10.0
                ),
            )
        self.router.add_api_route(
            "/telegram/webhook", self._webhook, methods=["POST"], tags=["telegram"], include_in_schema=False
        )

    def bind(self, services: Services, delivery: OutboxDelivery) -> None:
        super().bind(services, delivery)
        self.seen = Seen(services.db, wire.CHANNEL, services.engine.now)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.bot is not None:
            self._runner = asyncio.create_task(self._run(), name="telegram")

    async def aclose(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        await self._background.wait(10, cancel=False)
        if self.bot is not None:
            try:
                await self.bot.shutdown()
            except Exception as exc:  # closing HTTP pools must not stop the app's shutdown
                log.warning("telegram_shutdown_failed", error=str(exc))

    async def _run(self) -> None:
        assert self.bot is not None
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()  # getMe
                self.username = self.bot.username
                await self.bot.set_my_commands([BotCommand(c, d) for c, d, _ in wire.COMMANDS])
                if self.webhook_mode:
                    await self.bot.set_webhook(
                        str(self.settings.telegram_webhook_url),
                        secret_token=self.settings.telegram_webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                else:
                    await self.bot.delete_webhook()
                break
            except tg.InvalidToken:
                log.error("telegram_token_refused", hint="check TELEGRAM_BOT_TOKEN")
                return
            except tg.TelegramError as exc:
                log.warning("telegram_start_failed", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
        log.info(
            "telegram_started",
            username=self.username,
            mode=self.settings.telegram_mode,
            replicas="several" if self.webhook_mode else "one: only one process may poll Telegram",
        )
        self.ready.set()
        if not self.webhook_mode:
            await self._poll()

    # -- in --------------------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        if self.bot is None or not self.webhook_mode:
            return JSONResponse({"detail": "Telegram webhook is not enabled"}, status_code=404)
        secret = request.headers.get(SECRET_HEADER)
        if secret is None:
            return JSONResponse({"detail": f"missing {SECRET_HEADER}"}, status_code=401)
        expected = str(self.settings.telegram_webhook_secret)
        if not hmac.compare_digest(secret.encode(), expected.encode()):
            return JSONResponse({"detail": f"wrong {SECRET_HEADER}"}, status_code=403)
        if self.services is None:
            return JSONResponse({"detail": "starting up"}, status_code=503, headers=retry_after.header(5))
        try:
            raw = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"detail": "the body is not JSON"}, status_code=400)
        except RecursionError:
            # Signed with our secret yet nested too deep to read: answered 200, because Telegram
            # sends again whatever is not, and this would never become readable.
            log.warning("telegram_update_unreadable", reason="nested too deep")
            return Response(status_code=200)
        problem = wire.malformed(raw)
        if problem is not None:
            return JSONResponse({"detail": f"not a Telegram update: {problem}"}, status_code=400)
        try:
            wire.read_update(raw, self.username)
        except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
            # An update with fields of the wrong shape: retrying cannot help (200, dropped, logged).
            log.warning(
                "telegram_update_unreadable", update_id=raw.get("update_id"), error=type(exc).__name__
            )
            return Response(status_code=200)
        try:
            await self.handle_in_order(raw)
        except Exception:
            # Telegram delivers the update again later; nothing was half-done (one transaction).
            log.exception("telegram_update_failed", update_id=raw.get("update_id"))
            return JSONResponse({"detail": "try again later"}, status_code=503, headers=retry_after.header(5))
        return Response(status_code=200)

    async def handle_in_order(self, raw: dict[str, Any]) -> None:
        """Keep a webhook update, then handle the chat's kept updates in `update_id` order.

        Whoever holds the chat's lock handles every update of the chat kept by then, its own or
        ones another replica received; a request that waited for the lock may find its update
        already handled. Either way it answers only once its update has been handled.
        """
        services = self.bound
        db, now = services.db, services.engine.now
        update_id: int = raw["update_id"]
        chat_id = wire.read_update(raw, self.username).chat_id
        chat = "" if chat_id is None else str(chat_id)
        await inbound_rows.store_update(
            db, update_id=update_id, chat=chat, payload=raw, now=now(), handled=chat_id is None
        )
        if chat_id is None:
            return
        async with self._order_locks[chat], inbound_rows.chat_turn(db, chat):
            deadline = time.monotonic() + ORDER_WAIT
            while (kept := await inbound_rows.next_update(db, chat)) is not None:
                if time.monotonic() < deadline and await inbound_rows.missing_before(db, kept.update_id):
                    await asyncio.sleep(0.02)  # the update before may be of this chat: wait for it
                    continue
                try:
                    await self.handle(kept.payload)
                except Exception:
                    if await inbound_rows.failed_update(db, kept.update_id) < UPDATE_ATTEMPTS:
                        raise  # 503: Telegram delivers again, and the chat's updates are handled then
                    log.exception("telegram_update_given_up", update_id=kept.update_id)
                    await self._apologise(chat)
                await inbound_rows.finish_update(db, kept.update_id, now=now())
            # Sent before the lock goes: the next replica's answers then follow these, not overtake.
            await self._deliver(outbox.customer_target(wire.CHANNEL, chat))
        await self._forget_old_updates()

    async def _forget_old_updates(self) -> None:
        """At most hourly per process: drop updates handled more than `KEEP_UPDATES` ago."""
        if time.monotonic() - self._pruned_at < 3600:
            return
        self._pruned_at = time.monotonic()
        try:
            await inbound_rows.forget_updates(
                self.bound.db, handled_before=self.bound.engine.now() - KEEP_UPDATES
            )
        except Exception:
            log.exception("telegram_forget_updates_failed")


INFO = ChannelInfo(name=wire.CHANNEL, label="Telegram", lasting=True, build=TelegramChannel)
