"""The request path's billing writer: holds and settlements of many requests per transaction.

Requests :meth:`~BillingWriter.submit` a :class:`~cozegate.billing.booking.Hold` before
calling upstream and a :class:`~cozegate.billing.booking.Close` after, and await a future
with their own result, delivered only once its transaction committed. Other rows a request
writes on its way (its run record: ``runs.writes``) are submitted as :class:`Write` jobs and
share those transactions, after the billing of the batch.

A job nobody waits for (a run record's start, a key's last-used stamp) may be submitted with
``urgent=False``: it wakes no writer and rides with the next batch, or is booked
``LAZY_DELAY`` seconds later, so a lone request does not pay an extra commit for it. A lazy
job with a ``lazy_key`` (a run's start: its run id) does not ride along: it waits for the
delay, or is claimed by the first urgent job that ``follows`` that key. A job that can
``absorb`` it takes its place (a run that ends within the delay is inserted once, already
ended, instead of inserted, read back and updated); any other is booked right after it.

A writer runs one transaction at a time; whatever was queued meanwhile goes into the next
one (group commit). An idle writer therefore books a lone request at once, with no added
delay, while under load one commit serves every request that arrived during the previous
one.

A batch that raises (a request id used twice, a database error) is rolled back and its
requests are booked again one per transaction, so one bad request cannot fail the others.
If the process dies with settlements queued or in flight, their reservations stay open and
the reaper (``billing.reaper``) refunds them; nothing is ever booked twice, because every
settlement first claims its reservation.

Two ways to run a transaction:

* :class:`SqliteWriter`: a thread owning one sqlite3 connection runs each whole batch, one
  thread hop per batch instead of one per statement (aiosqlite), ~3 µs per statement;
* :class:`AsyncWriter`: an asyncio task on the engine (Postgres through asyncpg, or SQLite
  in memory), one batch at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cozegate.billing.booking import Close, Conflict, Held, Hold, Op, Tx, execute
from cozegate.billing.errors import DuplicateRequest
from cozegate.billing.schemas import SettleResult
from cozegate.billing.tx import ConnectionTx, SqliteTx
from cozegate.db.engine import sqlite_pragmas
from cozegate.models.base import utcnow

log = logging.getLogger("cozegate.billing")

MAX_BATCH = 256
# Seconds a lazy job waits: long enough that most short runs end within it (their start is
# then absorbed by their end), short enough that a running run shows up in listings soon.
LAZY_DELAY = 0.5
_WAKE = object()  # queued by the lazy timer: book what is lazy now

Booked = Held | SettleResult


class Write(Protocol):
    """A row change booked through the writer, in the transaction of its batch."""

    def apply(self, tx: Tx, now: datetime) -> Any: ...


Job = Op | Write
Pending = tuple[Job, "asyncio.Future[Any]"]


class LazyJobs:
    """Lazy jobs waiting for their timer: keyed ones (``lazy_key``) findable by the urgent
    job that ``follows`` them, the others in order."""

    def __init__(self) -> None:
        self._keyed: dict[Any, Pending] = {}
        self._plain: list[Pending] = []

    def __bool__(self) -> bool:
        return bool(self._keyed or self._plain)

    def add(self, pending: Pending) -> None:
        key = getattr(pending[0], "lazy_key", None)
        if key is None:
            self._plain.append(pending)
        else:
            self._keyed[key] = pending

    def take(self, *, keyed: bool = True) -> list[Pending]:
        """The jobs to book now: all of them, or (``keyed=False``) only those no later job
        can claim, which ride along with any batch."""
        jobs, self._plain = self._plain, []
        if keyed and self._keyed:
            jobs.extend(self._keyed.values())
            self._keyed = {}
        return jobs

    def urgent(self, job: Job, future: asyncio.Future[Any]) -> list[Pending]:
        """What to queue for an urgent ``job``, in order: the lazy job it ``follows`` (if
        still waiting) and then the job; or, if the job can ``absorb`` that lazy job, the
        merged job alone (the lazy job is answered along with it)."""
        key = getattr(job, "follows", None)
        lazy = self._keyed.pop(key, None) if key is not None else None
        if lazy is None:
            return [(job, future)]
        absorb = getattr(job, "absorb", None)
        merged = absorb(lazy[0]) if absorb is not None else None
        if merged is None:
            return [lazy, (job, future)]
        _answer_absorbed(lazy, future)
        return [(merged, future)]


def _answer_absorbed(lazy: Pending, merged: asyncio.Future[Any]) -> None:
    """The absorbed lazy job is answered as it would have been: its key (a run start returns
    its run id), or the merged job's failure."""
    job, future = lazy

    def copy(done: asyncio.Future[Any]) -> None:
        if future.done():
            return
        if done.cancelled():
            future.cancel()
        elif done.exception() is not None:
            future.set_exception(done.exception())  # type: ignore[arg-type]
        else:
            future.set_result(job.lazy_key)  # type: ignore[union-attr]

    merged.add_done_callback(copy)


class WriterClosed(RuntimeError):
    """The writer was shut down; nothing more can be booked through it."""


class BillingWriter(Protocol):
    def submit(self, job: Job, *, urgent: bool = True) -> asyncio.Future[Any]:
        """Queue ``job``; the future holds its result or raises its refusal. ``urgent=False``:
        see the module docstring."""
        ...

    async def flush(self) -> None:
        """Return once every urgent job queued before this call was booked (committed or
        refused): the read barrier of a request that must see what earlier answers left
        to book (see ``deps.get_session``). Lazy jobs are not waited for."""
        ...

    async def aclose(self) -> None:
        """Book everything queued, then stop."""
        ...


class _LastQueued:
    """The future of the last urgent job queued: batches are booked, and their futures
    answered, in queue order, so once it is done every earlier job is too."""

    __slots__ = ("_future",)

    def __init__(self) -> None:
        self._future: asyncio.Future[Any] | None = None

    def note(self, future: asyncio.Future[Any]) -> None:
        self._future = future

    async def wait(self) -> None:
        future = self._future
        # Another loop's future cannot be awaited here; nothing of this loop is queued.
        if future is None or future.done() or future.get_loop() is not asyncio.get_running_loop():
            return
        await asyncio.wait((future,))  # neither raises its failure nor cancels it


def create_writer(engine: AsyncEngine, *, busy_timeout_ms: int) -> BillingWriter:
    """A thread with its own connection for a SQLite file, else a task on ``engine``."""
    url = make_url(engine.url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        return SqliteWriter(database, busy_timeout_ms=busy_timeout_ms)
    return AsyncWriter(engine)


def run_batch(tx: Tx, jobs: Sequence[Job], now: datetime) -> list[Any]:
    """The holds and closes of ``jobs`` in one booking, then the other writes in order."""
    results: list[Any] = [None] * len(jobs)
    billing = [i for i, job in enumerate(jobs) if isinstance(job, Hold | Close)]
    if billing:
        booked = execute(tx, [jobs[i] for i in billing], now)  # type: ignore[misc]
        for i, result in zip(billing, booked, strict=True):
            results[i] = result
    for i, job in enumerate(jobs):
        if not isinstance(job, Hold | Close):
            results[i] = job.apply(tx, now)
    return results


def _failure(job: Job, exc: Exception) -> Exception:
    if isinstance(exc, Conflict) and isinstance(job, Hold):
        return DuplicateRequest(f"request {job.request_id} already has a reservation")
    return exc


def book(transaction: Callable[[Sequence[Job]], list[Any]],
         ops: Sequence[Job]) -> list[Any]:
    """All of ``ops`` in one transaction; if it raises, each alone (see the module doc)."""
    try:
        return list(transaction(ops))
    except Exception as exc:
        if len(ops) == 1:
            return [_failure(ops[0], exc)]
        log.warning("billing batch of %d failed (%s); booking one by one", len(ops), exc)
    results: list[Any] = []
    for op in ops:
        try:
            results.extend(transaction([op]))
        except Exception as exc:
            results.append(_failure(op, exc))
    return results


async def book_async(transaction: Callable[[Sequence[Job]], Awaitable[list[Any]]],
                     ops: Sequence[Job]) -> list[Any]:
    """:func:`book` for a transaction that is awaited."""
    try:
        return list(await transaction(ops))
    except Exception as exc:
        if len(ops) == 1:
            return [_failure(ops[0], exc)]
        log.warning("billing batch of %d failed (%s); booking one by one", len(ops), exc)
    results: list[Any] = []
    for op in ops:
        try:
            results.extend(await transaction([op]))
        except Exception as exc:
            results.append(_failure(op, exc))
    return results


def _resolve(pairs: Sequence[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in pairs:
        if future.done():  # its caller was cancelled and stopped waiting
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)


class SqliteWriter:
    def __init__(self, path: str, *, busy_timeout_ms: int, max_batch: int = MAX_BATCH,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._max_batch = max_batch
        self._clock = clock
        self._queue: queue.SimpleQueue[Pending | object | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._lazy = LazyJobs()
        self._lazy_timer = False
        self._last = _LastQueued()

    def submit(self, job: Job, *, urgent: bool = True) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._closed:
                raise WriterClosed("the billing writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="billing-writer",
                                                daemon=True)
                self._thread.start()
            if urgent:
                for pending in self._lazy.urgent(job, future):
                    self._queue.put(pending)
                self._last.note(future)
            else:
                self._lazy.add((job, future))
                if not self._lazy_timer:
                    self._lazy_timer = True
                    loop.call_later(LAZY_DELAY, self._wake)
        return future

    async def flush(self) -> None:
        await self._last.wait()

    def _wake(self) -> None:
        with self._lock:
            self._lazy_timer = False
            if self._lazy and not self._closed:
                self._queue.put(_WAKE)

    def _take_lazy(self, *, keyed: bool) -> list[Pending]:
        with self._lock:
            return self._lazy.take(keyed=keyed)

    async def aclose(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            await asyncio.to_thread(thread.join)

    def _serve(self) -> None:
        connection: sqlite3.Connection | None = None
        stop = False
        try:
            while not stop:
                item = self._queue.get()
                # First in the batch: submitted before what may need them. All of them when
                # their timer fired or the writer closes.
                batch = self._take_lazy(keyed=item is _WAKE or item is None)
                while True:
                    if item is None:
                        stop = True
                    elif item is not _WAKE:
                        batch.append(item)  # type: ignore[arg-type]
                    if stop or len(batch) >= self._max_batch:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if not batch:
                    continue
                if connection is None:
                    try:
                        connection = self._connect()
                    except Exception as exc:
                        log.exception("billing writer cannot open %s", self._path)
                        self._deliver(batch, [exc] * len(batch))
                        continue
                transaction = functools.partial(self._transaction, connection)
                self._deliver(batch, book(transaction, [op for op, _ in batch]))
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None,
                                     timeout=self._busy_timeout_ms / 1000)
        for pragma in sqlite_pragmas(self._busy_timeout_ms):
            connection.execute(f"PRAGMA {pragma}")
        return connection

    def _transaction(self, connection: sqlite3.Connection, jobs: Sequence[Job]) -> list[Any]:
        # IMMEDIATE: the write lock first, so the balances read are the ones written back.
        connection.execute("BEGIN IMMEDIATE")
        try:
            results = run_batch(SqliteTx(connection), jobs, self._clock())
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return results

    @staticmethod
    def _deliver(batch: Sequence[Pending], results: Sequence[Any]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for (_, future), result in zip(batch, results, strict=True):
            by_loop.setdefault(future.get_loop(), []).append((future, result))
        for loop, pairs in by_loop.items():
            # A closed loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, pairs)


class AsyncWriter:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = MAX_BATCH,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._clock = clock
        self._pending: list[Pending] = []
        self._lazy = LazyJobs()
        self._lazy_due = False  # the timer fired: book the lazy jobs with the next batch
        self._lazy_timer = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._last = _LastQueued()

    def submit(self, job: Job, *, urgent: bool = True) -> asyncio.Future[Any]:
        if self._closed:
            raise WriterClosed("the billing writer is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if urgent:
            self._pending.extend(self._lazy.urgent(job, future))
            self._last.note(future)
            self._start()
        else:
            self._lazy.add((job, future))
            if not self._lazy_timer:
                self._lazy_timer = True
                loop.call_later(LAZY_DELAY, self._wake)
        return future

    async def flush(self) -> None:
        await self._last.wait()

    def _wake(self) -> None:
        self._lazy_timer = False
        if self._lazy:
            self._lazy_due = True
            self._start()

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._serve(),
                                                                name="billing-writer")

    async def aclose(self) -> None:
        self._closed = True
        if self._lazy:
            self._lazy_due = True
            self._start()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _serve(self) -> None:
        try:
            while self._pending or (self._lazy_due and self._lazy):
                lazy = self._lazy.take(keyed=self._lazy_due)
                self._lazy_due = False
                batch = lazy + self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
                results = await book_async(self._transaction, [op for op, _ in batch])
                _resolve([(future, result)
                          for (_, future), result in zip(batch, results, strict=True)])
        finally:
            self._task = None

    async def _transaction(self, jobs: Sequence[Job]) -> list[Any]:
        now = self._clock()
        async with self._engine.begin() as connection:
            return await connection.run_sync(
                lambda sync: run_batch(ConnectionTx(sync), jobs, now))
