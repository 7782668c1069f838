"""The billing writer: many requests per transaction, each with its own exact result.

Runs on the writer the gateway would build for the test database: the SQLite thread writer
(one sqlite3 connection) or the async writer on Postgres. Everything submitted before an
await lands in one batch, which is how these tests exercise batching deterministically.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cozegate.billing.booking import Close, Held, Hold
from cozegate.billing.errors import DuplicateRequest, InsufficientBalance, ReservationNotFound
from cozegate.billing.reaper import ReservationReaper
from cozegate.billing.schemas import SettleResult
from cozegate.billing.service import REAPED, BillingService
from cozegate.billing.writer import (
    KNOWN_FOR,
    LAZY_DELAY,
    AsyncWriter,
    BillingWriter,
    SqliteWriter,
    create_writer,
)
from cozegate.keys.errors import KeyQuotaExceeded
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService
from cozegate.models import ApiKey, LedgerEntry, Reservation, UsageLog
from cozegate.models.reservation import REFUNDED, RESERVED, SETTLED
from tests.fixtures_db import sqlite_write_lock

pytestmark = pytest.mark.db

billing = BillingService()


@pytest.fixture
async def writer(db_engine: AsyncEngine) -> AsyncIterator[BillingWriter]:
    writer = create_writer(db_engine, busy_timeout_ms=5_000)
    try:
        yield writer
    finally:
        await writer.aclose()


def test_the_writer_fits_the_backend(db_engine: AsyncEngine, db_backend: str) -> None:
    writer = create_writer(db_engine, busy_timeout_ms=5_000)
    assert isinstance(writer, SqliteWriter if db_backend == "sqlite" else AsyncWriter)


async def ledger_of(db_sessionmaker, user_id: int) -> list[tuple[str, str, int, int]]:
    async with db_sessionmaker() as session:
        rows = await billing.ledger(session, user_id=user_id)
    return [(r.kind, r.request_id or "", r.amount, r.balance_after) for r in rows]


async def test_holds_racing_for_the_last_of_a_balance(writer, db_sessionmaker,
                                                      make_user) -> None:
    user = await make_user("racer", balance=7_000)
    futures = [writer.submit(Hold(f"h{i}", user.id, 1_000)) for i in range(50)]
    results = await asyncio.gather(*futures, return_exceptions=True)
    held = [r for r in results if isinstance(r, Held)]
    # First come, first served, in submission order; the rest refused, nothing negative.
    assert [h.request_id for h in held] == [f"h{i}" for i in range(7)]
    assert [h.balance_after for h in held] == [6_000 - 1_000 * i for i in range(7)]
    assert all(isinstance(r, InsufficientBalance) for r in results[7:])
    assert results[7].details == {"balance": 0, "required": 1_000}
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 0
        assert await session.scalar(select(func.count()).select_from(Reservation)) == 7
    # The ledger reads as a running balance: each row's balance_after follows from the last.
    ledger = await ledger_of(db_sessionmaker, user.id)
    running = 0
    for _, _, amount, balance_after in ledger:
        running += amount
        assert balance_after == running


async def test_a_mixed_batch_books_exactly_what_single_calls_would(
        writer, db_sessionmaker, make_user) -> None:
    alice = await make_user("alice", balance=10_000)
    bob = await make_user("bob", balance=1_000)
    async with db_sessionmaker() as session:
        key = await KeyService().create_key(session, alice.id, KeyCreate(name="k", quota=5_000))
        await session.commit()
    await asyncio.gather(writer.submit(Hold("a1", alice.id, 4_000, key.id)),
                         writer.submit(Hold("b1", bob.id, 600)))
    # Most likely one batch (and in order either way): a settle below the hold, an extra
    # charge beyond the balance, two holds (one over the key quota), an unknown request.
    results = await asyncio.gather(
        writer.submit(Close("a1", 1_234, SETTLED, "ok", usage={"user_id": alice.id,
                                                               "status": "success"})),
        writer.submit(Close("b1", 2_000, SETTLED, "ok")),
        writer.submit(Hold("a2", alice.id, 2_000, key.id)),
        writer.submit(Hold("a3", alice.id, 4_000, key.id)),
        writer.submit(Close("nope", 1, SETTLED)),
        return_exceptions=True)
    a1, b1, a2, a3, nope = results
    assert isinstance(a1, SettleResult) and (a1.charged, a1.refunded) == (1_234, 2_766)
    assert isinstance(b1, SettleResult) and (b1.charged, b1.shortfall) == (1_000, 1_000)
    assert isinstance(a2, Held) and a2.key_amount == 2_000
    assert isinstance(a3, KeyQuotaExceeded)  # 5,000 - 1,234 - 2,000 left
    assert isinstance(nope, ReservationNotFound)
    refund = await writer.submit(Close("a2", 0, REFUNDED, "upstream 502"))
    assert (refund.status, refund.refunded) == (REFUNDED, 2_000)
    async with db_sessionmaker() as session:
        assert await billing.balance(session, alice.id) == 10_000 - 1_234
        assert await billing.balance(session, bob.id) == 0
        stored = await session.get(ApiKey, key.id)
        assert stored is not None and (stored.quota_remaining, stored.used) == (3_766, 1_234)
        usage = (await session.scalars(select(UsageLog))).all()
        assert [(u.request_id, u.cost) for u in usage] == [("a1", 1_234)]
    assert await ledger_of(db_sessionmaker, bob.id) == [
        ("top_up", "", 1_000, 1_000), ("reserve", "b1", -600, 400), ("settle", "b1", -400, 0)]


async def test_a_duplicate_request_id_fails_alone(writer, db_sessionmaker, make_user) -> None:
    user = await make_user("dup", balance=1_000)
    await writer.submit(Hold("d1", user.id, 100))
    results = await asyncio.gather(writer.submit(Hold("d2", user.id, 100)),
                                   writer.submit(Hold("d1", user.id, 100)),
                                   writer.submit(Hold("d3", user.id, 100)),
                                   return_exceptions=True)
    assert isinstance(results[0], Held) and isinstance(results[2], Held)
    assert isinstance(results[1], DuplicateRequest)
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 700


async def test_concurrent_settles_of_one_request_book_once(writer, db_sessionmaker,
                                                           make_user) -> None:
    user = await make_user("once", balance=5_000)
    await writer.submit(Hold("o1", user.id, 3_000))
    results = await asyncio.gather(*(writer.submit(Close("o1", 1_000, SETTLED))
                                     for _ in range(10)))
    assert [r.already_finished for r in results] == [False] + [True] * 9
    assert {r.charged for r in results} == {1_000}
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 4_000
        assert len(await billing.ledger(session, request_id="o1")) == 2


async def test_aclose_books_everything_queued(db_engine, db_sessionmaker, make_user) -> None:
    user = await make_user("drain", balance=100_000)
    writer = create_writer(db_engine, busy_timeout_ms=5_000)
    holds = [writer.submit(Hold(f"q{i}", user.id, 10)) for i in range(100)]
    await writer.aclose()  # without awaiting a single hold first
    assert all(f.done() and isinstance(f.result(), Held) for f in holds)
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 100_000 - 1_000
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(Hold("late", user.id, 10))


async def test_a_crash_leaves_the_hold_to_the_reaper_and_nothing_twice(
        db_engine, db_sessionmaker, make_user) -> None:
    """A process held money, settled one request and died before settling the other; after
    the restart the reaper refunds the open one, and a late retry of either changes nothing."""
    user = await make_user("crash", balance=10_000)
    first = create_writer(db_engine, busy_timeout_ms=5_000)
    await first.submit(Hold("done", user.id, 3_000))
    await first.submit(Hold("lost", user.id, 2_000))
    await first.submit(Close("done", 1_000, SETTLED))
    await first.aclose()  # the process is gone; "lost" was never settled

    restarted = create_writer(db_engine, busy_timeout_ms=5_000)
    try:
        later = datetime.now(UTC) + timedelta(hours=2)
        reaper = ReservationReaper(db_sessionmaker, restarted, older_than=timedelta(hours=1),
                                   interval=60, clock=lambda: later)
        refunded = await reaper.reap_once()
        assert [(r.request_id, r.status, r.refunded) for r in refunded] == [
            ("lost", REFUNDED, 2_000)]
        assert await reaper.reap_once() == []
        retried = await asyncio.gather(restarted.submit(Close("done", 1_000, SETTLED)),
                                       restarted.submit(Close("lost", 2_000, SETTLED)))
        assert all(r.already_finished for r in retried)
        assert (retried[1].status, retried[1].charged) == (REFUNDED, 0)
    finally:
        await restarted.aclose()
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 9_000
        reasons = await session.scalars(select(Reservation.reason)
                                        .where(Reservation.request_id == "lost"))
        assert reasons.one() == REAPED
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 5


async def test_the_reaper_spares_young_and_busy_reservations(writer, db_sessionmaker,
                                                             make_user) -> None:
    user = await make_user("spared", balance=1_000)
    for request_id in ("young", "busy", "stale"):
        await writer.submit(Hold(request_id, user.id, 100))
    now = datetime.now(UTC)
    async with db_sessionmaker() as session:
        for request_id in ("busy", "stale"):
            reservation = await session.scalar(select(Reservation).where(
                Reservation.request_id == request_id))
            assert reservation is not None
            reservation.created_at = now - timedelta(hours=3)
        await session.commit()
    reaper = ReservationReaper(db_sessionmaker, writer, older_than=timedelta(hours=1),
                               interval=60, busy=lambda: {"busy"})
    assert [r.request_id for r in await reaper.reap_once()] == ["stale"]
    async with db_sessionmaker() as session:
        statuses = dict((await session.execute(
            select(Reservation.request_id, Reservation.status))).all())
    assert statuses == {"young": RESERVED, "busy": RESERVED, "stale": REFUNDED}


async def test_the_reaper_loop_runs_until_stopped(writer, db_sessionmaker, make_user) -> None:
    user = await make_user("looped", balance=1_000)
    await writer.submit(Hold("old", user.id, 400))
    reaper = ReservationReaper(db_sessionmaker, writer, older_than=timedelta(0),
                               interval=0.01)
    reaper.start()
    try:
        for _ in range(500):
            async with db_sessionmaker() as session:
                if await billing.balance(session, user.id) == 1_000:
                    break
            await asyncio.sleep(0.01)
    finally:
        await reaper.stop()
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 1_000


class Recorded:
    """A Write job that notes the order jobs were applied in."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def apply(self, tx, now) -> str:  # type: ignore[no-untyped-def]
        self.log.append(self.name)
        return self.name


async def test_a_lazy_job_alone_is_booked_soon(writer) -> None:
    log: list[str] = []
    started = asyncio.get_running_loop().time()
    assert await writer.submit(Recorded("lazy", log), urgent=False) == "lazy"
    assert asyncio.get_running_loop().time() - started < 5  # LAZY_DELAY, not forever


class Started(Recorded):
    """A lazy job later jobs may follow (as a run's start)."""

    def __init__(self, name: str, log: list[str], key: str) -> None:
        super().__init__(name, log)
        self.lazy_key = key


class Follows(Recorded):
    """An urgent job that must come after the lazy job of ``key``."""

    def __init__(self, name: str, log: list[str], key: str) -> None:
        super().__init__(name, log)
        self.follows = key


async def test_lazy_jobs_ride_first_with_the_next_urgent_one(writer, make_user) -> None:
    user = await make_user("lazy", balance=100)
    log: list[str] = []
    lazy = writer.submit(Recorded("lazy", log), urgent=False)
    await asyncio.sleep(0)
    held = await writer.submit(Hold("l1", user.id, 10))
    assert isinstance(held, Held) and lazy.done() and log == ["lazy"]
    after = writer.submit(Recorded("after", log), urgent=False)
    urgent = writer.submit(Recorded("urgent", log))
    await asyncio.gather(after, urgent)
    assert log == ["lazy", "after", "urgent"]


async def test_keyed_lazy_jobs_wait_for_their_timer_not_for_other_batches(writer) -> None:
    log: list[str] = []
    lazy = writer.submit(Started("start", log, key="run_1"), urgent=False)
    await asyncio.sleep(0)
    assert await writer.submit(Recorded("urgent", log)) == "urgent"
    assert not lazy.done() and log == ["urgent"]
    assert await lazy == "start" and log == ["urgent", "start"]


async def test_a_job_that_follows_a_lazy_one_takes_it_along_first(writer) -> None:
    log: list[str] = []
    lazy = writer.submit(Started("start", log, key="run_1"), urgent=False)
    other = writer.submit(Started("other", log, key="run_2"), urgent=False)
    await asyncio.sleep(0)
    assert await writer.submit(Follows("update", log, key="run_1")) == "update"
    assert lazy.done() and not other.done() and log == ["start", "update"]
    await other
    assert log == ["start", "update", "other"]


class Absorbs(Follows):
    """An urgent job that takes the place of the lazy job it follows."""

    def absorb(self, lazy: object) -> Recorded:
        assert isinstance(lazy, Started)
        return Recorded(f"{lazy.name}+{self.name}", self.log)


async def test_a_job_that_absorbs_a_lazy_one_is_booked_in_its_place(writer) -> None:
    log: list[str] = []
    lazy = writer.submit(Started("start", log, key="run_1"), urgent=False)
    await asyncio.sleep(0)
    assert await writer.submit(Absorbs("end", log, key="run_1")) == "start+end"
    assert await lazy == "run_1"  # answered as the lazy job: with its key
    assert log == ["start+end"]


async def test_a_lazy_job_is_booked_within_its_own_delay(writer) -> None:
    log: list[str] = []
    loop = asyncio.get_running_loop()
    slow = writer.submit(Started("start", log, key="run_1"), urgent=False)
    started = loop.time()
    assert await writer.submit(Recorded("soon", log), urgent=False, within=0.05) == "soon"
    assert loop.time() - started < LAZY_DELAY / 2 and not slow.done()  # alone, no batch
    assert await slow == "start" and log == ["soon", "start"]


async def test_a_lazy_job_that_follows_a_lazy_one_takes_it_along(writer) -> None:
    log: list[str] = []
    start = writer.submit(Started("start", log, key="run_1"), urgent=False)
    update = writer.submit(Follows("update", log, key="run_1"), urgent=False, within=0.05)
    end = writer.submit(Absorbs("end", log, key="run_2"), urgent=False, within=0.05)
    run_2 = writer.submit(Started("start2", log, key="run_2"), urgent=False)
    assert await update == "update" and await end == "end" and start.done()
    assert log == ["start", "update", "end"]
    assert not run_2.done()  # started after its end was queued: nothing to absorb
    assert await run_2 == "start2"


async def test_lazy_jobs_ride_with_any_batch_before_their_delay(writer) -> None:
    log: list[str] = []
    lazy = writer.submit(Recorded("deferred", log), urgent=False, within=60)
    assert await writer.submit(Recorded("urgent", log)) == "urgent"
    assert lazy.done() and log == ["deferred", "urgent"]


async def test_aclose_books_lazy_jobs_too(db_engine) -> None:
    writer = create_writer(db_engine, busy_timeout_ms=5_000)
    log: list[str] = []
    lazy = writer.submit(Recorded("lazy", log), urgent=False)
    await writer.aclose()
    assert lazy.done() and lazy.result() == "lazy" and log == ["lazy"]


class Fails(Recorded):
    def apply(self, tx, now) -> str:  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{self.name} cannot be booked")


async def test_flush_waits_for_every_urgent_job_queued_before_it(writer) -> None:
    await writer.flush()  # nothing queued: returns at once
    log: list[str] = []
    jobs = [writer.submit(Recorded("a", log)), writer.submit(Fails("b", log)),
            writer.submit(Recorded("c", log))]
    lazy = writer.submit(Started("start", log, key="run_1"), urgent=False)
    await writer.flush()  # does not raise b's failure
    assert all(job.done() for job in jobs)
    assert (jobs[0].result(), jobs[2].result()) == ("a", "c")
    assert isinstance(jobs[1].exception(), RuntimeError)
    assert not lazy.done()  # keyed lazy jobs keep their delay: an end may still absorb them
    await lazy


async def test_flush_books_unkeyed_lazy_jobs_at_once(writer) -> None:
    log: list[str] = []
    loop = asyncio.get_running_loop()
    deferred = writer.submit(Recorded("settle", log), urgent=False, within=60)
    keyed = writer.submit(Started("start", log, key="run_1"), urgent=False)
    started = loop.time()
    await writer.flush()
    assert deferred.done() and log == ["settle"] and not keyed.done()
    assert loop.time() - started < LAZY_DELAY / 2
    await keyed


async def test_flush_waits_for_a_lazy_job_already_in_a_batch(writer, db_backend: str,
                                                             db_url: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("holds SQLite's write lock from a second connection")
    with sqlite_write_lock(db_url):
        log: list[str] = []
        deferred = writer.submit(Recorded("settle", log), urgent=False, within=0.001)
        await asyncio.sleep(0.1)  # its delay is up: in a batch, waiting for the lock
        flushed = asyncio.ensure_future(writer.flush())
        await asyncio.sleep(0.3)
        assert not flushed.done() and not deferred.done()
    await asyncio.wait_for(flushed, 5)
    assert deferred.done() and log == ["settle"]


async def test_flush_waits_for_a_commit_held_up_by_a_lock(writer, db_backend: str,
                                                          db_url: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("holds SQLite's write lock from a second connection")
    with sqlite_write_lock(db_url):
        log: list[str] = []
        job = writer.submit(Recorded("late", log))
        flushed = asyncio.ensure_future(writer.flush())
        await asyncio.sleep(0.3)
        assert not flushed.done() and not job.done()
    await asyncio.wait_for(flushed, 5)
    assert job.done() and log == ["late"]


class ReadsPragma:
    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, tx, now) -> object:  # type: ignore[no-untyped-def]
        return tx.one(f"PRAGMA {self.name}", {})[0]


async def test_sqlite_connections_checkpoint_every_10000_pages(writer, db_engine,
                                                              db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("SQLite pragmas")
    assert await writer.submit(ReadsPragma("wal_autocheckpoint")) == 10_000
    assert await writer.submit(ReadsPragma("journal_size_limit")) == 64 * 1024 * 1024
    async with db_engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 10_000


# -- grants: holds decided in memory (SQLite) -------------------------------------------


def reservations_in(db_engine: AsyncEngine) -> list[str]:
    """Read with a plain sqlite3 connection: no await, so no timer of the writer can fire
    between a grant and this read."""
    connection = sqlite3.connect(make_url(db_engine.url).database)
    try:
        return [r[0] for r in connection.execute("SELECT request_id FROM reservations")]
    finally:
        connection.close()


async def test_postgres_grants_nothing(writer, db_backend: str, make_user) -> None:
    if db_backend == "sqlite":
        pytest.skip("the SQLite writer grants")
    user = await make_user("pg", balance=10_000)
    assert writer.grant(Hold("n1", user.id, 1)) is None


async def test_a_covered_hold_is_granted_and_booked_after(writer, db_engine, db_backend: str,
                                                          db_sessionmaker, make_user) -> None:
    if db_backend != "sqlite":
        pytest.skip("grants are SQLite's")
    user = await make_user("granted", balance=10_000)
    held = writer.grant(Hold("g1", user.id, 6_000))
    assert held == Held(request_id="g1", amount=6_000, key_amount=0, balance_after=4_000)
    assert reservations_in(db_engine) == []  # nothing booked yet: the call goes ahead
    # The first hold is not committed: its money is not there for a second grant, and the
    # urgent hold the caller falls back to is booked after it.
    assert writer.grant(Hold("g2", user.id, 6_000)) is None
    with pytest.raises(InsufficientBalance):
        await writer.submit(Hold("g2", user.id, 6_000))
    assert reservations_in(db_engine) == ["g1"]
    assert writer.grant(Hold("g3", user.id, 4_000)) is not None  # committed, nothing in flight
    await writer.flush()
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 0
    assert sorted(reservations_in(db_engine)) == ["g1", "g3"]
    assert await ledger_of(db_sessionmaker, user.id) == [
        ("top_up", "", 10_000, 10_000), ("reserve", "g1", -6_000, 4_000),
        ("reserve", "g3", -4_000, 0)]


async def test_a_grant_leaves_keys_short_users_and_pending_refunds_to_the_database(
        writer, db_backend: str, db_sessionmaker, make_user) -> None:
    if db_backend != "sqlite":
        pytest.skip("grants are SQLite's")
    user = await make_user("keyed", balance=10_000)
    async with db_sessionmaker() as session:
        limited = await KeyService().create_key(session, user.id, KeyCreate(name="q",
                                                                             quota=1_000))
        unlimited = await KeyService().create_key(session, user.id, KeyCreate(name="u"))
        await session.commit()
    assert writer.grant(Hold("k1", user.id, 2_000, limited.id)) is None
    assert writer.grant(Hold("k2", user.id, 600, limited.id)).key_amount == 600
    assert writer.grant(Hold("k3", user.id, 600, limited.id)) is None  # 400 left in flight
    assert writer.grant(Hold("k4", user.id, 2_000, unlimited.id)).key_amount == 0
    assert writer.grant(Hold("nobody", 999_999, 1)) is None  # the database says why
    # A refund still queued is not counted: the grant is left to an urgent hold, which is
    # booked after that refund.
    writer.submit(Close("k4", 0, REFUNDED, "upstream 502"), urgent=False)
    assert writer.grant(Hold("k5", user.id, 9_000)) is None
    held = await writer.submit(Hold("k5", user.id, 9_000))
    assert held.balance_after == 10_000 - 600 - 9_000
    await writer.flush()
    async with db_sessionmaker() as session:
        stored = await session.get(ApiKey, limited.id)
        assert stored is not None and stored.quota_remaining == 400
        assert await billing.balance(session, user.id) == 400


async def test_a_grant_and_its_deferred_settlement_share_one_transaction(
        writer, db_engine, db_backend: str, db_sessionmaker, make_user) -> None:
    if db_backend != "sqlite":
        pytest.skip("grants are SQLite's")
    user = await make_user("pair", balance=5_000)
    assert writer.grant(Hold("s1", user.id, 3_000)) is not None
    settled = writer.submit(Close("s1", 1_200, SETTLED, "ok",
                                  usage={"user_id": user.id, "status": "success"}),
                            urgent=False)
    assert reservations_in(db_engine) == []
    result = await settled
    assert (result.charged, result.refunded, result.already_finished) == (1_200, 1_800, False)
    async with db_sessionmaker() as session:
        row = await session.scalar(select(Reservation).where(Reservation.request_id == "s1"))
        assert row is not None and (row.status, row.charged) == (SETTLED, 1_200)
        assert await billing.balance(session, user.id) == 3_800


async def test_grants_start_from_what_the_last_commit_left(writer, db_backend: str,
                                                          db_sessionmaker, make_user) -> None:
    """After a batch, a grant needs no read; another connection's commit is noticed by the
    next batch (data_version), and the values are not trusted past KNOWN_FOR anyway."""
    if db_backend != "sqlite":
        pytest.skip("grants are SQLite's")
    user = await make_user("known", balance=10_000)
    assert writer.grant(Hold("r0", user.id, 100)) is not None  # nothing known yet: a read
    statements: list[str] = []
    writer._reader.set_trace_callback(statements.append)
    await writer.submit(Hold("r1", user.id, 1_000))  # a batch: r0 and r1, 8,900 left
    assert writer.grant(Hold("r2", user.id, 5_000)) is not None
    assert statements == []  # granted on what the batch left
    await writer.flush()  # 3,900 left

    async with db_sessionmaker() as session:  # another connection takes 3,400
        await billing.adjust(session, user.id, -3_400, "test")
        await session.commit()
    await writer.submit(Recorded("batch", []))  # notices the other connection's commit
    assert writer.grant(Hold("r3", user.id, 600)) is None  # read: 500 left
    assert any(s.startswith("SELECT users.balance") for s in statements)
    assert writer.grant(Hold("r4", user.id, 500)) is not None

    await writer.flush()  # learns that nothing is left
    async with db_sessionmaker() as session:
        await billing.top_up(session, user.id, 2_000, "test")
        await session.commit()
    await asyncio.sleep(KNOWN_FOR * 1.5)  # no batch since: what it learned has expired
    assert writer.grant(Hold("r5", user.id, 2_000)) is not None
    await writer.flush()
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 0


async def test_a_granted_hold_that_cannot_be_booked_is_logged(writer, db_backend: str,
                                                              caplog) -> None:
    """Nobody awaits a granted hold: its failure (here, a user deleted meanwhile) is
    logged when it leaves the holds in flight."""
    if db_backend != "sqlite":
        pytest.skip("grants are SQLite's")
    writer.submit(Hold("lost", 999_999, 1, granted=True), urgent=False)
    with caplog.at_level("ERROR", logger="cozegate.billing"):
        await writer.flush()
        await asyncio.sleep(0)  # the done callbacks run after the future is answered
    assert "the hold of request lost, granted in memory, could not be booked" in caplog.text
