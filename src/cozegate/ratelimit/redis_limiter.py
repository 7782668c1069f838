"""Rate limits shared by every process: a sorted set per key, updated by one Lua script.

The script runs atomically inside Redis (no interleaving between processes), takes the
time from Redis itself (``TIME``, so process clocks do not matter) and sets an expiry so
idle keys disappear. Needs Redis ≥ 5 (effects replication of scripts calling TIME).
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from cozegate.ratelimit.base import MINUTE, RateLimitResult

# KEYS[1] = the window's sorted set; ARGV = limit, window in ms, a unique member suffix.
# Returns {admitted 0/1, remaining, retry_after_ms}.
SLIDING_WINDOW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local retry = window
  if oldest[2] then retry = tonumber(oldest[2]) + window - now end
  return {0, 0, retry}
end
redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, limit - count - 1, 0}
"""


class RedisRateLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "cozegate:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(SLIDING_WINDOW)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "cozegate:rl:") -> RedisRateLimiter:
        return cls(Redis.from_url(url), prefix=prefix)

    async def hit(self, key: str, limit: int, window: float = MINUTE) -> RateLimitResult:
        admitted, remaining, retry_ms = await self._script(
            keys=[self._prefix + key],
            args=[limit, max(int(window * 1000), 1), uuid.uuid4().hex],
        )
        return RateLimitResult(
            allowed=bool(admitted),
            limit=limit,
            remaining=int(remaining),
            retry_after=max(int(retry_ms), 0) / 1000,
        )

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def aclose(self) -> None:
        await self._redis.aclose()
