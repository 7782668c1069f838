"""``TaskStore``: the task rows as the drivers, the worker and the API change them.

Each method is one short transaction of its own (no session is held while a task waits on
Coze). The writing methods finish even when their caller is cancelled (a driver stopped at
shutdown or aborted): a cancel inside a transaction would leave a half-done step and, on
SQLite, a connection holding the write lock. Ending a task is two steps, in this order:

1. :meth:`end` — a guarded transition (the task must still be active, and for a driver still
   leased to it) that writes the outcome. Exactly one party wins: driver, canceller or
   reaper.
2. :meth:`settle` — bill the outcome (``Metering.finish``: settle or refund the reservation
   made at submit), copy usage and cost onto the run and the task, mark the task settled and
   store the terminal event. It reads everything from the row, so the settle sweep can
   repeat it after a crash between the two steps; billing is idempotent per request id.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from cozegate.billing.repository import BalanceRepository
from cozegate.db import SessionMaker
from cozegate.models import Task
from cozegate.models.base import utcnow
from cozegate.models.reservation import RESERVED
from cozegate.models.task import CALLBACK_PENDING, STAGE_ENDED, TASK_ACTIVE
from cozegate.relay.metering import Metering
from cozegate.runs.schemas import RunFinish, RunUpdate
from cozegate.runs.service import RunService
from cozegate.tasks.billing import call_of, outcome_of
from cozegate.tasks.outcome import RunEnd
from cozegate.tasks.repository import TaskRepository
from cozegate.tasks.schemas import TaskOut

log = logging.getLogger("cozegate.tasks")

Listener = Callable[[str], None]


P = ParamSpec("P")
R = TypeVar("R")


def _finishes_when_cancelled(
        method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Awaitable[R]]:
    """Run the write as its own task the caller's cancel cannot interrupt (the caller still
    sees CancelledError at once); :meth:`TaskStore.drain` waits for such writes."""
    @functools.wraps(method)
    async def shielded(*args: P.args, **kwargs: P.kwargs) -> R:
        store: TaskStore = args[0]  # type: ignore[assignment]
        write = asyncio.ensure_future(method(*args, **kwargs))
        store._writes.add(write)
        write.add_done_callback(store._writes.discard)
        return await asyncio.shield(write)
    return shielded


class TaskStore:
    def __init__(self, sessionmaker: SessionMaker, metering: Metering, *,
                 runs: RunService | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessionmaker = sessionmaker
        self._metering = metering
        self._runs = runs or RunService(clock=clock)
        self._clock = clock
        self._on_settled: list[Listener] = []
        self._writes: set[asyncio.Future[Any]] = set()

    async def drain(self) -> None:
        """Wait for writes whose callers were cancelled (shutdown: before the leases go)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def on_settled(self, listener: Listener) -> None:
        """Called with the task id once a task is settled (the callback sender listens)."""
        self._on_settled.append(listener)

    def now(self) -> datetime:
        return self._clock()

    async def load(self, task_id: str) -> Task | None:
        async with self.sessionmaker() as session:
            return await TaskRepository(session).get(task_id)

    @_finishes_when_cancelled
    async def update(self, task_id: str, values: dict[str, Any], *, owner: str | None = None,
                     run: RunUpdate | None = None, event: tuple[str, dict[str, Any]] |
                     None = None) -> bool:
        """Change an active task (held by ``owner`` when given), its run and add an event,
        all or nothing. False when the task is no longer active (or no longer ours)."""
        async with self.sessionmaker.begin() as session:
            repo = TaskRepository(session)
            values = {**values, "updated_at": self.now()}
            if not await repo.set_fields(task_id, values, only_status=TASK_ACTIVE,
                                         owner=owner):
                return False
            task = await repo.get(task_id)
            assert task is not None
            if run is not None:
                await self._runs.update(session, task.run_id, run)
            if event is not None:
                await repo.append_event(task_id, event[0], event[1], self.now())
        return True

    @_finishes_when_cancelled
    async def emit(self, task_id: str, event: str, data: dict[str, Any]) -> None:
        async with self.sessionmaker.begin() as session:
            await TaskRepository(session).append_event(task_id, event, data, self.now())

    @_finishes_when_cancelled
    async def end(self, task_id: str, end: RunEnd, *, owner: str | None = None,
                  status: str | None = None, extra: dict[str, Any] | None = None) -> bool:
        """Step 1: the guarded transition to an end status; then step 2 (settle)."""
        now = self.now()
        values: dict[str, Any] = {
            "status": status or end.status, "stage": STAGE_ENDED, "output": end.output,
            "error": end.error, "error_code": end.error_code, "interrupt": end.interrupt,
            "input_tokens": end.input_tokens, "output_tokens": end.output_tokens,
            "finished_at": now, "updated_at": now, "lease_owner": None,
            "lease_expires_at": None, **end.facts(), **(extra or {})}
        async with self.sessionmaker.begin() as session:
            repo = TaskRepository(session)
            if not await repo.set_fields(task_id, values, only_status=TASK_ACTIVE,
                                         owner=owner):
                return False
            task = await repo.get(task_id)
            if task is not None and task.callback_url:
                await repo.set_fields(task_id, {"callback_state": CALLBACK_PENDING,
                                                "callback_next_at": now})
        await self.settle(task_id)
        return True

    @_finishes_when_cancelled
    async def settle(self, task_id: str) -> bool:
        """Step 2 (idempotent): bill, copy usage onto run and task, store the end event."""
        task = await self.load(task_id)
        if task is None or task.settled or task.status in TASK_ACTIVE:
            return False
        await self._metering.finish(call_of(task), outcome_of(task))
        async with self.sessionmaker.begin() as session:
            reservation = await BalanceRepository(session).get_reservation(task.request_id)
            if reservation is not None and reservation.status == RESERVED:
                log.warning("task %s: billing did not settle; the sweep retries", task_id)
                return False
            repo = TaskRepository(session)
            if not await repo.mark_settled(task_id):
                return False  # another process settled it meanwhile
            await self._runs.finish(session, task.run_id, RunFinish(
                status=task.status,  # type: ignore[arg-type]
                output=task.output, error=task.error, error_code=task.error_code,
                execute_id=task.execute_id, logid=task.logid, debug_url=task.debug_url,
                conversation_id=task.conversation_id, interrupt=task.interrupt))
            usage = await self._runs.usage_of(session, task.request_id)
            if usage is not None:
                await repo.set_fields(task_id, {"cost": usage.cost})
            task = await repo.get(task_id)
            assert task is not None
            await repo.append_event(task_id, task.status,
                                    TaskOut.of(task).model_dump(mode="json"), self.now())
        for listener in self._on_settled:
            listener(task_id)
        return True
