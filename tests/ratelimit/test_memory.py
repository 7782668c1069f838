"""In-memory sliding window, with a fake clock, and the per-key service on top."""

from __future__ import annotations

import asyncio

import pytest

from cozegate.config import Settings
from cozegate.keys.schemas import KeyRecord
from cozegate.ratelimit.memory_limiter import InMemoryRateLimiter
from cozegate.ratelimit.redis_limiter import RedisRateLimiter
from cozegate.ratelimit.service import RateLimited, RateLimitService, create_rate_limiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key_record(key_id: int = 1, **fields) -> KeyRecord:
    values = dict(
        id=key_id,
        user_id=1,
        name="k",
        key_hash="h",
        enabled=True,
        expires_at=None,
        quota_remaining=None,
        allowed_models=None,
        allowed_networks=(),
        rpm_limit=None,
    )
    values.update(fields)
    return KeyRecord(**values)


async def test_sliding_window() -> None:
    clock = Clock()
    limiter = InMemoryRateLimiter(clock=clock)
    results = [await limiter.hit("k", 3) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    assert results[3].retry_after == pytest.approx(60.0)
    clock.now += 30
    assert not (await limiter.hit("k", 3)).allowed
    clock.now += 30.001  # the first three leave the window
    assert (await limiter.hit("k", 3)).allowed
    assert (await limiter.hit("other", 3)).remaining == 2  # keys are independent
    await limiter.reset("k")
    assert (await limiter.hit("k", 1)).allowed


async def test_concurrent_hits_admit_exactly_the_limit() -> None:
    limiter = InMemoryRateLimiter()
    results = await asyncio.gather(*(limiter.hit("k", 10) for _ in range(50)))
    assert sum(r.allowed for r in results) == 10


async def test_service_limits_per_key_and_class() -> None:
    service = RateLimitService(InMemoryRateLimiter(clock=Clock()), {"workflow": 2, "info": 5})
    key = key_record()
    await service.check(key, "workflow")
    await service.check(key, "workflow")
    with pytest.raises(RateLimited) as caught:
        await service.check(key, "workflow")
    assert (caught.value.status_code, caught.value.code) == (429, "rate_limited")
    assert caught.value.details["retry_after"] == 60
    await service.check(key, "info")  # another class has its own counter
    await service.check(key_record(2), "workflow")  # another key too
    assert await service.check(key, "unlisted") is None  # no limit anywhere: unlimited


async def test_key_overrides() -> None:
    service = RateLimitService(InMemoryRateLimiter(), {"workflow": 30, "chat": 60})
    key = key_record(rpm_limit=1, rate_limits={"chat": 3})
    await service.check(key, "workflow")
    with pytest.raises(RateLimited):
        await service.check(key, "workflow")  # key-wide rpm_limit=1 beats the default 30
    for _ in range(3):
        await service.check(key, "chat")  # per-class override beats rpm_limit
    with pytest.raises(RateLimited):
        await service.check(key, "chat")


async def test_factory_picks_backend() -> None:
    assert isinstance(create_rate_limiter(Settings()), InMemoryRateLimiter)
    limiter = create_rate_limiter(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(limiter, RedisRateLimiter)
    await limiter.aclose()
