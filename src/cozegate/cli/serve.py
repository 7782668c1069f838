"""``cozegate serve`` (the gateway) and ``cozegate db upgrade`` (migrations by hand)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from cozegate import migrations  # Alembic loads on first use, not in `serve`
from cozegate.config import load_settings
from cozegate.db.engine import engine_from_url
from cozegate.errors import ConfigError

# Modules that dependencies import only for features a gateway never uses: httpx's own
# command line (``httpx._main``: Rich and Pygments, ~4 MiB), FastAPI's check for pydantic.v1
# models (which it refuses anyway, ~1.4 MiB) and uvicorn's --reload watcher (~0.8 MiB).
# ``serve`` marks them absent before it imports the gateway; each importer then falls back
# as if the package were not installed. A gateway idles at ~90 MiB; this is 6 of it.
UNUSED_BY_THE_GATEWAY = ("httpx._main", "pydantic.v1", "watchfiles")

ConfigFileOption = Annotated[
    Path | None,
    typer.Option("--config", metavar="FILE", help="JSON config file (default: ./config.json).",
                 show_default=False),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", metavar="URL", show_default=False,
                 help="SQLAlchemy URL (default: env COZEGATE_DATABASE_URL, "
                      "sqlite+aiosqlite:///./cozegate.db)."),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [127.0.0.1].",
                                             show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="Port [3000].", show_default=False)] = None,
    config: ConfigFileOption = None,
    database_url: DatabaseOption = None,
    redis_url: Annotated[str | None, typer.Option(
        "--redis-url", metavar="URL", show_default=False,
        help="Redis for shared rate limits and caches (default: env COZEGATE_REDIS_URL)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request line.")] = False,
) -> None:
    """Run the gateway: OpenAI- and Coze-compatible APIs, tasks, admin API.

    On an empty database it creates the admin account (its key is printed once) and, with
    no Coze account configured, a 'sandbox' channel on the built-in emulator.
    """
    try:
        settings = load_settings(config_file=config, host=host, port=port,
                                 database_url=database_url, redis_url=redis_url)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for name in UNUSED_BY_THE_GATEWAY:
        sys.modules.setdefault(name, None)
    # Imported only now (and `cozegate --help` stays quick): see UNUSED_BY_THE_GATEWAY.
    from cozegate.app import create_app
    from cozegate.kit.serving import serve_forever

    typer.echo(f"cozegate: serving on http://{settings.host}:{settings.port} "
               f"(API docs at /docs)", err=True)
    # ws="none": the gateway has no WebSocket route, so uvicorn need not load `websockets`.
    serve_forever(create_app(settings), settings.host, settings.port, log_level=log_level,
                  access_log=access_log, ws="none")


def db_upgrade(config: ConfigFileOption = None, database_url: DatabaseOption = None) -> None:
    """Apply the database migrations up to the newest (also done by `serve` at start)."""
    try:
        settings = load_settings(config_file=config, database_url=database_url)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    revision = asyncio.run(_upgrade(settings.database_url))
    typer.echo(f"database at revision {revision}")


async def _upgrade(url: str) -> str | None:
    engine = engine_from_url(url)
    try:
        await migrations.upgrade_database(engine)
        return await migrations.current_revision(engine)
    finally:
        await engine.dispose()
