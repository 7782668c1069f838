"""Migrations on an empty database, engine pragmas and URL handling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.billing.repository import BalanceRepository
from cozegate.config import Settings
from cozegate.db import create_engine, engine_from_url, is_sqlite, normalize_url
from cozegate.errors import ConfigError
from cozegate.migrations import current_revision, downgrade_database, upgrade_database
from cozegate.migrations.runner import alembic_config
from cozegate.models import Base

pytestmark = pytest.mark.db

TABLES = {
    "groups",
    "users",
    "api_keys",
    "prices",
    "channels",
    "channel_events",
    "reservations",
    "ledger_entries",
    "usage_logs",
    "pending_interrupts",
}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_one_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1


def _diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrations_apply_on_an_empty_database(empty_db_url: str) -> None:
    engine = engine_from_url(empty_db_url)
    try:
        assert await current_revision(engine) is None
        await upgrade_database(engine)
        assert await current_revision(engine) == HEAD
        await upgrade_database(engine)  # idempotent: a no-op at head
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert names >= TABLES
            # The migration and the models describe the same schema.
            assert await connection.run_sync(_diff) == []
        await downgrade_database(engine)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not names & TABLES
        await upgrade_database(engine)
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()


async def test_upgrade_database_accepts_a_url(empty_db_url: str) -> None:
    await upgrade_database(empty_db_url)
    assert await current_revision(empty_db_url) == HEAD


async def test_sqlite_pragmas(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/p.db", db_busy_timeout_ms=1234)
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
        assert pragmas == {"journal_mode": "wal", "busy_timeout": 1234, "foreign_keys": 1}
    finally:
        await engine.dispose()


def test_url_normalisation() -> None:
    assert normalize_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    with pytest.raises(ConfigError):
        normalize_url("mysql://u@h/db")


async def test_request_path_tables_carry_no_index_without_a_query(empty_db_url: str) -> None:
    """Each index on the tables a billed call writes costs a B-tree write (migration 0006)."""
    await upgrade_database(empty_db_url)
    engine = engine_from_url(empty_db_url)
    try:
        async with engine.connect() as connection:
            def indexes(sync, table: str) -> dict[str, list[str]]:
                return {ix["name"]: ix["column_names"] for ix in inspect(sync).get_indexes(table)}

            reservations = await connection.run_sync(indexes, "reservations")
            ledger = await connection.run_sync(indexes, "ledger_entries")
        assert reservations["ix_reservations_status_created"] == ["status", "created_at"]
        assert "ix_reservations_status" not in reservations
        assert "ix_reservations_created_at" not in reservations
        assert "ix_ledger_entries_created_at" not in ledger
    finally:
        await engine.dispose()


async def test_the_reapers_query_is_served_by_the_open_reservations_index(
        empty_db_url: str) -> None:
    if not is_sqlite(empty_db_url):
        pytest.skip("the plan is checked on SQLite (Postgres plans an empty table as a scan)")
    await upgrade_database(empty_db_url)
    engine = engine_from_url(empty_db_url)
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM reservations" in statement:
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with AsyncSession(engine) as session:
            await BalanceRepository(session).list_open_reservations(datetime.now(UTC), limit=5)
            [(statement, parameters)] = seen
            raw = await session.connection()
            plan = (await raw.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                              parameters)).all()
        assert any("ix_reservations_status_created" in str(row) for row in plan), plan
    finally:
        await engine.dispose()
