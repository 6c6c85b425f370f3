"""Files through the fake Bot API: uploads, getFile and downloads, files in pushed updates."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import (
    Bot,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
)

from tests.bot.telegram.bot_api_helpers import CHAT
from tests.bot.telegram.fake_telegram import (
    TOKEN,
    FakeBotApi,
    Upload,
    photo_update,
)


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
