"""Per-key, per-API-class request limits (requests per minute).

API classes and their default limits come from ``settings.rate_limits`` (seed 001:
workflow runs 30/min, chat flows 60/min, info calls 100/min). A key may override them:
``rate_limits`` per class first, then its key-wide ``rpm_limit``, then the default. A class
with no limit anywhere is unlimited.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from cozegate.config import Settings
from cozegate.errors import CozegateError
from cozegate.keys.schemas import KeyRecord
from cozegate.ratelimit.base import MINUTE, RateLimiter, RateLimitResult
from cozegate.ratelimit.memory_limiter import InMemoryRateLimiter


class RateLimited(CozegateError):
    status_code = 429
    code = "rate_limited"


def create_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis (shared between processes) when ``settings.redis_url`` is set, else in-memory."""
    if settings.redis_url:
        # Imported only when configured: the redis client is ~6 MiB that a gateway without
        # Redis would carry for its whole life.
        from cozegate.ratelimit.redis_limiter import RedisRateLimiter

        return RedisRateLimiter.from_url(settings.redis_url, prefix=f"{settings.redis_prefix}rl:")
    return InMemoryRateLimiter()


class RateLimitService:
    def __init__(self, limiter: RateLimiter, defaults: Mapping[str, int] | None = None) -> None:
        self.limiter = limiter
        self.defaults = dict(defaults or {})

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimitService:
        return cls(create_rate_limiter(settings), settings.rate_limits)

    async def check(self, key: KeyRecord, api_class: str) -> RateLimitResult | None:
        """Count one request; RateLimited when over. None when the class is unlimited."""
        limit = key.rpm_for(api_class, self.defaults.get(api_class))
        if limit is None:
            return None
        result = await self.limiter.hit(f"{key.id}:{api_class}", limit, MINUTE)
        if not result.allowed:
            retry_after = max(math.ceil(result.retry_after), 1)
            raise RateLimited(
                f"rate limit of {limit} {api_class} requests per minute reached; "
                f"retry in {retry_after} s",
                details={"limit": limit, "api_class": api_class, "retry_after": retry_after},
            )
        return result
