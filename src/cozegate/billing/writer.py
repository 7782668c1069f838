"""The request path's billing writer: holds and settlements of many requests per transaction.

Requests :meth:`~BillingWriter.submit` a :class:`~cozegate.billing.booking.Hold` before
calling upstream and a :class:`~cozegate.billing.booking.Close` after, and await a future
with their own result, delivered only once its transaction committed. Other rows a request
writes on its way (its run record: ``runs.writes``) are submitted as :class:`Write` jobs and
share those transactions, after the billing of the batch.

A job nobody waits for (a run record's start, a key's last-used stamp, the settlement of a
completion already answered) may be submitted with ``urgent=False``: it wakes no writer and
rides with the next batch, or is booked ``within`` seconds later (``LAZY_DELAY`` unless
given), so a lone request does not pay an extra commit for it. A lazy job with a
``lazy_key`` (a run's start: its run id) does not ride along: it waits for ``LAZY_DELAY``,
or is claimed by the first job, urgent or lazy, that ``follows`` that key. A job that can
``absorb`` it takes its place (a run that ends within the delay is inserted once, already
ended, instead of inserted, read back and updated); any other is booked right after it.

A writer runs one transaction at a time; whatever was queued meanwhile goes into the next
one (group commit). An idle writer therefore books a lone request at once, with no added
delay, while under load one commit serves every request that arrived during the previous
one.

On a SQLite file the writer is the only one moving balances on the request path, so it can
**grant** a hold in memory (:meth:`SqliteWriter.grant`): when the committed balance and key
quota, less every hold of this process not yet committed, cover it, the call goes ahead at
once and its hold is booked like a deferred job. The committed values are those the
writer's own last commit left (it reads every balance it books), trusted while no other
connection has committed since (``PRAGMA data_version``, checked in every batch) and for
``KNOWN_FOR`` seconds at most; otherwise they are read (one SELECT on the event loop). A
lone call then waits for no commit at all. A grant that cannot be decided that way (the
money is short, or a pending refund would be needed to cover it) is left to an urgent hold,
which is booked after the closes queued before it. Postgres has no grants: other processes
hold against the same balances. A process that dies within those milliseconds took nothing
for the call (as with a settlement queued and not yet committed): the cost of a crash is at
most the calls of its last batch window, never a charge twice.

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
import time
from collections import Counter
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
# Seconds at most a deferred booking (the settlement of an answer already sent, and its run
# record) waits for a batch to ride with. Under load the next call's hold takes it along
# within a millisecond or two: one transaction per call instead of two.
DEFER_WITHIN = 0.02
# Seconds the balances a commit left are trusted for grants without a read: another
# connection's commit (an admin's debit) is only noticed by the next batch, so this bounds
# how long a grant may overlook it. Under load a batch commits every few milliseconds.
KNOWN_FOR = 0.1
_WAKE = object()  # queued by the lazy timer: book what is lazy now
_NUDGE = object()  # queued when a lazy job's ``within`` is up: book the unkeyed lazy jobs

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

    @property
    def has_plain(self) -> bool:
        return bool(self._plain)

    def add(self, pending: Pending) -> None:
        """Queue a lazy job. One that ``follows`` a keyed job still waiting takes it along,
        as an urgent one does (:meth:`urgent`), so the pair is booked in order."""
        key = getattr(pending[0], "lazy_key", None)
        if key is not None:
            self._keyed[key] = pending
        elif getattr(pending[0], "follows", None) in self._keyed:
            self._plain.extend(self.urgent(*pending))
        else:
            self._plain.append(pending)

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
    def submit(self, job: Job, *, urgent: bool = True,
               within: float = LAZY_DELAY) -> asyncio.Future[Any]:
        """Queue ``job``; the future holds its result or raises its refusal. ``urgent=False``:
        booked with the next batch, or ``within`` seconds later (see the module docstring)."""
        ...

    def grant(self, hold: Hold) -> Held | None:
        """Let the call go ahead now if this process alone can tell the hold is covered:
        the hold is then booked deferred (``Hold.granted``) and its Held returned. None:
        submit it (urgently) and wait instead."""
        ...

    async def flush(self) -> None:
        """Return once every job queued before this call was booked (committed or refused),
        lazy ones at once, except the keyed ones (run starts, still waiting to be absorbed):
        the read barrier of a request that must see what earlier answers left to book (see
        ``deps.get_session``)."""
        ...

    async def aclose(self) -> None:
        """Book everything queued, then stop."""
        ...


class _Outstanding:
    """What :meth:`BillingWriter.flush` waits for: the future of the last urgent job queued
    (batches are booked, and their futures answered, in queue order, so once it is done
    every earlier urgent job is too) and those of the unkeyed lazy jobs not answered yet
    (they join whichever batch comes next, in no order relative to the urgent ones)."""

    __slots__ = ("_last", "_lazy")

    def __init__(self) -> None:
        self._last: asyncio.Future[Any] | None = None
        self._lazy: set[asyncio.Future[Any]] = set()

    def note(self, future: asyncio.Future[Any]) -> None:
        self._last = future

    def note_lazy(self, future: asyncio.Future[Any]) -> None:
        self._lazy.add(future)
        future.add_done_callback(self._lazy.discard)

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        # Another loop's future cannot be awaited here; nothing of this loop is queued.
        waiting = [future for future in (self._last, *self._lazy)
                   if future is not None and not future.done() and future.get_loop() is loop]
        if waiting:
            await asyncio.wait(waiting)  # neither raises their failures nor cancels them


class _LazyDue:
    """When the lazy jobs are due: the keyed ones ``LAZY_DELAY`` after the first of them,
    the others at the earliest ``within`` asked. ``wake`` (book all) and ``nudge`` (book
    the unkeyed ones) run on the loop at those times."""

    __slots__ = ("_keyed_armed", "_nudge", "_plain_at", "_wake")

    def __init__(self, wake: Callable[[], None], nudge: Callable[[], None]) -> None:
        self._keyed_armed = False
        self._plain_at: float | None = None
        self._wake, self._nudge = wake, nudge

    def arm(self, job: Job, within: float) -> None:
        loop = asyncio.get_running_loop()
        if getattr(job, "lazy_key", None) is not None or within >= LAZY_DELAY:
            if not self._keyed_armed:
                self._keyed_armed = True
                loop.call_later(LAZY_DELAY, self._fire_wake)
            return
        due = loop.time() + within
        if self._plain_at is None or due < self._plain_at:
            self._plain_at = due
            loop.call_at(due, self._fire_nudge)

    def _fire_wake(self) -> None:
        self._keyed_armed = False
        self._wake()

    def _fire_nudge(self) -> None:
        self._plain_at = None  # an earlier timer still armed nudges again: harmless
        self._nudge()


class _InFlight:
    """The holds this process queued and has not seen committed, summed per user and key:
    a committed balance less these is what a grant may still take. A hold leaves when its
    result is delivered, which is after its commit, so a read in between counts it twice:
    that errs on the side of not granting."""

    __slots__ = ("keys", "users")

    def __init__(self) -> None:
        self.users: Counter[int] = Counter()
        self.keys: Counter[int] = Counter()

    def add(self, hold: Hold, future: asyncio.Future[Any]) -> None:
        self.users[hold.user_id] += hold.amount
        if hold.api_key_id is not None:
            self.keys[hold.api_key_id] += hold.amount
        future.add_done_callback(functools.partial(self._remove, hold))

    def _remove(self, hold: Hold, future: asyncio.Future[Any]) -> None:
        _decrease(self.users, hold.user_id, hold.amount)
        if hold.api_key_id is not None:
            _decrease(self.keys, hold.api_key_id, hold.amount)
        if hold.granted and not future.cancelled() and future.exception() is not None:
            # Nobody awaits a granted hold; its settlement will find no reservation and
            # say so too.
            log.error("the hold of request %s, granted in memory, could not be booked",
                      hold.request_id, exc_info=future.exception())


def _decrease(counter: Counter[int], key: int, amount: int) -> None:
    left = counter[key] - amount
    if left:
        counter[key] = left
    else:
        del counter[key]


class _Known:
    """The balances and key quotas as the writer's last commits left them (see the module
    docstring). Written by the writer thread right after a commit, before the results go
    out, so a hold is never out of both these values and the holds in flight."""

    __slots__ = ("_at", "_balances", "_lock", "_quotas")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._balances: dict[int, int] = {}
        self._quotas: dict[int, int | None] = {}  # None: unlimited (or deleted) key
        self._at = float("-inf")

    def learn(self, balances: dict[int, int | None], quotas: dict[int, int | None], *,
              others_wrote: bool) -> None:
        with self._lock:
            if others_wrote:  # anything known may be stale: keep only what was just read
                self._balances.clear()
                self._quotas.clear()
            for user_id, balance in balances.items():
                if balance is None:
                    self._balances.pop(user_id, None)
                else:
                    self._balances[user_id] = balance
            self._quotas.update(quotas)
            self._at = time.monotonic()

    def cover(self, user_id: int, key_id: int | None) -> tuple[int, int | None] | None:
        """(balance, key quota or None if unlimited), or None when not known well enough."""
        with self._lock:
            if time.monotonic() - self._at > KNOWN_FOR:
                return None
            balance = self._balances.get(user_id)
            if balance is None:
                return None
            if key_id is None:
                return balance, None
            if key_id not in self._quotas:
                return None
            return balance, self._quotas[key_id]


# One read for a grant: the user's balance and the key's quota (NULL: an unlimited key, or
# one deleted meanwhile, whose calls are the user's alone).
_COVER = ("SELECT users.balance, api_keys.quota_remaining FROM users "
          "LEFT JOIN api_keys ON api_keys.id = ? WHERE users.id = ?")


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
        self._due = _LazyDue(self._wake, self._nudge)
        self._outstanding = _Outstanding()
        self._in_flight = _InFlight()
        # Grants read with a connection of the event loop's thread (sqlite3 connections
        # stay in their thread); a read in WAL mode never waits for the writer.
        self._reader: sqlite3.Connection | None = None
        self._reader_thread: int | None = None
        self._known = _Known()
        self._data_version: int | None = None  # the writer thread's, at its last batch

    def submit(self, job: Job, *, urgent: bool = True,
               within: float = LAZY_DELAY) -> asyncio.Future[Any]:
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
                self._outstanding.note(future)
            else:
                self._lazy.add((job, future))
                self._due.arm(job, within)
                if getattr(job, "lazy_key", None) is None:
                    self._outstanding.note_lazy(future)
        if isinstance(job, Hold):
            self._in_flight.add(job, future)
        return future

    def grant(self, hold: Hold) -> Held | None:
        cover = self._known.cover(hold.user_id, hold.api_key_id) or self._read_cover(hold)
        if cover is None:
            return None
        balance, quota = cover
        left = balance - self._in_flight.users[hold.user_id]
        if left < hold.amount:
            return None
        limited = quota is not None
        if limited and quota - self._in_flight.keys[hold.api_key_id] < hold.amount:
            return None
        # Built directly: dataclasses.replace costs several times more. A failure to book
        # it is logged when it leaves the holds in flight (nobody awaits it).
        granted = Hold(hold.request_id, hold.user_id, hold.amount, hold.api_key_id,
                       hold.target, granted=True)
        self.submit(granted, urgent=False, within=DEFER_WITHIN)
        return Held(request_id=hold.request_id, amount=hold.amount,
                    key_amount=hold.amount if limited else 0,
                    balance_after=left - hold.amount)

    def _read_cover(self, hold: Hold) -> tuple[int, int | None] | None:
        reader = self._reader_here()
        if reader is None:
            return None
        try:
            row = reader.execute(_COVER, (hold.api_key_id, hold.user_id)).fetchone()
        except sqlite3.Error:  # busy (it never waits: this is the event loop) or worse
            return None
        return row  # None: no such user, which the urgent hold says

    def _reader_here(self) -> sqlite3.Connection | None:
        if self._reader is None:
            if self._closed:
                return None
            self._reader = self._connect()
            self._reader.execute("PRAGMA query_only=ON")
            self._reader.execute("PRAGMA busy_timeout=0")
            self._reader_thread = threading.get_ident()
        elif self._reader_thread != threading.get_ident():
            return None
        return self._reader

    async def flush(self) -> None:
        self._nudge()
        await self._outstanding.wait()

    def _wake(self) -> None:
        with self._lock:
            if self._lazy and not self._closed:
                self._queue.put(_WAKE)

    def _nudge(self) -> None:
        with self._lock:
            if self._lazy.has_plain and not self._closed:
                self._queue.put(_NUDGE)

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
        if self._reader is not None and self._reader_thread == threading.get_ident():
            self._reader.close()
            self._reader = None
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
                    elif item is not _WAKE and item is not _NUDGE:
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
            # Under the write lock: nobody else commits until our COMMIT.
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            tx = SqliteTx(connection)
            results = run_batch(tx, jobs, self._clock())
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        # Before the results go out (their holds then leave the ones in flight).
        self._known.learn(tx.balances_seen, tx.quotas_seen,
                          others_wrote=version != self._data_version)
        self._data_version = version
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
        self._plain_due = False  # a ``within`` is up: book the unkeyed lazy jobs
        self._due = _LazyDue(self._wake, self._nudge)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._outstanding = _Outstanding()

    def submit(self, job: Job, *, urgent: bool = True,
               within: float = LAZY_DELAY) -> asyncio.Future[Any]:
        if self._closed:
            raise WriterClosed("the billing writer is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if urgent:
            self._pending.extend(self._lazy.urgent(job, future))
            self._outstanding.note(future)
            self._start()
        else:
            self._lazy.add((job, future))
            self._due.arm(job, within)
            if getattr(job, "lazy_key", None) is None:
                self._outstanding.note_lazy(future)
        return future

    def grant(self, hold: Hold) -> None:
        return None  # other processes hold against the same balances: always ask the database

    async def flush(self) -> None:
        self._nudge()
        await self._outstanding.wait()

    def _wake(self) -> None:
        if self._lazy:
            self._lazy_due = True
            self._start()

    def _nudge(self) -> None:
        if self._lazy.has_plain:
            self._plain_due = True
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
            while self._pending or (self._lazy_due and self._lazy) \
                    or (self._plain_due and self._lazy.has_plain):
                lazy = self._lazy.take(keyed=self._lazy_due)
                self._lazy_due = self._plain_due = False
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
