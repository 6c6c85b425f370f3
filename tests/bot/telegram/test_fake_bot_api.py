"""The fake Bot API speaks Telegram's wire format: python-telegram-bot's own `Bot` drives it over loopback."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.request import HTTPXRequest

from tests.bot.telegram.fake_telegram import (
    BOT_USER,
    TOKEN,
    FakeBotApi,
    Upload,
    callback_update,
    document_update,
    edited_text_update,
    photo_update,
    text_update,
    user,
)

CHAT = 555001
GROUP = -1001234567890
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Resolved", callback_data="csat:yes"),
            InlineKeyboardButton("Not yet", callback_data="csat:no"),
        ]
    ]
)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as real:
        yield real


@pytest.fixture
def customer(api: FakeBotApi) -> dict[str, Any]:
    """The customer wrote /start, so the bot knows the chat."""
    return api.push_update(text_update(CHAT, "/start"))


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


# -- sending and editing ----------------------------------------------------------------------------


async def test_send_message_with_html_and_an_inline_keyboard(
    api: FakeBotApi, bot: Bot, customer: dict[str, Any]
) -> None:
    sent = await bot.send_message(
        CHAT, "<b>Ticket #12</b> opened &amp; assigned.\n", parse_mode=ParseMode.HTML, reply_markup=KEYBOARD
    )

    assert sent.text == "Ticket #12 opened & assigned."
    assert sent.entities == (MessageEntity(MessageEntity.BOLD, 0, 10),)
    assert sent.from_user.id == BOT_USER["id"] and sent.chat.id == CHAT
    assert sent.message_id > customer["message"]["message_id"]
    assert sent.reply_markup == KEYBOARD
    call = api.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == CHAT  # form fields decoded: the integer, the markup as JSON
    assert call.params["reply_markup"]["inline_keyboard"][0][0] == {
        "text": "Resolved",
        "callback_data": "csat:yes",
    }
    assert call.params["parse_mode"] == "HTML"
    stored = api.last_message(CHAT)
    assert stored["text"] == "Ticket #12 opened & assigned."
    assert stored["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "csat:no"

    second = await bot.send_message(CHAT, "Anything else?")
    assert second.message_id == sent.message_id + 1
    assert [m["text"] for m in api.messages(CHAT)] == ["Ticket #12 opened & assigned.", "Anything else?"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<p>Hello</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>Ticket #12", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>Ticket</i>", 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'),
        ("Q&A", 'Character "&" at byte offset 1'),
    ],
)
async def test_html_telegram_cannot_parse_is_a_bad_request(
    api: FakeBotApi, bot: Bot, customer: dict[str, Any], text: str, error: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as caught:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)

    assert error.lower() in caught.value.message.lower()  # PTB drops "Bad Request: " and capitalize()s
    assert api.calls_to("sendMessage")[0].status == 400
    assert api.messages(CHAT) == []


async def test_markdown_v2_reserved_characters_must_be_escaped(bot: Bot, customer: dict[str, Any]) -> None:
    sent = await bot.send_message(CHAT, "*Ticket* \\#12 is _open_\\.", parse_mode=ParseMode.MARKDOWN_V2)
    assert sent.text == "Ticket #12 is open."
    assert [e.type for e in sent.entities] == [MessageEntity.BOLD, MessageEntity.ITALIC]

    with pytest.raises(BadRequest, match=r"(?i)Character '\.' is reserved"):
        await bot.send_message(CHAT, "Ticket 12.", parse_mode=ParseMode.MARKDOWN_V2)


async def test_what_sendmessage_refuses(api: FakeBotApi, bot: Bot, customer: dict[str, Any]) -> None:
    too_long = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Khmer", callback_data="ក" * 22)]]
    )  # 22 chars, 66 bytes
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "Choose", reply_markup=too_long)
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("Khmer", callback_data="ក" * 21)]])  # 63 bytes
    assert (await bot.send_message(CHAT, "Choose", reply_markup=fits)).reply_markup == fits

    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "Hello?")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "  \n ")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert len((await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")).text) == 4096


async def test_reply_keyboards_are_not_part_of_the_message(
    api: FakeBotApi, bot: Bot, customer: dict[str, Any]
) -> None:
    sent = await bot.send_message(
        CHAT, "Share your phone?", reply_markup=ReplyKeyboardMarkup([["Yes", "No"]])
    )
    assert sent.reply_markup is None
    assert api.reply_keyboards[CHAT] == {"keyboard": [[{"text": "Yes"}, {"text": "No"}]]}

    await bot.send_message(CHAT, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert api.reply_keyboards[CHAT] is None


async def test_editing_the_reply_markup_and_the_text(
    api: FakeBotApi, bot: Bot, customer: dict[str, Any]
) -> None:
    sent = await bot.send_message(CHAT, "Was your problem solved?", reply_markup=KEYBOARD)
    thanks = InlineKeyboardMarkup([[InlineKeyboardButton("Thanks!", callback_data="csat:done")]])

    edited = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=thanks)
    assert edited.reply_markup == thanks and edited.edit_date is not None
    assert api.last_message(CHAT)["reply_markup"]["inline_keyboard"] == [
        [{"text": "Thanks!", "callback_data": "csat:done"}]
    ]

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=thanks)

    await bot.edit_message_reply_markup(CHAT, sent.message_id)  # no markup: the keyboard goes
    assert "reply_markup" not in api.last_message(CHAT)

    await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=KEYBOARD)
    text_edit = await bot.edit_message_text("Solved, thank you.", CHAT, sent.message_id)
    assert text_edit.text == "Solved, thank you." and text_edit.reply_markup is None  # as on Telegram
    assert api.messages(CHAT) == [api.last_message(CHAT)]
    assert api.last_message(CHAT)["text"] == "Solved, thank you."

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Solved, thank you.", CHAT, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("Hi", CHAT, sent.message_id + 50)


async def test_delete_message(api: FakeBotApi, bot: Bot, customer: dict[str, Any]) -> None:
    sent = await bot.send_message(CHAT, "Typing...")

    assert await bot.delete_message(CHAT, sent.message_id) is True
    assert api.messages(CHAT) == [] and api.deleted[0]["text"] == "Typing..."
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


async def test_photos_and_documents_are_uploaded_and_served(
    api: FakeBotApi, bot: Bot, customer: dict[str, Any]
) -> None:
    png = b"\x89PNG\r\n\x1a\nscreenshot"
    photo = await bot.send_photo(CHAT, photo=png, caption="<b>Your</b> screenshot", parse_mode="HTML")

    assert photo.caption == "Your screenshot" and photo.caption_entities[0].type == MessageEntity.BOLD
    assert [size.width for size in photo.photo] == sorted(size.width for size in photo.photo)
    upload = api.calls_to("sendPhoto")[0].params["photo"]
    assert isinstance(upload, Upload) and upload.content == png
    again = await bot.send_photo(CHAT, photo=photo.photo[-1].file_id)  # by file_id
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    assert await (await bot.get_file(photo.photo[-1].file_id)).download_as_bytearray() == png

    document = await bot.send_document(CHAT, document=b"line 1\n", filename="ticket-12.txt")
    assert (document.document.file_name, document.document.mime_type) == ("ticket-12.txt", "text/plain")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(CHAT, document="no-such-file-id")


async def test_chat_actions_and_get_chat(api: FakeBotApi, bot: Bot, customer: dict[str, Any]) -> None:
    assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is True
    assert api.chat_actions == [{"chat_id": CHAT, "action": "typing"}]
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(CHAT, "dancing")

    info = await bot.get_chat(CHAT)
    assert (info.id, info.type, info.first_name, info.username) == (CHAT, "private", "Sokha", "sokha_chan")


# -- callback queries and commands ------------------------------------------------------------------


async def test_a_callback_query_is_answered_once(api: FakeBotApi, bot: Bot, customer: dict[str, Any]) -> None:
    await bot.send_message(CHAT, "Was your problem solved?", reply_markup=KEYBOARD)
    press = api.push_update(callback_update(CHAT, api.last_message(CHAT), "csat:yes"))
    query_id = press["callback_query"]["id"]

    assert await bot.answer_callback_query(query_id, text="Thanks for the feedback") is True
    assert api.callback_answers == [{"callback_query_id": query_id, "text": "Thanks for the feedback"}]
    with pytest.raises(
        BadRequest, match=r"(?i)query is too old and response timeout expired or query ID is invalid"
    ):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("1234")


async def test_commands_are_set_and_read_back(api: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("start", "Talk to support"), BotCommand("ticket", "Status of my ticket")]

    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert api.commands == [
        {"command": "start", "description": "Talk to support"},
        {"command": "ticket", "description": "Status of my ticket"},
    ]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "Capitals are refused")])
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_DESCRIPTION_INVALID"):
        await bot.set_my_commands([BotCommand("help", "")])
    assert len(api.commands) == 2


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


# -- files ------------------------------------------------------------------------------------------


async def test_get_file_and_download(api: FakeBotApi, bot: Bot) -> None:
    api.add_file("AgACphoto1", b"\xff\xd8\xffjpeg-bytes", file_path="photos/file_7.jpg")

    found = await bot.get_file("AgACphoto1")
    assert found.file_path == f"{api.base_file_url}{TOKEN}/photos/file_7.jpg"
    assert found.file_size == 13
    assert await found.download_as_bytearray() == bytearray(b"\xff\xd8\xffjpeg-bytes")
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("AgACmissing")


async def test_files_in_pushed_updates_can_be_fetched(api: FakeBotApi, bot: Bot) -> None:
    api.add_file("AgACrouter", b"router photo")
    api.push_update(photo_update(CHAT, "AgACrouter", caption="my router"))

    update = Update.de_json((await bot.get_updates())[0].to_dict(), bot)
    largest = update.message.photo[-1]
    assert await (await largest.get_file()).download_as_bytearray() == b"router photo"
    assert await (await update.message.photo[0].get_file()).download_as_bytearray()  # generated content


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
