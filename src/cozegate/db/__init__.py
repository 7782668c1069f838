"""Engine and session factory."""

from cozegate.db.engine import create_engine, engine_from_url, is_sqlite, normalize_url
from cozegate.db.session import SessionMaker, create_sessionmaker

__all__ = [
    "SessionMaker",
    "create_engine",
    "create_sessionmaker",
    "engine_from_url",
    "is_sqlite",
    "normalize_url",
]
