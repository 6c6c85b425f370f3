"""Updates from the fake Bot API: the builders, getUpdates with long polling, and webhooks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
)

from tests.bot.telegram.bot_api_helpers import CHAT, GROUP, KEYBOARD
from tests.bot.telegram.fake_telegram import (
    BOT_USER,
    TOKEN,
    FakeBotApi,
    callback_update,
    document_update,
    edited_text_update,
    photo_update,
    text_update,
    user,
)

# -- the update builders ----------------------------------------------------------------------------


async def test_builders_make_updates_ptb_parses(api: FakeBotApi, bot: Bot) -> None:
    command = Update.de_json(text_update(CHAT, "/start@ionetech_support_bot hi"), bot)
    assert command.message.text == "/start@ionetech_support_bot hi"
    assert command.message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 27),)
    assert command.effective_user.id == CHAT and command.effective_user.language_code == "en"
    assert command.effective_chat.type == "private" and command.effective_chat.first_name == "Sokha"
    assert command.message.date.tzinfo is not None

    plain = Update.de_json(text_update(CHAT, "hello"), bot)
    assert plain.message.entities == () and plain.message.message_id > command.message.message_id
    assert plain.update_id > command.update_id

    agent = user(777, "Dara", None, None)
    group = Update.de_json(text_update(GROUP, "/help", from_user=agent, chat_type="supergroup"), bot)
    assert (group.effective_chat.type, group.effective_chat.title) == ("supergroup", "I One Tech Customers")
    assert group.effective_user.id == 777 and group.effective_user.last_name is None

    await asyncio.sleep(0)
    message = {
        "message_id": 40,
        "from": dict(BOT_USER),
        "chat": {"id": CHAT, "first_name": "Sokha", "type": "private"},
        "date": 1_700_000_000,
        "text": "Was your problem solved?",
        "reply_markup": KEYBOARD.to_dict(),
    }
    press = Update.de_json(callback_update(CHAT, message, "csat:yes"), bot)
    assert press.callback_query.data == "csat:yes"
    assert press.callback_query.message.message_id == 40
    assert press.callback_query.message.reply_markup == KEYBOARD
    assert press.callback_query.from_user.id == CHAT and press.callback_query.chat_instance

    photo = Update.de_json(photo_update(CHAT, "AgACphoto", caption="the error"), bot)
    assert len(photo.message.photo) == 3 and photo.message.photo[-1].file_id == "AgACphoto"
    assert [p.width for p in photo.message.photo] == sorted(p.width for p in photo.message.photo)
    assert all(p.file_size and p.file_unique_id for p in photo.message.photo)
    assert photo.message.caption == "the error"

    document = Update.de_json(document_update(CHAT, "BQACdoc"), bot)
    assert (document.message.document.file_name, document.message.document.mime_type) == (
        "error-log.txt",
        "text/plain",
    )

    edited = Update.de_json(edited_text_update(CHAT, plain.message.message_id, "hello again"), bot)
    assert edited.edited_message.text == "hello again" and edited.edited_message.edit_date is not None
    assert edited.edited_message.message_id == plain.message.message_id


# -- getUpdates and webhooks ------------------------------------------------------------------------


async def test_get_updates_confirms_by_offset_and_long_polls(api: FakeBotApi, bot: Bot) -> None:
    first = api.push_update(text_update(CHAT, "hello"))
    second = api.push_update(text_update(CHAT, "my router is down"))
    assert second["update_id"] == first["update_id"] + 1

    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["hello", "my router is down"]
    assert [u.message.text for u in await bot.get_updates(limit=1)] == ["hello"]

    poll = asyncio.create_task(bot.get_updates(offset=second["update_id"] + 1, timeout=5))
    await api.wait_for("getUpdates", 3)
    await asyncio.sleep(0.1)
    assert not poll.done()  # waiting: nothing new yet
    started = time.monotonic()
    third = api.push_update(text_update(CHAT, "are you there?"))
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert [u.update_id for u in updates] == [third["update_id"]]
    assert api.pending_updates == [third]  # the first two were confirmed by the offset

    empty_started = time.monotonic()
    assert await bot.get_updates(offset=third["update_id"] + 1, timeout=1) == ()
    assert time.monotonic() - empty_started >= 0.9


async def test_a_second_poller_terminates_the_first(api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for("getUpdates")
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}{TOKEN}/getUpdates", data={"timeout": "0"})
    assert response.json() == {"ok": True, "result": []}
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
        await poll


async def test_set_webhook_like_telegram(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)An HTTPS URL must be provided for webhook"):
        await bot.set_webhook("http://support.example.com/telegram")
    with pytest.raises(BadRequest, match=r"(?i)only on ports 80, 88, 443 or 8443"):
        await bot.set_webhook("https://support.example.com:8000/telegram")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://support.example.com/telegram", secret_token="a+b/c=")
    assert api.webhook is None

    assert await bot.set_webhook(
        "https://support.example.com/telegram",
        secret_token="s3cret_-token",
        allowed_updates=["message", "callback_query"],
        drop_pending_updates=True,
    )
    assert api.webhook is not None
    assert {
        k: api.webhook[k] for k in ("url", "secret_token", "allowed_updates", "drop_pending_updates")
    } == {
        "url": "https://support.example.com/telegram",
        "secret_token": "s3cret_-token",
        "allowed_updates": ["message", "callback_query"],
        "drop_pending_updates": True,
    }
    info = await bot.get_webhook_info()
    assert info.url == "https://support.example.com/telegram" and info.allowed_updates == (
        "message",
        "callback_query",
    )

    with pytest.raises(Conflict, match=r"(?i)can't use getUpdates method while webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook() is True
    assert api.webhook is None and (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_deliver_webhook_posts_the_update_with_the_secret(api: FakeBotApi, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook("https://support.example.com/telegram/webhook", secret_token="hook-secret")
        api.webhook_target = f"http://127.0.0.1:{runner.addresses[0][1]}"
        update = text_update(CHAT, "hi via webhook")

        assert await api.deliver_webhook(update) == (200, "ok")
        assert await api.deliver_webhook(update, secret=None) == (200, "ok")
        assert await api.deliver_webhook(update, secret="wrong") == (200, "ok")
    finally:
        await runner.cleanup()

    assert [secret for secret, _ in received] == ["hook-secret", None, "wrong"]
    assert received[0][1] == update
    assert (
        await bot.send_message(CHAT, "Hello!")
    ).chat.id == CHAT  # the delivered update made the chat known


async def test_stop_ends_a_long_poll_at_once() -> None:
    api = FakeBotApi()
    await api.start()
    async with httpx.AsyncClient() as client:
        poll = asyncio.create_task(client.post(f"{api.base_url}{TOKEN}/getUpdates", data={"timeout": "30"}))
        await api.wait_for("getUpdates")
        started = time.monotonic()
        await api.stop()
        assert (await poll).json() == {"ok": True, "result": []}
    assert time.monotonic() - started < 2
