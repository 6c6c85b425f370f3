"""Telegram's flood limits, kept on our side: about 30 messages a second in all, about one a
second per chat (a short burst, such as the two or three replies of one turn, is fine).

Each send reserves the next free slot before it sleeps, so concurrent senders (a broadcast and a
conversation's replies) interleave fairly instead of waking together. A 429 from Telegram pauses
every send for its `retry_after`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PER_SECOND = 30.0
CHAT_INTERVAL = 1.0
CHAT_BURST = 3
_PRUNE_AT = 10_000  # chats remembered before the idle ones are forgotten


class Throttle:
    def __init__(
        self,
        *,
        per_second: float = PER_SECOND,
        chat_interval: float = CHAT_INTERVAL,
        chat_burst: int = CHAT_BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spacing = 1.0 / per_second
        self.chat_interval = chat_interval
        self.chat_burst = chat_burst
        self.clock = clock
        self.sleep = sleep
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chats: dict[str, tuple[float, float]] = {}  # chat → (tokens, at)

    def reserve(self, chat: str) -> float:
        """Book the next slot for `chat`; returns how long to wait for it."""
        now = self.clock()
        start = max(now, self._paused_until, self._next_slot)
        tokens, at = self._chats.get(chat, (float(self.chat_burst), start))
        tokens = min(float(self.chat_burst), tokens + max(0.0, start - at) / self.chat_interval)
        if tokens < 1.0:
            start += (1.0 - tokens) * self.chat_interval
            tokens = 1.0
        self._chats[chat] = (tokens - 1.0, start)
        self._next_slot = start + self.spacing
        if len(self._chats) > _PRUNE_AT:
            self._prune(now)
        return start - now

    async def wait(self, chat: str) -> None:
        delay = self.reserve(chat)
        if delay > 0:
            await self.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes out before `seconds` from now."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _prune(self, now: float) -> None:
        full_after = self.chat_burst * self.chat_interval
        self._chats = {c: v for c, v in self._chats.items() if now - v[1] < full_after}
