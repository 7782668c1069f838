"""Metering over a scripted writer: what is booked when callers are cancelled or fail, and the
price snapshot it reads prices from."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from cozegate.billing.booking import Close, Held, Hold, Op
from cozegate.billing.price_book import PriceBook
from cozegate.billing.price_service import PriceService
from cozegate.billing.schemas import PriceSet, PriceSnapshot, SettleResult
from cozegate.billing.writer import LAZY_DELAY, Booked, WriterClosed
from cozegate.keys.schemas import KeyRecord
from cozegate.models.reservation import REFUNDED, SETTLED
from cozegate.relay.metering import Call, Metering, Outcome

PRICE = PriceSnapshot(target="*", kind="fixed", input_price=0, output_price=0,
                      fixed_price=1_000)


class ScriptedWriter:
    """Records what is submitted; the test resolves each future when it likes."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Op, asyncio.Future[Booked]]] = []
        self.urgent: list[bool] = []
        self.closed = False

    def submit(self, op: Op, *, urgent: bool = True,
               within: float = LAZY_DELAY) -> asyncio.Future[Booked]:
        if self.closed:
            raise WriterClosed("closed")
        future: asyncio.Future[Booked] = asyncio.get_running_loop().create_future()
        self.submitted.append((op, future))
        self.urgent.append(urgent)
        return future

    async def aclose(self) -> None:
        self.closed = True


def a_call(request_id: str = "r1") -> Call:
    key = KeyRecord(id=7, user_id=3, name="k", key_hash="h", enabled=True, expires_at=None,
                    quota_remaining=None, allowed_models=None, allowed_networks=(),
                    rpm_limit=None)
    return Call(request_id=request_id, key=key, model="m", workflow_id="w", price=PRICE,
                stream=False, surface="openai")


def settled(request_id: str) -> SettleResult:
    return SettleResult(request_id=request_id, status=SETTLED, reserved=1_000, cost=1_000,
                        charged=1_000, refunded=0, shortfall=0, already_finished=False)


@pytest.fixture
def writer() -> ScriptedWriter:
    return ScriptedWriter()


@pytest.fixture
def metering(writer: ScriptedWriter) -> Metering:
    return Metering(writer, PriceBook(None, ttl=60), max_output_tokens=100)  # type: ignore[arg-type]


async def test_a_caller_cancelled_during_the_hold_gets_it_released(writer, metering) -> None:
    call = a_call()
    reserving = asyncio.create_task(metering.reserve(call))
    await asyncio.sleep(0)
    [(hold, future)] = writer.submitted
    assert isinstance(hold, Hold) and hold.amount == 1_000
    reserving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reserving
    future.set_result(Held("r1", 1_000, 0, 0))  # the hold committed after all
    await asyncio.sleep(0)
    [_, (release, _)] = writer.submitted
    assert isinstance(release, Close)
    assert (release.request_id, release.status, release.cost) == ("r1", REFUNDED, 0)


async def test_a_refused_hold_cancelled_meanwhile_books_nothing(writer, metering) -> None:
    reserving = asyncio.create_task(metering.reserve(a_call()))
    await asyncio.sleep(0)
    reserving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reserving
    writer.submitted[0][1].set_exception(RuntimeError("refused"))
    await asyncio.sleep(0)
    assert len(writer.submitted) == 1


async def test_finish_is_booked_even_if_its_caller_is_cancelled(writer, metering) -> None:
    call = a_call()
    reserving = asyncio.create_task(metering.reserve(call))
    await asyncio.sleep(0)
    writer.submitted[0][1].set_result(Held("r1", 1_000, 0, 0))
    await reserving
    assert metering.open_requests == {"r1"}
    finishing = asyncio.create_task(metering.finish(call, Outcome(status="success")))
    await asyncio.sleep(0)
    close, future = writer.submitted[1]
    assert isinstance(close, Close) and (close.status, close.cost) == (SETTLED, 1_000)
    assert close.usage is not None and close.usage["status"] == "success"
    finishing.cancel()  # the client went away: the settlement still completes
    future.set_result(settled("r1"))
    with pytest.raises(asyncio.CancelledError):
        await finishing
    await metering.drain()
    assert metering.open_requests == frozenset()


async def test_a_failed_settlement_is_logged_for_the_reaper(writer, metering, caplog) -> None:
    finishing = asyncio.create_task(metering.finish(a_call("r9"), Outcome(status="error")))
    await asyncio.sleep(0)
    writer.submitted[0][1].set_exception(OSError("disk full"))
    with caplog.at_level(logging.ERROR, logger="cozegate.billing"):
        await finishing  # never raised to the caller
    assert "settling request r9 failed; left for the reaper" in caplog.text
    writer.closed = True
    await metering.finish(a_call("r10"), Outcome(status="error"))  # after shutdown: logged
    assert "r10" in caplog.text


@pytest.mark.db
async def test_the_price_book_reads_once_per_ttl_and_on_invalidation(db_sessionmaker) -> None:
    prices = PriceService()
    async with db_sessionmaker.begin() as session:
        await prices.set_price(session, PriceSet(target="*", fixed_price=Decimal("1")))
    book = PriceBook(db_sessionmaker, ttl=3600)
    assert (await book.resolve("wf", "model")).fixed_price == 1_000_000
    async with db_sessionmaker.begin() as session:
        await prices.set_price(session, PriceSet(target="wf", fixed_price=Decimal("2")))
    assert (await book.resolve("wf", "model")).fixed_price == 1_000_000  # the snapshot
    book.invalidate()
    assert (await book.resolve("wf", "model")).fixed_price == 2_000_000
    assert (await book.resolve("other", "model")).fixed_price == 1_000_000
    fresh = PriceBook(db_sessionmaker, ttl=0)
    async with db_sessionmaker.begin() as session:
        await prices.set_price(session, PriceSet(target="wf", fixed_price=Decimal("3"),
                                                 enabled=False))
    assert (await fresh.resolve("wf", "model")).fixed_price == 1_000_000  # disabled: skipped


async def test_a_reload_racing_an_invalidation_is_not_trusted() -> None:
    class SlowService:
        def __init__(self) -> None:
            self.reads = 0
            self.release = asyncio.Event()

        async def enabled_prices(self, session: object) -> dict[str, PriceSnapshot]:
            self.reads += 1
            await self.release.wait()
            return {"*": PRICE}

    @contextlib.asynccontextmanager
    async def sessions() -> AsyncIterator[None]:
        yield None

    service = SlowService()
    book = PriceBook(sessions, ttl=3600, service=service)  # type: ignore[arg-type]
    first = asyncio.create_task(book.resolve("w"))
    await asyncio.sleep(0)
    book.invalidate()  # a price changed while the snapshot was being read
    service.release.set()
    assert await first == PRICE
    await book.resolve("w")
    assert service.reads == 2  # read again: the first read may predate the change
    await book.resolve("w")
    assert service.reads == 2
