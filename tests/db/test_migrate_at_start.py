"""migrations.current: a start migrates only when needed, in a child process, and a server
process never loads Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from cozegate.db import engine_from_url
from cozegate.errors import ConfigError
from cozegate.migrations import current as current_module
from cozegate.migrations.current import database_revisions, ensure_migrated, head_revisions
from cozegate.migrations.runner import alembic_config

pytestmark = pytest.mark.db


def test_head_is_read_like_alembic_reads_it() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert head_revisions() == set(script.get_heads())


def test_heads_of_a_branching_history(tmp_path: Path) -> None:
    scripts = {"a.py": 'revision = "a"\ndown_revision = None\n',
               "b.py": 'revision: str = "b"\ndown_revision: str | None = "a"\n',
               "c.py": "revision = 'c'\ndown_revision = 'a'\n",
               "m.py": 'revision = "m"\ndown_revision = ("b", "c")\n',
               "notes.py": "x = 1\n"}
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    assert head_revisions(tmp_path) == {"m"}


async def test_an_empty_database_is_migrated_in_a_child(empty_db_url: str) -> None:
    engine = engine_from_url(empty_db_url)
    try:
        assert await database_revisions(engine) == set()
        await ensure_migrated(engine, empty_db_url)
        assert await database_revisions(engine) == head_revisions()
    finally:
        await engine.dispose()


async def test_a_current_database_starts_no_child(db_url: str, monkeypatch) -> None:
    async def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("no migration was needed")

    monkeypatch.setattr(current_module.asyncio, "create_subprocess_exec", no_child)
    engine = engine_from_url(db_url)
    try:
        await ensure_migrated(engine, db_url)
    finally:
        await engine.dispose()


async def test_a_failing_migration_is_reported(tmp_path: Path, db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the unreachable database is a SQLite path")
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"
    engine = engine_from_url(url)
    try:
        with pytest.raises(ConfigError, match="migrating the database failed"):
            await ensure_migrated(engine, url)
    finally:
        await engine.dispose()


async def test_an_in_memory_database_is_migrated_here(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("SQLite only")
    engine = engine_from_url("sqlite+aiosqlite://")
    try:
        await ensure_migrated(engine, "sqlite+aiosqlite://")
        assert await database_revisions(engine) == head_revisions()
    finally:
        await engine.dispose()


def test_the_server_does_not_import_alembic() -> None:
    probe = ("import sys, cozegate.app, cozegate.cli.main, cozegate.runtime; "
             "print(sorted(m for m in ('alembic', 'mako') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
