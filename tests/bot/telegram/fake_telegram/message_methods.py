"""Sending, editing and deleting the bot's messages."""

from __future__ import annotations

import copy
import mimetypes
from typing import Any

from tests.bot.telegram.fake_telegram.constants import CAPTION_LIMIT, NOT_MODIFIED, TEXT_LIMIT
from tests.bot.telegram.fake_telegram.files import FileMethods
from tests.bot.telegram.fake_telegram.ids import _now, _unique_id
from tests.bot.telegram.fake_telegram.updates import photo_sizes
from tests.bot.telegram.fake_telegram.wire import StoredFile, Upload, _bad


class MessageMethods(FileMethods):
    """sendMessage, sendPhoto, sendDocument, the editMessage* methods and deleteMessage."""

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text, entities = self._formatted(params, "text", "entities", TEXT_LIMIT, required=True)
        markup = self._markup(params)
        message = self._new_message(chat_id, params, markup)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if message.get("reply_markup") is not None:
            message["reply_markup"] = message.pop("reply_markup")  # keep Telegram's field order
        return self._store(message)

    def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        stored = self._media(params, "photo")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, required=False
        )
        markup = self._markup(params)
        message = self._new_message(chat_id, params, markup)
        sizes = photo_sizes(stored.file_id, file_size=max(len(stored.content), 1))
        for size in sizes:
            self.files.setdefault(
                size["file_id"], StoredFile(size["file_id"], stored.content, stored.file_path)
            )
        message["photo"] = sizes
        self._caption(message, caption, entities)
        return self._store(message)

    def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        stored = self._media(params, "document")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, required=False
        )
        markup = self._markup(params)
        message = self._new_message(chat_id, params, markup)
        upload = params.get("document")
        name = stored.file_path.rsplit("/", 1)[-1]
        mime = upload.content_type if isinstance(upload, Upload) else None
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        message["document"] = {
            "file_name": name,
            "mime_type": mime,
            "file_id": stored.file_id,
            "file_unique_id": _unique_id(stored.file_id),
            "file_size": len(stored.content),
        }
        self._caption(message, caption, entities)
        return self._store(message)

    @staticmethod
    def _caption(message: dict[str, Any], caption: str, entities: list[dict[str, Any]]) -> None:
        markup = message.pop("reply_markup", None)
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, action="edit")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", TEXT_LIMIT, required=True)
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        message.pop("reply_markup", None)  # without reply_markup the keyboard goes, as on Telegram
        if entities:
            message["entities"] = entities
        message["edit_date"] = _now()
        if markup is not None:
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _editMessageCaption(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, action="edit")
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", CAPTION_LIMIT, required=False
        )
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if (
            caption == message.get("caption", "")
            and entities == message.get("caption_entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(NOT_MODIFIED)
        for key in ("caption", "caption_entities", "reply_markup"):
            message.pop(key, None)
        message["edit_date"] = _now()
        self._caption(message, caption, entities)
        if markup is not None:
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, action="edit")
        markup = self._markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if markup == message.get("reply_markup") or (
            markup == {"inline_keyboard": []} and "reply_markup" not in message
        ):
            raise _bad(NOT_MODIFIED)
        message.pop("reply_markup", None)
        message["edit_date"] = _now()
        if markup is not None and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _deleteMessage(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params, sending=False)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        sent = self._sent.get(chat_id, {})
        if message_id in sent:
            self.deleted.append(sent.pop(message_id))
            return True
        seen = self._seen.get(chat_id, set())
        if message_id in seen:
            seen.discard(message_id)
            return True
        raise _bad("message to delete not found")
