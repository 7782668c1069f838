"""RunService and RunRecorder on the database: lifecycle, guarded finish, usage copy, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cozegate.billing.schemas import UsageLogCreate
from cozegate.billing.usage_repository import UsageRepository
from cozegate.db import SessionMaker
from cozegate.models import Run
from cozegate.models.base import utcnow
from cozegate.runs import RunFilter, RunFinish, RunRecorder, RunService, RunStart, RunUpdate
from cozegate.runs.errors import RunNotFound

pytestmark = pytest.mark.db


def start_data(**overrides: object) -> RunStart:
    values: dict = {"user_id": 7, "api_key_id": 70, "key_name": "k", "surface": "coze",
                    "workflow_id": "7500000000000001002", "inputs": {"topic": "owls"}}
    values.update(overrides)
    return RunStart(**values)


async def test_lifecycle_copies_usage_and_cost_from_the_usage_log(
        db_sessionmaker: SessionMaker) -> None:
    recorder = RunRecorder(db_sessionmaker)
    run_id = await recorder.start(start_data(request_id="req-1"))
    await recorder.update(run_id, RunUpdate(execute_id="7511", channel_id=3,
                                            channel_name="sandbox", logid="L1"))
    async with db_sessionmaker.begin() as session:
        await UsageRepository(session).insert(UsageLogCreate(
            request_id="req-1", user_id=7, api_key_id=70, status="success", input_tokens=10,
            output_tokens=40, cost=90))
    big = "x" * 2_000_000  # never trimmed: the whole output is kept
    assert await recorder.finish(run_id, RunFinish(status="succeeded", output=big,
                                                   debug_url="https://d"))
    assert not await recorder.finish(run_id, RunFinish(status="failed", error="late"))
    async with db_sessionmaker() as session:
        run = await RunService().get(session, run_id)
    assert (run.status, run.execute_id, run.channel_name, run.logid) == (
        "succeeded", "7511", "sandbox", "L1")
    assert (run.input_tokens, run.output_tokens, run.cost) == (10, 40, 90)
    assert run.output == big and run.error is None
    assert run.started_at is not None and run.finished_at is not None
    assert run.duration_ms is not None and run.duration_ms >= 0


async def test_interrupt_then_resume(db_sessionmaker: SessionMaker) -> None:
    recorder = RunRecorder(db_sessionmaker)
    run_id = await recorder.start(start_data(workflow_id="7500000000000001003"))
    question = {"event_id": "1/2", "type": 2, "data": "Which city?"}
    await recorder.finish(run_id, RunFinish(status="interrupted", interrupt=question,
                                            output="Which city?"))
    async with db_sessionmaker() as session:
        run = await RunService().get(session, run_id)
        assert (run.status, run.interrupt, run.resume_count) == ("interrupted", question, 0)
    assert await recorder.resume(run_id)
    assert not await recorder.resume(run_id)  # running now: nothing to resume
    await recorder.finish(run_id, RunFinish(status="succeeded", output="sunny"))
    async with db_sessionmaker() as session:
        run = await RunService().get(session, run_id)
    assert (run.status, run.interrupt, run.resume_count, run.output) == (
        "succeeded", None, 1, "sunny")


async def test_visibility_and_filters(db_sessionmaker: SessionMaker) -> None:
    service = RunService()
    async with db_sessionmaker.begin() as session:
        mine = await service.start(session, start_data())
        await service.start(session, start_data(surface="task", workflow_id="w2"))
        other = await service.start(session, start_data(user_id=8, api_key_id=80))
    async with db_sessionmaker() as session:
        assert (await service.get(session, mine, user_id=7)).id == mine
        with pytest.raises(RunNotFound):
            await service.get(session, other, user_id=7)
        with pytest.raises(RunNotFound):
            await service.get(session, "run_missing")
        page = await service.page(session, RunFilter(user_id=7), limit=1)
        assert (page.total, len(page.items)) == (2, 1)
        page = await service.page(session, RunFilter(user_id=7, surface="task"))
        assert [item.workflow_id for item in page.items] == ["w2"]


async def test_purge_keeps_recent_and_running_runs(db_sessionmaker: SessionMaker) -> None:
    service = RunService()
    old = utcnow() - timedelta(days=40)
    async with db_sessionmaker.begin() as session:
        ended_old = await service.start(session, start_data())
        running_old = await service.start(session, start_data())
        recent = await service.start(session, start_data())
        await service.finish(session, ended_old, RunFinish(status="succeeded"))
        await service.finish(session, recent, RunFinish(status="failed"))
        for run_id in (ended_old, running_old):
            (await session.get(Run, run_id)).created_at = old
    async with db_sessionmaker.begin() as session:
        assert await service.purge(session, 0) == 0  # 0 = keep forever
        assert await service.purge(session, 30) == 1
    async with db_sessionmaker() as session:
        left = {item.id for item in (await service.page(session, RunFilter())).items}
    assert left == {running_old, recent}
