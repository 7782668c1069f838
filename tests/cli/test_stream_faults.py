"""A stream cut in the middle is an upstream error (exit 3), never a silent success."""

from __future__ import annotations

from collections.abc import Callable

from cozegate.emulator import EmulatorServer, FaultRule
from tests.cli.conftest import Cli
from tests.fixtures_emulator import SANDBOX_TOKEN, catalog


def test_stream_cut_mid_run(
    cli: Cli, emulator_server_factory: Callable[..., EmulatorServer]
) -> None:
    server = emulator_server_factory(
        faults=[FaultRule(fault="break=2", path="/v1/workflow/stream_run")]
    )
    result = cli.invoke("stream", catalog.STORY, "-p", "topic=fox", "-p", "chunks=5",
                        "--base-url", server.url, "--token", SANDBOX_TOKEN, connect=False)
    assert result.exit_code == 3, result.output
    assert "the stream from Coze broke" in result.stderr


def test_chat_cut_mid_turn(
    cli: Cli, emulator_server_factory: Callable[..., EmulatorServer]
) -> None:
    server = emulator_server_factory(
        faults=[FaultRule(fault="break=3", path="/v1/workflows/chat")]
    )
    result = cli.invoke("chat", catalog.CHAT_MEMORY, "-m", "hello",
                        "--base-url", server.url, "--token", SANDBOX_TOKEN, connect=False)
    assert result.exit_code == 3, result.output
    assert "the stream from Coze broke" in result.stderr
