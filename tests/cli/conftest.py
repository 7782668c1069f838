"""Helpers for CLI tests: a ``cozegate`` app with a pinned clock, run in a temp directory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cozegate.cli.common import CliEnv
from cozegate.cli.main import create_app
from tests.fixtures_emulator import SANDBOX_TOKEN

# 2026-11-22 18:30:05 UTC = 2026-11-23 02:30:05 in Beijing (the date differs on purpose).
FIXED_NOW = datetime(2026, 11, 22, 18, 30, 5, tzinfo=UTC)
FIXED_STAMP = "20261123023005"

# Anything that could leak settings into a test from the machine it runs on.
_SETTINGS_ENV = ("COZE_API_TOKEN", "COZE_API_BASE", "COZEGATE_CONFIG",
                 "COZEGATE_COZE__BASE_URL", "COZEGATE_COZE__API_TOKEN")


@dataclass
class Cli:
    """Invokes ``cozegate`` in-process; ``connect`` adds --base-url/--token for the emulator."""

    base_url: str
    workdir: Path

    def invoke(
        self,
        *args: str,
        connect: bool = True,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        argv = list(args)
        if connect:
            argv += ["--base-url", self.base_url, "--token", SANDBOX_TOKEN]
        app = create_app(CliEnv(clock=lambda: FIXED_NOW))
        return CliRunner(env=dict(env or {})).invoke(app, argv, input=input)

    def saved(self, name: str) -> dict[str, Any]:
        return json.loads((self.workdir / name).read_text(encoding="utf-8"))

    def saved_files(self) -> list[str]:
        return sorted(p.name for p in self.workdir.glob("*.json"))


@pytest.fixture
def cli(emulator_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # result files land here; no stray config.json is read
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    return Cli(base_url=emulator_url, workdir=tmp_path)
