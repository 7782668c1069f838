"""The small service methods the admin API added: paged keys, paged and counted ledger."""

from __future__ import annotations

import pytest

from cozegate.billing.service import BillingService
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService
from cozegate.users.service import UserService

pytestmark = pytest.mark.db


async def test_page_keys_with_total_and_user_filter(db_session, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    service = KeyService()
    for index in range(3):
        await service.create_key(db_session, alice.id, KeyCreate(name=f"a{index}"))
    await service.create_key(db_session, bob.id, KeyCreate(name="b0"))
    await db_session.commit()
    items, total = await service.page_keys(db_session, offset=1, limit=2)
    assert total == 4 and [k.name for k in items] == ["a1", "a2"]
    items, total = await service.page_keys(db_session, alice.id, offset=2, limit=5)
    assert total == 3 and [k.name for k in items] == ["a2"]


async def test_ledger_newest_first_and_count(db_session, make_user) -> None:
    alice = await make_user("alice", balance=5)
    billing = BillingService()
    for amount in (1, 2, 3):
        await billing.top_up(db_session, alice.id, amount, f"top-up {amount}")
    await db_session.commit()
    assert await billing.ledger_count(db_session, user_id=alice.id) == 4
    assert await billing.ledger_count(db_session, user_id=alice.id + 99) == 0
    newest = await billing.ledger(db_session, user_id=alice.id, limit=2, newest_first=True)
    assert [e.amount for e in newest] == [3, 2]
    oldest = await billing.ledger(db_session, user_id=alice.id, limit=2)
    assert [e.amount for e in oldest] == [5, 1]


async def test_count_users(db_session, make_user) -> None:
    users = UserService()
    assert await users.count_users(db_session) == 0
    await make_user("alice")
    await make_user("bob")
    assert await users.count_users(db_session) == 2
