"""Request bodies past ``max_body_bytes`` are refused with 413 on every surface, in that
surface's error shape, whether the body declares its length or arrives chunked; nothing is
billed or run for them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from cozegate.app import create_app
from cozegate.config import load_settings

LIMIT = 4096
BIG = "x" * (LIMIT * 2)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[object]:
    app = create_app(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db",
                                   max_body_bytes=LIMIT))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        yield http


def chunked(payload: dict) -> AsyncIterator[bytes]:
    """The JSON body in small pieces with no Content-Length (Transfer-Encoding: chunked)."""
    raw = json.dumps(payload).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 1000):
            yield raw[start:start + 1000]

    return pieces()


def completion_body() -> dict:
    return {"model": "coze-workflow", "workflow_id": "7516000000000000001",
            "messages": [{"role": "user", "content": BIG}]}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_openai_surface_refuses_an_oversized_body_in_the_openai_shape(
        client: httpx.AsyncClient, app, declared: bool) -> None:
    key = app.state.bootstrap.admin_key
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    content = json.dumps(completion_body()).encode() if declared else chunked(completion_body())
    r = await client.post("/v1/chat/completions", content=content, headers=headers)
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "request_too_large"
    assert error["type"] == "invalid_request_error"
    assert f"{LIMIT:,} bytes" in error["message"]


async def test_the_openai_sdk_sees_a_413(app) -> None:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    sdk = openai.AsyncOpenAI(api_key="sk-anything", base_url="http://gw/v1", http_client=http,
                             max_retries=0)
    with pytest.raises(openai.APIStatusError) as raised:
        await sdk.chat.completions.create(
            model="coze-workflow", messages=[{"role": "user", "content": BIG}],
            extra_body={"workflow_id": "7516000000000000001"})
    assert raised.value.status_code == 413
    assert raised.value.code == "request_too_large"
    await http.aclose()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_coze_surface_refuses_it_in_the_coze_shape(client: httpx.AsyncClient,
                                                         declared: bool) -> None:
    payload = {"workflow_id": "7516000000000000001", "parameters": {"input": BIG}}
    content = json.dumps(payload).encode() if declared else chunked(payload)
    r = await client.post("/v1/workflow/run", content=content,
                          headers={"Authorization": "Bearer sk-x",
                                   "Content-Type": "application/json"})
    assert r.status_code == 413
    body = r.json()
    assert body["code"] == 4000 and "bytes" in body["msg"]
    assert body["detail"]["logid"] == r.headers["x-tt-logid"]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_admin_surface_refuses_it_in_the_admin_shape_and_writes_nothing(
        client: httpx.AsyncClient, app, declared: bool) -> None:
    headers = {"Authorization": f"Bearer {app.state.bootstrap.admin_key}",
               "Content-Type": "application/json"}
    payload = {"name": "big", "note": BIG}
    content = json.dumps(payload).encode() if declared else chunked(payload)
    r = await client.post("/api/admin/users", content=content, headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
    users = (await client.get("/api/admin/users", headers=headers)).json()["items"]
    assert "big" not in {user["name"] for user in users}


async def test_a_body_within_the_limit_is_served(client: httpx.AsyncClient, app) -> None:
    headers = {"Authorization": f"Bearer {app.state.bootstrap.admin_key}"}
    r = await client.post("/api/admin/users", json={"name": "small"}, headers=headers)
    assert r.status_code == 201, r.text


async def test_zero_means_no_limit(tmp_path: Path) -> None:
    app = create_app(load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db",
                                   max_body_bytes=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            r = await http.post("/v1/workflow/run", headers={"Authorization": "Bearer sk-x"},
                                json={"workflow_id": "1", "parameters": {"input": BIG}})
    assert r.status_code != 413  # refused for the key, not for the size
