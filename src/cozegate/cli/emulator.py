"""``cozegate emulator``: run the Coze emulator on a port (see docs/emulator.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cozegate.emulator.config import EmulatorConfig, parse_oauth_app_flag
from cozegate.emulator.runner import serve_forever
from cozegate.emulator.sandbox import SANDBOX_OAUTH_APP_ID, SANDBOX_OAUTH_KEY_ID, SANDBOX_TOKEN
from cozegate.errors import ConfigError


def emulator(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8090,
    config: Annotated[Path | None, typer.Option(
        "--config", help="emulator JSON config file (tokens, oauth_apps, faults, timings)")] = None,
    token: Annotated[list[str] | None, typer.Option(
        "--token", help="accept this PAT (repeatable)")] = None,
    oauth_app: Annotated[list[str] | None, typer.Option(
        "--oauth-app",
        help="trust a JWT app: APP_ID:KEY_ID:PUBLIC_KEY_PEM_FILE (repeatable)")] = None,
    no_sandbox: Annotated[bool, typer.Option(
        "--no-sandbox", help="refuse the public sandbox PAT and OAuth app")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve a Coze-compatible emulator with the sample workflow catalog."""
    try:
        settings = EmulatorConfig.load(config) if config else EmulatorConfig()
        extra_apps = [parse_oauth_app_flag(value) for value in oauth_app or []]
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    settings.tokens = [*settings.tokens, *(token or [])]
    settings.oauth_apps = [*settings.oauth_apps, *extra_apps]
    if no_sandbox:
        settings.sandbox = False
    typer.echo(f"Coze emulator on http://{host}:{port}")
    if settings.sandbox:
        typer.echo(f"  sandbox PAT: {SANDBOX_TOKEN}   sandbox OAuth app: {SANDBOX_OAUTH_APP_ID} "
                   f"(key id {SANDBOX_OAUTH_KEY_ID}) — public test credentials, not secrets")
    serve_forever(settings, host, port, log_level)


def register(app: typer.Typer) -> None:
    """Add the ``emulator`` command to the ``cozegate`` Typer app."""
    app.command("emulator")(emulator)
