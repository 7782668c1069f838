"""The installed ``cozegate`` script: command list, and Ctrl-C during polling (real signals)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cozegate.cli.main import app
from tests.fixtures_emulator import SANDBOX_TOKEN, catalog

COZEGATE = str(Path(sys.executable).parent / "cozegate")


def test_help_lists_every_command() -> None:
    # In-process: the Ctrl-C test below already proves the installed script starts.
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "stream", "chat", "workspaces", "workflows", "emulator"):
        assert f" {command} " in result.stdout


def test_ctrl_c_while_polling_saves_the_file_and_exits_130(
    emulator_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "COZE_API_BASE": emulator_url, "COZE_API_TOKEN": SANDBOX_TOKEN}
    process = subprocess.Popen(
        [COZEGATE, "run", catalog.SLOW_JOB, "-p", "seconds=30", "--async",
         "--poll-initial", "0.05", "--poll-max", "0.05"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell may start background children with SIGINT ignored; undo that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("poll 2:"):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "may still be running" in stderr
    [saved_file] = tmp_path.glob("async_*.json")
    saved = json.loads(saved_file.read_text(encoding="utf-8"))
    assert saved["meta"]["status"] == "Aborted"
    assert saved["meta"]["polls"] >= 2
    assert saved["response"]["submit"]["execute_id"] == saved["meta"]["execute_id"]
