"""Queries on ``runs``. No commits here: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.models import Run, UsageLog
from cozegate.runs.schemas import RunFilter


@dataclass(frozen=True)
class RunRows:
    items: Sequence[Run]
    total: int


class RunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, run: Run) -> Run:
        self.session.add(run)
        await self.session.flush()
        return run

    async def get(self, run_id: str) -> Run | None:
        return await self.session.get(Run, run_id)

    async def set_fields(self, run_id: str, values: dict[str, Any], *,
                         only_status: Sequence[str] | None = None) -> bool:
        """One UPDATE; with ``only_status`` it applies only while the run is in one of those
        statuses (a guarded transition: two finishers cannot both win)."""
        statement = update(Run).where(Run.id == run_id).values(**values)
        if only_status is not None:
            statement = statement.where(Run.status.in_(only_status))
        result = await self.session.execute(statement.execution_options(
            synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_execute_id(self, workflow_id: str, execute_id: str) -> Run | None:
        return await self.session.scalar(
            select(Run).where(Run.workflow_id == workflow_id, Run.execute_id == execute_id)
            .order_by(Run.created_at.desc()).limit(1))

    async def page(self, filters: RunFilter, *, offset: int, limit: int) -> RunRows:
        """Newest first."""
        total = await self.session.scalar(
            _filtered(select(func.count()).select_from(Run), filters))
        items = (await self.session.scalars(
            _filtered(select(Run), filters)
            .order_by(Run.created_at.desc(), Run.id.desc()).offset(offset).limit(limit))).all()
        return RunRows(items=items, total=total or 0)

    async def usage_of(self, request_id: str) -> UsageLog | None:
        """The usage log row billing wrote for ``request_id`` (tokens and the real cost)."""
        return await self.session.scalar(
            select(UsageLog).where(UsageLog.request_id == request_id)
            .order_by(UsageLog.id.desc()).limit(1))

    async def delete_created_before(self, cutoff: datetime, *,
                                    keep_status: Sequence[str]) -> int:
        result = await self.session.execute(
            delete(Run).where(Run.created_at < cutoff, Run.status.not_in(keep_status))
            .execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _filtered(query: Select[Any], filters: RunFilter) -> Select[Any]:
    equal = {
        Run.user_id: filters.user_id,
        Run.api_key_id: filters.api_key_id,
        Run.workflow_id: filters.workflow_id,
        Run.execute_id: filters.execute_id,
        Run.task_id: filters.task_id,
        Run.surface: filters.surface,
        Run.status: filters.status,
        Run.channel_id: filters.channel_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(Run.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Run.created_at < filters.until)
    return query
