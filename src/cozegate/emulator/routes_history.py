"""Run history (spec §2.5, §2.6): the only view of async runs, also kept for sync/stream runs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cozegate.emulator.engine import Engine, interrupt_data
from cozegate.emulator.state import Execution
from cozegate.emulator.wire import CozeError, coze_data, dumps


def history_item(execution: Execution, trim_bytes: int) -> dict[str, Any]:
    """One run record with all 13 fields cozepy requires (``output`` never null)."""
    output, trimmed = "", False
    if execution.status == "Success":
        end_output = execution.output
        if len(end_output.encode()) > trim_bytes:
            end_output = end_output.encode()[:trim_bytes].decode(errors="ignore")
            trimmed = True
        output = dumps({"Output": end_output})
    item: dict[str, Any] = {
        "execute_id": execution.execute_id,
        "execute_status": execution.status,
        "bot_id": execution.bot_id,
        "connector_id": "1024",
        "connector_uid": execution.connector_uid,
        "run_mode": execution.run_mode,
        "logid": execution.logid,
        "create_time": int(execution.created),
        "update_time": int(execution.updated),
        "output": output,
        "error_code": execution.error_code,
        "error_message": execution.error_message,
        "debug_url": execution.debug_url,
        "usage": execution.usage.as_dict(),
        "is_output_trimmed": trimmed,
        "node_execute_status": {
            node.title: {"node_id": node.node_id, "is_finish": node.is_finish,
                         "update_time": node.update_time, "node_execute_uuid": node.uuid}
            for node in execution.nodes.values()
        },
        "token": str(execution.usage.token_count),
        "cost": "0.00000",
    }
    if execution.interrupt is not None:
        item["interrupt_data"] = interrupt_data(execution.interrupt)
    return item


def _history(request: Request, workflow_id: str, execute_id: str) -> Response:
    engine: Engine = request.app.state.engine
    execution = engine.state.get_execution(workflow_id, execute_id)
    return coze_data([history_item(execution, engine.config.output_trim_bytes)])


async def run_history(request: Request) -> Response:
    params = request.path_params
    return _history(request, params["workflow_id"], params["execute_id"])


async def get_run_history(request: Request) -> Response:
    """Coze Plus spelling: ``GET /v1/workflow/get_run_history?workflow_id=&execute_id=``."""
    workflow_id = request.query_params.get("workflow_id", "")
    execute_id = request.query_params.get("execute_id", "")
    if not workflow_id or not execute_id:
        raise CozeError(4000, "Request parameter error: workflow_id and execute_id are required")
    return _history(request, workflow_id, execute_id)


async def execute_node(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    params = request.path_params
    execution = engine.state.get_execution(params["workflow_id"], params["execute_id"])
    for node in execution.nodes.values():
        if node.uuid == params["node_execute_uuid"]:
            return coze_data({"is_finish": node.is_finish, "node_output": node.output})
    raise CozeError(4000, f"node_execute_uuid {params['node_execute_uuid']} not found")


ROUTES = [
    Route("/v1/workflows/{workflow_id}/run_histories/{execute_id}", run_history, methods=["GET"]),
    Route("/v1/workflows/{workflow_id}/run_histories/{execute_id}/execute_nodes/"
          "{node_execute_uuid}", execute_node, methods=["GET"]),
    Route("/v1/workflow/get_run_history", get_run_history, methods=["GET"]),
]
