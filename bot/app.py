"""The one ASGI app: web chat (REST + socket.io + widget), Telegram, Slack, REST API, health, metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actions.engine import NluBackend
from bot import __version__, api, customers_api, jobs, lifecycle_api, notices
from bot.channels import CHANNELS, FileSource
from bot.delivery import OutboxDelivery
from bot.kb_routes import build_kb_router
from bot.scheduler import Scheduler
from bot.services import build_services
from bot.settings import Settings, load_settings
from bot.slack import SlackDesk
from desk import knowledge, metrics, outbox
from storage.models import OutboxMessage, utcnow

log = structlog.get_logger(__name__)

MAX_BODY = 64 * 1024
GC_YOUNG = 10_000  # allocations between young garbage collections (Python's default: 700)


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, declared or streamed (chunked).

    The body is read here first (it is small by definition) and replayed to the app, so the
    refusal never depends on how the app's body parser treats errors.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, status_code=413)
        await response(scope, receive, send)


class SecurityHeaders:
    """Headers every answer gets, and the ones HTML, CSS and JavaScript answers need besides.

    `nosniff` everywhere; pages and scripts get a referrer policy and a Content-Security-Policy
    that allows only this server's own files (no inline script or style) and lets only the sites
    of `SUPPORTBOT_CORS_ORIGINS` frame them. A route that sets its own header keeps it.
    """

    def __init__(self, app: ASGIApp, *, frame_ancestors: list[str]) -> None:
        self.app = app
        ancestors = " ".join(["'self'", *frame_ancestors])
        self.csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {ancestors}"
        ).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The raw (name, value) pairs, read once: every answer passes here.
                raw = list(message.get("headers", ()))
                names: dict[bytes, bytes] = {}
                for name, value in raw:
                    names.setdefault(bytes(name).lower(), bytes(value))
                if b"x-content-type-options" not in names:
                    raw.append((b"x-content-type-options", b"nosniff"))
                kind = names.get(b"content-type", b"")
                if kind.startswith((b"text/html", b"text/css")) or b"javascript" in kind:
                    if b"referrer-policy" not in names:
                        raw.append((b"referrer-policy", b"strict-origin-when-cross-origin"))
                    if b"content-security-policy" not in names:
                        raw.append((b"content-security-policy", self.csp))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, with_headers)


# The refusals each door may answer, documented in /openapi.json (docs/reference.md section 3).
UNREADABLE: dict[str, Any] = {"description": "The body is not JSON"}
UNAUTHORIZED: dict[str, Any] = {"description": "Missing or wrong `Authorization: Bearer` token"}
NOT_FOUND: dict[str, Any] = {"description": "No such ticket or article"}
TOO_LARGE: dict[str, Any] = {"description": "The body is larger than 64 KiB"}


def create_app(
    settings: Settings | None = None, *, nlu: NluBackend | None = None, now: Callable[[], datetime] = utcnow
) -> Any:
    """Build the ASGI app; `nlu` and `now` let tests pin the model and the clock."""
    settings = settings or load_settings()
    channels = CHANNELS.build(settings)
    slack = SlackDesk(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, nlu=nlu, now=now)

        async def to_customer(row: OutboxMessage) -> None:
            channel = channels.get(row.target.split(":", 1)[0]) if ":" in row.target else None
            if channel is not None:
                # The desk's notices are catalog messages: in words, in the customer's language.
                row.payload = notices.render(row.payload, services.policy)
                await channel.send(row)
            else:
                # No adapter for its channel: noted (without the customer or the text), not sent.
                log.info("customer_notification", outbox_id=row.id, channel=row.target.split(":", 1)[0])

        delivery = OutboxDelivery(
            services.db,
            {outbox.AGENT: slack.send, outbox.CUSTOMER: to_customer},
            horizon=settings.outbox_horizon,
            lease=settings.outbox_lease,
            now=now,
        )
        for channel in channels.values():
            channel.bind(services, delivery)
        files: dict[str, FileSource] = {
            name: c.fetch_file for name, c in channels.items() if c.can_fetch_files
        }
        slack.bind(services, delivery, files=files)
        app.state.services = services
        app.state.delivery = delivery
        scheduler = Scheduler()
        jobs.register(scheduler, services=services, delivery=delivery)
        scheduler.start()
        for channel in channels.values():
            await channel.start()
        log.info(
            "supportbot_started",
            version=__version__,
            database=services.db.engine.dialect.name,
            nlu=settings.nlu_backend,
        )
        # What start-up made (the NLU model, the policy, the libraries: about 200,000 objects)
        # lives as long as the process, yet every full garbage collection walked it again with
        # the event loop stopped: 110-160 ms, once a second under load on PostgreSQL. Frozen,
        # it is left out of collections, which then look only at what was made since.
        gc.collect()
        gc.freeze()
        # A turn makes a few thousand short-lived objects (rows, ORM state, replies); with the
        # default threshold of 700 a young collection ran every few turns and walked them while
        # they were still in use. At GC_YOUNG most of them are gone before one runs.
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_YOUNG, *thresholds[1:])
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()  # collectable again (tests start many apps in one process)
            for channel in reversed(channels.values()):
                await channel.aclose()  # no more messages taken; replies being sent finish
            await scheduler.aclose()  # runs in progress finish before the database closes
            await slack.aclose()  # and so do Slack listeners still working after their ack
            await services.close()

    app = FastAPI(
        title="supportbot",
        version=__version__,
        lifespan=lifespan,
        description="Support desk in chat: web chat, REST API, NLU parse.",
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization"],
        )
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.cors_origins)
    # Channels' plain routes come first, before FastAPI's own (/openapi.json, /docs): they answer
    # every customer message.
    app.router.routes[0:0] = [route for channel in channels.values() for route in channel.routes]
    for channel in channels.values():
        app.include_router(channel.router)
    # Bodies that are not JSON at all are answered 400 by FastAPI itself, before any route.
    app.include_router(api.router, responses={400: UNREADABLE, 401: UNAUTHORIZED, 404: NOT_FOUND})
    app.include_router(lifecycle_api.router, responses={400: UNREADABLE, 401: UNAUTHORIZED, 404: NOT_FOUND})
    app.include_router(api.model_router, responses={400: UNREADABLE, 413: TOO_LARGE})
    app.include_router(customers_api.router, responses={400: UNREADABLE, 401: UNAUTHORIZED, 404: NOT_FOUND})
    app.include_router(slack.router)
    # The same index the chat offers articles from (actions/flows/articles.py): loaded once, at start.
    app.include_router(build_kb_router(knowledge.shared()), responses={404: NOT_FOUND})

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> JSONResponse:
        services = request.app.state.services
        ok = await services.db.ping()
        return JSONResponse(
            {
                "status": "ok" if ok else "unavailable",
                "version": __version__,
                "database": "ok" if ok else "unreachable",
                "nlu": settings.nlu_backend,
            },
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", tags=["ops"])
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request_failed", path=request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    asgi: Any = app
    for channel in channels.values():
        asgi = channel.wrap(asgi)  # socket.io serves its path around the app
    asgi.fastapi = app
    asgi.channels = channels
    return asgi
