"""Queries on ``tasks`` and ``task_events``. Never commits: the caller owns the transaction.

Every state change that two processes could race on is one guarded UPDATE (a WHERE on the
expected status / lease owner) whose row count says who won: claiming a lease, renewing it,
ending a task, claiming a callback delivery.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.models import Task, TaskEvent
from cozegate.models.task import CALLBACK_PENDING, TASK_ACTIVE


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, task: Task) -> Task:
        self.session.add(task)
        await self.session.flush()
        return task

    async def get(self, task_id: str) -> Task | None:
        return await self.session.scalar(
            select(Task).where(Task.id == task_id).execution_options(populate_existing=True))

    async def by_idempotency_key(self, api_key_id: int, key: str) -> Task | None:
        return await self.session.scalar(select(Task).where(
            Task.api_key_id == api_key_id, Task.idempotency_key == key))

    async def page(self, user_id: int | None, *, status: Collection[str] | None,
                   workflow_id: str | None, saved: bool | None, offset: int,
                   limit: int) -> tuple[Sequence[Task], int]:
        conditions: list[ColumnElement[bool]] = []
        if user_id is not None:
            conditions.append(Task.user_id == user_id)
        if status:
            conditions.append(Task.status.in_(status))
        if workflow_id is not None:
            conditions.append(Task.workflow_id == workflow_id)
        if saved is not None:
            conditions.append(Task.save_as_task.is_(saved))
        total = await self.session.scalar(select(func.count()).select_from(Task)
                                          .where(*conditions))
        rows = (await self.session.scalars(
            select(Task).where(*conditions).order_by(Task.created_at.desc(), Task.id.desc())
            .offset(offset).limit(limit))).all()
        return rows, total or 0

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(select(Task.status, func.count()).group_by(Task.status))
        return {status: int(count) for status, count in rows.all()}

    async def set_fields(self, task_id: str, values: dict[str, Any], *,
                         only_status: Collection[str] | None = None,
                         owner: str | None = None) -> bool:
        """Update one task; guarded by status and/or lease owner; True when it applied."""
        statement = update(Task).where(Task.id == task_id)
        if only_status is not None:
            statement = statement.where(Task.status.in_(only_status))
        if owner is not None:
            statement = statement.where(Task.lease_owner == owner)
        result = await self.session.execute(
            statement.values(**values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_settled(self, task_id: str) -> bool:
        result = await self.session.execute(
            update(Task).where(Task.id == task_id, Task.settled.is_(False))
            .values(settled=True).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- leases ----------------------------------------------------------------------------

    async def claimable(self, now: datetime, limit: int) -> list[str]:
        """Active tasks nobody holds (no lease, or an expired one), oldest first."""
        rows = await self.session.scalars(
            select(Task.id).where(Task.status.in_(TASK_ACTIVE), _lease_free(now))
            .order_by(Task.created_at).limit(limit))
        return list(rows)

    async def claim(self, task_id: str, owner: str, now: datetime, until: datetime) -> bool:
        result = await self.session.execute(
            update(Task).where(Task.id == task_id, Task.status.in_(TASK_ACTIVE),
                               _lease_free(now))
            .values(lease_owner=owner, lease_expires_at=until)
            .execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def renew(self, task_ids: Collection[str], owner: str, until: datetime) -> set[str]:
        """Extend this owner's leases; returns the ids it still holds on active tasks."""
        if not task_ids:
            return set()
        held = (Task.id.in_(task_ids), Task.lease_owner == owner, Task.status.in_(TASK_ACTIVE))
        await self.session.execute(update(Task).where(*held).values(lease_expires_at=until)
                                   .execution_options(synchronize_session=False))
        return set(await self.session.scalars(select(Task.id).where(*held)))

    async def release(self, task_ids: Collection[str], owner: str) -> None:
        if task_ids:
            await self.session.execute(
                update(Task).where(Task.id.in_(task_ids), Task.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False))

    async def overdue(self, now: datetime, limit: int = 100) -> list[str]:
        return list(await self.session.scalars(
            select(Task.id).where(Task.status.in_(TASK_ACTIVE), Task.deadline_at < now)
            .limit(limit)))

    async def unsettled(self, finished_before: datetime, limit: int = 100) -> list[str]:
        return list(await self.session.scalars(
            select(Task.id).where(Task.settled.is_(False), Task.status.not_in(TASK_ACTIVE),
                                  Task.finished_at < finished_before).limit(limit)))

    # --- callbacks -------------------------------------------------------------------------

    async def callbacks_due(self, now: datetime, limit: int) -> list[tuple[str, datetime]]:
        rows = await self.session.execute(
            select(Task.id, Task.callback_next_at).where(
                Task.callback_state == CALLBACK_PENDING, Task.settled.is_(True),
                Task.callback_next_at <= now).order_by(Task.callback_next_at).limit(limit))
        return [(row[0], row[1]) for row in rows.all()]

    async def claim_callback(self, task_id: str, due: datetime, until: datetime) -> bool:
        # Moving next_at forward is the claim: another process that read the same due time
        # finds it changed and backs off.
        result = await self.session.execute(
            update(Task).where(Task.id == task_id, Task.callback_state == CALLBACK_PENDING,
                               Task.callback_next_at == due)
            .values(callback_next_at=until).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- events ----------------------------------------------------------------------------

    async def append_event(self, task_id: str, event: str, data: dict[str, Any],
                           now: datetime) -> int:
        """Store one event; its seq comes from the task row, locked by this UPDATE until
        commit, so concurrent writers queue up instead of taking the same number."""
        await self.session.execute(
            update(Task).where(Task.id == task_id)
            .values(last_event_id=Task.last_event_id + 1)
            .execution_options(synchronize_session=False))
        seq = await self.session.scalar(select(Task.last_event_id).where(Task.id == task_id))
        assert seq is not None
        self.session.add(TaskEvent(task_id=task_id, seq=seq, event=event, created_at=now,
                                   data=json.dumps(data, ensure_ascii=False, default=str)))
        await self.session.flush()
        return int(seq)

    async def events_after(self, task_id: str, seq: int, limit: int = 500) -> list[TaskEvent]:
        return list(await self.session.scalars(
            select(TaskEvent).where(TaskEvent.task_id == task_id, TaskEvent.seq > seq)
            .order_by(TaskEvent.seq).limit(limit)))

    # --- retention -------------------------------------------------------------------------

    async def delete_ended_before(self, cutoff: datetime) -> int:
        ids = select(Task.id).where(Task.created_at < cutoff, Task.status.not_in(TASK_ACTIVE),
                                    Task.settled.is_(True))
        events = await self.session.execute(
            delete(TaskEvent).where(TaskEvent.task_id.in_(ids))
            .execution_options(synchronize_session=False))
        tasks = await self.session.execute(
            delete(Task).where(Task.id.in_(ids)).execution_options(synchronize_session=False))
        return int(tasks.rowcount or 0) + int(events.rowcount or 0)  # type: ignore[attr-defined]


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(Task.lease_owner.is_(None), Task.lease_expires_at < now)
