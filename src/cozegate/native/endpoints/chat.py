"""Chat flows: ``POST /v1/workflows/chat`` (SSE, events without ids).

Also answered ahead of FastAPI's routing by ``fast_paths``, with the same ``answer_chat``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from cozegate.access import CurrentKey, client_ip
from cozegate.keys.schemas import KeyRecord
from cozegate.native.deps import CozeSurfaceDep
from cozegate.native.errors import coze_errors
from cozegate.native.schemas import ChatBody
from cozegate.native.surface import CozeSurface
from cozegate.native.wire import event_stream

router = APIRouter()


async def answer_chat(coze: CozeSurface, body: ChatBody, key: KeyRecord,
                      ip: str | None) -> Response:
    with coze_errors():
        opened = await coze.chat.chat(key, body, ip)
    return event_stream(opened.chunks, opened.logid)


@router.post("/v1/workflows/chat")
async def chat(body: ChatBody, request: Request, key: CurrentKey,
               coze: CozeSurfaceDep) -> Response:
    return await answer_chat(coze, body, key, client_ip(request))
