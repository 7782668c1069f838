"""Prices as the request path reads them: a snapshot of every enabled price, in memory.

Resolving the price of each call with a query would put a database round trip on every
request for data that changes rarely. The snapshot is reloaded every ``ttl`` seconds, and at
once after a change made through this process (the admin API invalidates it), which bounds
how long a change made elsewhere takes to apply: like the channel snapshot
(``relay.channels``), at most ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import time

from cozegate.billing.price_service import PriceService, pick_price
from cozegate.billing.schemas import PriceSnapshot
from cozegate.db import SessionMaker


class PriceBook:
    def __init__(self, sessionmaker: SessionMaker, *, ttl: float = 5.0,
                 service: PriceService | None = None) -> None:
        self._sessionmaker = sessionmaker
        self._service = service or PriceService()
        self._ttl = ttl
        self._prices: dict[str, PriceSnapshot] = {}
        self._loaded_at = float("-inf")
        self._generation = 0  # bumped by invalidate(): a reload racing it does not count
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")
        self._generation += 1

    async def resolve(self, *targets: str | None) -> PriceSnapshot:
        """Like :meth:`PriceService.resolve` (workflow id, then model name, then ``*``)."""
        if time.monotonic() - self._loaded_at >= self._ttl:
            await self._reload()
        return pick_price(self._prices, *targets)

    async def _reload(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at < self._ttl:
                return  # another request reloaded it while this one waited
            started, generation = time.monotonic(), self._generation
            async with self._sessionmaker() as session:
                self._prices = await self._service.enabled_prices(session)
            if generation == self._generation:  # else a change landed during the read
                self._loaded_at = started
