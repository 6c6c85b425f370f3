"""Parameter checks the methods share, refusing what Telegram refuses in its own words."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.bot.telegram.fake_telegram.constants import BOT_FROM, CALLBACK_DATA_LIMIT
from tests.bot.telegram.fake_telegram.html_format import parse_html
from tests.bot.telegram.fake_telegram.ids import _now, next_message_id
from tests.bot.telegram.fake_telegram.markdown_format import parse_markdown, parse_markdown_v2
from tests.bot.telegram.fake_telegram.state import BotState
from tests.bot.telegram.fake_telegram.text_entities import EntityError, _normalize_url, _strip, _utf16_len
from tests.bot.telegram.fake_telegram.wire import ApiError, _bad


class ParamChecks(BotState):
    """Chats, texts, entities, keyboards and replies as the methods receive them."""

    @staticmethod
    def _int(params: dict[str, Any], name: str, *, default: int | None = None) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f"invalid {name} specified")
        return value

    def _chat_id(self, params: dict[str, Any], *, sending: bool = True) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, str):
            named = [
                cid
                for cid, c in self.chats.items()
                if value.startswith("@") and c.get("username") == value[1:]
            ]
            if not named:
                raise _bad("chat not found")
            value = named[0]
        if not isinstance(value, int) or isinstance(value, bool) or value not in self.chats:
            raise _bad("chat not found")
        if sending and value in self._blocked:
            if self.chats[value].get("type") == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return value

    def _formatted(
        self, params: dict[str, Any], key: str, entities_key: str, limit: int, *, required: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        text = params.get(key)
        if text is None or text == "":
            if required:
                raise _bad("message text is empty")
            return "", []
        if not isinstance(text, str):
            text = json.dumps(text)
        parse_mode = params.get("parse_mode") or ""
        try:
            if parse_mode == "HTML":
                plain, entities = parse_html(text, strict_ampersand=self.strict_html)
            elif parse_mode == "MarkdownV2":
                plain, entities = parse_markdown_v2(text)
            elif parse_mode == "Markdown":
                plain, entities = parse_markdown(text)
            elif parse_mode:
                raise _bad(f"unsupported parse_mode {parse_mode!r}")
            else:
                plain, entities = text, self._entities(params.get(entities_key), text)
        except EntityError as error:
            raise _bad(f"can't parse entities: {error}") from None
        plain, entities = _strip(plain, entities)
        if not plain and required:
            raise _bad("message text is empty")
        if _utf16_len(plain) > limit:
            raise _bad("message caption is too long" if key == "caption" else "message is too long")
        return plain, entities

    @staticmethod
    def _entities(value: Any, text: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise _bad("can't parse entities JSON object")
        size = _utf16_len(text)
        for entity in value:
            offset, length = entity.get("offset"), entity.get("length")
            if not isinstance(offset, int) or not isinstance(length, int) or "type" not in entity:
                raise _bad("can't parse entities JSON object")
            if offset < 0 or length <= 0 or offset + length > size:
                raise _bad("entity beginning out of bounds" if offset >= size else "entity end out of bounds")
        return [dict(e) for e in value]

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    if not button["text"]:
                        raise _bad("BUTTON_TEXT_INVALID")
                    actions = [k for k in button if k != "text"]
                    if not actions:
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                            raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button:
                        url = button["url"]
                        if not isinstance(url, str) or _normalize_url(url) is None:
                            raise _bad("BUTTON_URL_INVALID")
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, params: dict[str, Any], chat_id: int) -> int | None:
        reply = params.get("reply_parameters")
        message_id = self._int(params, "reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        known = message_id in self._seen.get(chat_id, set()) or message_id in self._sent.get(chat_id, {})
        if not known and not allow:
            raise _bad("message to be replied not found")
        return message_id if known else None

    def _new_message(
        self, chat_id: int, params: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next_message_id(chat_id),
            "from": dict(BOT_FROM),
            "chat": copy.deepcopy(self.chats[chat_id]),
            "date": _now(),
        }
        reply_to = self._reply_to(params, chat_id)
        if reply_to is not None and reply_to in self._sent.get(chat_id, {}):
            message["reply_to_message"] = copy.deepcopy(self._sent[chat_id][reply_to])
        elif reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to,
                "chat": copy.deepcopy(self.chats[chat_id]),
                "date": _now(),
            }
        if markup is not None:
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
            elif markup.get("remove_keyboard"):
                self.reply_keyboards[chat_id] = None
            elif "keyboard" in markup:
                self.reply_keyboards[chat_id] = markup
        return message

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        self._sent.setdefault(message["chat"]["id"], {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _own_message(self, params: dict[str, Any], *, action: str) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        found = self._sent.get(chat_id, {}).get(message_id)
        if found is None:
            if message_id in self._seen.get(chat_id, set()):
                raise _bad("message can't be edited")
            raise _bad(f"message to {action} not found")
        return found
