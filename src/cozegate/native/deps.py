"""``Annotated`` dependency of the Coze-surface endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cozegate.deps import RuntimeDep
from cozegate.native.surface import CozeSurface


async def get_coze_surface(runtime: RuntimeDep) -> CozeSurface:  # async: no thread hop
    return runtime.coze


CozeSurfaceDep = Annotated[CozeSurface, Depends(get_coze_surface)]
