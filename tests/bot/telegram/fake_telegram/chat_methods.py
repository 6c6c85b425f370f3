"""Answers in a chat besides messages: callback query answers, chat actions, and getChat."""

from __future__ import annotations

import copy
from typing import Any

from tests.bot.telegram.fake_telegram.checks import ParamChecks
from tests.bot.telegram.fake_telegram.constants import CHAT_ACTIONS, QUERY_INVALID
from tests.bot.telegram.fake_telegram.wire import _bad


class ChatMethods(ParamChecks):
    """answerCallbackQuery, sendChatAction and getChat."""

    def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id or self._queries.get(str(query_id)) is not False:
            raise _bad(QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._queries[str(query_id)] = True
        self.callback_answers.append(dict(params))
        return True

    def _sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append(dict(params))
        return True

    def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params, sending=False)
        info = copy.deepcopy(self.chats[chat_id])
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info
