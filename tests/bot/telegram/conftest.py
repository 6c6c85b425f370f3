"""Telegram under test: the real app (lifespan running) against a fake Bot API server on loopback.

The app reaches `FakeBotApi` through `TELEGRAM_API_URL` with python-telegram-bot; updates are
fed as Telegram sends them, by `getUpdates` (polling) or POSTed to `/telegram/webhook` with the
secret the app registered (webhook mode, the app served by uvicorn on loopback).

The fake's own tests drive it with python-telegram-bot's `Bot` alone (`bot`, `customer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.app import create_app
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.throttle import Throttle
from bot.services import Services
from nlu.embedded import EmbeddedNlu
from storage.models import Customer, InboundMessage, OutboxMessage, Ticket
from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.bot_api_helpers import CHAT
from tests.bot.telegram.fake_telegram import FakeBotApi
from tests.helpers import FrozenClock, eventually, served_on_loopback, settings_for

SECRET = "s3cr3t-Webhook_token-0123456789"
PUBLIC_URL = "https://support.ionetech.example/telegram/webhook"


@dataclass
class TelegramApp:
    """The app with Telegram on, and the fake Bot API it talks to."""

    asgi: Any
    api: FakeBotApi
    clock: FrozenClock
    base_url: str | None = None  # set when served on loopback (webhook mode)

    @property
    def services(self) -> Services:
        return self.asgi.fastapi.state.services

    @property
    def channel(self) -> TelegramChannel:
        return self.asgi.channels["telegram"]

    async def ready(self) -> None:
        await asyncio.wait_for(self.channel.ready.wait(), 10)

    # -- a customer's side ------------------------------------------------------------------------

    async def send(self, update: dict[str, Any], *, replies: bool = True) -> list[dict[str, Any]]:
        """Feed an update (by getUpdates, or to the webhook once one is set); the bot's new messages.

        Waits until the update was handled and its replies left the outbox (`replies=False`: for
        an update the bot must not answer, until it was handled).
        """
        chat_id = _chat_of(update)
        before = {m["message_id"] for m in self.api.messages(chat_id)}
        if self.api.webhook is not None:
            status, body = await self.api.deliver_webhook(update)
            assert status == 200, body
        else:
            self.api.push_update(update)
        update_id = update["update_id"]
        if replies:
            await eventually(lambda: self._answered(chat_id, update_id), what=f"the answer to {update}")
        else:
            await eventually(lambda: self._handled(chat_id, update_id), what=f"handling {update}")
        return [m for m in self.api.messages(chat_id) if m["message_id"] not in before]

    async def _answered(self, chat_id: int, update_id: int) -> bool:
        async with self.services.db.reader() as session:
            query = select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"tg:{chat_id}:{update_id}:%"))
            rows = list((await session.execute(query)).scalars())
        return bool(rows) and all(r.delivered_at or r.dead_at for r in rows)

    async def _handled(self, chat_id: int, update_id: int) -> bool:
        async with self.services.db.reader() as session:
            return await session.get(InboundMessage, ("telegram", str(chat_id), str(update_id))) is not None

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return self.api.messages(chat_id)

    async def say(self, chat_id: int, text: str, *, replies: bool = True, **kw: Any) -> list[dict[str, Any]]:
        return await self.send(tg.text_update(chat_id, text, **kw), replies=replies)

    async def press(self, chat_id: int, title_start: str, *, replies: bool = True) -> list[dict[str, Any]]:
        """Press the button starting with `title_start` on the latest message that has one."""
        for message in reversed(self.api.messages(chat_id)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for key in row:
                    if key["text"].startswith(title_start) and "callback_data" in key:
                        update = tg.callback_update(chat_id, message, key["callback_data"])
                        return await self.send(update, replies=replies)
        raise AssertionError(
            f"no button starting {title_start!r} in chat {chat_id}: {self.api.messages(chat_id)}"
        )

    # -- the database -----------------------------------------------------------------------------

    async def tickets(self) -> list[Ticket]:
        async with self.services.db.reader() as session:
            return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())

    async def customer(self, chat_id: int) -> Customer | None:
        async with self.services.db.reader() as session:
            query = select(Customer).where(
                Customer.channel == "telegram", Customer.external_id == str(chat_id)
            )
            return (await session.execute(query)).scalar_one_or_none()

    async def outbox(self, target: str) -> list[OutboxMessage]:
        async with self.services.db.reader() as session:
            query = select(OutboxMessage).where(OutboxMessage.target == target).order_by(OutboxMessage.id)
            return list((await session.execute(query)).scalars())


def _chat_of(update: dict[str, Any]) -> int:
    if "callback_query" in update:
        return int(update["callback_query"]["message"]["chat"]["id"])
    return int(update["message"]["chat"]["id"])


def keyboard_of(message: dict[str, Any]) -> list[str]:
    """The button titles of a message as Telegram shows it."""
    return [
        key["text"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for key in row
    ]


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


def telegram_env(api: FakeBotApi, mode: str = "polling", **extra: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": tg.TOKEN,
        "TELEGRAM_API_URL": api.url,
        "TELEGRAM_MODE": mode,
        "SUPPORTBOT_SWEEP_SECONDS": "3600",
        **extra,
    }
    if mode == "webhook":
        env.update(TELEGRAM_WEBHOOK_URL=PUBLIC_URL, TELEGRAM_WEBHOOK_SECRET=SECRET)
    return env


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(tg.TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as real:
        yield real


@pytest.fixture
def customer(api: FakeBotApi) -> dict[str, Any]:
    """The customer wrote /start, so the bot knows the chat."""
    return api.push_update(tg.text_update(CHAT, "/start"))


MakeApp = Callable[..., Awaitable[TelegramApp]]


@pytest.fixture
async def make_app(
    db_url: str, nlu: EmbeddedNlu, clock: FrozenClock, api: FakeBotApi
) -> AsyncIterator[MakeApp]:
    """`await make_app(mode="polling"|"webhook", **env)`: the app started (webhook: served)."""
    async with AsyncExitStack() as stack:

        async def make(mode: str = "polling", *, real_throttle: bool = False, **env: Any) -> TelegramApp:
            asgi = create_app(settings_for(db_url, **telegram_env(api, mode, **env)), nlu=nlu, now=clock)
            app = TelegramApp(asgi=asgi, api=api, clock=clock)
            if not real_throttle:
                # A test customer presses buttons faster than a person can; the flood limits
                # themselves are proven with their real values in test_delivery.py.
                asgi.channels["telegram"].throttle = Throttle(chat_interval=0.001)
            if mode == "webhook":
                app.base_url = await stack.enter_async_context(served_on_loopback(asgi))
                api.webhook_target = app.base_url
            else:
                await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
            await app.ready()
            return app

        yield make


@pytest.fixture
async def polling(make_app: MakeApp) -> TelegramApp:
    return await make_app("polling")
