"""Webhook mode: the app registers itself with its secret, refuses forged or malformed updates, and
answers a redelivered update once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import PUBLIC_URL, SECRET, MakeApp, TelegramApp, keyboard_of, text_of

CHAT = 555002


async def test_registers_the_webhook_with_its_secret(make_app: MakeApp) -> None:
    app = await make_app("webhook")
    assert app.api.webhook is not None
    assert app.api.webhook["url"] == PUBLIC_URL
    assert app.api.webhook["secret_token"] == SECRET
    assert set(app.api.webhook["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}
    assert not app.api.calls_to("getUpdates")  # Telegram would answer 409 while a webhook is set
    assert len(app.api.commands) == 9

    [hello] = await app.say(CHAT, "/start")
    assert "How can I help you today?" in hello["text"]
    answer = await app.press(CHAT, "Working hours")
    assert "Our support team works" in text_of(answer)


async def test_forged_updates_are_refused(make_app: MakeApp) -> None:
    app = await make_app("webhook")
    update = tg.text_update(CHAT, "/start")
    status, _ = await app.api.deliver_webhook(update, secret=None)
    assert status == 401
    status, _ = await app.api.deliver_webhook(update, secret="not-the-secret")
    assert status == 403
    status, _ = await app.api.deliver_webhook(update, secret=SECRET[:-1])
    assert status == 403
    await asyncio.sleep(0.2)
    assert not app.api.calls_to("sendMessage")


async def test_malformed_updates_get_400_never_500(make_app: MakeApp) -> None:
    app = await make_app("webhook")
    assert app.base_url is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    bodies = [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b'"update"',
        json.dumps({"message": {"text": "hi"}}).encode(),  # no update_id
        json.dumps({"update_id": "7", "message": {}}).encode(),
        json.dumps({"update_id": True}).encode(),
        json.dumps({"update_id": 7, "message": "hello"}).encode(),
        json.dumps({"update_id": 8, "message": {"chat": {"id": "x"}, "text": "hi"}}).encode(),
        json.dumps({"update_id": 9, "message": {"chat": {"id": 1, "type": "private"}, "text": 42}}).encode(),
        json.dumps({"update_id": 10, "callback_query": {"id": 5}}).encode(),
    ]
    async with httpx.AsyncClient(base_url=app.base_url) as http:
        for body in bodies:
            response = await http.post("/telegram/webhook", content=body, headers=headers)
            assert response.status_code == 400, (body, response.text)
            assert "detail" in response.json()
        too_big = b'{"update_id": 11, "message": {"text": "' + b"x" * 70_000 + b'"}}'
        response = await http.post("/telegram/webhook", content=too_big, headers=headers)
        assert response.status_code == 413
        # Updates of kinds the bot does not handle are accepted and left alone.
        for update in (
            {"update_id": 12, "edited_message": tg.text_update(CHAT, "x")["message"]},
            {"update_id": 13},
        ):
            response = await http.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 200
    assert not app.api.calls_to("sendMessage")


async def test_a_redelivered_update_is_answered_once(make_app: MakeApp) -> None:
    app = await make_app("webhook")
    update = tg.text_update(CHAT, "/hours")
    first = await app.send(update)
    assert len(first) == 1
    for _ in range(2):  # Telegram did not see our 200 and delivers the same update again
        status, _ = await app.api.deliver_webhook(update)
        assert status == 200
    await asyncio.sleep(0.3)
    assert len(app.api.calls_to("sendMessage")) == 1

    # Twice at the same moment, a button press: one answer, the press answered once.
    [menu] = await app.say(CHAT, "/start")
    data = next(k["callback_data"] for row in menu["reply_markup"]["inline_keyboard"] for k in row)
    press = tg.callback_update(CHAT, menu, data)
    before = len(app.api.calls_to("sendMessage"))
    statuses = await asyncio.gather(*(app.api.deliver_webhook(press) for _ in range(2)))
    assert [s for s, _ in statuses] == [200, 200]
    await app.api.wait_for("sendMessage", before + 2)  # "Report a problem" answers with two messages
    await asyncio.sleep(0.3)
    texts = [c.params["text"] for c in app.api.calls_to("sendMessage")[before:]]
    assert len(texts) == 2 and "sorry to hear" in texts[0], texts
    assert len(app.api.calls_to("answerCallbackQuery")) == 1
    assert "Which kind of problem is it?" in app.api.last_message(CHAT)["text"]
    assert keyboard_of(app.api.last_message(CHAT))


async def test_the_webhook_route_is_off_in_polling_mode(polling: TelegramApp) -> None:
    transport = httpx.ASGITransport(app=polling.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/telegram/webhook",
            json=tg.text_update(CHAT, "/start"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "x"},
        )
    assert response.status_code == 404


async def test_a_failure_after_the_turn_loses_no_answer(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn committed but the process failed before the outbox: Telegram's retry sends it."""
    app = await make_app("webhook")
    channel = app.channel
    real = channel._enqueue
    failures = [RuntimeError("the database went away")]

    async def enqueue_failing_once(chat: str, update_id: int, payloads: list[dict[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        await real(chat, update_id, payloads)

    monkeypatch.setattr(channel, "_enqueue", enqueue_failing_once)
    update = tg.text_update(CHAT, "/hours")
    status, _ = await app.api.deliver_webhook(update)
    assert status == 503  # Telegram keeps the update and delivers it again
    assert not app.api.calls_to("sendMessage")
    answer = await app.send(update)
    assert "Our support team works" in text_of(answer)
    await asyncio.sleep(0.3)
    assert len(app.api.calls_to("sendMessage")) == 1
