"""Reserve before the call, settle or refund after, log the usage: exactly once per request.

Charging rules (documented in the README, "Billing"):

* **success / interrupted**: the price applied to Coze's reported usage (a fixed price is
  charged whatever the usage). An interrupted run did real work up to its question node, so
  it is charged like a finished one.
* **usage missing** on a token-priced call (Coze reported none): usage is *estimated* from
  the request and output text (:func:`estimate_tokens`), charged, and the usage row says
  ``usage_estimated``.
* **upstream error** (Coze refused or the run failed): the reservation is refunded; the
  usage row keeps the error.
* **client disconnect**: what Coze reported before the disconnect is charged (a fixed price
  in full, since the run reached Coze); with no usage reported, the reservation is refunded
  and the row says why.

Holds and settlements go through the process's billing writer (``billing.writer``), which
books the requests of many calls per transaction and answers each once its transaction
committed; on SQLite a hold the balance plainly covers is granted in memory instead and
booked with the next batch. ``finish`` is queued before its first await and shielded, so
a client that goes away mid-stream cannot leave a reservation open; a reservation left
open by a crash is refunded by the reaper (``billing.reaper``). A settlement claims its
reservation first, so a second settle of the same request is a no-op and a retry after a
crash cannot charge twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from cozegate.billing.booking import Close, Hold
from cozegate.billing.price_book import PriceBook
from cozegate.billing.pricing import estimate_tokens as upper_bound_tokens
from cozegate.billing.pricing import reservation_amount
from cozegate.billing.schemas import PriceSnapshot
from cozegate.billing.writer import DEFER_WITHIN, BillingWriter, Booked, WriterClosed
from cozegate.keys.schemas import KeyRecord
from cozegate.models.reservation import REFUNDED, SETTLED

log = logging.getLogger("cozegate.billing")

Status = Literal["success", "interrupted", "error", "cancelled"]


@dataclass
class Call:
    """One metered request, filled in as it goes; becomes the usage log row."""

    request_id: str
    key: KeyRecord
    model: str
    workflow_id: str
    price: PriceSnapshot
    stream: bool
    surface: str
    client_ip: str | None = None
    channel_id: int | None = None
    channel_name: str | None = None
    input_text: str = ""
    reserved: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_byte: float | None = None

    def mark_first_byte(self) -> None:
        if self.first_byte is None:
            self.first_byte = time.perf_counter()


@dataclass(frozen=True)
class Outcome:
    status: Status
    input_tokens: int | None = None  # None: Coze reported no usage
    output_tokens: int | None = None
    output_text: str = ""
    error: str | None = None
    http_status: int | None = None
    execute_id: str | None = None
    logid: str | None = None
    debug_url: str | None = None


def estimate_tokens(text: str) -> int:
    """A billing estimate when Coze reports no usage: one token per CJK character, one per
    four other characters (what common tokenizers average), rounded up."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in ("W", "F"))
    return wide + math.ceil((len(text) - wide) / 4)


class Metering:
    def __init__(self, writer: BillingWriter, prices: PriceBook, *,
                 max_output_tokens: int) -> None:
        self._writer = writer
        self._prices = prices
        self._max_output_tokens = max_output_tokens
        self._finishing: set[asyncio.Future[Booked]] = set()
        self._open: set[str] = set()

    @property
    def open_requests(self) -> frozenset[str]:
        """Request ids reserved here and not yet settled (the reaper leaves them alone)."""
        return frozenset(self._open)

    async def price_for(self, model: str, workflow_id: str) -> PriceSnapshot:
        """The most specific enabled price: workflow id, then model name, then ``*``."""
        return await self._prices.resolve(workflow_id, model)

    async def reserve(self, call: Call, *, max_tokens: int | None = None,
                      grant: bool = False) -> None:
        """Hold the worst case; returns once the hold is committed (or raises the refusal).

        ``grant``: return at once if the writer can grant the hold in memory (its booking
        follows within ``DEFER_WITHIN``): for calls whose settlement goes through this
        writer, after the hold, like every relayed call. Not for a task, whose row and
        reservation other processes may read right after the submit."""
        cap = self._max_output_tokens
        if max_tokens:
            cap = min(cap, max_tokens)
        amount = reservation_amount(call.price, call.key.group_ratio_ppm,
                                    input_tokens=upper_bound_tokens(call.input_text),
                                    max_output_tokens=cap)
        hold = Hold(request_id=call.request_id, user_id=call.key.user_id, amount=amount,
                    api_key_id=call.key.id, target=call.workflow_id)
        if grant and self._writer.grant(hold) is not None:
            call.reserved = amount
            self._open.add(call.request_id)
            return
        future = self._writer.submit(hold)
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            # The caller is gone and will never settle: give back the hold if it was made.
            future.add_done_callback(functools.partial(self._release, call.request_id))
            raise
        call.reserved = amount
        self._open.add(call.request_id)

    async def finish(self, call: Call, outcome: Outcome) -> None:
        """Settle or refund, shielded: a cancelled caller does not cancel the bookkeeping,
        which is queued before the first await. Returns once it is committed."""
        future = self.queue_finish(call, outcome)
        if future is not None:
            with contextlib.suppress(Exception):  # logged by _settled
                await asyncio.shield(future)

    def queue_finish(self, call: Call, outcome: Outcome, *,
                     deferred: bool = False) -> asyncio.Future[Booked] | None:
        """:meth:`finish` queued now, without waiting: the future answers once it is
        committed (its failure is logged here). None after shutdown (the reaper's job).

        ``deferred``: nobody waits for it (the answer is already sent), so it wakes no
        writer: it rides with the next batch, at most ``DEFER_WITHIN`` s later."""
        try:
            future = self._writer.submit(self._close(call, outcome), urgent=not deferred,
                                         within=DEFER_WITHIN)
        except WriterClosed:
            log.error("settling request %s after shutdown; left for the reaper",
                      call.request_id)
            return None
        self._track(future, call.request_id)
        return future

    async def drain(self) -> None:
        """Wait for bookkeeping still in flight (at shutdown)."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    def _track(self, future: asyncio.Future[Booked], request_id: str) -> None:
        self._finishing.add(future)
        future.add_done_callback(functools.partial(self._settled, request_id))

    def _settled(self, request_id: str, future: asyncio.Future[Booked]) -> None:
        self._finishing.discard(future)
        self._open.discard(request_id)
        if not future.cancelled() and future.exception() is not None:
            # The reservation stays open and the reaper refunds it later; never lose the
            # request silently.
            log.error("settling request %s failed; left for the reaper", request_id,
                      exc_info=future.exception())

    def _release(self, request_id: str, hold: asyncio.Future[Booked]) -> None:
        if hold.cancelled() or hold.exception() is not None:
            return  # nothing was held
        with contextlib.suppress(WriterClosed):  # at shutdown: the reaper's job
            self._track(self._writer.submit(Close(
                request_id=request_id, cost=0, status=REFUNDED,
                reason="client disconnected before the call started")), request_id)

    def _close(self, call: Call, outcome: Outcome) -> Close:
        input_tokens, output_tokens, estimated = self._tokens(call, outcome)
        row = self._usage_row(call, outcome, input_tokens, output_tokens, estimated)
        if self._should_charge(call, outcome):
            return Close(request_id=call.request_id,
                         cost=call.price.cost(input_tokens, output_tokens,
                                              call.key.group_ratio_ppm),
                         status=SETTLED, reason=f"{outcome.status}: {call.workflow_id}",
                         usage=row)
        return Close(request_id=call.request_id, cost=0, status=REFUNDED,
                     reason=_refund_reason(outcome), usage=row)

    @staticmethod
    def _tokens(call: Call, outcome: Outcome) -> tuple[int, int, bool]:
        if outcome.input_tokens is not None or outcome.output_tokens is not None:
            return outcome.input_tokens or 0, outcome.output_tokens or 0, False
        if outcome.status in ("success", "interrupted") and not call.price.is_fixed:
            return estimate_tokens(call.input_text), estimate_tokens(outcome.output_text), True
        return 0, 0, False

    @staticmethod
    def _should_charge(call: Call, outcome: Outcome) -> bool:
        if outcome.status in ("success", "interrupted"):
            return True
        if outcome.status == "cancelled":
            return call.price.is_fixed or outcome.input_tokens is not None
        return False

    @staticmethod
    def _usage_row(call: Call, outcome: Outcome, input_tokens: int, output_tokens: int,
                   estimated: bool) -> dict[str, Any]:
        """The usage row's values (the columns of ``UsageLogCreate``; cost is filled in by
        the settlement with what was actually charged)."""
        now = time.perf_counter()
        price, key = call.price, call.key
        return {
            "user_id": key.user_id, "api_key_id": key.id, "key_name": key.name,
            "model": call.model, "workflow_id": call.workflow_id,
            "channel_id": call.channel_id, "channel_name": call.channel_name,
            "surface": call.surface, "stream": call.stream,
            "input_tokens": input_tokens, "output_tokens": output_tokens,
            "usage_estimated": estimated, "input_price": price.input_price,
            "output_price": price.output_price, "fixed_price": price.fixed_price,
            "group_ratio_ppm": key.group_ratio_ppm, "status": outcome.status,
            "http_status": outcome.http_status, "error": outcome.error,
            "duration_ms": round((now - call.started) * 1000),
            "ttfb_ms": None if call.first_byte is None else round(
                (call.first_byte - call.started) * 1000),
            "client_ip": call.client_ip, "execute_id": outcome.execute_id,
            "logid": outcome.logid, "debug_url": outcome.debug_url,
        }


def _refund_reason(outcome: Outcome) -> str:
    if outcome.status == "cancelled":
        return "client disconnected before Coze reported usage"
    return f"upstream error: {outcome.error or 'unknown'}"
