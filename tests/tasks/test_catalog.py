"""``/api/coze/health``, ``/api/coze/workspaces`` (by account_id = channel name) and the
workflows of a workspace."""

from __future__ import annotations

import pytest

from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db


async def test_workspaces_and_workflows_by_account(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        default = (await client.http.get("/api/coze/workspaces",
                                         params={"account_id": "default"})).json()
        by_name = (await client.http.get("/api/coze/workspaces",
                                         params={"account_id": "sandbox"})).json()
        unknown = await client.http.get("/api/coze/workspaces", params={"account_id": "nope"})
        flows = (await client.http.get(
            f"/api/coze/workspaces/{catalog.WORKSPACE_TEAM}/workflows",
            params={"account_id": "default"})).json()
        no_key = await client.http.get("/api/coze/workspaces", headers={"Authorization": ""})
    assert default["account_id"] == by_name["account_id"] == "sandbox"
    assert [w["id"] for w in default["workspaces"]] == [catalog.WORKSPACE_PERSONAL,
                                                        catalog.WORKSPACE_TEAM]
    assert default["workspaces"][0]["name"] == "Sandbox"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "account_not_found"
    assert flows["success"] and flows["workspace_id"] == catalog.WORKSPACE_TEAM
    assert {w["workflow_id"] for w in flows["workflows"]} >= {catalog.SLOW_JOB}
    assert flows["count"] == len(flows["workflows"])
    assert no_key.status_code == 401


async def test_health_counts_tasks_without_a_key(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        done = (await client.submit(catalog.ECHO, {"input": "hi"})).json()
        await client.wait(done["task_id"])
        running = (await client.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
        await client.wait_started(running["task_id"])
        health = (await client.http.get("/api/coze/health",
                                        headers={"Authorization": ""})).json()
        await client.http.post(f"/api/coze/tasks/{running['task_id']}/cancel")
    assert (health["status"], health["service"]) == ("healthy", "coze")
    assert health["stats"]["tasks"] == {"completed": 1, "executing": 1}
    assert health["stats"]["active"] == 1 and health["stats"]["driven_by_this_process"] == 1
