"""Alembic migrations for cozegate's tables, and the functions that apply them.

Alembic (with Mako, ~10 MiB of a server's memory) is imported only when one of these
functions is first used; ``cozegate.migrations.current`` answers "is the database at the
newest revision?" without it, so a server whose database is current never loads it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["alembic_config", "current_revision", "downgrade_database", "upgrade_database"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cozegate.migrations import runner  # Alembic: on first use only (see above)

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
