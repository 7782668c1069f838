"""``BackgroundLoop``: one task running a duty every ``interval`` seconds, stopped gently.

Stopping lets a round in progress finish (within ``grace`` seconds) instead of cancelling
it. A cancel that lands inside a database transaction can leave that connection holding
SQLite's write lock, so every other writer of the process — the shutdown's own last writes
included — waits out ``busy_timeout`` and fails with "database is locked". Only a round
that overruns the grace is cancelled.

``first_delay`` postpones the first round (housekeeping that need not compete with startup);
:meth:`BackgroundLoop.wake` still runs it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

DEFAULT_GRACE = 10.0


class BackgroundLoop:
    def __init__(self, name: str, duty: Callable[[], Awaitable[object]], interval: float, *,
                 log: logging.Logger, grace: float = DEFAULT_GRACE,
                 first_delay: float = 0.0) -> None:
        self.name = name
        self._first_delay = first_delay
        self._duty = duty
        self._interval = interval
        self._log = log
        self._grace = grace
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Run the next round now instead of at the end of the interval."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=self._grace)
        if not done:
            self._log.warning("%s: a round overran the %.0f s shutdown grace; cancelled",
                              self.name, self._grace)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        if self._first_delay > 0:
            await self._pause(self._first_delay)
        while not self._stopping:
            try:
                await self._duty()
            except Exception:
                self._log.exception("%s failed; retrying next interval", self.name)
            if self._stopping:
                return
            await self._pause(self._interval)

    async def _pause(self, seconds: float) -> None:
        """``seconds``, or less when woken (or stopped)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
