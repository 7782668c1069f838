"""The Coze-compatible surface's router: every group, declared as the Coze surface (errors
render as ``{"code", "msg", "detail": {"logid"}}`` with ``X-Tt-Logid``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from cozegate.native.endpoints import catalog, chat, conversations, history, runs
from cozegate.surfaces import Surface, surface_dependency

router = APIRouter(tags=["coze"], dependencies=[Depends(surface_dependency(Surface.COZE))])
for group in (runs, chat, history, catalog, conversations):
    router.include_router(group.router)
