"""What the fake Bot API's own tests share: the chats they talk in and a customer-satisfaction keyboard."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

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
