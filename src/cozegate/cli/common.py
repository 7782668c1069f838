"""What every cozegate command shares: options, settings, exit codes, consoles, error exits.

Commands are built by ``register(app, env)`` functions; ``CliEnv`` carries the few things a
test wants to pin (the clock used to name result files), so nothing here is a global.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from cozegate.cli.env import CliEnv as CliEnv  # re-exported: commands take it from here
from cozegate.config import CozeApiSettings, load_settings
from cozegate.errors import ConfigError


class ExitCode(IntEnum):
    """Process exit codes; documented in docs/cli.md, so never renumber."""

    OK = 0
    WORKFLOW_FAILED = 1  # the workflow ran and failed (Fail status, Error event, chat failed)
    USAGE = 2  # bad arguments, bad JSON, missing token/config (also Click's own usage errors)
    UPSTREAM = 3  # Coze refused the request (4000, 4100, 4200…) or could not be reached
    GAVE_UP = 4  # the poll budget ran out while the run was still going
    ABORTED = 130  # Ctrl-C


class CliFailure(Exception):
    """A failure a command reports on stderr and turns into an exit code."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


WorkflowIdArgument = Annotated[
    str, typer.Argument(metavar="WORKFLOW_ID", help="Id of the workflow or chat flow.")
]

# Options shared by every command that talks to Coze.
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="Coze API base URL (default: env COZE_API_BASE, config file, https://api.coze.cn).",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        help="Coze access token (default: env COZE_API_TOKEN, then the config file).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="JSON config file (default: env COZEGATE_CONFIG, then ./config.json if present).",
        show_default=False,
    ),
]
JsonOutputOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on stdout instead of tables.")
]


def resolve_coze_settings(
    base_url: str | None, token: str | None, config: Path | None
) -> CozeApiSettings:
    """Settings for the Coze client: flag > env > config file > default."""
    try:
        settings = load_settings(
            config_file=config, coze={"base_url": base_url, "api_token": token}
        )
    except ConfigError as exc:
        raise CliFailure(str(exc), ExitCode.USAGE) from exc
    coze = settings.coze
    if not coze.api_token and coze.oauth_jwt is None:
        raise CliFailure(
            "no Coze credentials: pass --token, set COZE_API_TOKEN, or put COZE_API.api_token "
            "in the config file",
            ExitCode.USAGE,
        )
    return coze


def stdout_console() -> Console:
    # Built per command call, so Click's test runner (which swaps sys.stdout) sees the output.
    # No emoji codes or highlighting: workflow text is printed as sent (":x:" stays ":x:").
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, emoji=False)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True, emoji=False)


def print_json_document(value: Any) -> None:
    """Machine output: plain JSON on stdout, untouched by Rich (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def fail(message: str, exit_code: ExitCode) -> NoReturn:
    """Print ``message`` on stderr and leave with ``exit_code``."""
    stderr_console().print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(int(exit_code))


def run_guarded(action: Callable[[], Any]) -> Any:
    """Call ``action``; turn CliFailure and Ctrl-C into a message and an exit code."""
    try:
        return action()
    except CliFailure as exc:
        fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.ABORTED)
