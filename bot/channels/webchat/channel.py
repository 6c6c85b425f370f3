"""The site chat: Rasa's REST channel, Rasa's SocketIO channel, and the widget files.

Both channels count as `webchat`; the REST `sender` and the socket.io `session_id` are the
conversation's sender, so a customer can switch between them without losing the conversation.

With `REDIS_URL`, socket.io runs on python-socketio's Redis manager: an emit to a session's room
reaches its socket on whichever replica holds it, and presence.py tells whether one does.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
from pathlib import Path
from typing import Annotated, Any

import orjson
import socketio
import structlog
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from starlette.routing import Route

from actions import catalog
from actions.messages import Incoming, Reply
from bot.channels.base import BaseChannel, ChannelInfo
from bot.channels.keyed import KeyedLocks
from bot.channels.webchat.presence import LocalPresence, Presence, RedisPresence
from bot.channels.webchat.sessions import SessionIds, session_secret
from bot.delivery import NotReady
from bot.ratelimit import RateLimits
from bot.settings import Settings
from bot.tasks import Tasks
from storage.models import OutboxMessage

log = structlog.get_logger(__name__)

CHANNEL = "webchat"
STATIC = Path(__file__).resolve().parent / "static"
LOOK_AGAIN = 1.0  # seconds after a session returns that waiting notices are looked for again
MAX_MESSAGE = 16_000  # characters accepted on the wire; the engine keeps the first 4,000

# Ids are printable text: PostgreSQL refuses NUL, and no platform sends control characters.
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
_ID = re.compile(ID_PATTERN)
Sender = Annotated[
    str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True, pattern=ID_PATTERN)
]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ID_PATTERN)]


def clean_id(value: Any) -> str | None:
    """A session or message id from untrusted input, or None when it is not a usable one."""
    if isinstance(value, str) and 0 < len(value) <= 128 and _ID.match(value):
        return value
    return None


def language_metadata(metadata: Any) -> dict[str, Any]:
    """`metadata.language` (`en`, `km`) of a Rasa channel message, passed on to the conversation."""
    language = metadata.get("language") if isinstance(metadata, dict) else None
    return {"language": language[:35]} if isinstance(language, str) else {}


class RestMessage(BaseModel):
    """Rasa's REST channel body."""

    sender: Sender
    message: str = Field(max_length=MAX_MESSAGE)
    message_id: MessageId | None = None
    metadata: dict[str, Any] | None = None


class RestButton(BaseModel):
    title: str
    payload: str


class RestReply(BaseModel):
    """One bot message in Rasa's REST channel answer (`buttons` only where there are some)."""

    recipient_id: str
    text: str
    buttons: list[RestButton] | None = None


# 401/413/422/429: what the REST channel answers besides its replies (docs/reference.md).
REST_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "An `Authorization` header that is not `Bearer SUPPORTBOT_REST_TOKEN`"},
    413: {"description": "The body is larger than 64 KiB"},
    422: {"description": "The body is not a Rasa REST message"},
    429: {"description": "Too many messages from this session or address; see `Retry-After`"},
}

static = APIRouter()


@static.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@static.api_route("/demo.css", methods=["GET", "HEAD"], include_in_schema=False)
async def demo_css() -> FileResponse:
    return FileResponse(
        STATIC / "demo.css", media_type="text/css", headers={"Cache-Control": "public, max-age=300"}
    )


@static.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
async def widget() -> FileResponse:
    return FileResponse(
        STATIC / "widget.js",
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


def too_many(wait: float) -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    return JSONResponse(
        {"detail": f"too many messages; try again in {seconds} s"},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def _bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header; "" for any other value; None without one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _client_address(environ: dict[str, Any]) -> str | None:
    """The client's address from the ASGI scope (behind a proxy, as uvicorn's --proxy-headers
    set it): engine.io's own REMOTE_ADDR is always 127.0.0.1, which would count every customer
    as one."""
    scope = environ.get("asgi.scope")
    client = scope.get("client") if isinstance(scope, dict) else None
    return str(client[0]) if client else None


class WebChat(BaseChannel):
    """Rasa's REST and SocketIO channels and the widget; pushes agents' replies to open sessions.

    Session ids are minted here (`SessionIds`): a customer door accepts an id only if this server
    (or a replica with the same secret) minted it, so nobody can step into another customer's
    conversation by naming it. An unknown id gets a fresh session, confirmed in `session_confirm`
    (socket.io) or as `recipient_id` of the replies (REST). REST callers holding
    `SUPPORTBOT_REST_TOKEN` (server-to-server integrations) name their own senders.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.info = INFO
        self.sessions = SessionIds(session_secret(settings))
        self.rest_token = settings.rest_token
        self.limits = RateLimits(
            enabled=settings.rate_limits,
            redis_url=settings.redis_url,
            prefix=f"{settings.redis_prefix}:limits",
        )
        # Every customer message on the REST channel takes the webhook: it is a plain Starlette
        # route, served ahead of all others, since FastAPI's dependency solving and nested
        # routing cost about a tenth of a message's instructions (bench/instructions.py). The
        # body is validated by `rest_webhook` itself; the route of the same path and endpoint
        # below describes it in /openapi.json.
        self.routes = [Route("/webhooks/rest/webhook", self.rest_webhook, methods=["POST"])]
        self.router = APIRouter()
        self.router.add_api_route(
            "/webhooks/rest/webhook",
            self.rest_webhook,
            methods=["POST"],
            tags=["webchat"],
            response_model=list[RestReply],
            responses=REST_REFUSALS,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": RestMessage.model_json_schema()}},
                }
            },
        )
        self.router.include_router(static)
        cors_origins = settings.cors_origins
        manager = (
            # One pub/sub channel per prefix: Redis's pub/sub ignores the database number.
            socketio.AsyncRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio")
            if settings.redis_url
            else None
        )
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            cors_allowed_origins=cors_origins or None,  # None: same origin only
            max_http_buffer_size=64_000,
            logger=False,
            engineio_logger=False,
        )
        self.presence: Presence = (
            RedisPresence(self.sio, settings.redis_url, settings.redis_prefix)
            if settings.redis_url
            else LocalPresence(self.sio)
        )
        self._background = Tasks()
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)
        self._slowed: set[str] = set()  # sockets told to slow down, on their way out
        self._in_order: KeyedLocks[str] = KeyedLocks()  # by socket: its messages one at a time

    # -- REST ------------------------------------------------------------------------------------

    async def rest_webhook(self, request: Request) -> Response:
        """Rasa's REST channel: one message in, the bot's messages out.

        The replies' `recipient_id` is the session the message went to: the `sender` when this
        server minted it (or the caller holds `SUPPORTBOT_REST_TOKEN`), else a fresh session id,
        which the client sends as `sender` from then on.
        """
        # Parsed and validated in one pass by pydantic instead of through FastAPI's body dependency:
        # the same 422 answer, and a request costs 80 µs of FastAPI instead of 105 µs.
        try:
            body = RestMessage.model_validate_json(await request.body())
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None
        token = _bearer(request)
        trusted = False
        if token is not None:
            if not self.rest_token or not hmac.compare_digest(token.encode(), self.rest_token.encode()):
                return JSONResponse(
                    {
                        "detail": "Authorization must be `Bearer SUPPORTBOT_REST_TOKEN`; without the "
                        "header, send the `recipient_id` of the replies as `sender`"
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            trusted = True
        if not trusted:
            # An integration's own server is one address for all its customers: only sessions count.
            wait = await self.limits.address(request.client.host if request.client else None)
            if wait is not None:
                return too_many(wait)
        if trusted or self.sessions.is_minted(body.sender):
            sender = body.sender
        else:
            wait = await self.limits.new_session(request.client.host if request.client else None)
            if wait is not None:
                return too_many(wait)
            sender = self.sessions.mint()
        wait = await self.limits.session(sender)
        if wait is not None:
            return too_many(wait)
        message_id = body.message_id or clean_id((body.metadata or {}).get("message_id"))
        replies = await request.app.state.services.engine.handle(
            Incoming(
                channel=CHANNEL,
                sender=sender,
                text=body.message,
                message_id=message_id,
                metadata=language_metadata(body.metadata),
            )
        )
        # Built by hand: the shape is fixed, and skipping response validation keeps the hot path short.
        return Response(orjson.dumps([r.as_rest(sender) for r in replies]), media_type="application/json")

    # -- socket.io -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.presence.start()
        if isinstance(self.presence, RedisPresence):
            log.info("webchat_redis", prefix=self.presence.prefix, replica=self.presence.replica)

    async def aclose(self) -> None:
        await self._background.wait(5)
        await self.presence.aclose()

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = _client_address(environ)
        if await self.limits.address(address) is not None:
            raise socketio.exceptions.ConnectionRefusedError("too many connections; try again later")
        session_id = self.sessions.mint()
        await self.sio.save_session(sid, {"session_id": session_id, "address": address})
        await self.sio.enter_room(sid, session_id)

    async def _use_session(self, sid: str, saved: dict[str, Any], requested: Any) -> str:
        """The session this socket speaks for: `requested` if this server minted it, else its own."""
        current: str = saved.get("session_id") or self.sessions.mint()
        if isinstance(requested, str) and requested != current and self.sessions.is_minted(requested):
            await self.sio.leave_room(sid, current)
            current = requested
            await self.sio.save_session(sid, {**saved, "session_id": current})
        await self.sio.enter_room(sid, current)
        await self.presence.joined(sid, current)
        return current

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self._slowed.discard(sid)
        await self.presence.left(sid)

    async def _session_request(self, sid: str, data: Any = None) -> None:
        requested = data.get("session_id") if isinstance(data, dict) else None
        saved = await self.sio.get_session(sid)
        if not self.sessions.is_minted(requested) and await self.limits.new_session(saved.get("address")):
            await self._slow_down(sid)
            return
        session_id = await self._use_session(sid, saved, requested)
        # To this process's own socket: straight to it, not round through Redis.
        await self.sio.emit("session_confirm", session_id, to=sid, ignore_queue=True)
        # Notices that arrived while the customer was away are shown now.
        if self.delivery is not None:
            target = f"{CHANNEL}:{session_id}"
            await self.delivery.deliver_waiting(kind="customer", target=target)
            # A notice that found them away a moment ago is marked waiting only after its send
            # returned, possibly just after the look above: a second look catches it.
            self._background.start(self._look_again(target), name="webchat-look-again")

    async def _look_again(self, target: str) -> None:
        await asyncio.sleep(LOOK_AGAIN)
        if self.delivery is None:
            return
        try:
            await self.delivery.deliver_waiting(kind="customer", target=target)
        except Exception:  # the outbox job retries it
            log.exception("webchat_delivery_failed", target=target)

    async def _user_uttered(self, sid: str, data: Any = None) -> None:
        # socket.io runs each event as a task of its own; without this, a quick typist's second
        # message could overtake the first at the first await (the limits' Redis round trip).
        async with self._in_order[sid]:
            await self._answer(sid, data)

    async def _answer(self, sid: str, data: Any) -> None:
        if sid in self._slowed:
            return  # told to slow down and being disconnected: nothing more is answered
        saved = await self.sio.get_session(sid)
        requested = data.get("session_id") if isinstance(data, dict) else None
        session_id = await self._use_session(sid, saved, requested)
        wait = await self.limits.address(saved.get("address")) or await self.limits.session(session_id)
        if wait is not None:
            await self._slow_down(sid)
            return
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            await self.sio.emit(
                "bot_uttered", {"text": catalog.text("channel.unreadable")}, to=sid, ignore_queue=True
            )
            return
        message: str = data["message"][:MAX_MESSAGE]
        message_id = clean_id(data.get("message_id"))
        try:
            replies: list[Reply] = await self.bound.engine.handle(
                Incoming(
                    channel=CHANNEL,
                    sender=session_id,
                    text=message,
                    message_id=message_id,
                    metadata=language_metadata(data.get("metadata")),
                )
            )
        except Exception:
            log.exception("webchat_turn_failed")
            replies = [Reply(catalog.text("channel.error"))]
        for reply in replies:
            await self.sio.emit("bot_uttered", reply.as_socketio(), to=sid, ignore_queue=True)

    async def _slow_down(self, sid: str) -> None:
        """A polite word, then the socket is closed: a flood is not answered message by message."""
        if sid in self._slowed:
            return
        self._slowed.add(sid)
        await self.sio.emit(
            "bot_uttered", {"text": catalog.text("webchat.slow_down")}, to=sid, ignore_queue=True
        )
        await self.sio.disconnect(sid)

    async def is_connected(self, session_id: str) -> bool:
        """An open socket for the session here, or (with Redis) on another replica."""
        return await self.presence.connected(session_id)

    def wrap(self, app: Any) -> Any:
        """socket.io answers `/socket.io/`; every other request goes on to `app`."""
        return socketio.ASGIApp(self.sio, other_asgi_app=app, socketio_path="socket.io")

    async def send(self, row: OutboxMessage) -> None:
        """Outbox sender for web chat customers: deliver to the open session, else wait."""
        session_id = row.target.split(":", 1)[1]
        if not await self.is_connected(session_id):
            raise NotReady(retry_in=30)  # and at once when the session comes back
        reply = Reply.from_dict(
            {"text": str(row.payload.get("text", "")), "buttons": row.payload.get("buttons", [])}
        )
        # Through the manager: with Redis it reaches the room's sockets on every replica.
        await self.sio.emit("bot_uttered", reply.as_socketio(), room=session_id)


INFO = ChannelInfo(name=CHANNEL, label="Web chat", lasting=False, build=WebChat)
