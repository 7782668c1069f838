"""``/api/runs`` (own runs only) and ``/api/admin/runs`` against a live gateway."""

from __future__ import annotations

import httpx
import pytest

from cozegate.runs import RunFinish, RunService, RunStart
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def add_run(gateway: Gateway, user_id: int, **fields: object) -> str:
    async with gateway.session() as session:
        service = RunService()
        run_id = await service.start(session, RunStart(
            user_id=user_id, surface="coze", workflow_id="7500000000000001001",
            inputs={"input": "hi"}, **fields))
        await service.finish(session, run_id, RunFinish(status="succeeded",
                                                        output='{"input":"hi"}', cost=12))
    return run_id


def get(gateway: Gateway, path: str, key: str, **params: object) -> httpx.Response:
    return httpx.get(gateway.url + path, params=params,
                     headers={"Authorization": f"Bearer {key}"}, timeout=10)


async def test_a_key_sees_its_users_runs_only(gateway: Gateway) -> None:
    alice, alice_key = await gateway.create_user("alice")
    bob, bob_key = await gateway.create_user("bob")
    mine = await add_run(gateway, alice)
    theirs = await add_run(gateway, bob)

    listed = get(gateway, "/api/runs", alice_key).json()
    assert [item["id"] for item in listed["items"]] == [mine]
    assert listed["total"] == 1
    run = get(gateway, f"/api/runs/{mine}", alice_key).json()
    assert run["output"] == '{"input":"hi"}' and run["status"] == "succeeded"
    assert run["cost"] == "0.000012" and run["inputs"] == {"input": "hi"}

    refused = get(gateway, f"/api/runs/{theirs}", alice_key)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "run_not_found"
    assert get(gateway, f"/api/runs/{mine}", bob_key).status_code == 404
    assert get(gateway, "/api/runs", "sk-wrong").status_code == 401


async def test_admin_lists_every_run_with_filters(gateway: Gateway) -> None:
    alice, alice_key = await gateway.create_user("alice")
    first = await add_run(gateway, alice)
    await add_run(gateway, alice, task_id="task_1")
    admin = gateway.admin_key
    everything = get(gateway, "/api/admin/runs", admin).json()
    assert everything["total"] == 2
    only = get(gateway, "/api/admin/runs", admin, task_id="task_1", user_id=alice).json()
    assert only["total"] == 1 and only["items"][0]["task_id"] == "task_1"
    paged = get(gateway, "/api/admin/runs", admin, limit=1, offset=1).json()
    assert [item["id"] for item in paged["items"]] == [first]
    assert get(gateway, f"/api/admin/runs/{first}", admin).json()["user_id"] == alice
    assert get(gateway, "/api/admin/runs", alice_key).status_code == 403
