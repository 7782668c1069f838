"""``cozegate tasks …`` against a running gateway: submit / get / list / cancel / watch."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cozegate.cli.main import create_app
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db


async def cli(gateway: Gateway, key: str, *args: str, key_env: str = "COZEGATE_KEY") -> Result:
    # In a thread: the test's loop stays free, and the gateway answers from its own thread.
    env = {"COZEGATE_URL": gateway.url, key_env: key}
    return await asyncio.to_thread(CliRunner().invoke, create_app(), list(args), env=env)


def as_json(result: Result, expect: int = 0) -> Any:
    assert result.exit_code == expect, (result.stdout, result.stderr)
    return json.loads(result.stdout)


async def test_submit_watch_get_list_cancel(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        _, key = await gateway.create_user("alice", balance="1")
        watched = await cli(gateway, key, "tasks", "submit", catalog.STORY, "-p", "topic=owls",
                            "--name", "story", "--watch")
        assert watched.exit_code == 0, watched.stdout
        assert "running: Coze async run" in watched.stdout
        assert "completed (cost 0.000084)" in watched.stdout
        assert "Once upon a time, owls" in watched.stdout

        submitted = as_json(await cli(gateway, key, "tasks", "submit", catalog.SLOW_JOB,
                                      "-p", "seconds=30", "--json",
                                      key_env="COZEGATE_API_KEY"))
        task_id = submitted["task_id"]
        async with TaskClient(gateway.url, key) as client:
            await client.wait_started(task_id)
        cancelled = as_json(await cli(gateway, key, "tasks", "cancel", task_id, "--json"))
        assert cancelled["status"] == "cancelled"
        events = await cli(gateway, key, "tasks", "watch", task_id, "--json")
        assert events.exit_code == 1  # a cancelled task is not a success
        lines = [json.loads(line) for line in events.stdout.splitlines()]
        assert [e["id"] for e in lines] == list(range(1, len(lines) + 1))
        assert lines[-1]["event"] == "cancelled"

        task = as_json(await cli(gateway, key, "tasks", "get", task_id, "--json"))
        assert task["error"] == "cancelled by the client"
        shown = await cli(gateway, key, "tasks", "get", task_id)
        assert "status: cancelled" in shown.stdout
        listed = as_json(await cli(gateway, key, "tasks", "list", "--json"))
        assert [t["name"] for t in listed["tasks"]] == [task["name"], "story"]
        table = await cli(gateway, key, "tasks", "list", "--status", "completed")
        assert "story" in table.stdout and task_id not in table.stdout


async def test_failures_and_exit_codes(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        key = gateway.admin_key
        failed = await cli(gateway, key, "tasks", "submit", catalog.ALWAYS_FAIL, "--watch")
        assert failed.exit_code == 1
        assert "fails by design" in failed.stdout
        missing = await cli(gateway, key, "tasks", "get", "task_nope")
        assert missing.exit_code == 3 and "404 task_not_found" in missing.stderr
        bad_key = await cli(gateway, "sk-wrong", "tasks", "list")
        assert bad_key.exit_code == 3 and "COZEGATE_KEY" in bad_key.stderr
        no_key = await asyncio.to_thread(CliRunner().invoke, create_app(), ["tasks", "list"],
                                         env={"COZEGATE_URL": gateway.url, "COZEGATE_KEY": "",
                                              "COZEGATE_API_KEY": ""})
        assert no_key.exit_code == 2
        bad_param = await cli(gateway, key, "tasks", "submit", catalog.ECHO,
                              "--parameters", "[1]")
        assert bad_param.exit_code == 2
