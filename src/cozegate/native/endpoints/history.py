"""Run history: Coze's per-run record (+ node output) and the Coze Plus run list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from cozegate.access import CurrentKey
from cozegate.native.deps import CozeSurfaceDep
from cozegate.native.errors import coze_errors
from cozegate.native.history import HistoryQuery
from cozegate.native.wire import coze_data, relayed

router = APIRouter()


@router.get("/v1/workflows/{workflow_id}/run_histories/{execute_id}")
async def run_history(workflow_id: str, execute_id: str, key: CurrentKey,
                      coze: CozeSurfaceDep) -> Response:
    with coze_errors():
        return relayed(await coze.history.run(key, workflow_id, execute_id))


@router.get("/v1/workflows/{workflow_id}/run_histories/{execute_id}/execute_nodes/"
            "{node_execute_uuid}")
async def node_history(workflow_id: str, execute_id: str, node_execute_uuid: str,
                       key: CurrentKey, coze: CozeSurfaceDep) -> Response:
    with coze_errors():
        return relayed(await coze.history.node(key, workflow_id, execute_id,
                                               node_execute_uuid))


@router.get("/v1/workflow/get_run_history")
async def run_history_list(key: CurrentKey, coze: CozeSurfaceDep,
                           workflow_id: str | None = None, execute_id: str | None = None,
                           page_size: Annotated[int, Query(ge=1, le=100)] = 20,
                           page_token: str | None = None) -> Response:
    query = HistoryQuery(workflow_id=workflow_id, execute_id=execute_id, page_size=page_size,
                         page_token=page_token)
    with coze_errors():
        return coze_data(await coze.history.page(key, query))
