"""The app factory, health probes, and errors shaped by the surface they come in on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends

from cozegate.app import create_app
from cozegate.config import load_settings
from cozegate.errors import CozegateError
from cozegate.surfaces import Surface, surface_dependency


class Teapot(CozegateError):
    status_code = 429
    code = "slow_down"


def probe_router(surface: Surface, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, dependencies=[Depends(surface_dependency(surface))])

    @router.get("/boom")
    async def boom() -> None:
        raise Teapot("too many requests", details={"logid": "L1", "debug_url": "https://d"})

    @router.post("/typed")
    async def typed(body: dict[str, int]) -> dict[str, int]:
        return body

    return router


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db"))
    for surface in Surface:
        app.include_router(probe_router(surface, f"/probe/{surface.value}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            yield http


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "not configured"}


async def test_openai_surface_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/openai/boom")
    assert response.status_code == 429
    assert response.json() == {"error": {"message": "too many requests", "type": "rate_limit_error",
                                         "param": None, "code": "slow_down", "logid": "L1",
                                         "debug_url": "https://d"}}


async def test_coze_surface_error_shape_uses_coze_codes(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/coze/boom")
    assert response.status_code == 429
    assert response.json() == {"code": 4013, "msg": "too many requests",
                               "detail": {"logid": "L1"}, "debug_url": "https://d"}
    assert response.headers["x-tt-logid"] == "L1"


async def test_admin_surface_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/admin/boom")
    assert response.json() == {"error": {"code": "slow_down", "message": "too many requests",
                                         "logid": "L1", "debug_url": "https://d"}}


async def test_validation_errors_are_400_in_surface_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/probe/openai/typed", json={"a": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "a"
    response = await client.post("/probe/coze/typed", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == 4000


async def test_unknown_paths_guess_their_surface(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/chat/unknown")).json()["error"]["type"] == "not_found_error"
    assert (await client.get("/v1/workflow/unknown")).json()["code"] == 4200


async def test_background_loops_start_after_bootstrap_and_all_stop_at_shutdown(
        tmp_path: Path) -> None:
    app = create_app(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db"))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        assert app.state.bootstrap.admin_key  # bootstrapped before the loops started
        loops = [runtime.reaper._loop, runtime.run_purger._loop, runtime.tasks.worker._loop]
        assert all(loop.running for loop in loops)
    assert not any(loop.running for loop in loops)  # the reaper's included
