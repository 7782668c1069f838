"""Workflow runs: ``/v1/workflow/run``, ``stream_run``, ``stream_resume``, ``workflows/resume``.

``run`` and ``stream_run`` are also answered ahead of FastAPI's routing by ``fast_paths``,
with the same ``answer_*`` functions.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from cozegate.access import CurrentKey, client_ip
from cozegate.keys.schemas import KeyRecord
from cozegate.native.deps import CozeSurfaceDep
from cozegate.native.errors import coze_errors
from cozegate.native.schemas import ResumeBody, RunBody
from cozegate.native.surface import CozeSurface
from cozegate.native.wire import event_stream, relayed

router = APIRouter()


async def answer_run(coze: CozeSurface, body: RunBody, key: KeyRecord,
                     ip: str | None) -> Response:
    with coze_errors():
        return relayed(await coze.workflows.run(key, body, ip))


async def answer_stream_run(coze: CozeSurface, body: RunBody, key: KeyRecord,
                            ip: str | None) -> Response:
    with coze_errors():
        opened = await coze.workflows.stream(key, body, ip)
    return event_stream(opened.chunks, opened.logid)


@router.post("/v1/workflow/run")
async def run_workflow(body: RunBody, request: Request, key: CurrentKey,
                       coze: CozeSurfaceDep) -> Response:
    return await answer_run(coze, body, key, client_ip(request))


@router.post("/v1/workflow/stream_run")
async def stream_run(body: RunBody, request: Request, key: CurrentKey,
                     coze: CozeSurfaceDep) -> Response:
    return await answer_stream_run(coze, body, key, client_ip(request))


@router.post("/v1/workflow/stream_resume")
async def stream_resume(body: ResumeBody, request: Request, key: CurrentKey,
                        coze: CozeSurfaceDep) -> Response:
    with coze_errors():
        opened = await coze.workflows.stream_resume(key, body, client_ip(request))
    return event_stream(opened.chunks, opened.logid)


@router.post("/v1/workflows/resume")
async def resume(body: ResumeBody, request: Request, key: CurrentKey,
                 coze: CozeSurfaceDep) -> Response:
    with coze_errors():
        return relayed(await coze.workflows.resume(key, body, client_ip(request)))
