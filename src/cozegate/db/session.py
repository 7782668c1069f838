"""The session factory. Services take an ``AsyncSession`` and never commit; callers do."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

SessionMaker = async_sessionmaker[AsyncSession]


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    # expire_on_commit=False: objects stay readable after the short reserve/settle
    # transactions commit, without a lazy reload (which would need the session again).
    return async_sessionmaker(engine, expire_on_commit=False)
