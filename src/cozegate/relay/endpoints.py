"""OpenAI-compatible endpoints. Thin: parse, authenticate, hand over to the relay."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from cozegate.access import CurrentKey, client_ip
from cozegate.deps import RuntimeDep, SessionDep
from cozegate.keys.schemas import KeyRecord
from cozegate.kit import jsonfast
from cozegate.kit.event_stream_response import EventStreamResponse
from cozegate.protocol.openai import ChatCompletionRequest
from cozegate.protocol.openai_sse import DONE, encode_item
from cozegate.protocol.stream_common import StreamError, StreamItem
from cozegate.relay import account
from cozegate.runtime import Runtime
from cozegate.surfaces import Surface, surface_dependency

router = APIRouter(prefix="/v1", tags=["openai"],
                   dependencies=[Depends(surface_dependency(Surface.OPENAI))])

class CompletionResponse(JSONResponse):
    """JSONResponse's compact UTF-8 JSON, rendered with orjson (kit.jsonfast)."""

    def render(self, content: Any) -> bytes:
        return jsonfast.dumps(content)


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
               "Connection": "keep-alive"}


@router.get("/models")
async def list_models(key: CurrentKey, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """The models this key may call (see relay.account)."""
    return await account.models_for(session, key, runtime.relay.aliases, int(time.time()))


@router.get("/dashboard/billing/subscription")
async def billing_subscription(key: CurrentKey, session: SessionDep) -> dict[str, Any]:
    return await account.subscription(session, key)


@router.get("/dashboard/billing/usage")
async def billing_usage(key: CurrentKey, session: SessionDep) -> dict[str, Any]:
    return await account.usage(session, key)


@router.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request, key: CurrentKey,
                           runtime: RuntimeDep) -> JSONResponse | EventStreamResponse:
    """Also answered, without FastAPI's routing, by ``fast_paths`` (same ``respond``)."""
    return await respond(runtime, body, key, client_ip(request))


async def respond(runtime: Runtime, body: ChatCompletionRequest, key: KeyRecord,
                  ip: str | None) -> JSONResponse | EventStreamResponse:
    """The chat completion for an authenticated, validated request."""
    run = await runtime.relay.open_run(body, key, ip)
    if not body.stream:
        return CompletionResponse(await run.completion())
    bursts = run.bursts()
    first = await anext(bursts, None)
    if first and isinstance(first[0], StreamError):
        # Nothing was sent yet, so the failure can still be a proper HTTP error.
        await _drain(bursts)
        raise first[0].error
    # One write per burst of items (see RelayRun.bursts); [DONE] rides with the last one.
    return EventStreamResponse(bursts, encode=_encode, first=_encode(first) if first else b"",
                               last=DONE, headers=SSE_HEADERS)


def _encode(burst: list[StreamItem]) -> bytes:
    if len(burst) == 1:  # most bursts: one chunk
        return encode_item(burst[0])
    return b"".join([encode_item(item) for item in burst])


async def _drain(items: AsyncIterator[Any]) -> None:
    async for _ in items:
        pass
