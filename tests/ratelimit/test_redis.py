"""The Redis limiter: atomic, and one counter shared by every limiter instance."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from cozegate.ratelimit.redis_limiter import RedisRateLimiter

pytestmark = pytest.mark.redis


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    # Two instances = two processes; a random prefix isolates repeated and parallel runs.
    prefix = f"cozegate-test:{secrets.token_hex(4)}:"
    first = RedisRateLimiter.from_url(redis_url, prefix=prefix)
    second = RedisRateLimiter.from_url(redis_url, prefix=prefix)
    yield first, second
    for key in ("k", "concurrent", "window"):
        await first.reset(key)
    await first.aclose()
    await second.aclose()


async def test_two_instances_share_one_counter(limiters) -> None:
    first, second = limiters
    assert (await first.hit("k", 3)).remaining == 2
    assert (await second.hit("k", 3)).remaining == 1
    assert (await first.hit("k", 3)).allowed
    refused = await second.hit("k", 3)
    assert not refused.allowed and 0 < refused.retry_after <= 60


async def test_concurrent_hits_admit_exactly_the_limit(limiters) -> None:
    first, second = limiters
    results = await asyncio.gather(
        *(limiter.hit("concurrent", 10) for limiter in (first, second) for _ in range(25))
    )
    assert sum(r.allowed for r in results) == 10


async def test_window_slides(limiters) -> None:
    first, _ = limiters
    assert (await first.hit("window", 1, window=0.2)).allowed
    assert not (await first.hit("window", 1, window=0.2)).allowed
    await asyncio.sleep(0.25)
    assert (await first.hit("window", 1, window=0.2)).allowed
