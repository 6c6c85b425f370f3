"""The site chat: Rasa's REST channel, Rasa's SocketIO channel, and the widget files.

Both channels count as `webchat`; the REST `sender` and the socket.io `session_id` are the
conversation's sender, so a customer can switch between them without losing the conversation.

With `REDIS_URL`, socket.io runs on python-socketio's Redis manager: an emit to a session's room
reaches its socket on whichever replica holds it, and presence.py tells whether one does.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any

import socketio
import structlog
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from actions import catalog
from actions.messages import Incoming, Reply
from bot.channels.base import BaseChannel, ChannelInfo
from bot.channels.webchat.presence import LocalPresence, Presence, RedisPresence
from bot.delivery import NotReady
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


router = APIRouter()


@router.post(
    "/webhooks/rest/webhook",
    tags=["webchat"],
    response_model=list[RestReply],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RestMessage.model_json_schema()}},
        }
    },
)
async def rest_webhook(request: Request) -> JSONResponse:
    """Rasa's REST channel: one message in, the bot's messages out."""
    # Parsed and validated in one pass by pydantic instead of through FastAPI's body dependency:
    # the same 422 answer, and a request costs 80 µs of FastAPI instead of 105 µs.
    try:
        body = RestMessage.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    message_id = body.message_id or clean_id((body.metadata or {}).get("message_id"))
    replies = await request.app.state.services.engine.handle(
        Incoming(
            channel=CHANNEL,
            sender=body.sender,
            text=body.message,
            message_id=message_id,
            metadata=language_metadata(body.metadata),
        )
    )
    # Built by hand: the shape is fixed, and skipping response validation keeps the hot path short.
    return JSONResponse([r.as_rest(body.sender) for r in replies])


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/widget.js", include_in_schema=False)
async def widget() -> FileResponse:
    return FileResponse(
        STATIC / "widget.js",
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


class WebChat(BaseChannel):
    """Rasa's REST and SocketIO channels and the widget; pushes agents' replies to open sessions."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.info = INFO
        self.router = router
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

    async def start(self) -> None:
        await self.presence.start()
        if isinstance(self.presence, RedisPresence):
            log.info("webchat_redis", prefix=self.presence.prefix, replica=self.presence.replica)

    async def aclose(self) -> None:
        await self._background.wait(5)
        await self.presence.aclose()

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.sio.save_session(sid, {"session_id": sid})

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        await self.presence.left(sid)

    async def _session_request(self, sid: str, data: Any = None) -> None:
        session_id = (clean_id(data.get("session_id")) if isinstance(data, dict) else None) or sid
        await self.sio.save_session(sid, {"session_id": session_id})
        await self.sio.enter_room(sid, session_id)
        await self.presence.joined(sid, session_id)
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
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            await self.sio.emit(
                "bot_uttered", {"text": catalog.text("channel.unreadable")}, to=sid, ignore_queue=True
            )
            return
        message: str = data["message"][:MAX_MESSAGE]
        saved = await self.sio.get_session(sid)
        session_id = clean_id(data.get("session_id")) or saved.get("session_id", sid)
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
            log.exception("webchat_turn_failed", session_id=session_id)
            replies = [Reply(catalog.text("channel.error"))]
        for reply in replies:
            await self.sio.emit("bot_uttered", reply.as_socketio(), to=sid, ignore_queue=True)

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
