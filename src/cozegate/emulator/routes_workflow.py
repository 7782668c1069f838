"""Workflow run endpoints: run (sync / async), stream_run, stream_resume, resume.

Sync ``/v1/workflow/run`` of a workflow that interrupts (ask_city) answers like newer SaaS
Coze: ``code 0``, empty ``data`` and a top-level ``interrupt_data``; the run stays
``Running`` in history and continues with ``/v1/workflows/resume`` (or stream_resume).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cozegate.emulator import catalog, scripts
from cozegate.emulator.engine import Engine, Event
from cozegate.emulator.state import RUN_MODE_ASYNC, RUN_MODE_STREAM, RUN_MODE_SYNC, Execution
from cozegate.emulator.streams import workflow_sse
from cozegate.emulator.wire import CozeError, SSEResponse, coze_json, dumps


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON body as an object; an empty body is ``{}``, anything else malformed is 4000."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError as exc:
        raise CozeError(4000, "Request parameter error: body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise CozeError(4000, "Request parameter error: body must be a JSON object")
    return body


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


Params = dict[str, Any]


def prepare_run(engine: Engine, body: Params) -> tuple[catalog.WorkflowSpec, Params, Params]:
    """Validate a run request the way Coze does before any work starts.

    Returns the spec, the parameters with defaults applied and the parameters as sent
    (the token rule counts the latter)."""
    workflow_id = body.get("workflow_id")
    if not workflow_id:
        raise CozeError(4000, "Request parameter error: workflow_id is required")
    spec = catalog.get_workflow(workflow_id)
    if spec.is_chatflow:
        raise CozeError(4000, f"workflow {spec.id} is a chat flow: run it with /v1/workflows/chat")
    if not spec.published:
        raise CozeError(4200, f"workflow {spec.id} has not been published", debug_url="")
    if body.get("bot_id") and body.get("app_id"):
        raise CozeError(4000, "Request parameter error: bot_id and app_id cannot both be set")
    sent = catalog.parse_parameters(body.get("parameters"))
    params = catalog.validate_inputs(spec, sent)
    problem = scripts.check_ranges(spec.id, params, engine.config.max_slow_seconds)
    if problem:
        raise CozeError(4000, problem)
    return spec, params, sent


def start_run(engine: Engine, body: dict[str, Any], run_mode: int) -> Execution:
    spec, params, sent = prepare_run(engine, body)
    ext = body.get("ext") if isinstance(body.get("ext"), dict) else {}
    return engine.start(spec, params, run_mode, bot_id=body.get("bot_id"),
                        user_id=ext.get("user_id"), input_text=dumps(sent))


async def run(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request)
    if body.get("is_async") and not engine.config.async_enabled:
        raise CozeError(6003, "Async execution is a premium feature available only to Coze "
                              "Professional users")
    execution = start_run(engine, body, RUN_MODE_ASYNC if body.get("is_async") else RUN_MODE_SYNC)
    if execution.run_mode == RUN_MODE_ASYNC:
        engine.state.spawn(drain(engine, execution, None))
        return coze_json({"execute_id": execution.execute_id, "debug_url": execution.debug_url})
    return await finish_sync(engine, execution, None)


async def drain(engine: Engine, execution: Execution, answer: str | None) -> None:
    """Background leg of an async run: history is all the client will see."""
    async for _ in engine.leg(execution, answer):
        pass


async def finish_sync(engine: Engine, execution: Execution, answer: str | None) -> Response:
    events: list[Event] = [event async for event in engine.leg(execution, answer)]
    name, data = events[-1]
    if name == "Error":
        raise CozeError(data["error_code"], data["error_message"], debug_url=execution.debug_url)
    payload: dict[str, Any] = {
        "data": execution.output if name == "Done" else "",
        "debug_url": execution.debug_url,
        "usage": execution.last_usage.as_dict(),
        "execute_id": execution.execute_id,
    }
    if name == "Interrupt":
        payload["interrupt_data"] = {**data["interrupt_data"], "node_title": data["node_title"]}
    return coze_json(payload)


async def stream_run(request: Request) -> Response:
    engine = engine_of(request)
    execution = start_run(engine, await read_body(request), RUN_MODE_STREAM)
    events = workflow_sse(execution, engine.leg(execution), engine.config.ping_interval)
    return SSEResponse(events)


def prepare_resume(engine: Engine, body: dict[str, Any]) -> tuple[Execution, str]:
    workflow_id = body.get("workflow_id")
    if not workflow_id:
        raise CozeError(4000, "Request parameter error: workflow_id is required")
    catalog.get_workflow(workflow_id)
    execution = engine.find_interrupted(workflow_id, body.get("event_id"))
    answer = body.get("resume_data")
    if not isinstance(answer, str):
        raise CozeError(4000, "Request parameter error: resume_data must be a string")
    expected = execution.interrupt.type if execution.interrupt else None
    if str(body.get("interrupt_type")) != str(expected):
        raise CozeError(4000, f"Request parameter error: interrupt_type must be {expected}")
    execution.interrupt = None  # claimed now, so a second resume of the same event is refused
    return execution, answer


async def stream_resume(request: Request) -> Response:
    engine = engine_of(request)
    execution, answer = prepare_resume(engine, await read_body(request))
    events = workflow_sse(execution, engine.leg(execution, answer), engine.config.ping_interval)
    return SSEResponse(events)


async def resume(request: Request) -> Response:
    """Non-streaming resume (spec §2.4): async runs continue in the background."""
    engine = engine_of(request)
    execution, answer = prepare_resume(engine, await read_body(request))
    if execution.run_mode == RUN_MODE_ASYNC:
        engine.state.spawn(drain(engine, execution, answer))
        return coze_json({"execute_id": execution.execute_id, "debug_url": execution.debug_url})
    return await finish_sync(engine, execution, answer)


ROUTES = [
    Route("/v1/workflow/run", run, methods=["POST"]),
    Route("/v1/workflow/stream_run", stream_run, methods=["POST"]),
    Route("/v1/workflow/stream_resume", stream_resume, methods=["POST"]),
    Route("/v1/workflows/resume", resume, methods=["POST"]),
]
