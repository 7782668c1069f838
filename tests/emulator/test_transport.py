"""EmulatorTransport: in-process streaming, network-like faults, disconnects, cozepy on top."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from cozepy import AsyncCoze, AsyncHTTPClient, AsyncTokenAuth, WorkflowEventType

from cozegate.emulator import EmulatorTransport, create_emulator_app
from tests.fixtures_emulator import (
    IN_PROCESS_BASE_URL,
    SANDBOX_TOKEN,
    catalog,
    emulator_test_config,
)

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
SLOW = {"workflow_id": catalog.SLOW_JOB, "parameters": {"seconds": 0.3}}


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=EmulatorTransport(app), base_url=IN_PROCESS_BASE_URL,
                             headers=AUTH)


async def test_events_arrive_before_the_run_ends(emulator_app: Any) -> None:
    async with client_for(emulator_app) as client, client.stream(
            "POST", "/v1/workflow/stream_run", json=SLOW) as response:
        started = time.monotonic()
        lines = response.aiter_lines()
        first = await anext(lines)
        assert time.monotonic() - started < 0.2  # a PING, long before the 0.3 s job ends
        assert first == "id: 0"
        rest = [line async for line in lines]
    assert "event: Done" in rest


async def test_json_answers(emulator_app: Any) -> None:
    async with client_for(emulator_app) as client:
        response = await client.post("/v1/workflow/run", json={
            "workflow_id": catalog.ECHO, "parameters": {"input": "t"}})
        unauthorized = await client.get("/v1/workspaces", headers={"Authorization": "Bearer x"})
    assert response.json()["data"] == '{"input":"t"}'
    assert unauthorized.status_code == 401


async def test_drop_and_break_look_like_network_errors(emulator_app: Any) -> None:
    async with client_for(emulator_app) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.post("/v1/workflow/run", headers={"X-Emulator-Fault": "drop"},
                              json={"workflow_id": catalog.ECHO, "parameters": {"input": "t"}})
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("POST", "/v1/workflow/stream_run",
                                     headers={"X-Emulator-Fault": "break=1"},
                                     json={"workflow_id": catalog.STORY,
                                           "parameters": {"topic": "x"}}) as response:
                async for chunk in response.aiter_raw():
                    received += chunk
    assert received.count(b"\n\n") == 1 and not received.endswith(b"\n\n")


async def test_early_close_is_a_disconnect() -> None:
    app = create_emulator_app(emulator_test_config())
    async with client_for(app) as client:
        async with client.stream("POST", "/v1/workflow/stream_run",
                                 json={**SLOW, "parameters": {"seconds": 5}}) as response:
            await anext(response.aiter_lines())
        executions = list(app.state.emulator.executions.values())
    assert executions[0].status == "Fail" and executions[0].error_code == "5000"


async def test_async_cozepy_in_process(emulator_app: Any) -> None:
    http = AsyncHTTPClient(transport=EmulatorTransport(emulator_app))
    coze = AsyncCoze(auth=AsyncTokenAuth(SANDBOX_TOKEN), base_url=IN_PROCESS_BASE_URL,
                     http_client=http)
    events = [e async for e in coze.workflows.runs.stream(
        workflow_id=catalog.STORY, parameters={"topic": "x", "chunks": 2})]
    assert [e.event for e in events] == [WorkflowEventType.MESSAGE] * 3
    result = await coze.workflows.runs.create(workflow_id=catalog.SLOW_JOB,
                                              parameters={"seconds": 0}, is_async=True)
    await asyncio.sleep(0.05)
    history = await coze.workflows.runs.run_histories.retrieve(
        workflow_id=catalog.SLOW_JOB, execute_id=result.execute_id)
    assert history.execute_status == "Success"
    await http.aclose()
