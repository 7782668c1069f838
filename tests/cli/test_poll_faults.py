"""Transient errors while polling are counted and retried, not fatal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cozegate.emulator import EmulatorServer, FaultRule
from tests.cli.conftest import FIXED_STAMP, Cli
from tests.fixtures_emulator import catalog


def test_poll_errors_are_counted_and_retried(
    cli: Cli, tmp_path: Path, emulator_server_factory: Callable[..., EmulatorServer]
) -> None:
    server = emulator_server_factory(faults=[
        FaultRule(fault="http=503", path="/v1/workflows/*/run_histories/*", first_n=2),
    ])
    # The client's own retries would hide the faults; switch them off to reach the poll loop.
    config = tmp_path / "cozegate.json"
    config.write_text(json.dumps({"COZE_API": {"max_retries": 0}}), encoding="utf-8")
    result = cli.invoke(
        "run", catalog.SLOW_JOB, "-p", "seconds=0.2", "--async",
        "--poll-initial", "0.05", "--poll-max", "0.05", "--max-polls", "50",
        "--config", str(config), "--base-url", server.url, "--token", "pat_sandbox",
        connect=False,
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("failed, will retry") == 2
    assert "5000" in result.stderr
    meta = cli.saved(f"async_{FIXED_STAMP}.json")["meta"]
    assert meta["poll_errors"] == 2 and meta["status"] == "Success"
    assert "(2 failed)" in result.stdout


def test_a_fatal_poll_error_stops_at_once(
    cli: Cli, tmp_path: Path, emulator_server_factory: Callable[..., EmulatorServer]
) -> None:
    # An HTML 404 from a proxy is neither transient nor a run status: stop and report it.
    server = emulator_server_factory(faults=[
        FaultRule(fault="http=404:html", path="/v1/workflows/*/run_histories/*"),
    ])
    result = cli.invoke(
        "run", catalog.SLOW_JOB, "-p", "seconds=0", "--async", "--poll-initial", "0.01",
        "--base-url", server.url, "--token", "pat_sandbox", connect=False,
    )
    assert result.exit_code == 3
    saved = cli.saved(f"async_{FIXED_STAMP}.json")
    assert saved["response"]["submit"]["code"] == 0
    assert saved["response"]["run_history"]["code"] == 404
    assert saved["error"]["code"] == 404
    assert saved["meta"]["status"] == "Error"
