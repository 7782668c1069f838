"""Bring the database to the newest migration at start, without Alembic in the server.

A gateway keeps whatever it imports for its lifetime, and Alembic + Mako are ~10 MiB (a
tenth of an idle gateway) used only to migrate. So a start first compares the database's
``alembic_version`` with the head revision read from ``versions/`` (the ``revision`` and
``down_revision`` lines, no import); only when they differ does it migrate, in a child
process (``python -m cozegate.migrations``), which takes Alembic with it when it exits.
An in-memory SQLite database cannot be reached from another process: it is migrated here.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from cozegate.errors import ConfigError

VERSIONS = Path(__file__).resolve().parent / "versions"
URL_ENV = "COZEGATE_MIGRATE_URL"  # the child's database URL (not on its command line)
_REVISION = re.compile(r"""^revision\b[^=]*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


def head_revisions(versions: Path = VERSIONS) -> set[str]:
    """The revisions no other revision builds on."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return revisions - parents


async def database_revisions(engine: AsyncEngine) -> set[str]:
    """What ``alembic_version`` says; empty when the table is missing."""
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return {row[0] for row in rows}
    except DBAPIError:
        return set()


async def ensure_migrated(engine: AsyncEngine, url: str | URL) -> None:
    """Migrate to head unless already there (see the module docstring).

    ``url``: the URL ``engine`` was made from, as configured (the engine's own may have lost
    options, e.g. Postgres' ``?schema=``, which the child needs to migrate the same tables).
    """
    if await database_revisions(engine) == head_revisions():
        return
    if _in_memory(engine.url):
        from cozegate.migrations.runner import upgrade_database  # cannot be done elsewhere

        await upgrade_database(engine)
        return
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cozegate.migrations", env={**os.environ, URL_ENV: url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await child.communicate()
    if child.returncode != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-5:]
        raise ConfigError("migrating the database failed: " + " | ".join(tail))


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
