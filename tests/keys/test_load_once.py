"""KeyService.load_once: requests missing the cache for one key together share one query."""

from __future__ import annotations

import asyncio

import pytest

from cozegate.keys.errors import InvalidApiKey
from cozegate.keys.repository import KeyRepository
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService

pytestmark = pytest.mark.db


async def test_concurrent_misses_share_one_query(db_sessionmaker, make_user,
                                                 monkeypatch) -> None:
    user = await make_user("herd")
    keys = KeyService()
    async with db_sessionmaker() as session:
        raw = (await keys.create_key(session, user.id, KeyCreate(name="k"))).key
        await session.commit()
    queries = []
    original = KeyRepository.get_with_owner

    async def counted(self, key_hash):  # type: ignore[no-untyped-def]
        queries.append(key_hash)
        await asyncio.sleep(0.01)  # the other requests arrive while it runs
        return await original(self, key_hash)

    monkeypatch.setattr(KeyRepository, "get_with_owner", counted)
    records = await asyncio.gather(*(keys.load_once(db_sessionmaker, raw) for _ in range(20)))
    assert len(queries) == 1 and {r.user_id for r in records} == {user.id}
    keys.cache.clear()
    await keys.load_once(db_sessionmaker, raw)  # the next miss queries again
    assert len(queries) == 2
    results = await asyncio.gather(
        *(keys.load_once(db_sessionmaker, "sk-" + "x" * 48) for _ in range(5)),
        return_exceptions=True)
    assert all(isinstance(r, InvalidApiKey) for r in results) and len(queries) == 3
