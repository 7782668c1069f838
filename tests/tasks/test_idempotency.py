"""``Idempotency-Key`` on task creation: same key + same body → the same task (charged once);
a different body → 409; the key is scoped to the gateway key that sent it."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db


async def test_same_key_same_body_is_the_same_task(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        user_id, key = await gateway.create_user("alice", balance="1")
        _, other_key = await gateway.create_user("bob", balance="1")
        headers = {"Idempotency-Key": "order-42"}
        async with TaskClient(gateway.url, key) as client, \
                TaskClient(gateway.url, other_key) as other:
            first = await client.submit(catalog.ECHO, {"input": "hi"}, headers=headers)
            # Retries, some of them concurrent, as a client with a flaky network sends them.
            again = await asyncio.gather(*[
                client.submit(catalog.ECHO, {"input": "hi"}, headers=headers)
                for _ in range(3)])
            different = await client.submit(catalog.ECHO, {"input": "bye"}, headers=headers)
            elsewhere = await other.submit(catalog.ECHO, {"input": "hi"}, headers=headers)
            task = await client.wait(first.json()["task_id"])
            after_end = await client.submit(catalog.ECHO, {"input": "hi"}, headers=headers)
            listed = (await client.http.get("/api/coze/tasks")).json()
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    for answer in (*again, after_end):
        assert answer.status_code == 200
        assert answer.json()["task_id"] == first.json()["task_id"]
        assert answer.json()["execution_id"] == first.json()["execution_id"]
        assert answer.headers["Idempotent-Replayed"] == "true"
    assert after_end.json()["status"] == "success"
    assert different.status_code == 409
    assert different.json()["error"]["code"] == "idempotency_conflict"
    assert different.json()["error"]["task_id"] == first.json()["task_id"]
    assert elsewhere.status_code == 200
    assert elsewhere.json()["task_id"] != first.json()["task_id"]
    assert listed["total"] == 1
    charged = [row for row in await gateway.usage_rows(user_id) if row.status == "success"]
    assert len(charged) == 1 and task["cost"] is not None
