"""fast_paths.py answers its endpoints exactly as their FastAPI routes do: POST
/v1/chat/completions (OpenAI surface), /v1/workflow/run, /v1/workflow/stream_run and
/v1/workflows/chat (Coze surface).

The same requests go to the gateway (fast paths installed) and to a second gateway on the
same database built without them (FastAPI's router and dependencies only); statuses, bodies
and the headers clients rely on must match.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cozegate.app import create_app
from cozegate.emulator import catalog
from cozegate.kit.serving import ThreadedServer
from cozegate.kit.sse import parse_events
from tests.fixtures_gateway import Gateway, gateway_settings

pytestmark = pytest.mark.db

STORY = {"model": f"coze-workflow/{catalog.STORY}", "workflow_parameters": {"topic": "owls"},
         "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def plain_url(gateway: Gateway, db_url: str) -> AsyncIterator[str]:
    """A second gateway on the same database, without the fast path."""
    app = create_app(gateway_settings(db_url))

    async def without_fast_path(scope: Any, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)  # skips GatewayApp's dispatch

    server = ThreadedServer(without_fast_path).start()
    try:
        yield server.url
    finally:
        server.stop()


async def both(gateway: Gateway, plain_url: str, path: str = "/v1/chat/completions",
               **request: Any) -> list[httpx.Response]:
    answers = []
    for url in (gateway.url, plain_url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answers.append(await http.post(path, **request))
    return answers


def without_logid(response: httpx.Response) -> Any:
    body = response.json()
    body.get("error", {}).pop("logid", None)  # a fresh one per call (OpenAI shape)
    body.get("detail", {}).pop("logid", None)  # Coze shape
    for volatile in ("execute_id", "debug_url"):
        body.pop(volatile, None)
    return body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_refusals_and_malformed_requests_match(gateway: Gateway, plain_url: str) -> None:
    _, key = await gateway.create_user("fast", balance="10")
    _, poor = await gateway.create_user("poor", balance="0.000001")
    cases: list[dict[str, Any]] = [
        {"json": STORY},  # no key
        {"json": STORY, "headers": {"Authorization": f"Basic {key}"}},
        {"json": STORY, "headers": bearer("sk-not-a-real-key-000000000000000000000000000")},
        {"json": STORY, "headers": bearer(poor)},  # 402
        {"json": {**STORY, "model": "coze-workflow/not-a-number"}, "headers": bearer(key)},
        {"json": {"model": "coze-workflow"}, "headers": bearer(key)},  # validation
        {"content": b'{"model": "coze-workflow", "messages": [', "headers": {
            **bearer(key), "Content-Type": "application/json"}},  # not JSON
        {"content": b"model=x", "headers": {**bearer(key), "Content-Type": "text/plain"}},
    ]
    for case in cases:
        fast, plain = await both(gateway, plain_url, **case)
        assert (fast.status_code, without_logid(fast)) == (plain.status_code,
                                                           without_logid(plain)), case
        assert fast.status_code >= 400
        assert fast.headers["content-type"] == plain.headers["content-type"]


async def test_answers_match_and_rate_limits_carry_retry_after(gateway: Gateway,
                                                               plain_url: str) -> None:
    _, key = await gateway.create_user("limited", balance="10", rpm_limit=2)
    fast, plain = await both(gateway, plain_url, json=STORY, headers=bearer(key))
    assert fast.status_code == plain.status_code == 200
    assert fast.json()["choices"] == plain.json()["choices"]
    assert fast.json()["usage"] == plain.json()["usage"]
    fast, plain = await both(gateway, plain_url, json=STORY, headers=bearer(key))
    # The limiter is per process: each gateway counts its own requests.
    assert (fast.status_code, plain.status_code) == (200, 200)
    fast, plain = await both(gateway, plain_url, json=STORY, headers=bearer(key))
    assert fast.status_code == plain.status_code == 429
    assert fast.json() == plain.json()
    assert fast.headers["retry-after"] == plain.headers["retry-after"]


async def test_streams_match(gateway: Gateway, plain_url: str) -> None:
    _, key = await gateway.create_user("streamer", balance="10")
    fast, plain = await both(gateway, plain_url, json={**STORY, "stream": True},
                             headers=bearer(key))
    assert fast.status_code == plain.status_code == 200
    for name in ("content-type", "cache-control", "x-accel-buffering"):
        assert fast.headers[name] == plain.headers[name]
    assert fast.text.endswith("data: [DONE]\n\n") and plain.text.endswith("data: [DONE]\n\n")
    assert fast.text.count("\ndata: ") == plain.text.count("\ndata: ")


COZE_RUN = {"workflow_id": catalog.STORY, "parameters": {"topic": "owls"}}
COZE_CHAT = {"workflow_id": catalog.CHAT_MEMORY,
             "additional_messages": [{"role": "user", "content": "hi", "content_type": "text"}]}


@pytest.mark.parametrize("path, good", [
    ("/v1/workflow/run", COZE_RUN),
    ("/v1/workflow/stream_run", COZE_RUN),
    ("/v1/workflows/chat", COZE_CHAT),
])
async def test_coze_refusals_and_malformed_requests_match(gateway: Gateway, plain_url: str,
                                                          path: str, good: Any) -> None:
    _, key = await gateway.create_user(f"coze{len(path)}", balance="10")
    _, poor = await gateway.create_user(f"poor{len(path)}", balance="0.000001")
    cases: list[dict[str, Any]] = [
        {"json": good},  # no key
        {"json": good, "headers": {"Authorization": f"Basic {key}"}},
        {"json": good, "headers": bearer("sk-not-a-real-key-000000000000000000000000000")},
        {"json": good, "headers": bearer(poor)},  # insufficient credits
        {"json": {**good, "workflow_id": "123"}, "headers": bearer(key)},  # no channel serves it
        {"json": {"parameters": {}}, "headers": bearer(key)},  # validation
        {"content": b'{"workflow_id": "1", "parameters": {', "headers": {
            **bearer(key), "Content-Type": "application/json"}},  # not JSON
        {"content": b"workflow_id=1", "headers": {**bearer(key), "Content-Type": "text/plain"}},
    ]
    for case in cases:
        fast, plain = await both(gateway, plain_url, path, **case)
        assert (fast.status_code, without_logid(fast)) == (plain.status_code,
                                                           without_logid(plain)), case
        assert fast.json()["code"] != 0, case
        assert fast.headers["content-type"] == plain.headers["content-type"]
        assert fast.headers["x-tt-logid"] and plain.headers["x-tt-logid"]


async def test_coze_answers_match(gateway: Gateway, plain_url: str) -> None:
    _, key = await gateway.create_user("cozer", balance="10")
    fast, plain = await both(gateway, plain_url, "/v1/workflow/run", json=COZE_RUN,
                             headers=bearer(key))
    assert fast.status_code == plain.status_code == 200
    assert without_logid(fast) == without_logid(plain)
    assert fast.json()["code"] == 0 and fast.json()["data"]
    for path, body in (("/v1/workflow/stream_run", COZE_RUN), ("/v1/workflows/chat", COZE_CHAT)):
        fast, plain = await both(gateway, plain_url, path, json=body, headers=bearer(key))
        assert fast.status_code == plain.status_code == 200, path
        for name in ("content-type", "cache-control", "x-accel-buffering"):
            assert fast.headers[name] == plain.headers[name], (path, name)
        assert fast.headers["x-tt-logid"]
        fast_events = [(e.event, e.id) for e in parse_events([fast.text])]
        assert fast_events == [(e.event, e.id) for e in parse_events([plain.text])], path
        assert fast_events[-1][0] in ("Done", "done"), path
