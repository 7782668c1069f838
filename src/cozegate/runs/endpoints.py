"""``/api/runs`` (the caller's own runs, gateway key) and ``/api/admin/runs`` (every run).

A key sees the runs of its own user, whichever of the user's keys started them; another
user's run answers 404 like a missing one. Admin keys see everything under /api/admin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cozegate.access import CurrentKey
from cozegate.admin.deps import require_admin
from cozegate.deps import SessionDep
from cozegate.runs.schemas import RunFilter, RunOut, RunPage
from cozegate.runs.service import RunService
from cozegate.surfaces import Surface, surface_dependency

MAX_PAGE_SIZE = 500

router = APIRouter(prefix="/api/runs", tags=["runs"],
                   dependencies=[Depends(surface_dependency(Surface.TASKS))])
admin_router = APIRouter(prefix="/api/admin/runs", tags=["admin"], dependencies=[
    Depends(surface_dependency(Surface.ADMIN)), Depends(require_admin)])


async def run_filter(
    workflow_id: Annotated[str | None, Query()] = None,
    execute_id: Annotated[str | None, Query()] = None,
    task_id: Annotated[str | None, Query()] = None,
    surface: Annotated[str | None, Query(description="openai, coze, task, …")] = None,
    status: Annotated[str | None, Query(
        description="queued, running, interrupted, succeeded, failed, cancelled")] = None,
    key_id: Annotated[int | None, Query(description="Runs of one key.")] = None,
    channel_id: Annotated[int | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Inclusive, ISO 8601 (UTC if naive).")]
    = None,
    until: Annotated[datetime | None, Query(description="Exclusive, ISO 8601 (UTC if naive).")]
    = None,
) -> RunFilter:
    return RunFilter(workflow_id=workflow_id, execute_id=execute_id, task_id=task_id,
                     surface=surface, status=status, api_key_id=key_id,
                     channel_id=channel_id, since=_utc(since), until=_utc(until))


FilterDep = Annotated[RunFilter, Depends(run_filter)]
Offset = Annotated[int, Query(ge=0, description="Rows to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")]


@router.get("", summary="My runs, newest first")
async def list_my_runs(key: CurrentKey, session: SessionDep, filters: FilterDep,
                       offset: Offset = 0, limit: Limit = 50) -> RunPage:
    filters = filters.model_copy(update={"user_id": key.user_id})
    return await RunService().page(session, filters, offset=offset, limit=limit)


@router.get("/{run_id}", summary="One of my runs, with its full output")
async def get_my_run(run_id: str, key: CurrentKey, session: SessionDep) -> RunOut:
    return RunOut.of(await RunService().get(session, run_id, user_id=key.user_id))


@admin_router.get("", summary="All runs, newest first")
async def list_runs(session: SessionDep, filters: FilterDep, offset: Offset = 0,
                    limit: Limit = 50,
                    user_id: Annotated[int | None, Query()] = None) -> RunPage:
    filters = filters.model_copy(update={"user_id": user_id})
    return await RunService().page(session, filters, offset=offset, limit=limit)


@admin_router.get("/{run_id}", summary="One run, with its full output")
async def get_run(run_id: str, session: SessionDep) -> RunOut:
    return RunOut.of(await RunService().get(session, run_id))


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
