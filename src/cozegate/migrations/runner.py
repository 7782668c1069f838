"""Apply migrations from code (at start, from ``cozegate db upgrade``, in tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from cozegate.db.engine import engine_from_url

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at this package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_database(target: str | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database at ``target`` (a URL or an engine) up to ``revision``.

    Works on SQLite and Postgres; safe to call on every start (a no-op when current).
    """
    await _run(target, lambda config: command.upgrade(config, revision))


async def downgrade_database(target: str | AsyncEngine, revision: str = "base") -> None:
    await _run(target, lambda config: command.downgrade(config, revision))


async def current_revision(target: str | AsyncEngine) -> str | None:
    engine, owned = _engine(target)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        if owned:
            await engine.dispose()


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _run(target: str | AsyncEngine, action: Callable[[Config], None]) -> None:
    engine, owned = _engine(target)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_with_connection, action)
    finally:
        if owned:
            await engine.dispose()


def _with_connection(connection: Connection, action: Callable[[Config], None]) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    action(config)


def _engine(target: str | AsyncEngine) -> tuple[AsyncEngine, bool]:
    if isinstance(target, AsyncEngine):
        return target, False
    return engine_from_url(target), True
