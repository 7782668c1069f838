"""Metering on the Coze surface: reserve, then settle exactly from Coze's usage, like the relay.

Sandbox price 0.001 / 0.002 per 1K tokens = 1 / 2 micros per input / output token; every
user here starts with a balance of 1 (1,000,000 micros).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from cozepy import Message, WorkflowEventType
from cozepy.chat import ChatEventType
from sqlalchemy import select

from cozegate.models import Run
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = pytest.mark.db

START = 1_000_000


def cost(input_tokens: int, output_tokens: int) -> int:
    return input_tokens + 2 * output_tokens


async def runs_of(gateway: Gateway, user_id: int) -> list[Run]:
    async with gateway.sessionmaker() as session:
        return list(await session.scalars(select(Run).where(Run.user_id == user_id)
                                           .order_by(Run.created_at)))


async def test_story_stream_billed_from_the_last_message(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("writer", "1")
    events = list(coze_client(gateway, key).workflows.runs.stream(
        workflow_id=catalog.STORY, parameters={"topic": "owls"}))
    usage = events[-1].message.usage  # the End message carries the run's usage
    assert usage.input_count > 0 and usage.output_count > 0
    assert await gateway.balance(user_id) == START - cost(usage.input_count, usage.output_count)
    [row] = await gateway.usage_rows(user_id)
    assert (row.surface, row.stream, row.status) == ("coze", True, "success")
    assert (row.input_tokens, row.output_tokens) == (usage.input_count, usage.output_count)
    assert row.cost == cost(usage.input_count, usage.output_count)
    assert row.channel_name == "sandbox" and row.workflow_id == catalog.STORY
    assert row.execute_id and row.logid and row.debug_url
    [run] = await runs_of(gateway, user_id)
    assert (run.surface, run.status, run.kind) == ("coze", "succeeded", "workflow")
    assert run.execute_id == row.execute_id and run.inputs == {"topic": "owls"}
    assert run.output == events[-1].message.content
    assert (run.input_tokens, run.output_tokens, run.cost) == (
        usage.input_count, usage.output_count, row.cost)


async def test_sync_run_billed_from_its_usage(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("syncer", "1")
    result = coze_client(gateway, key).workflows.runs.create(
        workflow_id=catalog.ECHO, parameters={"input": "hi"})
    assert (result.usage.input_count, result.usage.output_count) == (4, 4)
    assert await gateway.balance(user_id) == START - cost(4, 4)
    [row] = await gateway.usage_rows(user_id)
    assert (row.stream, row.status, row.execute_id) == (False, "success", result.execute_id)


async def test_upstream_failure_is_refunded(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("unlucky", "1")
    coze = coze_client(gateway, key)
    events = list(coze.workflows.runs.stream(workflow_id=catalog.ALWAYS_FAIL))
    assert events[-1].event == WorkflowEventType.ERROR
    with pytest.raises(Exception):  # noqa: B017 - cozepy's CozeAPIError
        coze.workflows.runs.create(workflow_id=catalog.DRAFT_ONLY)
    assert await gateway.balance(user_id) == START
    rows = await gateway.usage_rows(user_id)
    assert [(r.status, r.cost) for r in rows] == [("error", 0), ("error", 0)]
    assert [r.status for r in await runs_of(gateway, user_id)] == ["failed", "failed"]


async def test_async_run_settles_when_it_ends(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("patient", "1")
    result = coze_client(gateway, key).workflows.runs.create(
        workflow_id=catalog.SLOW_JOB, parameters={"seconds": 0.2}, is_async=True)
    assert result.execute_id
    # Nobody polls: the gateway follows the run itself and settles at its end.
    deadline = time.monotonic() + 10
    while not (rows := await gateway.usage_rows(user_id)):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    [row] = rows
    assert (row.status, row.execute_id) == ("success", result.execute_id)
    assert row.input_tokens == 4  # tokens('{"seconds":0.2}')
    assert await gateway.balance(user_id) == START - row.cost
    # The run record is closed right after the settlement.
    while (run := (await runs_of(gateway, user_id))[0]).status == "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert (run.status, run.is_async, run.execute_id) == ("succeeded", True, result.execute_id)
    assert run.output and "slept 0.2 seconds" in run.output


async def test_chat_flow_billed_from_chat_completed(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("talker", "1")
    events = list(coze_client(gateway, key).workflows.chat.stream(
        workflow_id=catalog.CHAT_MEMORY,
        additional_messages=[Message.build_user_question_text("hello there")]))
    completed = events[-1]
    assert completed.event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    usage = completed.chat.usage
    assert await gateway.balance(user_id) == START - cost(usage.input_count, usage.output_count)
    [run] = await runs_of(gateway, user_id)
    assert (run.kind, run.status) == ("chatflow", "succeeded")
    assert run.conversation_id == completed.chat.conversation_id
    assert run.output and run.output.startswith('You said: "hello there"')


async def test_interrupt_and_resume_legs_are_billed_and_recorded_on_one_run(
        gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("asker", "1")
    coze = coze_client(gateway, key)
    asked = list(coze.workflows.runs.stream(workflow_id=catalog.ASK_CITY))
    first = asked[0].message.usage
    interrupt = asked[-1].interrupt.interrupt_data
    answered = list(coze.workflows.runs.resume(
        workflow_id=catalog.ASK_CITY, event_id=interrupt.event_id, resume_data="Paris",
        interrupt_type=interrupt.type))
    second = answered[-1].message.usage
    rows = await gateway.usage_rows(user_id)
    assert [r.status for r in rows] == ["interrupted", "success"]
    legs = [(r.input_tokens, r.output_tokens) for r in rows]
    first_leg = (first.input_count, first.output_count) if first else legs[0]
    assert legs == [first_leg, (second.input_count, second.output_count)]
    assert await gateway.balance(user_id) == START - sum(r.cost for r in rows)
    [run] = await runs_of(gateway, user_id)
    assert (run.status, run.resume_count) == ("succeeded", 1)
    assert run.input_tokens == sum(r.input_tokens for r in rows)
    assert run.cost == sum(r.cost for r in rows)
