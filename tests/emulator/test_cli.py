"""``cozegate emulator``: flags and config file become an EmulatorConfig (server stubbed)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from cozepy import Coze, TokenAuth
from typer.testing import CliRunner

from cozegate.cli import emulator as cli_emulator
from cozegate.emulator import EmulatorConfig, catalog
from cozegate.errors import ConfigError


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[EmulatorConfig, str, int]]:
    calls: list[tuple[EmulatorConfig, str, int]] = []

    def fake_serve(config: EmulatorConfig, host: str, port: int, log_level: str) -> None:
        calls.append((config, host, port))

    monkeypatch.setattr(cli_emulator, "serve_forever", fake_serve)
    return calls


def make_app() -> typer.Typer:
    app = typer.Typer()
    cli_emulator.register(app)

    @app.command()
    def other() -> None:  # a second command keeps Typer in multi-command mode
        """Placeholder."""

    return app


def test_flags_and_config_file(tmp_path: Path,
                               served: list[tuple[EmulatorConfig, str, int]]) -> None:
    pem = tmp_path / "k.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n")
    config = tmp_path / "emulator.json"
    config.write_text(json.dumps({"tokens": ["pat_file"], "ping_interval": 2,
                                  "faults": [{"fault": "latency=5", "path": "/v1/*"}]}))
    result = CliRunner().invoke(make_app(), [
        "emulator", "--host", "0.0.0.0", "--port", "9999", "--config", str(config),
        "--token", "pat_a", "--token", "pat_b", "--oauth-app", f"77:kid:{pem}"])
    assert result.exit_code == 0, result.output
    settings, host, port = served[0]
    assert (host, port) == ("0.0.0.0", 9999)
    assert settings.tokens == ["pat_file", "pat_a", "pat_b"]
    assert settings.oauth_apps[0].app_id == "77" and settings.ping_interval == 2
    assert settings.faults[0].path == "/v1/*" and settings.sandbox
    assert "pat_sandbox" in result.output


def test_bad_oauth_flag_exits_2(served: list[tuple[EmulatorConfig, str, int]]) -> None:
    result = CliRunner().invoke(make_app(), ["emulator", "--oauth-app", "nope"])
    assert result.exit_code == 2 and not served


def test_no_sandbox(served: list[tuple[EmulatorConfig, str, int]]) -> None:
    result = CliRunner().invoke(make_app(), ["emulator", "--no-sandbox"])
    assert result.exit_code == 0 and served[0][0].sandbox is False


def test_standalone_process_serves_and_drops(tmp_path: Path) -> None:
    """The real ``cozegate emulator`` process: PAT auth, a cozepy stream, a socket-level drop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", "from cozegate.cli.main import app; app()", "emulator",
         "--port", str(port), "--token", "pat_cli", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/v1/workspaces", timeout=0.5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        coze = Coze(auth=TokenAuth("pat_cli"), base_url=url)
        events = list(coze.workflows.runs.stream(workflow_id=catalog.STORY,
                                                 parameters={"topic": "cli", "chunks": 2}))
        assert len(events) == 3
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{url}/v1/workspaces", headers={
                "Authorization": "Bearer pat_cli", "X-Emulator-Fault": "drop"})
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert b"Traceback" not in output


@pytest.mark.parametrize("content", [
    {"tokenz": ["typo"]},
    {"faults": [{"fault": "explode"}]},
    {"oauth_apps": [{"app_id": "1", "key_id": "k"}]},
    ["not", "an", "object"],
])
def test_bad_config_files_fail_at_load(tmp_path: Path, content: object) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError):
        EmulatorConfig.load(path)
