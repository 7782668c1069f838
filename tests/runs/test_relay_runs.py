"""The OpenAI surface records a run for every call it starts (the hook in relay/service)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def chat(gateway: Gateway, key: str, **body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.post("/v1/chat/completions", headers={
            "Authorization": f"Bearer {key}"}, json={
            "model": "coze-workflow", "messages": [{"role": "user", "content": "hi"}], **body})


async def my_runs(gateway: Gateway, key: str, expected: int) -> list[dict]:
    # The run is closed right after billing, which may trail the answer by a moment.
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        for _ in range(200):
            items = (await http.get("/api/runs")).json()["items"]
            if len(items) == expected and all(i["status"] not in ("queued", "running")
                                              for i in items):
                return items
            await asyncio.sleep(0.02)
    raise AssertionError(f"runs not finished: {items}")


async def test_openai_calls_are_recorded_with_output_usage_and_cost(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("alice", balance="1")
    _, bob_key = await gateway.create_user("bob", balance="1")
    answer = await chat(gateway, key, workflow_id=catalog.STORY,
                        workflow_parameters={"topic": "owls"})
    assert answer.status_code == 200
    streamed = await chat(gateway, key, workflow_id=catalog.STORY, stream=True,
                          workflow_parameters={"topic": "cats"})
    assert streamed.status_code == 200
    asked = await chat(gateway, key, workflow_id=catalog.ASK_CITY)
    failed = await chat(gateway, key, workflow_id=catalog.ALWAYS_FAIL)
    assert failed.status_code >= 400 or "error" in failed.text
    runs = await my_runs(gateway, key, 4)
    usage = {row.request_id: row for row in await gateway.usage_rows(user_id)}
    by_status = {run["status"]: run for run in runs}
    assert sorted(by_status) == ["failed", "interrupted", "succeeded"]
    done = [run for run in runs if run["status"] == "succeeded"]
    assert {run["stream"] for run in done} == {True, False}
    for run in runs:
        assert (run["surface"], run["channel_name"]) == ("openai", "sandbox")
        row = usage[run["request_id"]]
        assert run["cost_micros"] == row.cost
        assert run["execute_id"] == row.execute_id and run["execute_id"]
        assert run["usage"]["input_tokens"] == row.input_tokens
    owls = next(run for run in done if run["inputs"]["topic"] == "owls")
    assert owls["output"] == answer.json()["choices"][0]["message"]["content"]
    interrupted = by_status["interrupted"]
    assert interrupted["interrupt"]["event_id"].startswith(interrupted["execute_id"])
    assert asked.json()["choices"][0]["message"]["content"] == "Which city?"
    assert by_status["failed"]["error"]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        other = await http.get(f"/api/runs/{owls['id']}",
                               headers={"Authorization": f"Bearer {bob_key}"})
    assert other.status_code == 404
