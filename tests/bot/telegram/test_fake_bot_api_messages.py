"""Sending, formatting and editing messages on the fake Bot API; callback queries and commands."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
)

from tests.bot.telegram.bot_api_helpers import CHAT, KEYBOARD
from tests.bot.telegram.fake_telegram import (
    BOT_USER,
    FakeBotApi,
    callback_update,
)

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
