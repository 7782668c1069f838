"""The busiest endpoints, answered without FastAPI's middleware, router and dependency solver.

``POST /v1/chat/completions`` spent about a third of its CPU in FastAPI's routing and
dependency injection (measured: ~1.0-1.2 ms -> ~0.65-0.75 ms of gateway CPU per non-stream
call at c=16), and a few percent more in the middleware layers every request crosses
(Starlette's error middleware wraps each ``send``). The Coze surface's run, stream_run and
chat-flow calls paid the same: ~2.1M more instructions per call than the chat completion
(callgrind), for the same work. :class:`GatewayApp` hands these endpoints to a
:class:`FastPath` before any of that, which answers them itself: it validates the JSON body
with the route's own pydantic model, authenticates the key like ``access.current_key`` and
calls the function the FastAPI route calls, rendering errors in the surface's shape as the
exception handlers do.

Whatever it does not handle plainly (a body that is not JSON or does not validate, an
unexpected content type) it passes on to the full application with the body replayed, so
those answers stay exactly FastAPI's. An unexpected exception is logged and answered as a
500 in the surface's shape (FastAPI's stack would send a plain-text one). The FastAPI routes
stay registered: they document the endpoints and serve what this layer passes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from cozegate.access import authenticate
from cozegate.errors import CozegateError
from cozegate.keys.schemas import KeyRecord
from cozegate.kit.body_limit import declared_length, limit_body, too_large
from cozegate.native.endpoints.chat import answer_chat
from cozegate.native.endpoints.runs import answer_run, answer_stream_run
from cozegate.native.schemas import ChatBody, RunBody
from cozegate.native.surface import CozeSurface
from cozegate.protocol.openai import ChatCompletionRequest
from cozegate.relay.endpoints import respond
from cozegate.runtime import Runtime
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
Answer = Callable[[Runtime, Any, KeyRecord, str | None], Awaitable[Response]]

log = logging.getLogger("cozegate.fast_paths")


@dataclass(frozen=True, slots=True)
class FastRoute:
    """A ``POST`` endpoint: its path, surface and body model, and what answers it (the same
    function its FastAPI route calls)."""

    path: str
    surface: Surface
    body: type[BaseModel]
    answer: Answer


def _on_coze(answer: Callable[[CozeSurface, Any, KeyRecord, str | None],
                              Awaitable[Response]]) -> Answer:
    """A Coze-surface ``answer_*`` function, given the runtime's Coze surface."""

    async def on_runtime(runtime: Runtime, body: Any, key: KeyRecord,
                         ip: str | None) -> Response:
        return await answer(runtime.coze, body, key, ip)

    return on_runtime


def fast_routes() -> tuple[FastRoute, ...]:
    return (
        FastRoute("/v1/chat/completions", Surface.OPENAI, ChatCompletionRequest, respond),
        FastRoute("/v1/workflow/run", Surface.COZE, RunBody, _on_coze(answer_run)),
        FastRoute("/v1/workflow/stream_run", Surface.COZE, RunBody,
                  _on_coze(answer_stream_run)),
        FastRoute("/v1/workflows/chat", Surface.COZE, ChatBody, _on_coze(answer_chat)),
    )


class GatewayApp(FastAPI):
    """FastAPI, with the :func:`fast_routes` answered ahead of its middleware stack, and
    request bodies over ``body_limit`` bytes refused on every path (413 in the shape of the
    request's surface; ``None`` or 0: no limit; see ``kit.body_limit``)."""

    def __init__(self, *args: Any, body_limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        full_app = super().__call__
        self._fast_paths: Mapping[str, FastPath] = {
            route.path: FastPath(route, full_app) for route in fast_routes()}
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
        fast_path = self._fast_path_for(scope)
        if fast_path is not None:
            scope["app"] = self  # as Starlette sets it: the runtime is on app.state
            await fast_path(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def _fast_path_for(self, scope: Scope) -> FastPath | None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        path, root = scope["path"], scope.get("root_path", "")
        if root:
            if not path.startswith(root):
                return None
            path = path[len(root):]
        return self._fast_paths.get(path)


class FastPath:
    def __init__(self, route: FastRoute, app: ASGIApp) -> None:
        """``app``: the full application, for what this layer does not answer itself."""
        self.route = route
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        surface = self.route.surface
        headers = dict(scope["headers"])
        try:
            body, more = await _read_body(receive)
        except HTTPException as refused:  # a chunked body past the limit (kit.body_limit)
            await http_error_response(surface, refused)(scope, receive, send)
            return
        request = None
        if not more and _is_json(headers.get(b"content-type")):
            try:
                request = self.route.body.model_validate_json(body)
            except ValidationError:
                request = None
        if request is None:  # FastAPI's answer (its validation errors, content types)
            await self.app(scope, _replay(body, more, receive), send)
            return
        try:
            response = await self._respond(scope, headers, request)
        except CozegateError as error:
            response = surface_error_response(surface, error)
        except Exception:
            log.exception("unexpected error in POST %s", self.route.path)
            response = surface_error_response(surface, CozegateError(
                "internal error in the gateway; see its log", status_code=500,
                code="internal_error", details={"openai_type": "server_error"}))
        await response(scope, receive, send)

    async def _respond(self, scope: Scope, headers: dict[bytes, bytes],
                       request: BaseModel) -> Response:
        runtime = scope["app"].state.runtime
        client = scope.get("client")
        ip = client[0] if client else None
        # As HTTPBearer(auto_error=False): anything but "Bearer <token>" is no token.
        scheme, token = get_authorization_scheme_param(
            headers.get(b"authorization", b"").decode("latin-1"))
        key = await authenticate(runtime, token if scheme.lower() == "bearer" else None, ip)
        return await self.route.answer(runtime, request, key, ip)


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
