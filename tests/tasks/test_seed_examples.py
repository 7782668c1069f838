"""Seed 004's examples: its three curl commands run as written (only the host, and the
workflow id placeholder, replaced), and its Swagger walk-through (tests 1–4).

The seed's back end had no keys; cozegate's task API wants a gateway key on everything but
the health check, so each curl command is also run with the one header added
(``-H "Authorization: Bearer …"``), as docs/tasks.md shows it.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import pytest

from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = [pytest.mark.db,
              pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")]

SEED_HOST = "http://localhost:8000"
SEED_CURLS = {
    "health": "curl http://localhost:8000/api/coze/health",
    "workspaces": 'curl "http://localhost:8000/api/coze/workspaces?account_id=default"',
    "execute": """curl -X POST http://localhost:8000/api/coze/tasks/execute \\
  -H "Content-Type: application/json" \\
  -d '{
    "workflow_id": "你的工作流ID",
    "input_parameters": {},
    "save_as_task": true,
    "task_name": "测试任务"
  }'""",
}


def run_curl(command: str, url: str, key: str | None = None) -> tuple[int, dict]:
    command = command.replace(SEED_HOST, url).replace("你的工作流ID", catalog.SLOW_JOB)
    args = shlex.split(command.replace("\\\n", " "))
    if key is not None:
        args[1:1] = ["-H", f"Authorization: Bearer {key}"]
    args[1:1] = ["-s", "-w", "\n%{http_code}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


async def test_the_seed_curl_commands(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        key = gateway.admin_key
        status, health = run_curl(SEED_CURLS["health"], gateway.url)  # as written: no key
        assert status == 200
        assert (health["status"], health["service"]) == ("healthy", "coze")
        assert isinstance(health["stats"], dict)

        for name in ("workspaces", "execute"):
            status, refused = run_curl(SEED_CURLS[name], gateway.url)  # as written: no key
            assert status == 401 and refused["error"]["code"] == "invalid_api_key"

        status, found = run_curl(SEED_CURLS["workspaces"], gateway.url, key)
        assert status == 200 and found["success"] is True
        assert found["count"] == len(found["workspaces"]) == 2
        assert {"id", "name", "description"} <= set(found["workspaces"][0])

        status, submitted = run_curl(SEED_CURLS["execute"], gateway.url, key)
        assert status == 200
        assert set(submitted) == {"task_id", "execution_id", "status", "message"}
        async with TaskClient(gateway.url, key) as client:
            task = await client.wait(submitted["task_id"])
    assert (task["name"], task["status"], task["execution_status"]) == (
        "测试任务", "completed", "success")
    assert task["workflow_id"] == catalog.SLOW_JOB
    assert task["output_data"] == {"output": "slept 1 seconds"}  # slow_job's default


async def test_the_swagger_walk_through(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        # Test 1: health. Test 2: workspaces of account "default".
        assert (await client.http.get("/api/coze/health")).json()["status"] == "healthy"
        spaces = (await client.http.get("/api/coze/workspaces",
                                        params={"account_id": "default"})).json()
        assert spaces["success"] and spaces["count"] == 2
        # Test 3: execute with the seed's request body (input_key is ignored by slow_job).
        answer = await client.http.post("/api/coze/tasks/execute", json={
            "workflow_id": catalog.SLOW_JOB, "input_parameters": {"input_key": "input_value"},
            "save_as_task": True, "task_name": "测试任务", "task_description": "这是一个测试任务"})
        assert answer.status_code == 200
        submitted = answer.json()
        assert submitted["task_id"].startswith("task_")
        # Test 4: the task by its id.
        task = await client.wait(submitted["task_id"])
    assert {"id", "name", "status", "execution_status", "workflow_id", "output_data"} <= set(task)
    assert (task["id"], task["name"], task["status"], task["execution_status"]) == (
        submitted["task_id"], "测试任务", "completed", "success")
    assert task["description"] == "这是一个测试任务"
