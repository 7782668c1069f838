"""Rate limits for one process: a deque of admission times per key.

No awaits inside :meth:`hit`, so it is atomic on the event loop without a lock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cozegate.ratelimit.base import MINUTE, RateLimitResult


class InMemoryRateLimiter:
    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    async def hit(self, key: str, limit: int, window: float = MINUTE) -> RateLimitResult:
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._prune(now, window)
            hits = self._hits[key] = deque()
        cutoff = now - window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if len(hits) >= limit:
            retry_after = hits[0] + window - now if hits else window
            return RateLimitResult(False, limit, 0, max(retry_after, 0.0))
        hits.append(now)
        return RateLimitResult(True, limit, limit - len(hits), 0.0)

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    async def aclose(self) -> None:
        self._hits.clear()

    def _prune(self, now: float, window: float) -> None:
        # Forget keys idle for a whole window: their deques would be emptied anyway.
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - window]
        for key in idle:
            del self._hits[key]
