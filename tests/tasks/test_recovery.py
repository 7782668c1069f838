"""Tasks outlive the process driving them.

A gateway running as its own process (``cozegate serve``) is killed with SIGKILL mid-task;
another gateway on the same database takes the task over once the dead one's lease expires:
an async run is polled on to its end by its ``execute_id``; a held stream, which died with
its holder, fails with that reason. With two live gateways on Postgres, each task is driven
by one process only, and a survivor takes over the tasks of a killed one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from cozegate.emulator import EmulatorServer
from cozegate.models import LedgerEntry
from cozegate.tasks.driver import LOST_STREAM
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.tasks.helpers import TaskClient, running_gateway
from tests.tasks.processes import ServeProcess

pytestmark = pytest.mark.db

ServerFactory = Callable[..., EmulatorServer]


async def prepare(db_url: str, upstream: EmulatorServer) -> tuple[int, str]:
    """An empty database → the sandbox replaced by an emulator that outlives the gateways
    (the sandbox lives inside its gateway's process), and a user with a key."""
    async with running_gateway(db_url) as gateway:
        await gateway.add_channel("upstream", upstream.url)
        await gateway.disable_channel("sandbox")
        return await gateway.create_user("alice", balance="1")


async def ledger(gateway: Gateway, user_id: int) -> list[str]:
    async with gateway.sessionmaker() as session:
        return list(await session.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)))


async def test_an_async_task_survives_a_killed_process(
        db_url: str, tmp_path: Path, emulator_server_factory: ServerFactory) -> None:
    user_id, key = await prepare(db_url, emulator_server_factory())
    first = ServeProcess(db_url, tmp_path)
    try:
        async with TaskClient(first.url, key) as client:
            submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 1.5})).json()
            started = await client.wait_started(submitted["task_id"])
    finally:
        first.kill()
    async with running_gateway(db_url) as second, TaskClient(second.url, key) as client:
        assert (await client.task(started["id"]))["status"] == "executing"
        task = await client.wait(started["id"])
        events = await client.events(task["id"])
        usage = await second.usage_rows(user_id)
        kinds = await ledger(second, user_id)
    assert (task["status"], task["execute_id"]) == ("completed", started["execute_id"])
    assert task["output_data"] == {"output": "slept 1.5 seconds"}
    names = [event["event"] for event in events]
    assert names.count("started") == 1 and "resumed" in names and names[-1] == "succeeded"
    assert [row.status for row in usage] == ["success"]
    assert kinds == ["top_up", "reserve", "settle"]


async def test_a_held_stream_of_a_killed_process_fails_with_the_reason(
        db_url: str, tmp_path: Path, emulator_server_factory: ServerFactory) -> None:
    user_id, key = await prepare(db_url, emulator_server_factory(async_enabled=False))
    first = ServeProcess(db_url, tmp_path)
    try:
        async with TaskClient(first.url, key) as client:
            submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            started = await client.wait_started(submitted["task_id"])
            assert started["mode"] == "stream"
    finally:
        first.kill()
    async with running_gateway(db_url) as second, TaskClient(second.url, key) as client:
        task = await client.wait(started["id"])
        before_kinds = await ledger(second, user_id)
    assert (task["status"], task["execution_status"]) == ("failed", "failed")
    assert task["error"] == LOST_STREAM
    assert before_kinds == ["top_up", "reserve", "refund"]


async def test_a_graceful_stop_releases_async_tasks_to_the_next_start(
        db_url: str, emulator_server_factory: ServerFactory) -> None:
    _, key = await prepare(db_url, emulator_server_factory())
    async with running_gateway(db_url) as first, TaskClient(first.url, key) as client:
        submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 1})).json()
        await client.wait_started(submitted["task_id"])
    # A long lease: only the release at shutdown lets the next start take it at once.
    async with running_gateway(db_url, lease_seconds=600) as second, \
            TaskClient(second.url, key) as client:
        task = await client.wait(submitted["task_id"], within=10)
    assert task["status"] == "completed"


@pytest.fixture
def postgres_only(db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip("two gateway processes sharing one database: Postgres")


@pytest.mark.usefixtures("postgres_only")
async def test_two_processes_drive_each_task_once_and_take_over_from_a_dead_one(
        db_url: str, tmp_path: Path, emulator_server_factory: ServerFactory) -> None:
    user_id, key = await prepare(db_url, emulator_server_factory())
    # Leases of 2 s: renewed every ~0.7 s, so a busy test machine does not lose one.
    async with running_gateway(db_url, lease_seconds=2) as survivor:
        doomed = ServeProcess(db_url, tmp_path, lease_seconds=2)
        try:
            async with TaskClient(doomed.url, key) as on_doomed, \
                    TaskClient(survivor.url, key) as on_survivor:
                # Both alive: tasks submitted to either are driven by their own process only.
                ids = [(await client.submit(catalog.SLOW_JOB, {"seconds": 0.3})).json()["task_id"]
                       for client in (on_doomed, on_survivor) * 3]
                for task_id in ids:
                    await on_survivor.wait(task_id)
                    names = [e["event"] for e in await on_survivor.events(task_id)]
                    assert names.count("started") == 1 and "resumed" not in names, names
                # Then one dies mid-task: the survivor, running all along, takes over.
                orphan = (await on_doomed.submit(catalog.SLOW_JOB, {"seconds": 2})).json()
                await on_doomed.wait_started(orphan["task_id"])
                doomed.kill()
                task = await on_survivor.wait(orphan["task_id"])
                events = await on_survivor.events(orphan["task_id"])
        finally:
            doomed.kill()
        usage = await survivor.usage_rows(user_id)
    assert task["status"] == "completed"
    resumed = [json.loads(e["data"]) for e in events if e["event"] == "resumed"]
    assert len(resumed) == 1 and resumed[0]["execute_id"] == task["execute_id"]
    assert [row.status for row in usage] == ["success"] * 7  # each task billed once
