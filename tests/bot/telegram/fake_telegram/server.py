"""The fake Bot API server: its lifecycle, the HTTP routes, and dispatch to the methods."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp import web

from tests.bot.telegram.fake_telegram.bot_methods import BotMethods
from tests.bot.telegram.fake_telegram.chat_methods import ChatMethods
from tests.bot.telegram.fake_telegram.constants import PROXY_502
from tests.bot.telegram.fake_telegram.message_methods import MessageMethods
from tests.bot.telegram.fake_telegram.scripting import Scripting
from tests.bot.telegram.fake_telegram.update_methods import UpdateMethods
from tests.bot.telegram.fake_telegram.wire import ApiError, Call, Upload, _bad, _decode_params, _Ok
from tests.helpers import Failure, aiohttp_on_loopback, next_failure


class FakeBotApi(Scripting, UpdateMethods, BotMethods, MessageMethods, ChatMethods):
    """The Bot API for one bot: `async with FakeBotApi() as api: Bot(TOKEN, base_url=api.base_url)`."""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner, self.url = await aiohttp_on_loopback(app)
        return self.url

    async def stop(self) -> None:
        self._stopping = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For `Bot(base_url=...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- the wire --------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("parameters must be a JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        raw[key] = value
        return _decode_params(raw)

    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.status)

    def _failure(self, method: str) -> Failure | None:
        return next_failure(self.failures, method)

    def _failure_response(self, failure: Failure) -> web.Response:
        if failure.status == 502 and failure.description is None:
            return web.Response(status=502, text=PROXY_502, content_type="text/html")
        if failure.description is not None:
            description = failure.description
        elif failure.status == 429:
            description = f"Too Many Requests: retry after {failure.retry_after}"
        elif failure.status >= 500:
            description = "Internal Server Error"
        elif failure.status == 403:
            description = "Forbidden: bot was blocked by the user"
        elif failure.status == 409:
            description = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        else:
            description = "Bad Request: " if failure.status == 400 else ""
            description += "something went wrong" if failure.status == 400 else "Error"
        parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
        return self._error_response(ApiError(failure.status, description, parameters))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        handler_name = _METHODS.get(name.lower())
        method = handler_name or name
        call = Call(method, {}, time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", request.match_info["token"]):
                    raise ApiError(401, "Unauthorized")
                raise ApiError(404, "Not Found")
            call.params = await self._params(request)
            if handler_name is None:
                raise ApiError(404, "Not Found")
            failure = self._failure(method)
            if failure is not None:
                call.status = failure.status
                return self._failure_response(failure)
            result = getattr(self, "_" + handler_name)(call.params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            call.status = error.status
            return self._error_response(error)
        ok = result if isinstance(result, _Ok) else _Ok(result)
        body: dict[str, Any] = {"ok": True, "result": ok.result}
        if ok.description:
            body["description"] = ok.description
        return web.json_response(body)


API_METHODS = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendChatAction",
    "getFile",
    "getChat",
)
# Telegram's method names are case-insensitive.
_METHODS = {name.lower(): name for name in API_METHODS}
