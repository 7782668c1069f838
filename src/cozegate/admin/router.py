"""The admin router: every admin resource under ``/api/admin``, admin keys only."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from cozegate.admin.deps import require_admin
from cozegate.admin.endpoints import channels, groups, keys, prices, tasks, usage, users
from cozegate.surfaces import Surface, surface_dependency

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(surface_dependency(Surface.ADMIN)), Depends(require_admin)],
)
for module in (channels, users, groups, keys, prices, usage, tasks):
    router.include_router(module.router)
