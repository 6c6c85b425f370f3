"""Which web chat sessions have an open socket: in this process, or (with Redis) on any replica.

A notice for a customer is pushed only when their session has an open socket somewhere;
otherwise it waits in the outbox until they come back (`session_request`). With one process
the socket.io server's own rooms answer that. With `REDIS_URL` each replica also writes its
sockets to Redis: one sorted set per session, `<prefix>:webchat:presence:<session id>`, whose
members are `<replica>:<socket id>` scored by when they expire. A replica refreshes its own
members every `TTL / 3` seconds and removes them on disconnect, so a replica that dies stops
counting within `TTL` seconds (its customers reconnect to another one and get what waited).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Protocol

import redis.asyncio as redis
import socketio
import structlog

log = structlog.get_logger(__name__)

TTL = 30  # seconds a replica's word that a socket is open stays good without a refresh


class Presence(Protocol):
    async def joined(self, sid: str, session_id: str) -> None:
        """Socket `sid` now speaks for `session_id` (it asked for that session)."""

    async def left(self, sid: str) -> None:
        """Socket `sid` disconnected."""

    async def connected(self, session_id: str) -> bool:
        """Whether `session_id` has an open socket that an emit to its room reaches."""

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class LocalPresence:
    """One process: the socket.io server's rooms are the whole truth."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def joined(self, sid: str, session_id: str) -> None:
        return None

    async def left(self, sid: str) -> None:
        return None

    async def connected(self, session_id: str) -> bool:
        return any(True for _ in self.sio.manager.get_participants("/", session_id))

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisPresence:
    """Several replicas: this process's sockets, and every replica's, in Redis."""

    def __init__(self, sio: socketio.AsyncServer, url: str, prefix: str) -> None:
        self.local = LocalPresence(sio)
        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self.replica = uuid.uuid4().hex[:12]
        self.sessions: dict[str, str] = {}  # socket id -> session id, of this process's sockets
        self._refresher: asyncio.Task[None] | None = None

    def key(self, session_id: str) -> str:
        return f"{self.prefix}:webchat:presence:{session_id}"

    def _member(self, sid: str) -> str:
        return f"{self.replica}:{sid}"

    async def joined(self, sid: str, session_id: str) -> None:
        previous = self.sessions.get(sid)
        self.sessions[sid] = session_id
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if previous is not None and previous != session_id:
                    pipe.zrem(self.key(previous), self._member(sid))
                self._mark(pipe, sid, session_id)
                await pipe.execute()
        except redis.RedisError as exc:  # local pushes still work; others retry until it is back
            log.warning("webchat_presence_failed", error=str(exc))

    async def left(self, sid: str) -> None:
        session_id = self.sessions.pop(sid, None)
        if session_id is None:
            return
        try:
            await self.redis.zrem(self.key(session_id), self._member(sid))
        except redis.RedisError as exc:  # the member expires by itself
            log.warning("webchat_presence_failed", error=str(exc))

    async def connected(self, session_id: str) -> bool:
        if await self.local.connected(session_id):
            return True
        # A Redis error propagates: the outbox retries the row rather than think them away.
        return bool(await self.redis.zcount(self.key(session_id), time.time(), "+inf"))

    def _mark(self, pipe: redis.client.Pipeline, sid: str, session_id: str) -> None:
        key = self.key(session_id)
        now = time.time()
        pipe.zadd(key, {self._member(sid): now + TTL})
        pipe.zremrangebyscore(key, "-inf", now)  # members of replicas that died
        pipe.expire(key, TTL)

    async def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh(), name="webchat-presence")

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(TTL / 3)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for sid, session_id in list(self.sessions.items()):
                        self._mark(pipe, sid, session_id)
                    await pipe.execute()
            except redis.RedisError as exc:
                log.warning("webchat_presence_failed", error=str(exc))

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        try:
            # This replica's sockets are closing: other replicas must not push to them.
            async with self.redis.pipeline(transaction=False) as pipe:
                for sid, session_id in self.sessions.items():
                    pipe.zrem(self.key(session_id), self._member(sid))
                await pipe.execute()
        except redis.RedisError as exc:
            log.warning("webchat_presence_failed", error=str(exc))
        await self.redis.aclose()
