"""Abuse limits: in memory for one process, in Redis (the real server on 127.0.0.1:6379) for replicas."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from bot.ratelimit import SESSION_LIMITS, Limit, RateLimits
from tests.helpers import need

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _redis_up() -> bool:
    client = aioredis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    finally:
        await client.aclose()


async def test_a_session_within_its_limits_goes_ahead_and_is_stopped_past_them() -> None:
    limits = RateLimits()
    answers = [await limits.session("s-1") for _ in range(10)]
    assert answers == [None] * 10
    wait = await limits.session("s-1")
    assert wait is not None and 1.0 <= wait <= 10.0
    # Another session is counted on its own.
    assert await limits.session("s-2") is None


async def test_limits_off_count_nothing() -> None:
    limits = RateLimits(enabled=False)
    assert [await limits.check((Limit("session", "1/minute"),), "k") for _ in range(5)] == [None] * 5


async def test_replicas_sharing_redis_count_one_customer_once() -> None:
    need(await _redis_up(), "Redis at 127.0.0.1:6379")
    prefix = f"supportbot-limits-test-{uuid.uuid4().hex[:8]}"
    replica_a = RateLimits(redis_url=REDIS_URL, prefix=prefix)
    replica_b = RateLimits(redis_url=REDIS_URL, prefix=prefix)
    try:
        allowed = [await (replica_a if n % 2 else replica_b).session("shared") for n in range(10)]
        assert allowed == [None] * 10
        assert await replica_a.session("shared") is not None
        assert await replica_b.session("shared") is not None
        assert await replica_b.session("someone-else") is None
    finally:
        await replica_a.reset()


@pytest.mark.parametrize("limit", SESSION_LIMITS)
def test_the_shipped_rates_parse(limit: Limit) -> None:
    assert limit.item.amount >= 10


async def test_an_unreachable_redis_serves_customers_without_limits() -> None:
    # Nothing listens on port 9 of loopback: the limits fail open, never refuse or crash a door.
    limits = RateLimits(redis_url="redis://127.0.0.1:9/0", prefix="supportbot-limits-down")
    assert [await limits.check((Limit("session", "1/minute"),), "k") for _ in range(3)] == [None] * 3


async def test_new_sessions_per_address_are_counted() -> None:
    limits = RateLimits()
    assert [await limits.new_session("203.0.113.7") for _ in range(30)] == [None] * 30
    assert await limits.new_session("203.0.113.7") is not None
    assert await limits.new_session("198.51.100.1") is None
