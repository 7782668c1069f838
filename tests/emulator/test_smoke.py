"""Fixtures work both ways: in-process ASGI and a real port."""

from __future__ import annotations

import httpx

from tests.fixtures_emulator import SANDBOX_TOKEN, catalog


async def test_in_process_run(emulator_client: httpx.AsyncClient) -> None:
    response = await emulator_client.post("/v1/workflow/run", json={
        "workflow_id": catalog.ECHO, "parameters": {"input": "hi"}, "is_async": False})
    body = response.json()
    assert body["code"] == 0 and body["data"] == '{"input":"hi"}'
    assert response.headers["x-tt-logid"] == body["detail"]["logid"]


def test_real_port_workspaces(emulator_url: str) -> None:
    response = httpx.get(f"{emulator_url}/v1/workspaces",
                         headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})
    assert response.json()["data"]["total_count"] == 2
