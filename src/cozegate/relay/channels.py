"""The relay's view of channels: a short-lived in-memory snapshot of the enabled ones.

Reading and decrypting channels on every request would put a query and a decryption
on the hot path; the snapshot is refreshed every ``ttl`` seconds (and at once when the admin
API changes a channel), which bounds how long a change takes to reach every process.
A success is written back only when it ends a failure streak, so the common case costs no
write at all.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from cozegate.channels.repository import ChannelRepository
from cozegate.channels.selection import order_candidates, serves
from cozegate.channels.service import ChannelService
from cozegate.db import SessionMaker
from cozegate.models import Channel
from cozegate.relay.upstreams import ChannelAccess

log = logging.getLogger("cozegate.channels")


class ChannelDirectory:
    def __init__(self, sessionmaker: SessionMaker, service: ChannelService, *,
                 ttl: float = 5.0, rng: random.Random | None = None) -> None:
        self._sessionmaker = sessionmaker
        self._service = service
        self._ttl = ttl
        self._rng = rng or random.Random()
        self._snapshot: list[ChannelAccess] = []
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def candidates(self, workflow_id: str, model: str) -> list[ChannelAccess]:
        channels = await self._enabled()
        return order_candidates([c for c in channels if serves(c, (workflow_id, model))],
                                self._rng)

    async def record_success(self, channel: ChannelAccess) -> None:
        if channel.consecutive_failures == 0:
            return
        async with self._sessionmaker.begin() as session:
            await self._service.record_success(session, channel.id)
        self.invalidate()

    async def record_failure(self, channel: ChannelAccess, error: str) -> None:
        try:
            async with self._sessionmaker.begin() as session:
                await self._service.record_failure(session, channel.id, error)
        except Exception:  # bookkeeping must not hide the upstream error from the caller
            log.exception("could not record a failure of channel %s", channel.name)
        self.invalidate()

    async def _enabled(self) -> list[ChannelAccess]:
        if time.monotonic() - self._loaded_at < self._ttl:
            return self._snapshot
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self._ttl:
                async with self._sessionmaker() as session:
                    rows = await ChannelRepository(session).list_enabled()
                    self._snapshot = [self.access(row) for row in rows]
                self._loaded_at = time.monotonic()
        return self._snapshot

    def access(self, channel: Channel) -> ChannelAccess:
        """What the upstream pool needs to call ``channel`` (secrets decrypted)."""
        credentials = self._service.credentials(channel)
        return ChannelAccess(
            id=channel.id, name=channel.name, base_url=channel.base_url,
            auth_type=channel.auth_type, api_token=credentials.token,
            oauth_jwt=credentials.oauth_jwt, version=channel.updated_at,
            priority=channel.priority, weight=channel.weight,
            targets=list(channel.targets) if channel.targets else None,
            consecutive_failures=channel.consecutive_failures,
        )
