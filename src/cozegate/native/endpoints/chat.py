"""Chat flows: ``POST /v1/workflows/chat`` (SSE, events without ids)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from cozegate.access import CurrentKey, client_ip
from cozegate.native.deps import CozeSurfaceDep
from cozegate.native.errors import coze_errors
from cozegate.native.schemas import ChatBody
from cozegate.native.wire import event_stream

router = APIRouter()


@router.post("/v1/workflows/chat")
async def chat(body: ChatBody, request: Request, key: CurrentKey,
               coze: CozeSurfaceDep) -> Response:
    with coze_errors():
        opened = await coze.chat.chat(key, body, client_ip(request))
    return event_stream(opened.chunks, opened.logid)
