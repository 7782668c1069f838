"""What the gateway did: the overview, usage, runs and tasks."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from cozegate.admin.deps import TxDep
from cozegate.admin.endpoints.channels import channel_out
from cozegate.admin.endpoints.usage import export_usage
from cozegate.admin.schemas import DailyUsageOut, UsageOut
from cozegate.billing.schemas import UsageFilter
from cozegate.billing.usage_repository import UsageRepository
from cozegate.deps import RuntimeDep
from cozegate.errors import CozegateError
from cozegate.models.base import utcnow
from cozegate.runs.schemas import RunFilter, RunOut
from cozegate.runs.service import RunService
from cozegate.runtime import Runtime
from cozegate.web.rendering import PAGE_SIZE, done, errors_text, filters_of, pager, query_of, render
from cozegate.web.session import ConsoleAdmin, Form

router = APIRouter(include_in_schema=False)


# -- overview ------------------------------------------------------------------------------


@router.get("/overview")
async def overview(request: Request, _: ConsoleAdmin, tx: TxDep,
                   runtime: RuntimeDep) -> HTMLResponse:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    usage = UsageRepository(tx.session)
    days = await usage.daily(UsageFilter(since=today - timedelta(days=6)))
    latest = await usage.page(UsageFilter(), offset=0, limit=10)
    channels = await runtime.channels.list_channels(tx.session)
    return render(request, "overview.html", {
        "users": await runtime.users.count_users(tx.session),
        "channels": [channel_out(runtime, c) for c in channels],
        "days": [DailyUsageOut.of(d) for d in days],
        "latest": [UsageOut.of(row) for row in latest.items],
    })


# -- usage ---------------------------------------------------------------------------------


# The filter forms' key field, as the usage and run filters name it.
_RENAMES = {"key_id": "api_key_id"}


@router.get("/usage")
async def usage_page(request: Request, _: ConsoleAdmin, tx: TxDep,
                     offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    query = query_of(request)
    try:
        filters = filters_of(query, UsageFilter, _RENAMES)
    except ValidationError as exc:
        return _unfiltered(request, "usage.html", query, exc)
    found = await UsageRepository(tx.session).page(filters, offset=offset, limit=PAGE_SIZE)
    return render(request, "usage.html", {
        "rows": [UsageOut.of(row) for row in found.items],
        "pager": pager(offset, found.total, query),
        "filters": query,
    })


@router.get("/usage.csv")
async def usage_export(request: Request, _: ConsoleAdmin, runtime: RuntimeDep) -> Response:
    try:
        filters = filters_of(query_of(request), UsageFilter, _RENAMES)
    except ValidationError as exc:
        return Response(errors_text(exc), status_code=status.HTTP_400_BAD_REQUEST,
                        media_type="text/plain; charset=utf-8")
    return await export_usage(filters, runtime)  # the admin API's export, as it is


def _unfiltered(request: Request, template: str, query: dict[str, str],
                error: ValidationError) -> HTMLResponse:
    """A filter form that does not parse: the page, empty, saying which field is wrong."""
    return render(request, template, {"rows": [], "filters": query, "pager": pager(0, 0),
                                      "error": errors_text(error)},
                  status.HTTP_400_BAD_REQUEST)


# -- runs ----------------------------------------------------------------------------------


@router.get("/runs")
async def runs_page(request: Request, _: ConsoleAdmin, tx: TxDep,
                    offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    query = query_of(request)
    try:
        filters = filters_of(query, RunFilter, _RENAMES)
    except ValidationError as exc:
        return _unfiltered(request, "runs.html", query, exc)
    found = await RunService().page(tx.session, filters, offset=offset, limit=PAGE_SIZE)
    return render(request, "runs.html", {"rows": found.items, "filters": query,
                                         "pager": pager(offset, found.total, query)})


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, _: ConsoleAdmin, tx: TxDep) -> Response:
    """One run with its inputs and whole output (kept after Coze's own retention)."""
    try:
        run = RunOut.of(await RunService().get(tx.session, run_id))
    except CozegateError as exc:
        return render(request, "run.html", {"error": exc.message}, exc.status_code)
    return render(request, "run.html", {
        "run": run, "inputs": json.dumps(run.inputs, ensure_ascii=False, indent=2)
        if run.inputs is not None else None,
        "interrupt": json.dumps(run.interrupt, ensure_ascii=False, indent=2)
        if run.interrupt is not None else None})


# -- tasks ---------------------------------------------------------------------------------


async def _tasks(runtime: Runtime, query: dict[str, str],
                 offset: int) -> tuple[str, dict[str, Any]]:
    user = query.get("user_id", "")
    found = await runtime.tasks.page(int(user) if user.isdigit() else None,
                                     status=query.get("status"),
                                     workflow_id=query.get("workflow_id"),
                                     offset=offset, limit=PAGE_SIZE)
    return "tasks.html", {"tasks": found.tasks, "filters": query,
                          "pager": pager(offset, found.total, query)}


@router.get("/tasks")
async def tasks_page(request: Request, _: ConsoleAdmin, runtime: RuntimeDep,
                     offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    query = query_of(request)
    if query.get("user_id", "").isdigit() or "user_id" not in query:
        return render(request, *await _tasks(runtime, query, offset))
    template, context = await _tasks(runtime, {}, 0)
    return render(request, template, {**context, "filters": query,
                                      "error": "user_id: give a number"},
                  status.HTTP_400_BAD_REQUEST)


@router.post("/tasks/{task_id}/cancel")
async def cancel_task(request: Request, task_id: str, _: ConsoleAdmin, form: Form,
                      runtime: RuntimeDep) -> Response:
    try:
        await runtime.tasks.cancel(None, task_id)
    except CozegateError as exc:
        template, context = await _tasks(runtime, {}, 0)
        return render(request, template, {**context, "error": exc.message},
                      exc.status_code)
    return done("tasks", "task-cancelled")
