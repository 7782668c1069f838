"""``create_emulator_app``: builds one self-contained emulator (ASGI app + its state).

Middleware order, outermost first: faults (they model the network and proxies, so they
act before auth), then auth (4100 for every API path but the OAuth token endpoint), then
the routes. Coze errors raised by routes become JSON envelopes; there are no globals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from cozegate.emulator import routes_chat, routes_history, routes_meta, routes_workflow
from cozegate.emulator.auth import ROUTES as AUTH_ROUTES
from cozegate.emulator.auth import Authenticator, AuthMiddleware
from cozegate.emulator.config import EmulatorConfig
from cozegate.emulator.engine import Engine
from cozegate.emulator.faults import FaultMiddleware
from cozegate.emulator.state import EmulatorState
from cozegate.emulator.wire import CozeError, coze_error, coze_json


async def _coze_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CozeError)
    return coze_error(exc)


async def _not_found(request: Request, exc: Exception) -> Response:
    return coze_json(
        {"code": 4200, "msg": f"no such API: {request.method} {request.url.path}"}, status=404
    )


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return coze_json({"code": 4000, "msg": f"method {request.method} not allowed here"}, status=405)


def create_emulator_app(config: EmulatorConfig | None = None) -> Starlette:
    """A fresh emulator. ``app.state.emulator`` is its :class:`EmulatorState`
    (``.reset()`` empties it); ``app.state.config`` its config."""
    config = config or EmulatorConfig()
    state = EmulatorState(retention_seconds=config.retention_seconds,
                          max_records=config.max_records)
    authenticator = Authenticator(config, state)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Remembered so another thread (EmulatorServer.reset) can run code on this loop.
        app.state.loop = asyncio.get_running_loop()
        yield
        state.reset()  # cancels async runs still going

    app = Starlette(
        routes=[
            *AUTH_ROUTES,
            *routes_workflow.ROUTES,
            *routes_history.ROUTES,
            *routes_chat.ROUTES,
            *routes_meta.ROUTES,
        ],
        middleware=[
            Middleware(FaultMiddleware, config=config, state=state),
            Middleware(AuthMiddleware, authenticator=authenticator),
        ],
        exception_handlers={CozeError: _coze_error, 404: _not_found, 405: _method_not_allowed},
        lifespan=lifespan,
    )
    app.state.loop = None
    app.state.config = config
    app.state.emulator = state
    app.state.engine = Engine(config, state)
    app.state.authenticator = authenticator
    return app
