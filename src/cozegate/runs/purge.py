"""The retention purge: a background loop deleting ended runs older than the retention.

Every process runs one; the DELETE is idempotent, so several processes purging at once
only repeat each other's work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from cozegate.db import SessionMaker
from cozegate.kit.loops import BackgroundLoop
from cozegate.runs.service import RunService

log = logging.getLogger("cozegate.runs")

ExtraPurge = Callable[[SessionMaker, int], Awaitable[int]]


class RunPurger:
    def __init__(self, sessionmaker: SessionMaker, *, retention_days: int, interval: float,
                 service: RunService | None = None, first_delay: float = 0.0) -> None:
        """``first_delay``: seconds from :meth:`start` to the first round."""
        self._sessionmaker = sessionmaker
        self._retention_days = retention_days
        self._service = service or RunService()
        self._loop = BackgroundLoop("run-purge", self._purge_and_log, interval, log=log,
                                    first_delay=first_delay)
        # Other stores with the same retention (tasks and their events) join the sweep.
        self._extra: list[ExtraPurge] = []

    def also(self, purge: ExtraPurge) -> None:
        self._extra.append(purge)

    def start(self) -> None:
        if self._retention_days > 0:
            self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def purge_once(self) -> int:
        async with self._sessionmaker.begin() as session:
            deleted = await self._service.purge(session, self._retention_days)
        for purge in self._extra:
            deleted += await purge(self._sessionmaker, self._retention_days)
        return deleted

    async def _purge_and_log(self) -> None:
        if deleted := await self.purge_once():
            log.info("retention: deleted %d records older than %d days", deleted,
                     self._retention_days)
