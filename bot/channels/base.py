"""What a customer channel is to the rest of supportbot, and the registry that lists them.

A channel adapter only translates: its platform's messages in, one `Incoming` to the
conversation engine; `Reply` objects and outbox rows back out to the platform. Everything that
differs between channels and that other parts must know (the API's channel filter, the label on
the agents' ticket cards, who hears about maintenance) is read from the registry, so that adding
a channel is its own module plus one `register` call (docs/channels.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from fastapi import APIRouter
from starlette.routing import BaseRoute

from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.delivery import OutboxDelivery
    from bot.services import Services
    from bot.settings import Settings

NAME_MAX = 16  # the `channel` columns are String(16)

# Fetches a file a customer sent, by the platform's file id (Telegram's getFile).
FileSource = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True)
class ChannelInfo:
    """What the rest of supportbot knows about a channel without running it."""

    name: str  # the `channel` of conversations, customers, tickets and `name:sender` outbox targets
    label: str  # how agents see it on ticket cards
    lasting: bool  # a chat that lasts (Telegram) rather than sessions that come and go (web chat)
    build: Callable[[Settings], Channel] | None = None  # None: no adapter in the app (the terminal chat)


@runtime_checkable
class Channel(Protocol):
    """A channel adapter, made by `ChannelInfo.build(settings)` when the app is created."""

    info: ChannelInfo
    router: APIRouter  # its HTTP routes (webhooks, widget files); may be empty
    # Plain Starlette routes the app serves ahead of every router, for a path every customer
    # message takes: no FastAPI dependency solving or nested routing (docs/channels.md). Each
    # is described in /openapi.json by a route of `router` with the same path and endpoint.
    routes: list[BaseRoute]

    def bind(self, services: Services, delivery: OutboxDelivery) -> None:
        """Called once the app has started: what it needs to handle messages and send replies."""

    async def start(self) -> None:
        """Begin taking messages (a polling loop, a webhook registration); never blocks the app."""

    async def aclose(self) -> None:
        """Stop taking messages and let replies being sent finish; before the database closes."""

    async def send(self, row: OutboxMessage) -> None:
        """The outbox sender for customer rows of `name:sender` targets: a reply or a notice.

        Raises `NotReady` (the customer is away: later), `RetryAfter` (the platform asked to
        wait) or `Undeliverable` (refused for good); any other error is retried with backoff.
        """

    @property
    def can_fetch_files(self) -> bool:
        """Whether customers' files can be fetched (`fetch_file`) for the agents' desk."""

    async def fetch_file(self, file_id: str) -> bytes:
        """A file the customer sent, by the platform's id; LookupError when it cannot be had."""

    def wrap(self, app: Any) -> Any:
        """The ASGI app with this channel around it (socket.io serves its own path), or `app`."""


class BaseChannel:
    """Defaults for the parts of `Channel` a simple adapter has nothing to do for."""

    info: ChannelInfo

    def __init__(self) -> None:
        self.router = APIRouter()
        self.routes: list[BaseRoute] = []
        self.services: Services | None = None
        self.delivery: OutboxDelivery | None = None

    def bind(self, services: Services, delivery: OutboxDelivery) -> None:
        self.services = services
        self.delivery = delivery

    @property
    def bound(self) -> Services:
        """The services; RuntimeError before `bind` (a message arriving while the app starts)."""
        if self.services is None:
            raise RuntimeError(f"the {self.info.name} channel is not bound to the services yet")
        return self.services

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    @property
    def can_fetch_files(self) -> bool:
        return False

    async def fetch_file(self, file_id: str) -> bytes:
        raise LookupError(f"{self.info.name} does not keep customers' files")

    def wrap(self, app: Any) -> Any:
        return app


class Registry:
    """The channels supportbot knows, in registration order."""

    def __init__(self) -> None:
        self._channels: dict[str, ChannelInfo] = {}

    def register(self, info: ChannelInfo) -> ChannelInfo:
        if info.name in self._channels:
            raise ValueError(f"channel {info.name!r} is registered twice")
        if not info.name.isidentifier() or len(info.name) > NAME_MAX:
            raise ValueError(f"channel name {info.name!r}: up to {NAME_MAX} letters, digits and _")
        self._channels[info.name] = info
        return info

    def __iter__(self) -> Iterator[ChannelInfo]:
        return iter(self._channels.values())

    def __contains__(self, name: object) -> bool:
        return name in self._channels

    def names(self) -> tuple[str, ...]:
        return tuple(self._channels)

    def label(self, name: str) -> str | None:
        info = self._channels.get(name)
        return info.label if info is not None else None

    def lasting(self) -> tuple[str, ...]:
        """Channels whose chats last: their customers hear announcements until they opt out."""
        return tuple(info.name for info in self if info.lasting)

    def build(self, settings: Settings) -> dict[str, Channel]:
        """The app's adapters, by name (channels without one are left out)."""
        return {info.name: info.build(settings) for info in self if info.build is not None}
