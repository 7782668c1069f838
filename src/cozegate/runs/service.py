"""Run records: start, update, finish, resume, read, list, purge. Never commits.

Status moves ``queued → running → succeeded | failed | cancelled | interrupted``; an
interrupted run goes back to ``running`` when it is resumed (``resume_count`` + 1). Finishing
is a guarded transition, so when two parties race (a task's driver and its canceller) exactly
one outcome is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.kit.ids import snowflake_id
from cozegate.models import Run, UsageLog
from cozegate.models.base import utcnow
from cozegate.models.run import RUN_ACTIVE, RUN_INTERRUPTED, RUN_RUNNING
from cozegate.runs.errors import RunNotFound
from cozegate.runs.repository import RunRepository
from cozegate.runs.schemas import RunFilter, RunFinish, RunOut, RunPage, RunStart, RunUpdate


def new_run_id() -> str:
    return f"run_{snowflake_id()}"


class RunService:
    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock

    async def start(self, session: AsyncSession, data: RunStart, *,
                    run_id: str | None = None) -> str:
        """Insert the run; returns its id (``run_id`` when given, so callers can know the
        id before the insert commits)."""
        now = self._clock()
        run = Run(id=run_id or new_run_id(), **data.model_dump(), created_at=now,
                  updated_at=now, started_at=now if data.status == RUN_RUNNING else None)
        await RunRepository(session).add(run)
        return run.id

    async def update(self, session: AsyncSession, run_id: str, data: RunUpdate) -> bool:
        values: dict[str, Any] = {name: getattr(data, name) for name in data.model_fields_set}
        if not values:
            return False
        now = self._clock()
        values["updated_at"] = now
        repo = RunRepository(session)
        if values.get("status") == RUN_RUNNING:
            # started_at is the first time it ran, not the latest update.
            await repo.set_fields(run_id, {"started_at": now}, only_status=("queued",))
        return await repo.set_fields(run_id, values, only_status=RUN_ACTIVE)

    async def finish(self, session: AsyncSession, run_id: str, data: RunFinish) -> bool:
        """Record the end; False when the run had already ended (or does not exist)."""
        repo = RunRepository(session)
        run = await repo.get(run_id)
        if run is None or run.status not in RUN_ACTIVE:
            return False
        values: dict[str, Any] = {
            name: value for name, value in data.model_dump().items() if value is not None}
        if run.request_id and (data.cost is None or data.input_tokens is None):
            values.update(await self._billed(repo, run.request_id, data))
        now = self._clock()
        values.update(finished_at=now, updated_at=now,
                      duration_ms=round((now - run.created_at).total_seconds() * 1000))
        if data.status != RUN_INTERRUPTED:
            values["interrupt"] = None
        return await repo.set_fields(run_id, values, only_status=RUN_ACTIVE)

    async def resume(self, session: AsyncSession, run_id: str) -> bool:
        """An interrupted run continues (its answer was sent): running again, one more resume."""
        repo = RunRepository(session)
        run = await repo.get(run_id)
        if run is None or run.status != RUN_INTERRUPTED:
            return False
        return await repo.set_fields(run_id, {
            "status": RUN_RUNNING, "interrupt": None, "resume_count": run.resume_count + 1,
            "finished_at": None, "updated_at": self._clock()}, only_status=(RUN_INTERRUPTED,))

    async def get(self, session: AsyncSession, run_id: str, *,
                  user_id: int | None = None) -> Run:
        """The run; with ``user_id``, only if it is that user's (else RunNotFound, 404)."""
        run = await RunRepository(session).get(run_id)
        if run is None or (user_id is not None and run.user_id != user_id):
            raise RunNotFound(f"no run {run_id!r}")
        return run

    async def by_execute_id(self, session: AsyncSession, workflow_id: str,
                            execute_id: str) -> Run | None:
        return await RunRepository(session).by_execute_id(workflow_id, execute_id)

    async def usage_of(self, session: AsyncSession, request_id: str) -> UsageLog | None:
        """The usage log row billing wrote for ``request_id``."""
        return await RunRepository(session).usage_of(request_id)

    async def page(self, session: AsyncSession, filters: RunFilter, *, offset: int = 0,
                   limit: int = 50) -> RunPage:
        rows = await RunRepository(session).page(filters, offset=offset, limit=limit)
        return RunPage(items=[RunOut.of(run) for run in rows.items], total=rows.total,
                       offset=offset, limit=limit)

    async def purge(self, session: AsyncSession, retention_days: int) -> int:
        """Delete ended runs created more than ``retention_days`` ago; 0 keeps everything.
        Runs still going are kept whatever their age (their task or stream owns them)."""
        if retention_days <= 0:
            return 0
        cutoff = self._clock() - timedelta(days=retention_days)
        return await RunRepository(session).delete_created_before(cutoff,
                                                                  keep_status=RUN_ACTIVE)

    @staticmethod
    async def _billed(repo: RunRepository, request_id: str, data: RunFinish) -> dict[str, Any]:
        usage = await repo.usage_of(request_id)
        if usage is None:
            return {}
        billed = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                  "usage_estimated": usage.usage_estimated, "cost": usage.cost}
        return {name: value for name, value in billed.items() if getattr(data, name) is None}
