"""``/healthz`` says the process answers; ``/readyz`` says it can serve (DB, Redis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cozegate import __version__
from cozegate.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    for name, probe in (("database", runtime.check_database), ("redis", runtime.check_redis)):
        if name == "redis" and runtime.redis is None:
            checks[name] = "not configured"
            continue
        try:
            await probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure of a dependency means "not ready"
            checks[name] = f"error: {type(exc).__name__}: {exc}"
            ready = False
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)
