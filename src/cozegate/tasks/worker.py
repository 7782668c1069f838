"""``TaskWorker``: the per-process loop that keeps every task moving.

Each tick (``worker_interval``, and at least every third of a lease):

* **renew** the leases of the tasks this process drives; a task no longer held (cancelled,
  ended by the reaper, or taken over after this process stalled past its lease) has its
  driver cancelled here;
* **reap**: an active task past its deadline is failed, whoever holds it;
* **claim** active tasks whose lease is free or expired (a process died, or shut down and
  released them) and drive them — this is how tasks survive restarts;
* **settle** ended tasks whose billing did not complete (a crash between the two steps);
* **send** due callbacks.

Several processes on one database each run this loop; the guarded UPDATEs in
:mod:`.repository` make each task driven by exactly one process at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from datetime import timedelta

from cozegate.config import TaskSettings
from cozegate.kit.loops import BackgroundLoop
from cozegate.models.task import STAGE_STREAMING
from cozegate.tasks.callbacks import CallbackSender
from cozegate.tasks.driver import TaskDriver
from cozegate.tasks.outcome import RunEnd
from cozegate.tasks.repository import TaskRepository
from cozegate.tasks.store import TaskStore

log = logging.getLogger("cozegate.tasks")

SHUTDOWN_REASON = ("cozegate shut down while holding this task's stream; a stream cannot be "
                   "re-attached — submit the task again")


def new_owner_id() -> str:
    """Unique per worker: host and pid for the operator, a random part for several gateways
    in one process (tests)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


class TaskWorker:
    def __init__(self, store: TaskStore, driver: TaskDriver, callbacks: CallbackSender,
                 settings: TaskSettings, owner: str) -> None:
        self.owner = owner
        self._store = store
        self._driver = driver
        self._callbacks = callbacks
        self._settings = settings
        self._drivers: dict[str, asyncio.Task[None]] = {}
        interval = min(settings.worker_interval, settings.lease_seconds / 3)
        self._loop = BackgroundLoop("task-worker", self.tick, interval, log=log)
        self._renewed_at = 0.0

    @property
    def driving(self) -> int:
        return len(self._drivers)

    @property
    def has_room(self) -> bool:
        return len(self._drivers) < self._settings.max_active

    def start(self) -> None:
        if not self._loop.running:
            self._callbacks.start()
            self._loop.start()

    def wake(self, _task_id: str | None = None) -> None:
        self._loop.wake()

    def drive(self, task_id: str) -> None:
        """Drive a task this process already leased (a fresh submit)."""
        if task_id in self._drivers:
            return
        driver = asyncio.create_task(self._driver.drive(task_id), name=f"task:{task_id}")
        self._drivers[task_id] = driver
        driver.add_done_callback(lambda _: self._drivers.pop(task_id, None))

    def abort(self, task_id: str) -> None:
        """Stop driving a task here (it was cancelled or ended by someone else)."""
        driver = self._drivers.get(task_id)
        if driver is not None:
            driver.cancel()

    async def tick(self) -> None:
        """One round of the loop's duties (the loop calls it; tests may too)."""
        for duty in (self._renew, self._reap, self._claim, self._settle, self._callbacks.sweep):
            try:
                await duty()
            except Exception:
                log.exception("task worker: %s failed; retried next tick", duty.__name__)

    async def stop(self) -> None:
        """Stop driving: held streams end as failed (they cannot outlive the process), the
        other leases are released so another process (or the next start) takes them at
        once."""
        await self._loop.stop()
        drivers = dict(self._drivers)
        for driver in drivers.values():
            driver.cancel()
        await asyncio.gather(*drivers.values(), return_exceptions=True)
        await self._store.drain()
        try:
            for task_id in drivers:
                task = await self._store.load(task_id)
                if task is not None and task.stage == STAGE_STREAMING:
                    await self._store.end(task_id, RunEnd.failed(SHUTDOWN_REASON),
                                          owner=self.owner)
            async with self._store.sessionmaker.begin() as session:
                await TaskRepository(session).release(list(drivers), self.owner)
        except Exception:
            # The database is gone too: the leases expire and the next process takes over.
            log.exception("task worker: could not release its tasks at shutdown")
        await self._callbacks.stop()

    def _lease_until(self) -> timedelta:
        return timedelta(seconds=self._settings.lease_seconds)

    async def _renew(self) -> None:
        if time.monotonic() - self._renewed_at < self._settings.lease_seconds / 3:
            return
        mine = list(self._drivers)
        async with self._store.sessionmaker.begin() as session:
            held = await TaskRepository(session).renew(
                mine, self.owner, self._store.now() + self._lease_until())
        self._renewed_at = time.monotonic()
        for task_id in set(mine) - held:
            log.info("task %s is no longer driven here (ended elsewhere or lease lost)", task_id)
            self.abort(task_id)

    async def _reap(self) -> None:
        async with self._store.sessionmaker() as session:
            overdue = await TaskRepository(session).overdue(self._store.now())
        deadline = self._settings.deadline_seconds
        for task_id in overdue:
            if await self._store.end(task_id, RunEnd.failed(
                    f"deadline exceeded: still not finished {deadline:g} s after submit")):
                self.abort(task_id)

    async def _claim(self) -> None:
        room = self._settings.max_active - len(self._drivers)
        if room <= 0:
            return
        now = self._store.now()
        async with self._store.sessionmaker.begin() as session:
            repo = TaskRepository(session)
            candidates = await repo.claimable(now, room)
            claimed = [task_id for task_id in candidates
                       if await repo.claim(task_id, self.owner, now, now + self._lease_until())]
        for task_id in claimed:
            log.info("task %s taken over by %s", task_id, self.owner)
            self.drive(task_id)

    async def _settle(self) -> None:
        # Give the party that ended a task a lease's time to settle it before stepping in.
        before = self._store.now() - self._lease_until()
        async with self._store.sessionmaker() as session:
            unsettled = await TaskRepository(session).unsettled(before)
        for task_id in unsettled:
            await self._store.settle(task_id)
