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
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import warnings
from datetime import timedelta
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram import error as tg
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from actions import catalog
from actions.messages import Incoming, Reply
from bot import retry_after
from bot.channels.base import BaseChannel, ChannelInfo
from bot.channels.keyed import KeyedLocks, Seen
from bot.channels.telegram import wire
from bot.channels.telegram.throttle import Throttle
from bot.delivery import OutboxDelivery, Transient, Undeliverable
from bot.retry_after import RetryAfter
from bot.services import Services
from bot.settings import Settings
from bot.tasks import Tasks
from desk import outbox
from storage.models import OutboxMessage
from storage.repositories import buttons, customers
from storage.repositories import inbound as inbound_rows

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates call open
BUSY_POLL = 1.0  # seconds other chats' new updates wait for a slow one before they are fetched
API_TIMEOUT = 15.0  # one Bot API call, well within the outbox's lease
TYPING_AFTER = 0.4  # seconds of a turn before the customer sees "typing…"
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's own limit for bots' downloads
ORDER_WAIT = 1.0  # seconds an update waits for a lower update_id still on its way
UPDATE_ATTEMPTS = 4  # webhook deliveries of an update that fails before it is given up on
KEEP_UPDATES = timedelta(days=1)  # handled updates kept (a late redelivery is recognised after, too)


def _seconds(exc: tg.RetryAfter) -> float:
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


class TelegramChannel(BaseChannel):
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
                    await asyncio.sleep(_seconds(exc))
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

    async def _apologise(self, chat: str, lang: str = catalog.DEFAULT_LANGUAGE) -> None:
        if self.bot is not None:
            try:
                await self.bot.send_message(chat_id=int(chat), text=catalog.text("channel.error", lang))
            except tg.TelegramError as exc:
                log.warning("telegram_apology_failed", error=str(exc))

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
                seconds = _seconds(exc)
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


INFO = ChannelInfo(name=wire.CHANNEL, label="Telegram", lasting=True, build=TelegramChannel)
