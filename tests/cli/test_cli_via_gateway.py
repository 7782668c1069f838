"""The workflow CLI pointed at cozegate itself: base URL + a gateway key, nothing else.

The CLI runs its own event loop, so each call goes through ``asyncio.to_thread``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cozegate.cli.main import create_app
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def cozegate(gateway: Gateway, key: str, *args: str) -> Result:
    argv = [*args, "--base-url", gateway.url, "--token", key]
    return await asyncio.to_thread(CliRunner().invoke, create_app(), argv)


def saved_response(directory: Path) -> dict:
    [saved] = list(directory.glob("sync_*.json"))
    return json.loads(saved.read_text(encoding="utf-8"))["response"]


async def test_run_sync_async_stream_and_chat_through_the_gateway(
        gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    user_id, key = await gateway.create_user("cli-user", balance="1")

    sync = await cozegate(gateway, key, "run", catalog.ECHO, "-p", "input=hello")
    assert sync.exit_code == 0, sync.output
    assert json.loads(saved_response(tmp_path)["data"]) == {"input": "hello"}

    run_async = await cozegate(gateway, key, "run", catalog.SLOW_JOB, "-p", "seconds=0.2",
                               "--async", "--poll-initial", "0.1", "--no-save")
    assert run_async.exit_code == 0, run_async.output
    assert "slept 0.2 seconds" in run_async.output

    streamed = await cozegate(gateway, key, "stream", catalog.ASK_CITY, "--answer", "Paris")
    assert streamed.exit_code == 0, streamed.output
    assert "Paris" in streamed.output

    chatted = await cozegate(gateway, key, "chat", catalog.CHAT_ASK, "-m", "hi", "-m", "Ada")
    assert chatted.exit_code == 0, chatted.output
    assert "Nice to meet you, Ada!" in chatted.output

    # every call went through the gateway's billing and usage log
    rows = await gateway.usage_rows(user_id)
    assert len(rows) >= 5 and {row.surface for row in rows} == {"coze"}
    assert await gateway.balance(user_id) == 1_000_000 - sum(row.cost for row in rows)


async def test_a_bad_gateway_key_is_a_clean_failure(gateway: Gateway) -> None:
    result = await cozegate(gateway, "sk-not-a-key-000000000000000000000000000000000000",
                            "run", catalog.ECHO, "-p", "input=x", "--no-save")
    assert result.exit_code == 3
    assert "4100" in result.output
