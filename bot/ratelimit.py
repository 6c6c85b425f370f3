"""Abuse limits on the customer doors, from the `limits` library.

Each customer door asks `RateLimits.check(...)` with the keys of who is knocking (the web chat
session, the client's address); the answer is None (go ahead) or the seconds to wait. Counters live
in memory, or in Redis when `REDIS_URL` is set, so that every replica counts the same customer
once. `SUPPORTBOT_RATE_LIMITS=off` turns them off (load benchmarks, scripted test customers).

The defaults leave a person typing, or pressing buttons quickly, far below them: a session may send
10 messages in 10 seconds and 60 a minute; one address (an office behind one public IP may hold
many customers) 600 a minute, and may start 30 new sessions an hour (a script that takes a fresh
session for every message cannot get round the per-session limits, nor the daily ticket limit,
which counts per customer, that is per session).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Limit:
    """One rule: at most `rate` (e.g. "10/10 seconds") per key of `scope`."""

    scope: str
    rate: str

    @cached_property
    def item(self) -> RateLimitItem:
        return parse(self.rate)


SESSION_LIMITS = (Limit("session", "10/10 seconds"), Limit("session", "60/minute"))
ADDRESS_LIMITS = (Limit("address", "600/minute"),)
NEW_SESSION_LIMITS = (Limit("new_session", "30/hour"),)


class RateLimits:
    """Counts knocks per key; `check` says how long to wait once a limit is used up."""

    def __init__(
        self, *, enabled: bool = True, redis_url: str | None = None, prefix: str = "supportbot-limits"
    ) -> None:
        self.enabled = enabled
        storage: Storage
        if redis_url:
            # redis-py's asyncio client, the same library python-socketio's Redis manager uses.
            storage = RedisStorage("async+" + redis_url, implementation="redispy", key_prefix=prefix)
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def check(self, limits: tuple[Limit, ...], key: str) -> float | None:
        """Count one knock by `key`; None when it is within every limit, else seconds to wait."""
        if not self.enabled:
            return None
        try:
            for limit in limits:
                item = limit.item
                if not await self.limiter.hit(item, limit.scope, key):
                    stats = await self.limiter.get_window_stats(item, limit.scope, key)
                    return max(1.0, stats.reset_time - time.time())
        except Exception as exc:
            # Redis away: customers are served without limits rather than refused (or a 500).
            log.warning("rate_limits_unavailable", error=type(exc).__name__)
        return None

    async def session(self, session_id: str) -> float | None:
        return await self.check(SESSION_LIMITS, session_id)

    async def address(self, address: str | None) -> float | None:
        return await self.check(ADDRESS_LIMITS, address or "unknown")

    async def new_session(self, address: str | None) -> float | None:
        return await self.check(NEW_SESSION_LIMITS, address or "unknown")

    async def reset(self) -> None:
        await self.storage.reset()
