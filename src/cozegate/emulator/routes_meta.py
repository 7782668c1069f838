"""Metadata endpoints: workflow info / list / versions and workspaces (spec §2.8–2.11).

Page sizes are clamped to Coze's documented ranges instead of rejected: cozepy's workflow
list sends ``page_size=100`` although the documented maximum is 30.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cozegate.emulator import catalog
from cozegate.emulator.wire import CozeError, coze_data


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise CozeError(4000, f"Request parameter error: {name} must be an integer") from exc
    return max(low, min(high, value))


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


async def workflow_info(request: Request) -> Response:
    spec = catalog.get_workflow(request.path_params["workflow_id"])
    data: dict[str, Any] = {"workflow_detail": spec.basic()}
    if truthy(request.query_params.get("include_input_output")):
        data.update(spec.io_schema())
    return coze_data(data)


async def list_workflows(request: Request) -> Response:
    query = request.query_params
    page_num = int_query(request, "page_num", 1, 1, 1_000_000)
    page_size = int_query(request, "page_size", 10, 1, 30)
    items = list(catalog.WORKFLOWS.values())
    if workspace_id := query.get("workspace_id"):
        items = [s for s in items if s.workspace_id == workspace_id]
    if mode := query.get("workflow_mode"):
        items = [s for s in items if s.mode == mode]
    if app_id := query.get("app_id"):
        items = [] if app_id != "0" else items  # catalog workflows live in no Coze app
    status = query.get("publish_status") or "all"
    if status == "published_online":
        items = [s for s in items if s.published]
    elif status == "unpublished_draft":
        items = [s for s in items if not s.published]
    start = (page_num - 1) * page_size
    page = items[start:start + page_size]
    return coze_data({"items": [s.basic() for s in page],
                      "has_more": start + page_size < len(items)})


async def list_versions(request: Request) -> Response:
    spec = catalog.get_workflow(request.path_params["workflow_id"])
    page_size = int_query(request, "page_size", 10, 1, 30)
    status = request.query_params.get("publish_status") or "all"
    items = spec.versions()
    if status == "unpublished_draft":
        items = []
    return coze_data({"items": items[:page_size], "has_more": False, "next_page_token": ""})


async def list_workspaces(request: Request) -> Response:
    page_num = int_query(request, "page_num", 1, 1, 1_000_000)
    page_size = int_query(request, "page_size", 20, 1, 50)
    start = (page_num - 1) * page_size
    spaces = catalog.WORKSPACES[start:start + page_size]
    return coze_data({"workspaces": [w.as_dict() for w in spaces],
                      "total_count": len(catalog.WORKSPACES)})


ROUTES = [
    Route("/v1/workflows", list_workflows, methods=["GET"]),
    Route("/v1/workflows/{workflow_id}", workflow_info, methods=["GET"]),
    Route("/v1/workflows/{workflow_id}/versions", list_versions, methods=["GET"]),
    Route("/v1/workspaces", list_workspaces, methods=["GET"]),
]
