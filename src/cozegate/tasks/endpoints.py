"""Seed 004's task API under ``/api/coze`` (gateway key; ``/health`` is public).

Thin: parse, call :class:`~cozegate.tasks.service.TaskManager` or the catalog, shape the
answer. Errors render as ``{"error": {"code", "message"}}`` (Surface.TASKS).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from cozegate.access import CurrentKey, client_ip
from cozegate.deps import RuntimeDep
from cozegate.surfaces import Surface, surface_dependency
from cozegate.tasks.catalog import health, workflows_of, workspaces_of
from cozegate.tasks.events import task_events
from cozegate.tasks.schemas import TaskCreate, TaskList, TaskOut, TaskSubmitted

router = APIRouter(prefix="/api/coze", tags=["tasks"],
                   dependencies=[Depends(surface_dependency(Surface.TASKS))])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/health", summary="Task service health and task counts (no key needed)")
async def get_health(runtime: RuntimeDep) -> JSONResponse:
    body, ok = await health(runtime)
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/workspaces", summary="Workspaces of an account (channel); default = default")
async def get_workspaces(key: CurrentKey, runtime: RuntimeDep,
                         account_id: Annotated[str | None, Query()] = None) -> dict:
    return await workspaces_of(runtime, key, account_id)


@router.get("/workspaces/{workspace_id}/workflows", summary="Workflows of a workspace")
async def get_workflows(workspace_id: str, key: CurrentKey, runtime: RuntimeDep,
                        account_id: Annotated[str | None, Query()] = None,
                        page_num: Annotated[int, Query(ge=1)] = 1,
                        page_size: Annotated[int, Query(ge=1, le=100)] = 20) -> dict:
    return await workflows_of(runtime, key, account_id, workspace_id, page_num, page_size)


@router.post("/tasks/execute", summary="Submit a workflow / chat-flow task (runs in the "
             "background)", response_model=TaskSubmitted)
async def execute(body: TaskCreate, request: Request, key: CurrentKey, runtime: RuntimeDep,
                  idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
                  ) -> JSONResponse:
    submission = await runtime.tasks.submit(key, body, idempotency_key=idempotency_key,
                                            client_ip=client_ip(request))
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else None
    return JSONResponse(submission.answer.model_dump(mode="json", exclude_none=True),
                        headers=headers)


@router.get("/tasks", summary="My tasks, newest first")
async def list_tasks(
    key: CurrentKey, runtime: RuntimeDep,
    status: Annotated[str | None, Query(description="pending, executing, completed, failed, "
                                        "cancelled (or succeeded, interrupted, active)")] = None,
    workflow_id: Annotated[str | None, Query()] = None,
    save_as_task: Annotated[bool | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TaskList:
    return await runtime.tasks.list(key, status=status, workflow_id=workflow_id,
                                    saved=save_as_task, offset=offset, limit=limit)


@router.get("/tasks/{task_id}", summary="One of my tasks, with its output")
async def get_task(task_id: str, key: CurrentKey, runtime: RuntimeDep) -> TaskOut:
    return TaskOut.of(await runtime.tasks.get(key, task_id))


@router.post("/tasks/{task_id}/cancel", summary="Cancel one of my tasks")
async def cancel_task(task_id: str, key: CurrentKey, runtime: RuntimeDep) -> TaskOut:
    return TaskOut.of(await runtime.tasks.cancel(key, task_id))


@router.get("/tasks/{task_id}/events", summary="The task's progress as SSE (replay with "
            "Last-Event-ID)", response_class=StreamingResponse)
async def task_event_stream(
    task_id: str, key: CurrentKey, runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(alias="last_event_id", ge=0)] = None,
) -> StreamingResponse:
    await runtime.tasks.get(key, task_id)  # 404 before the stream starts, as JSON
    start = after if after is not None else _event_number(last_event_id)
    settings = runtime.settings.tasks
    return StreamingResponse(
        task_events(runtime.tasks.store, task_id, start,
                    poll_interval=settings.event_poll_interval,
                    keepalive=settings.event_keepalive),
        media_type="text/event-stream", headers=SSE_HEADERS)


def _event_number(header: str | None) -> int:
    try:
        return max(0, int(header.strip())) if header else 0
    except ValueError:
        return 0
