"""The worker's sweeps: settling what a crash left unsettled, capacity, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from cozegate.models import Task, TaskEvent
from cozegate.models.base import utcnow
from cozegate.runs.purge import RunPurger
from cozegate.tasks.setup import purge_ended_tasks
from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db


async def test_an_ended_but_unsettled_task_is_settled_by_the_sweep(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        user_id, key = await gateway.create_user("alice", balance="1")
        before = await gateway.balance(user_id)
        async with TaskClient(gateway.url, key) as client:
            submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            await client.wait_started(submitted["task_id"])
            # What a canceller that crashed between its two steps leaves behind: ended,
            # not billed, no final event.
            async with gateway.session() as session:
                await session.execute(update(Task).where(Task.id == submitted["task_id"])
                                      .values(status="cancelled", stage="ended",
                                              error="cancelled by the client",
                                              finished_at=utcnow() - timedelta(seconds=5),
                                              lease_owner=None, lease_expires_at=None))
            task = await client.wait(submitted["task_id"])
            events = await client.events(task["id"])
    assert task["status"] == "cancelled" and task["cost"] == "0.000000"
    assert events[-1]["event"] == "cancelled"
    assert await gateway.balance(user_id) == before
    assert gateway.runtime.tasks.worker.driving == 0  # its driver was stopped


async def test_a_full_process_leaves_new_tasks_pending_until_it_has_room(db_url: str) -> None:
    async with running_gateway(db_url, max_active=1) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        first = (await client.submit(catalog.SLOW_JOB, {"seconds": 0.5})).json()
        await client.wait_started(first["task_id"])
        second = (await client.submit(catalog.ECHO, {"input": "hi"})).json()
        assert (await client.task(second["task_id"]))["status"] == "pending"
        done = await client.wait(second["task_id"])
        first_done = await client.task(first["task_id"])
    assert done["status"] == first_done["status"] == "completed"
    assert done["started_at"] >= first_done["finished_at"]


async def test_retention_purges_old_ended_tasks_and_their_events(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        old = (await client.submit(catalog.ECHO, {"input": "old"})).json()
        await client.wait(old["task_id"])
        recent = (await client.submit(catalog.ECHO, {"input": "new"})).json()
        await client.wait(recent["task_id"])
        async with gateway.session() as session:
            await session.execute(update(Task).where(Task.id == old["task_id"]).values(
                created_at=utcnow() - timedelta(days=100)))
        # The gateway's own purger, built on this test's engine (engines are loop-bound).
        purger = RunPurger(gateway.sessionmaker, retention_days=90, interval=3600)
        purger.also(purge_ended_tasks)
        deleted = await purger.purge_once()
        async with gateway.sessionmaker() as session:
            left = list(await session.scalars(select(Task.id)))
            events = await session.scalar(select(func.count()).select_from(TaskEvent).where(
                TaskEvent.task_id == old["task_id"]))
    assert left == [recent["task_id"]] and events == 0
    assert deleted >= 4  # the task and its three events
