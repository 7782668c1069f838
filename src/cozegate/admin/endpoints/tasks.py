"""Every user's tasks: list, look at one, cancel one (the task API shows a key its own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cozegate.deps import RuntimeDep
from cozegate.tasks.schemas import TaskList, TaskOut

router = APIRouter(prefix="/tasks")


@router.get("", summary="All tasks, newest first")
async def list_tasks(
    runtime: RuntimeDep,
    user_id: Annotated[int | None, Query()] = None,
    status: Annotated[str | None, Query(description="pending, executing, completed, failed, "
                                        "cancelled (or succeeded, interrupted, active)")] = None,
    workflow_id: Annotated[str | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TaskList:
    return await runtime.tasks.page(user_id, status=status, workflow_id=workflow_id,
                                    offset=offset, limit=limit)


@router.get("/{task_id}", summary="One task, whoever submitted it")
async def get_task(task_id: str, runtime: RuntimeDep) -> TaskOut:
    return TaskOut.of(await runtime.tasks.load(task_id))


@router.post("/{task_id}/cancel", summary="Cancel any task")
async def cancel_task(task_id: str, runtime: RuntimeDep) -> TaskOut:
    return TaskOut.of(await runtime.tasks.cancel(None, task_id))
