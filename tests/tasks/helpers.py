"""Task-test helpers: gateways with fast task timings, a task API client, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from cozegate.app import create_app
from cozegate.db import create_sessionmaker, engine_from_url
from cozegate.kit.serving import ThreadedServer
from tests.fixtures_gateway import Gateway, gateway_settings

# ~50 ms everywhere, so a task's life takes a fraction of a second.
FAST_TASKS: dict[str, Any] = {
    "worker_interval": 0.05, "lease_seconds": 1.0, "poll_initial": 0.05, "poll_max": 0.2,
    "poll_factor": 2.0, "event_poll_interval": 0.05, "progress_interval": 0.0,
    "callback_backoff": 0.05, "callback_timeout": 2.0, "callback_max_attempts": 4,
}


def fast_tasks(**overrides: Any) -> dict[str, Any]:
    return {**FAST_TASKS, **overrides}


@asynccontextmanager
async def running_gateway(db_url: str, **tasks: Any) -> AsyncIterator[Gateway]:
    """A gateway like the ``gateway`` fixture, with fast task timings (``tasks`` override)."""
    settings = gateway_settings(db_url, tasks=fast_tasks(**tasks))
    app = create_app(settings)
    server = ThreadedServer(app).start()
    engine = engine_from_url(db_url)
    try:
        yield Gateway(url=server.url, admin_key=app.state.bootstrap.admin_key, app=app,
                      settings=settings, sessionmaker=create_sessionmaker(engine),
                      server=server)
    finally:
        await engine.dispose()
        await asyncio.to_thread(server.stop)


class TaskClient:
    """The task API as a client sees it (one gateway key)."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30,
                                      headers={"Authorization": f"Bearer {key}"})

    async def __aenter__(self) -> TaskClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def submit(self, workflow_id: str, parameters: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
        body = {"workflow_id": workflow_id, "input_parameters": parameters or {}, **fields}
        return await self.http.post("/api/coze/tasks/execute", json=body, headers=headers)

    async def task(self, task_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/coze/tasks/{task_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def wait(self, task_id: str, *, until: tuple[str, ...] = (
            "completed", "failed", "cancelled"), within: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            task = await self.task(task_id)
            if task["status"] in until and (task["status"] == "executing"
                                            or task["cost"] is not None):
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']}: {task}")
            await asyncio.sleep(0.03)

    async def wait_started(self, task_id: str, within: float = 15.0) -> dict[str, Any]:
        """Wait until the run is under way upstream: an async run Coze accepted (its
        execute_id known), or a held stream (whose execute_id comes with its end)."""
        deadline = time.monotonic() + within
        while True:
            task = await self.task(task_id)
            mode = task["mode"]
            if task["status"] == "executing" and (mode == "stream" or (
                    mode == "async" and task["execute_id"])):
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} never started: {task}")
            await asyncio.sleep(0.03)

    async def events(self, task_id: str, last_event_id: int | None = None) -> list[dict]:
        """The events stream read to its end: [{id, event, data}]."""
        headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
        async with self.http.stream("GET", f"/api/coze/tasks/{task_id}/events",
                                    headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            text = "".join([chunk async for chunk in response.aiter_text()])
        return parse_sse(text)


def parse_sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("id", "event", "data"):
                fields[name] = value
        if "event" in fields:
            fields["id"] = int(fields["id"])
            events.append(fields)
    return events
