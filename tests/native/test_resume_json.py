"""``POST /v1/workflows/resume`` (the JSON resume of newer Coze APIs, not in cozepy 0.20.0):
after a sync run stopped at a question, and after an async one."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from sqlalchemy import select

from cozegate.emulator import scripts
from cozegate.models import Run
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


def call(gateway: Gateway, key: str, method: str, path: str, body: dict | None = None) -> dict:
    response = httpx.request(method, f"{gateway.url}{path}", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {key}"})
    return response.json()


async def run_of(gateway: Gateway, user_id: int) -> Run:
    async with gateway.sessionmaker() as session:
        run = await session.scalar(select(Run).where(Run.user_id == user_id))
    assert run is not None
    return run


async def test_sync_run_question_then_json_resume(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("asker", "1")
    asked = call(gateway, key, "POST", "/v1/workflow/run", {"workflow_id": catalog.ASK_CITY})
    assert asked["code"] == 0 and asked["data"] == ""
    interrupt = asked["interrupt_data"]
    assert interrupt["type"] == 2 and asked["debug_url"]
    assert (await run_of(gateway, user_id)).status == "interrupted"
    answered = call(gateway, key, "POST", "/v1/workflows/resume", {
        "workflow_id": catalog.ASK_CITY, "event_id": interrupt["event_id"],
        "resume_data": "Lima", "interrupt_type": interrupt["type"]})
    assert answered["code"] == 0
    assert json.loads(answered["data"]) == {"output": scripts.city_answer("Lima")}
    run = await run_of(gateway, user_id)
    assert (run.status, run.resume_count) == ("succeeded", 1)
    rows = await gateway.usage_rows(user_id)
    assert [r.status for r in rows] == ["interrupted", "success"]
    assert run.cost == sum(r.cost for r in rows) == 1_000_000 - await gateway.balance(user_id)


async def test_async_run_question_then_json_resume(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("patient", "1")
    accepted = call(gateway, key, "POST", "/v1/workflow/run",
                    {"workflow_id": catalog.ASK_CITY, "is_async": True})
    execute_id = accepted["execute_id"]
    path = f"/v1/workflows/{catalog.ASK_CITY}/run_histories/{execute_id}"
    deadline = time.monotonic() + 10
    while not (history := call(gateway, key, "GET", path)["data"][0]).get("interrupt_data"):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert history["execute_status"] == "Running"
    interrupt = history["interrupt_data"]
    resumed = call(gateway, key, "POST", "/v1/workflows/resume", {
        "workflow_id": catalog.ASK_CITY, "event_id": interrupt["event_id"],
        "resume_data": "Quito", "interrupt_type": interrupt["type"]})
    assert resumed["code"] == 0 and resumed["execute_id"] == execute_id
    while (history := call(gateway, key, "GET", path)["data"][0])["execute_status"] == "Running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert history["execute_status"] == "Success"
    # The accepted run is billed with the usage of all its legs; the resume leg costs nothing.
    while len(rows := await gateway.usage_rows(user_id)) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    by_status = sorted((r.status, r.input_tokens + r.output_tokens) for r in rows)
    total = history["usage"]["input_count"] + history["usage"]["output_count"]
    assert by_status == sorted([("success", 0), ("success", total)])
