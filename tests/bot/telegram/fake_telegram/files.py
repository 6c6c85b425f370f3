"""Files: what the bot sends by upload, URL or file_id, getFile, and the download route."""

from __future__ import annotations

import mimetypes
import re
import time
from typing import Any

from aiohttp import web

from tests.bot.telegram.fake_telegram.checks import ParamChecks
from tests.bot.telegram.fake_telegram.ids import _file_ids
from tests.bot.telegram.fake_telegram.wire import Call, StoredFile, Upload, _bad


class FileMethods(ParamChecks):
    """getFile, the media parameters of the send methods, and file downloads."""

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(Call("file", {"path": request.match_info["path"]}, time.monotonic()))
        found = [f for f in self.files.values() if f.file_path == request.match_info["path"]]
        if request.match_info["token"] != self.token or not found:
            self.calls[-1].status = 404
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        content_type = mimetypes.guess_type(found[0].file_path)[0] or "application/octet-stream"
        return web.Response(body=found[0].content, content_type=content_type)

    def _media(self, params: dict[str, Any], kind: str) -> StoredFile:
        value = params.get(kind)
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        folder = "photos" if kind == "photo" else "documents"
        if isinstance(value, Upload):
            file_id = f"BQACAgIAAxkDAAI{next(_file_ids):06d}"
            name = value.filename or f"file_{len(self.files)}"
            stored = StoredFile(file_id, value.content, f"{folder}/{name}")
        elif isinstance(value, str) and re.match(r"https?://", value):
            file_id = f"BQACAgIAAxkDAAI{next(_file_ids):06d}"
            name = value.rsplit("/", 1)[-1] or "file"
            stored = StoredFile(file_id, b"", f"{folder}/{name}")
        elif isinstance(value, str) and value in self.files:
            return self.files[value]
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        self.files[file_id] = stored
        return stored

    def _getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        if not file_id or file_id not in self.files:
            raise _bad("invalid file_id")
        stored = self.files[file_id]
        if len(stored.content) > 20 * 1024 * 1024:
            raise _bad("file is too big")
        return stored.as_file()
