"""The fake Bot API over HTTP, driven by python-telegram-bot's own `Bot`: tokens, encodings, failures."""

from __future__ import annotations

import datetime as dtm
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
)
from telegram.constants import ChatAction
from telegram.error import (
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.request import HTTPXRequest

from tests.bot.telegram.bot_api_helpers import CHAT
from tests.bot.telegram.fake_telegram import (
    BOT_USER,
    TOKEN,
    FakeBotApi,
)

# -- the bot itself ---------------------------------------------------------------------------------


async def test_get_me_is_the_bot_user(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == BOT_USER["id"]
    assert me.username == "ionetech_support_bot"
    assert me.is_bot and me.can_join_groups and not me.supports_inline_queries
    assert [c.method for c in api.calls] == ["getMe", "getMe"]  # initialize() asks too


async def test_a_wrong_token_is_unauthorized_and_an_unknown_method_not_found(
    api: FakeBotApi, bot: Bot
) -> None:
    requests = HTTPXRequest(), HTTPXRequest()
    stranger = Bot(
        "123456789:AAwrong-token", base_url=api.base_url, request=requests[0], get_updates_request=requests[1]
    )
    try:
        with pytest.raises(InvalidToken, match=r"(?i)Unauthorized"):
            await stranger.get_me()
    finally:
        for request in requests:
            await request.shutdown()
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.url}/bot123456789:AAwrong-token/getMe")
    assert (response.status_code, response.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("getTheMoon")
    assert api.calls[-1].status == 404


# -- request encodings ------------------------------------------------------------------------------


async def test_json_bodies_and_query_strings_are_accepted(api: FakeBotApi, customer: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{TOKEN}") as client:
        by_json = await client.post(
            "/sendMessage",
            json={
                "chat_id": CHAT,
                "text": "Hi",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        )
        by_query = await client.get("/sendMessage", params={"chat_id": str(CHAT), "text": "Hello again"})
        by_case = await client.post("/SENDMESSAGE", data={"chat_id": str(CHAT), "text": "case-insensitive"})
        bad_markup = await client.post(
            "/sendMessage", data={"chat_id": str(CHAT), "text": "x", "reply_markup": "{nope"}
        )

    assert by_json.json()["result"]["reply_markup"] == {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]
    }
    assert by_query.json()["result"]["text"] == "Hello again"
    assert by_case.status_code == 200 and api.calls[-2].method == "sendMessage"
    assert bad_markup.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: can't parse reply keyboard markup JSON object",
    }
    assert [m["text"] for m in api.messages(CHAT)] == ["Hi", "Hello again", "case-insensitive"]


# -- failures on demand -----------------------------------------------------------------------------


async def test_fail_next_answers_like_telegram(
    api: FakeBotApi, bot: Bot, customer: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as PTB 23 will give it
    api.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "Hello")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert api.calls_to("sendMessage")[-1].status == 429 and api.messages(CHAT) == []

    api.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(CHAT, "Hello")
    api.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
            await bot.send_message(CHAT, "Hello")

    assert (await bot.send_message(CHAT, "Hello")).text == "Hello"


async def test_a_blocked_chat_is_forbidden(api: FakeBotApi, bot: Bot, customer: dict[str, Any]) -> None:
    api.block(CHAT)

    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "Your ticket was resolved")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CHAT, ChatAction.TYPING)
    assert api.calls_to("sendMessage")[0].status == 403


async def test_wait_for_names_what_it_saw(api: FakeBotApi, bot: Bot) -> None:
    assert len(await api.wait_for("getMe")) == 1
    with pytest.raises(AssertionError, match=r"sendMessage.*saw 0.*getMe\(200\)"):
        await api.wait_for("sendMessage", timeout=0.05)
