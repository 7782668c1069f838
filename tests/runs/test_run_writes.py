"""Run records booked through the billing writer (runs.writes) match RunService's, column
for column, and share the transaction of the settlement whose usage they copy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cozegate.billing.booking import Close, Hold
from cozegate.billing.writer import BillingWriter, create_writer
from cozegate.db import SessionMaker
from cozegate.models import Run
from cozegate.models.base import utcnow
from cozegate.models.reservation import SETTLED
from cozegate.runs import RunFinish, RunRecorder, RunService, RunStart, RunUpdate
from cozegate.runs.writes import RunEnded, RunStarted

pytestmark = pytest.mark.db

TIMES = {"id", "created_at", "updated_at", "started_at", "finished_at", "duration_ms"}


@pytest.fixture
async def writer(db_engine: AsyncEngine) -> AsyncIterator[BillingWriter]:
    writer = create_writer(db_engine, busy_timeout_ms=5_000)
    try:
        yield writer
    finally:
        await writer.aclose()


def start_data(**overrides: Any) -> RunStart:
    values: dict[str, Any] = {"user_id": 7, "api_key_id": 70, "key_name": "k",
                              "surface": "openai", "workflow_id": "7500000000000001002",
                              "inputs": {"topic": "owls", "n": [1, 2]}, "stream": True,
                              "client_ip": "127.0.0.1", "resume_count": 1}
    values.update(overrides)
    return RunStart(**values)


async def columns(db_sessionmaker: SessionMaker, run_id: str) -> dict[str, Any]:
    async with db_sessionmaker() as session:
        run = await session.get(Run, run_id)
        assert run is not None
        return {c.key: getattr(run, c.key) for c in Run.__table__.columns if c.key not in TIMES}


async def both(db_sessionmaker: SessionMaker, writer: BillingWriter,
               steps: list[RunStart | RunUpdate | RunFinish]) -> tuple[dict, dict, list]:
    """Apply ``steps`` through RunService and through the writer recorder; both rows and
    the writer's return values."""
    service, recorder = RunService(), RunRecorder(db_sessionmaker, writer=writer)
    ids, returned = {}, []
    for via in ("service", "writer"):
        run_id = None
        for step in steps:
            if isinstance(step, RunStart):
                if via == "service":
                    async with db_sessionmaker.begin() as session:
                        run_id = await service.start(session, step)
                else:
                    run_id = await recorder.start(step)
            elif isinstance(step, RunUpdate):
                if via == "service":
                    async with db_sessionmaker.begin() as session:
                        await service.update(session, run_id, step)
                else:
                    await recorder.update(run_id, step)
            elif via == "service":
                async with db_sessionmaker.begin() as session:
                    await service.finish(session, run_id, step)
            else:
                returned.append(await recorder.finish(run_id, step))
        ids[via] = run_id
    return (await columns(db_sessionmaker, ids["service"]),
            await columns(db_sessionmaker, ids["writer"]), returned)


async def test_a_run_to_its_end_is_written_alike(db_sessionmaker, writer) -> None:
    by_service, by_writer, returned = await both(db_sessionmaker, writer, [
        start_data(),
        RunUpdate(execute_id="7511", channel_id=3, channel_name="sandbox", logid="L1"),
        RunFinish(status="succeeded", output="done", input_tokens=3, output_tokens=4,
                  usage_estimated=True, cost=99, ttfb_ms=12),
        RunFinish(status="failed", error="too late"),
    ])
    assert by_writer == by_service
    assert by_writer["status"] == "succeeded" and by_writer["inputs"] == {"topic": "owls",
                                                                           "n": [1, 2]}
    assert returned == [True, False]


async def test_an_interrupt_and_a_queued_start_are_written_alike(db_sessionmaker,
                                                                 writer) -> None:
    question = {"event_id": "1/2", "type": 2, "data": "Which city?"}
    by_service, by_writer, _ = await both(db_sessionmaker, writer, [
        start_data(status="queued", inputs=None),
        RunUpdate(status="running", is_async=True),
        RunFinish(status="interrupted", interrupt=question, output="Which city?"),
    ])
    assert by_writer == by_service
    assert (by_writer["status"], by_writer["interrupt"]) == ("interrupted", question)


async def held_run(writer, make_user, name: str, request_id: str,
                   run_id: str) -> tuple[int, str]:
    """A user holding 500 for ``request_id`` and the started run of that request."""
    user = await make_user(name, balance=1_000)
    await writer.submit(Hold(request_id, user.id, 500))
    await writer.submit(RunStarted(run_id, start_data(request_id=request_id,
                                                      user_id=user.id)))
    return user.id, run_id


async def test_the_end_copies_usage_settled_in_the_same_transaction(
        db_sessionmaker, writer, make_user) -> None:
    user_id, run_id = await held_run(writer, make_user, "ran", "req-9", "run_9")
    usage = {"user_id": user_id, "input_tokens": 10, "output_tokens": 40,
             "usage_estimated": True, "status": "success"}
    # Queued together: one batch, billing first, so the run sees the usage row.
    settled, ended = await asyncio.gather(
        writer.submit(Close("req-9", 90, SETTLED, usage=usage)),
        writer.submit(RunEnded(run_id, RunFinish(status="succeeded", output="ok"))))
    assert settled.charged == 90 and ended is True
    row = await columns(db_sessionmaker, run_id)
    assert (row["input_tokens"], row["output_tokens"], row["usage_estimated"], row["cost"]) \
        == (10, 40, True, 90)


async def test_the_end_reads_usage_settled_in_an_earlier_transaction(
        db_sessionmaker, writer, make_user) -> None:
    user_id, run_id = await held_run(writer, make_user, "ran-before", "req-10", "run_10")
    usage = {"user_id": user_id, "input_tokens": 3, "output_tokens": 7,
             "usage_estimated": False, "status": "success"}
    assert (await writer.submit(Close("req-10", 120, SETTLED, usage=usage))).charged == 120
    assert await writer.submit(RunEnded(run_id, RunFinish(status="succeeded"))) is True
    row = await columns(db_sessionmaker, run_id)
    assert (row["input_tokens"], row["output_tokens"], row["usage_estimated"], row["cost"]) \
        == (3, 7, False, 120)


async def test_an_end_absorbs_a_start_not_yet_booked_into_the_same_row(
        db_sessionmaker, writer, make_user) -> None:
    """A run that ends within LAZY_DELAY is inserted once, already ended: the row is the
    one a booked start and a later end leave, its duration measured from the start."""
    user = await make_user("quick", balance=1_000)
    rows = []
    for n, lazily in ((1, False), (2, True)):
        request_id = f"req-a{n}"
        await writer.submit(Hold(request_id, user.id, 500))
        start = RunStarted(f"run_a{n}", start_data(request_id=request_id, user_id=user.id),
                           at=utcnow() - timedelta(milliseconds=250))
        started = writer.submit(start, urgent=not lazily)
        if not lazily:
            await started
        usage = {"user_id": user.id, "input_tokens": 10, "output_tokens": 40,
                 "usage_estimated": False, "status": "success"}
        _, ended = await asyncio.gather(
            writer.submit(Close(request_id, 90, SETTLED, usage=usage)),
            writer.submit(RunEnded(start.run_id, RunFinish(status="succeeded", output="ok"))))
        assert ended is True and await started == start.run_id
        async with db_sessionmaker() as session:
            run = await session.get(Run, start.run_id)
            assert run is not None and run.duration_ms is not None
            assert 250 <= run.duration_ms < 5_000  # from ``at``, not from the booking
        row = await columns(db_sessionmaker, start.run_id)
        row.pop("request_id")
        rows.append(row)
    assert rows[0] == rows[1]
    assert (rows[1]["status"], rows[1]["cost"], rows[1]["output_tokens"]) == ("succeeded", 90, 40)
