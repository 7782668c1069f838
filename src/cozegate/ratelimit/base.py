"""The rate limiter interface shared by the in-memory and Redis implementations.

Semantics: a sliding window log. ``hit(key, limit, window)`` admits the call when fewer
than ``limit`` calls were admitted under ``key`` in the last ``window`` seconds, and then
counts it; refused calls are not counted (a client hammering a closed window does not
extend its own ban).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MINUTE = 60.0


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int  # calls left in the current window after this one
    retry_after: float  # seconds until a slot frees up; 0 when allowed


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: float = MINUTE) -> RateLimitResult: ...

    async def reset(self, key: str) -> None: ...

    async def aclose(self) -> None: ...
