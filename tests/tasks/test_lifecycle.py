"""A task's life through the API: submit → running → succeeded (output, run, bill), failure,
cancellation, interrupts, the deadline reaper, per-key isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cozegate.emulator.scripts import FAIL_CODE, story_text
from cozegate.models import LedgerEntry, Reservation
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db

SANDBOX_COST_PER_TOKEN = (1, 2)  # micros per input / output token at the sandbox price


def sandbox_cost(usage: dict) -> int:
    return (usage["input_tokens"] * SANDBOX_COST_PER_TOKEN[0]
            + usage["output_tokens"] * SANDBOX_COST_PER_TOKEN[1])


async def ledger_kinds(gateway: Gateway, user_id: int) -> list[str]:
    async with gateway.sessionmaker() as session:
        rows = await session.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.user_id == user_id).order_by(LedgerEntry.id))
        return list(rows)


async def test_submit_runs_to_success_with_output_run_record_and_exact_bill(
        db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        user_id, key = await gateway.create_user("alice", balance="1")
        before = await gateway.balance(user_id)
        async with TaskClient(gateway.url, key) as client:
            answer = await client.submit(catalog.SLOW_JOB, {"seconds": 0.4},
                                         task_name="nap", task_description="sleeps")
            assert answer.status_code == 200
            submitted = answer.json()
            assert set(submitted) == {"task_id", "execution_id", "status", "message"}
            assert submitted["status"] == "pending"
            running = await client.wait_started(submitted["task_id"])
            assert running["execution_status"] == "running" and running["mode"] == "async"
            # The reservation is held while the task runs.
            assert await gateway.balance(user_id) < before
            task = await client.wait(submitted["task_id"])
            run = (await client.http.get(f"/api/runs/{submitted['execution_id']}")).json()
    assert (task["status"], task["execution_status"]) == ("completed", "success")
    assert (task["name"], task["description"]) == ("nap", "sleeps")
    assert task["output_data"] == {"output": "slept 0.4 seconds"}
    assert task["workflow_id"] == catalog.SLOW_JOB and task["error"] is None
    cost = sandbox_cost(task["usage"])
    assert task["cost"] == f"0.{cost:06d}"
    assert before - await gateway.balance(user_id) == cost
    assert await ledger_kinds(gateway, user_id) == ["top_up", "reserve", "settle"]
    # The run record holds the same output, usage and cost, and is linked to the task.
    assert (run["status"], run["surface"], run["task_id"]) == ("succeeded", "task", task["id"])
    assert run["output"] == task["output"] and run["cost_micros"] == cost
    assert run["execute_id"] == task["execute_id"] and run["is_async"]
    rows = await gateway.usage_rows(user_id)
    assert [(r.surface, r.status, r.cost) for r in rows] == [("task", "success", cost)]


async def test_a_failing_workflow_fails_the_task_and_refunds(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        user_id, key = await gateway.create_user("alice", balance="1")
        before = await gateway.balance(user_id)
        async with TaskClient(gateway.url, key) as client:
            submitted = (await client.submit(catalog.ALWAYS_FAIL, {"input": "x"})).json()
            task = await client.wait(submitted["task_id"])
            events = await client.events(task["id"])
    assert (task["status"], task["execution_status"]) == ("failed", "failed")
    assert task["error_code"] == FAIL_CODE and "fails by design" in task["error"]
    assert task["cost"] == "0.000000"
    assert await gateway.balance(user_id) == before
    assert await ledger_kinds(gateway, user_id) == ["top_up", "reserve", "refund"]
    assert events[-1]["event"] == "failed"


async def test_a_workflow_coze_refuses_fails_at_once(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.DRAFT_ONLY)).json()
        task = await client.wait(submitted["task_id"])
    assert task["status"] == "failed" and task["error_code"] == 4200
    assert task["error"].startswith("Coze refused the run")


async def test_cancel_stops_the_task_and_refunds(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        user_id, key = await gateway.create_user("alice", balance="1")
        before = await gateway.balance(user_id)
        async with TaskClient(gateway.url, key) as client:
            submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            await client.wait_started(submitted["task_id"])
            answer = await client.http.post(f"/api/coze/tasks/{submitted['task_id']}/cancel")
            assert answer.status_code == 200
            assert (answer.json()["status"], answer.json()["execution_status"]) == (
                "cancelled", "cancelled")
            again = await client.http.post(f"/api/coze/tasks/{submitted['task_id']}/cancel")
            assert again.status_code == 200  # cancelling twice is harmless
            task = await client.wait(submitted["task_id"])
            events = await client.events(task["id"])
            run = (await client.http.get(f"/api/runs/{task['execution_id']}")).json()
            done = (await client.submit(catalog.ECHO, {"input": "hi"})).json()
            await client.wait(done["task_id"])
            late = await client.http.post(f"/api/coze/tasks/{done['task_id']}/cancel")
            assert gateway.runtime.tasks.worker.driving == 0
    assert task["error"] == "cancelled by the client"
    assert events[-1]["event"] == "cancelled"
    assert run["status"] == "cancelled"
    assert late.status_code == 409 and late.json()["error"]["code"] == "task_already_ended"
    rows = await gateway.usage_rows(user_id)
    assert [r.status for r in rows] == ["cancelled", "success"]
    assert before - await gateway.balance(user_id) == rows[1].cost  # the cancel cost nothing


async def test_an_interrupting_workflow_ends_the_task_with_the_question(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.ASK_CITY)).json()
        task = await client.wait(submitted["task_id"])
    assert (task["status"], task["execution_status"]) == ("failed", "interrupted")
    assert task["interrupt"]["event_id"].startswith(task["execute_id"])
    assert "Which city?" in task["interrupt"]["data"]


async def test_the_reaper_fails_a_task_past_its_deadline(db_url: str) -> None:
    async with running_gateway(db_url, deadline_seconds=0.5) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
        task = await client.wait(submitted["task_id"])
    assert task["status"] == "failed"
    assert task["error"].startswith("deadline exceeded")


async def test_tasks_and_runs_are_visible_to_their_user_only(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        _, alice_key = await gateway.create_user("alice", balance="1")
        _, bob_key = await gateway.create_user("bob", balance="1")
        async with TaskClient(gateway.url, alice_key) as alice, \
                TaskClient(gateway.url, bob_key) as bob:
            mine = (await alice.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            task_id, run_id = mine["task_id"], mine["execution_id"]
            for method, path in (("GET", f"/api/coze/tasks/{task_id}"),
                                 ("POST", f"/api/coze/tasks/{task_id}/cancel"),
                                 ("GET", f"/api/coze/tasks/{task_id}/events"),
                                 ("GET", f"/api/runs/{run_id}")):
                refused = await bob.http.request(method, path)
                assert refused.status_code == 404, path
                assert refused.json()["error"]["code"] in ("task_not_found", "run_not_found")
            assert (await bob.http.get("/api/coze/tasks")).json()["total"] == 0
            assert (await bob.http.get("/api/runs")).json()["total"] == 0
            listed = (await alice.http.get("/api/coze/tasks")).json()
            assert [t["id"] for t in listed["tasks"]] == [task_id]
            assert (await alice.http.get("/api/coze/tasks",
                                         params={"status": "completed"})).json()["total"] == 0
            assert (await alice.http.get(f"/api/coze/tasks/{task_id}")).status_code == 200
            await alice.http.post(f"/api/coze/tasks/{task_id}/cancel")
            no_key = await alice.http.get(f"/api/coze/tasks/{task_id}",
                                          headers={"Authorization": ""})
            assert no_key.status_code == 401


async def test_reservation_refused_when_the_balance_is_too_low(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        _, key = await gateway.create_user("poor", balance="0")
        async with TaskClient(gateway.url, key) as client:
            answer = await client.submit(catalog.ECHO, {"input": "hi"})
            listed = (await client.http.get("/api/coze/tasks")).json()
    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "insufficient_balance"
    assert listed["total"] == 0
    async with gateway.sessionmaker() as session:
        assert not list(await session.scalars(select(Reservation)))


async def test_story_output_is_the_whole_text(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        submitted = (await client.submit(catalog.STORY, {"topic": "owls"})).json()
        task = await client.wait(submitted["task_id"])
    assert task["output_data"] == {"output": story_text("owls")}
