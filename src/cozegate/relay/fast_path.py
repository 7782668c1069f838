"""``POST /v1/chat/completions`` without FastAPI's middleware, router and dependency solver.

The request path's busiest endpoint spent about a third of its CPU in FastAPI's routing and
dependency injection (measured: ~1.0-1.2 ms -> ~0.65-0.75 ms of gateway CPU per non-stream
call at c=16), and a few percent more in the middleware layers every request crosses
(Starlette's error middleware wraps each ``send``). :class:`GatewayApp` hands this one
endpoint to :class:`ChatCompletionsFastPath` before any of that; it answers it itself: it
validates the JSON body with the same pydantic model, authenticates the key like
``access.current_key`` and calls the same ``relay.endpoints.respond``, rendering errors in
the OpenAI shape as the exception handlers do. Whatever it does not handle plainly — a body
that is not JSON or does not validate, an unexpected content type — it passes on to the
full application with the body replayed, so those answers stay exactly FastAPI's. An
unexpected exception is logged and answered as an OpenAI 500 (FastAPI's stack would send a
plain-text one). The FastAPI route stays registered: it documents the endpoint and serves
what this layer passes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from cozegate.access import authenticate
from cozegate.errors import CozegateError
from cozegate.kit.body_limit import declared_length, limit_body, too_large
from cozegate.protocol.openai import ChatCompletionRequest, OpenAIError
from cozegate.relay.endpoints import respond
from cozegate.surfaces import (
    Surface,
    http_error_response,
    surface_error_response,
    surface_for_path,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("cozegate.relay")

PATH = "/v1/chat/completions"


def is_fast_path(scope: Scope) -> bool:
    return (scope["type"] == "http" and scope["method"] == "POST"
            and scope["path"] == scope.get("root_path", "") + PATH)


class GatewayApp(FastAPI):
    """FastAPI, with ``POST /v1/chat/completions`` answered ahead of its middleware stack,
    and request bodies over ``body_limit`` bytes refused on every path (413 in the shape of
    the request's surface; ``None`` or 0: no limit; see ``kit.body_limit``)."""

    def __init__(self, *args: Any, body_limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast_path = ChatCompletionsFastPath(super().__call__)
        self._body_limit = body_limit or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._body_limit is not None:
            length = declared_length(scope)
            if length is not None and length > self._body_limit:
                surface = surface_for_path(scope["path"])
                response = http_error_response(surface, too_large(self._body_limit))
                await response(scope, receive, send)
                return
            receive = limit_body(receive, self._body_limit)
        if is_fast_path(scope):
            scope["app"] = self  # as Starlette sets it: the runtime is on app.state
            await self._fast_path(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


class ChatCompletionsFastPath:
    def __init__(self, app: ASGIApp) -> None:
        """``app``: the full application, for what this layer does not answer itself."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        try:
            body, more = await _read_body(receive)
        except HTTPException as refused:  # a chunked body past the limit (kit.body_limit)
            await http_error_response(Surface.OPENAI, refused)(scope, receive, send)
            return
        request = None
        if not more and _is_json(headers.get(b"content-type")):
            try:
                request = ChatCompletionRequest.model_validate_json(body)
            except ValidationError:
                request = None
        if request is None:  # FastAPI's answer (its validation errors, content types)
            await self.app(scope, _replay(body, more, receive), send)
            return
        try:
            response = await self._respond(scope, headers, request)
        except CozegateError as error:
            response = surface_error_response(Surface.OPENAI, error)
        except Exception:
            log.exception("unexpected error in POST %s", PATH)
            response = surface_error_response(Surface.OPENAI, OpenAIError(
                "internal error in the gateway; see its log", status_code=500,
                type="server_error", code="internal_error"))
        await response(scope, receive, send)

    async def _respond(self, scope: Scope, headers: dict[bytes, bytes],
                       request: ChatCompletionRequest) -> Any:
        runtime = scope["app"].state.runtime
        client = scope.get("client")
        ip = client[0] if client else None
        # As HTTPBearer(auto_error=False): anything but "Bearer <token>" is no token.
        scheme, token = get_authorization_scheme_param(
            headers.get(b"authorization", b"").decode("latin-1"))
        key = await authenticate(runtime, token if scheme.lower() == "bearer" else None, ip)
        return await respond(runtime, request, key, ip)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, unless the client disconnected first (then ``more`` is True)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent or more:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _is_json(content_type: bytes | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/")
                                             and media.endswith(b"+json"))
