"""``GET /api/coze/tasks/{id}/events``: ids per event, replay after Last-Event-ID, then live."""

from __future__ import annotations

import json

import pytest

from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, parse_sse, running_gateway

pytestmark = pytest.mark.db


async def test_reconnecting_with_last_event_id_replays_then_continues_live(
        db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 0.8})).json()
        task_id = submitted["task_id"]
        # First connection: read until the run started, then drop the connection.
        seen: list[dict] = []
        async with client.http.stream("GET", f"/api/coze/tasks/{task_id}/events") as response:
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            buffer = ""
            async for chunk in response.aiter_text():
                buffer += chunk
                seen = parse_sse(buffer)
                if any(event["event"] == "started" for event in seen):
                    break
        assert (await client.task(task_id))["status"] == "executing"  # still live
        last = seen[-1]["id"]
        rest = await client.events(task_id, last_event_id=last)
        everything = await client.events(task_id)
        after_the_end = await client.events(task_id, last_event_id=everything[-1]["id"])
        by_query = await client.http.get(f"/api/coze/tasks/{task_id}/events",
                                         params={"last_event_id": everything[-2]["id"]})
    assert [event["id"] for event in seen] == list(range(1, last + 1))
    assert rest[0]["id"] == last + 1  # nothing missed, nothing repeated
    assert seen + rest == everything
    assert "progress" in [event["event"] for event in rest]  # polls seen live
    final = everything[-1]
    assert final["event"] == "succeeded"
    assert json.loads(final["data"])["output_data"] == {"output": "slept 0.8 seconds"}
    assert after_the_end == []
    assert parse_sse(by_query.text) == everything[-1:]
