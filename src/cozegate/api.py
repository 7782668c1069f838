"""The one place routers are included."""

from __future__ import annotations

from fastapi import FastAPI

from cozegate.admin.router import router as admin_router
from cozegate.health.endpoints import router as health_router
from cozegate.native.router import router as coze_router
from cozegate.relay.endpoints import router as relay_router
from cozegate.runs import endpoints as runs
from cozegate.tasks.endpoints import router as tasks_router
from cozegate.web.router import install_console


def include_routers(app: FastAPI) -> None:
    app.include_router(health_router)
    app.include_router(relay_router)
    app.include_router(coze_router)
    app.include_router(admin_router)
    app.include_router(runs.router)
    app.include_router(runs.admin_router)
    app.include_router(tasks_router)
    install_console(app)
