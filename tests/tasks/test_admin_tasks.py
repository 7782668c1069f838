"""The operator's view of tasks: every user's, filterable, and cancellable."""

from __future__ import annotations

import pytest

from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db


async def test_admin_lists_looks_at_and_cancels_any_users_task(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        alice_id, alice_key = await gateway.create_user("alice", balance="1")
        _, bob_key = await gateway.create_user("bob", balance="1")
        async with TaskClient(gateway.url, alice_key) as alice, \
                TaskClient(gateway.url, bob_key) as bob, \
                TaskClient(gateway.url, gateway.admin_key) as admin:
            slow = (await alice.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            quick = (await bob.submit(catalog.ECHO, {"input": "hi"})).json()
            await bob.wait(quick["task_id"])
            await alice.wait_started(slow["task_id"])

            everyone = (await admin.http.get("/api/admin/tasks")).json()
            only_alice = (await admin.http.get("/api/admin/tasks",
                                               params={"user_id": alice_id})).json()
            one = (await admin.http.get(f"/api/admin/tasks/{slow['task_id']}")).json()
            cancelled = await admin.http.post(f"/api/admin/tasks/{slow['task_id']}/cancel")
            seen_by_alice = await alice.wait(slow["task_id"])
            not_admin = await bob.http.get("/api/admin/tasks")
            missing = await admin.http.get("/api/admin/tasks/task_0")
    assert {t["id"] for t in everyone["tasks"]} == {slow["task_id"], quick["task_id"]}
    assert [t["id"] for t in only_alice["tasks"]] == [slow["task_id"]]
    assert one["id"] == slow["task_id"] and one["workflow_id"] == catalog.SLOW_JOB
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert seen_by_alice["status"] == "cancelled"
    assert seen_by_alice["error"] == "cancelled by an administrator"
    assert not_admin.status_code == 403
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "task_not_found"
