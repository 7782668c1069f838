"""The gateway's app factory: ``create_app(settings)`` builds a fresh, independent app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cozegate import __version__
from cozegate.api import include_routers
from cozegate.bootstrap import announce, bootstrap
from cozegate.config import Settings, load_settings
from cozegate.fast_paths import GatewayApp
from cozegate.runtime import Runtime
from cozegate.surfaces import install_error_handlers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings)
        app.state.runtime = runtime
        try:
            app.state.bootstrap = await bootstrap(runtime)
            runtime.start_workers()
            announce(app.state.bootstrap)
            yield
        finally:
            await runtime.aclose()

    app = GatewayApp(
        body_limit=settings.max_body_bytes,
        title="cozegate",
        version=__version__,
        summary="Gateway and task service for Coze workflows and chat flows",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    include_routers(app)
    return app
