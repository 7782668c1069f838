"""The reservation reaper: refunds reservations that nobody will settle any more.

A process that dies between reserve and settle (or with settlements still queued in its
billing writer) leaves reservations open, holding the user's money. Every ``interval``
seconds each process refunds, through its billing writer, the open reservations older than
``older_than`` that it is not itself still working on. ``older_than`` must exceed the
longest call a live process may still settle (a task runs up to its deadline); a refund
claims the reservation like a settlement, so a late settle of a reaped request changes
nothing, and reapers of several processes never refund one reservation twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from cozegate.billing.booking import Close
from cozegate.billing.repository import BalanceRepository
from cozegate.billing.schemas import SettleResult
from cozegate.billing.service import REAPED
from cozegate.billing.writer import BillingWriter
from cozegate.db import SessionMaker
from cozegate.kit.loops import BackgroundLoop
from cozegate.models.base import utcnow
from cozegate.models.reservation import REFUNDED

log = logging.getLogger("cozegate.billing")

REAP_BATCH = 500  # reservations refunded per round at most


class ReservationReaper:
    def __init__(self, sessionmaker: SessionMaker, writer: BillingWriter, *,
                 older_than: timedelta, interval: float,
                 busy: Callable[[], Collection[str]] = frozenset,
                 clock: Callable[[], datetime] = utcnow, first_delay: float = 0.0) -> None:
        """``busy``: request ids this process is still working on (never reaped);
        ``first_delay``: seconds from :meth:`start` to the first round."""
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._older_than = older_than
        self._busy = busy
        self._clock = clock
        self._loop = BackgroundLoop("reservation-reaper", self.reap_once, interval, log=log,
                                    first_delay=first_delay)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def reap_once(self) -> list[SettleResult]:
        """Refund what is stale now; the refunds this call made (not those found done)."""
        cutoff = self._clock() - self._older_than
        async with self._sessionmaker() as session:
            stale = await BalanceRepository(session).list_open_reservations(
                cutoff, limit=REAP_BATCH)
        busy = self._busy()
        ids = [r.request_id for r in stale if r.request_id not in busy]
        futures = [self._writer.submit(Close(request_id=request_id, cost=0, status=REFUNDED,
                                             reason=REAPED)) for request_id in ids]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        refunded = [o for o in outcomes if isinstance(o, SettleResult) and not o.already_finished]
        for request_id, outcome in zip(ids, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error("could not refund stale reservation %s: %s", request_id, outcome)
        if refunded:
            log.warning("refunded %d reservations never settled (older than %s): %s",
                        len(refunded), self._older_than,
                        ", ".join(r.request_id for r in refunded[:20]))
        return refunded
