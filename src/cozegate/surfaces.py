"""The API surfaces cozegate serves, and how an error looks on each.

An error is raised once, as a :class:`~cozegate.errors.CozegateError`; the surface the request
came in on decides its shape: the OpenAI error object, Coze's ``{code, msg, detail}``, or the
admin/task JSON ``{"error": {"code", "message"}}``. Routers declare their surface with
:func:`surface_dependency`, so the exception handlers need no path guessing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cozegate.errors import CozegateError
from cozegate.kit.ids import logid as new_logid


class Surface(StrEnum):
    OPENAI = "openai"
    COZE = "coze"
    ADMIN = "admin"
    TASKS = "tasks"


# Coze's own codes for gateway-side refusals, so SDK error mapping works (wire spec §4.2).
_COZE_CODE_BY_STATUS = {400: 4000, 401: 4100, 403: 4101, 404: 4200, 409: 4000, 413: 4000,
                        422: 4000, 429: 4013}
_OPENAI_TYPE_BY_STATUS = {400: "invalid_request_error", 401: "authentication_error",
                          402: "insufficient_quota", 403: "permission_error",
                          404: "not_found_error", 409: "invalid_request_error",
                          413: "invalid_request_error", 422: "invalid_request_error",
                          429: "rate_limit_error"}
# Codes for Starlette's HTTP errors (routing, body limit); any other is http_<status>.
_CODE_BY_HTTP_STATUS = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


class _SurfaceMark:
    """A no-op dependency whose presence on a route names the route's surface."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface

    async def __call__(self) -> None:
        return None


def surface_dependency(surface: Surface) -> Any:
    """Put in a router's ``dependencies`` to declare the surface of all its routes."""
    return _SurfaceMark(surface)


def surface_of(request: Request) -> Surface:
    # The matched route is known even when the body failed to parse, before any dependency
    # ran, so the surface is read from the route's declared dependencies, not request state.
    route = request.scope.get("route")
    for dependency in getattr(route, "dependencies", ()):
        if isinstance(dependency.dependency, _SurfaceMark):
            return dependency.dependency.surface
    return surface_for_path(request.url.path)


def surface_for_path(path: str) -> Surface:
    """The surface a path belongs to, for errors raised before routing (an unknown path, a
    body refused before it is read)."""
    if path.startswith(("/v1/chat", "/v1/models", "/v1/dashboard")):
        return Surface.OPENAI
    if path.startswith(("/v1/", "/api/permission")):
        return Surface.COZE
    if path.startswith("/api/coze"):
        return Surface.TASKS
    return Surface.ADMIN


def error_body(surface: Surface, error: CozegateError) -> dict[str, Any]:
    """The JSON body for ``error`` on ``surface``."""
    details = error.details
    if surface is Surface.OPENAI:
        body: dict[str, Any] = {
            "message": error.message,
            "type": details.get("openai_type")
            or _OPENAI_TYPE_BY_STATUS.get(error.status_code, "api_error"),
            "param": details.get("param"),
            "code": error.code,
        }
        for extra in ("logid", "debug_url", "coze_code"):
            if details.get(extra) is not None:
                body[extra] = details[extra]
        return {"error": body}
    if surface is Surface.COZE:
        logid = details.get("logid") or new_logid()
        coze_code = details.get("coze_code") or _COZE_CODE_BY_STATUS.get(error.status_code, 5000)
        coze: dict[str, Any] = {"code": int(coze_code), "msg": error.message,
                                "detail": {"logid": logid}}
        if details.get("debug_url") is not None:
            coze["debug_url"] = details["debug_url"]
        return coze
    admin: dict[str, Any] = {"code": error.code, "message": error.message}
    admin.update({k: v for k, v in details.items() if k not in ("openai_type",)})
    return {"error": admin}


def error_response(request: Request, error: CozegateError) -> JSONResponse:
    return surface_error_response(surface_of(request), error)


def surface_error_response(surface: Surface, error: CozegateError) -> JSONResponse:
    """The JSON response for ``error`` on ``surface`` (status, body, Retry-After, logid)."""
    body = error_body(surface, error)
    headers: dict[str, str] = {}
    if surface is Surface.COZE:
        headers["X-Tt-Logid"] = body["detail"]["logid"]
    if error.details.get("retry_after") is not None:
        headers["Retry-After"] = str(error.details["retry_after"])
    return JSONResponse(body, status_code=error.status_code, headers=headers or None)


def http_error_response(surface: Surface, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's HTTP error (an unknown path, a body over the limit) on ``surface``."""
    code = _CODE_BY_HTTP_STATUS.get(exc.status_code, f"http_{exc.status_code}")
    error = CozegateError(str(exc.detail), status_code=exc.status_code, code=code)
    response = surface_error_response(surface, error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, including FastAPI's own, in the shape of its surface."""

    async def on_cozegate_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CozegateError)
        return error_response(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        location = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{location}: {first.get('msg', 'invalid request')}" if location else (
            first.get("msg", "invalid request"))
        error = CozegateError(message, status_code=400, code="invalid_request",
                              details={"param": location or None})
        return error_response(request, error)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return http_error_response(surface_of(request), exc)

    app.add_exception_handler(CozegateError, on_cozegate_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
