"""``cozegate run`` against the emulator over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import FIXED_STAMP, Cli
from tests.fixtures_emulator import SANDBOX_TOKEN, catalog

SYNC_FILE = f"sync_{FIXED_STAMP}.json"
ASYNC_FILE = f"async_{FIXED_STAMP}.json"
FAST_POLL = ("--poll-initial", "0.05", "--poll-max", "0.1")


def test_sync_success_prints_output_and_saves_exact_file(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO, "-p", "input=hello", "-p", "n=3")
    assert result.exit_code == 0, result.output
    assert "Success" in result.stdout
    assert '"input": "hello"' in result.stdout  # data decoded and pretty-printed
    assert "execute_id:" in result.stdout and "debug_url:" in result.stdout
    assert cli.saved_files() == [SYNC_FILE]
    saved = cli.saved(SYNC_FILE)
    assert set(saved) == {"request", "response", "error", "meta"}
    assert saved["request"] == {
        "workflow_id": catalog.ECHO,
        "parameters": {"input": "hello", "n": 3},
        "is_async": False,
    }
    response = saved["response"]
    assert response["code"] == 0
    assert json.loads(response["data"]) == {"input": "hello", "n": 3}
    assert response["usage"]["token_count"] > 0
    assert saved["error"] is None
    meta = saved["meta"]
    assert meta["mode"] == "sync" and meta["status"] == "Success" and meta["exit_code"] == 0
    assert meta["submitted_at"] == "2026-11-23T02:30:05+08:00"
    assert meta["execute_id"] == response["execute_id"]
    assert meta["base_url"] == cli.base_url
    assert SANDBOX_TOKEN not in (cli.workdir / SYNC_FILE).read_text(encoding="utf-8")


def test_never_overwrites_and_output_dir(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "results"
    for _ in range(2):
        result = cli.invoke("run", catalog.ECHO, "-p", "input=x", "--output-dir", str(out))
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [SYNC_FILE, f"sync_{FIXED_STAMP}_1.json"]
    assert cli.saved_files() == []  # nothing in the working directory


def test_no_save_and_json_output(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO, "-p", "input=hi", "--no-save", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["status"] == "Success"
    assert summary["output"] == {"input": "hi"}
    assert summary["raw_output"] == '{"input":"hi"}' or json.loads(summary["raw_output"]) == {
        "input": "hi"
    }
    assert summary["file"] is None
    assert cli.saved_files() == []


def test_parameter_merge_order_reaches_the_request(cli: Cli, tmp_path: Path) -> None:
    params_file = tmp_path / "in.json"
    params_file.write_text('{"input": "file", "a": 1, "b": 1}', encoding="utf-8")
    result = cli.invoke(
        "run", catalog.ECHO, "--parameters-file", str(params_file),
        "--parameters", '{"a": 2, "b": 2}', "-p", "b=3", "-p", 'tags=["x"]',
        "--ext", '{"user_id": "u1"}', "--connector-id", "1024",
    )
    assert result.exit_code == 0, result.output
    request = cli.saved(SYNC_FILE)["request"]
    assert request == {
        "workflow_id": catalog.ECHO,
        "parameters": {"input": "file", "a": 2, "b": 3, "tags": ["x"]},
        "ext": {"user_id": "u1"},
        "connector_id": "1024",
        "is_async": False,
    }


def test_async_polls_until_success(cli: Cli) -> None:
    result = cli.invoke("run", catalog.SLOW_JOB, "-p", "seconds=0.3", "--async", *FAST_POLL)
    assert result.exit_code == 0, result.output
    assert "slept 0.3 seconds" in result.stdout
    assert "poll 1: Running" in result.stderr
    saved = cli.saved(ASYNC_FILE)
    assert saved["request"] == {
        "workflow_id": catalog.SLOW_JOB, "parameters": {"seconds": 0.3}, "is_async": True,
    }
    submit, history = saved["response"]["submit"], saved["response"]["run_history"]
    assert submit["code"] == 0 and submit["execute_id"] == saved["meta"]["execute_id"]
    record = history["data"][0]
    assert record["execute_status"] == "Success"
    assert record["execute_id"] == submit["execute_id"]
    assert saved["meta"]["polls"] >= 2 and saved["meta"]["status"] == "Success"
    assert saved["error"] is None


def test_async_gives_up_when_the_poll_budget_runs_out(cli: Cli) -> None:
    result = cli.invoke("run", catalog.SLOW_JOB, "-p", "seconds=30", "--async",
                        "--poll-initial", "0.01", "--poll-max", "0.01", "--max-polls", "3")
    assert result.exit_code == 4, result.output
    assert "gave up after 3 polls" in result.stderr
    saved = cli.saved(ASYNC_FILE)
    assert saved["error"]["type"] == "poll_budget_exhausted"
    assert saved["response"]["run_history"]["data"][0]["execute_status"] == "Running"
    assert saved["meta"]["polls"] == 3


def test_sync_workflow_failure_exits_1_and_saves_the_error(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ALWAYS_FAIL)
    assert result.exit_code == 1
    assert "720701002" in result.stderr
    saved = cli.saved(SYNC_FILE)
    assert saved["error"]["type"] == "workflow_failed"
    assert saved["error"]["code"] == 720701002
    assert saved["error"]["logid"]
    assert saved["response"]["code"] == 720701002
    assert saved["meta"]["status"] == "Fail" and saved["meta"]["exit_code"] == 1


def test_async_workflow_failure(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ALWAYS_FAIL, "--async", *FAST_POLL)
    assert result.exit_code == 1
    assert "workflow failed" in result.stderr
    saved = cli.saved(ASYNC_FILE)
    assert saved["error"]["type"] == "workflow_failed"
    assert str(saved["error"]["code"]) == "720701002"
    assert saved["response"]["run_history"]["data"][0]["execute_status"] == "Fail"


def test_unpublished_workflow_4200(cli: Cli) -> None:
    result = cli.invoke("run", catalog.DRAFT_ONLY, "-p", "input=x")
    assert result.exit_code == 3
    assert "4200" in result.stderr
    saved = cli.saved(SYNC_FILE)
    assert saved["error"]["code"] == 4200 and saved["error"]["type"] == "api_error"
    assert saved["response"]["code"] == 4200


def test_missing_required_input_4000(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO)
    assert result.exit_code == 3
    assert "4000" in result.stderr and "input" in result.stderr
    assert cli.saved(SYNC_FILE)["error"]["code"] == 4000


def test_bad_token_4100_is_never_printed(cli: Cli) -> None:
    secret = "pat_not_a_real_token_123456"
    result = cli.invoke("run", catalog.ECHO, "-p", "input=x", "--base-url", cli.base_url,
                        "--token", secret, connect=False)
    assert result.exit_code == 3
    assert "4100" in result.stderr
    saved_text = (cli.workdir / SYNC_FILE).read_text(encoding="utf-8")
    assert json.loads(saved_text)["error"]["type"] == "auth_error"
    assert secret not in result.output and secret not in saved_text


def test_bad_p_syntax_is_a_usage_error(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO, "-p", "novalue")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr
    assert cli.saved_files() == []


def test_bad_parameters_json_is_a_usage_error(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO, "--parameters", "[1]")
    assert result.exit_code == 2
    assert "JSON object" in result.stderr


def test_missing_token_is_a_usage_error(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO, "-p", "input=x", connect=False)
    assert result.exit_code == 2
    assert "COZE_API_TOKEN" in result.stderr


def test_flag_beats_env_beats_config_file(cli: Cli, tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"COZE_API": {"api_token": "wrong", "base_url": dead}}),
                      encoding="utf-8")
    env = {"COZE_API_BASE": cli.base_url, "COZE_API_TOKEN": SANDBOX_TOKEN}
    # env beats the file (config.json in the working directory is read by default)
    ok = cli.invoke("run", catalog.ECHO, "-p", "input=x", "--no-save", connect=False, env=env)
    assert ok.exit_code == 0, ok.output
    # the flag beats env: a wrong --token fails although env holds the right one
    bad = cli.invoke("run", catalog.ECHO, "-p", "input=x", "--no-save", "--token", "nope",
                     connect=False, env=env)
    assert bad.exit_code == 3 and "4100" in bad.stderr
    # and a right --base-url wins over a dead one in env
    env_dead = {"COZE_API_BASE": dead, "COZE_API_TOKEN": SANDBOX_TOKEN}
    flag = cli.invoke("run", catalog.ECHO, "-p", "input=x", "--no-save",
                      "--base-url", cli.base_url, connect=False, env=env_dead)
    assert flag.exit_code == 0, flag.output


def test_unreachable_upstream_exits_3(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ECHO, "-p", "input=x", "--base-url", "http://127.0.0.1:9",
                        "--token", SANDBOX_TOKEN, connect=False)
    assert result.exit_code == 3
    assert "cannot reach Coze" in result.stderr
    assert cli.saved(SYNC_FILE)["error"]["type"] == "transport_error"


def test_sync_run_that_asks_a_question_exits_1_with_the_question(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ASK_CITY)
    assert result.exit_code == 1
    assert "Which city?" in result.stderr and "cozegate stream" in result.stderr
    saved = cli.saved(SYNC_FILE)
    assert saved["error"]["type"] == "interrupted"
    assert saved["error"]["event_id"]
    assert saved["meta"]["status"] == "Interrupted"


def test_async_run_waiting_for_input_stops_polling(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ASK_CITY, "--async", *FAST_POLL, "--max-polls", "50")
    assert result.exit_code == 1
    assert "Which city?" in result.stderr
    saved = cli.saved(ASYNC_FILE)
    assert saved["meta"]["status"] == "Interrupted"
    assert saved["meta"]["polls"] < 50


def test_json_output_on_failure(cli: Cli) -> None:
    result = cli.invoke("run", catalog.ALWAYS_FAIL, "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["status"] == "Fail"
    assert summary["error"]["code"] == 720701002
    assert summary["file"].endswith(SYNC_FILE)


def test_unwritable_output_dir_still_shows_the_result(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    result = cli.invoke("run", catalog.ECHO, "-p", "input=kept", "--output-dir", str(blocker))
    assert result.exit_code == 2
    assert '"input": "kept"' in result.stdout
    assert "cannot create output dir" in result.stderr
