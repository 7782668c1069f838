"""Metadata: ``GET /v1/workflows/{id}`` (+ ``/versions``), ``/v1/workflows``, ``/v1/workspaces``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from cozegate.access import CurrentKey
from cozegate.native.catalog import WorkflowQuery, WorkspaceQuery
from cozegate.native.deps import CozeSurfaceDep
from cozegate.native.errors import coze_errors
from cozegate.native.wire import relayed

router = APIRouter()


@router.get("/v1/workflows/{workflow_id}")
async def workflow_info(workflow_id: str, key: CurrentKey, coze: CozeSurfaceDep,
                        include_input_output: bool = False) -> Response:
    with coze_errors():
        return relayed(await coze.catalog.workflow(key, workflow_id, include_input_output))


@router.get("/v1/workflows/{workflow_id}/versions")
async def workflow_versions(workflow_id: str, key: CurrentKey, coze: CozeSurfaceDep,
                            publish_status: str | None = None,
                            page_size: Annotated[int, Query(ge=1)] = 10,
                            page_token: str | None = None) -> Response:
    with coze_errors():
        return relayed(await coze.catalog.versions(
            key, workflow_id, publish_status=publish_status, page_size=page_size,
            page_token=page_token))


@router.get("/v1/workflows")
async def list_workflows(key: CurrentKey, coze: CozeSurfaceDep, workspace_id: str,
                         workflow_mode: str | None = None, app_id: str | None = None,
                         publish_status: str | None = None,
                         page_num: Annotated[int, Query(ge=1)] = 1,
                         page_size: Annotated[int, Query(ge=1)] = 10) -> Response:
    query = WorkflowQuery(workspace_id=workspace_id, workflow_mode=workflow_mode,
                          app_id=app_id, publish_status=publish_status, page_num=page_num,
                          page_size=page_size)
    with coze_errors():
        return relayed(await coze.catalog.workflows(key, query))


@router.get("/v1/workspaces")
async def list_workspaces(key: CurrentKey, coze: CozeSurfaceDep,
                          page_num: Annotated[int, Query(ge=1)] = 1,
                          page_size: Annotated[int, Query(ge=1)] = 20,
                          user_id: str | None = None, coze_account_id: str | None = None,
                          enterprise_id: str | None = None) -> Response:
    query = WorkspaceQuery(page_num=page_num, page_size=page_size, user_id=user_id,
                           coze_account_id=coze_account_id, enterprise_id=enterprise_id)
    with coze_errors():
        return relayed(await coze.catalog.workspaces(key, query))
