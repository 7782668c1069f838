"""Concurrent requests racing for the last of a balance: never negative, nothing lost.

Each attempt runs in its own session (its own pooled connection and transaction), the way
concurrent gateway requests do, on SQLite and on Postgres alike.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from cozegate.billing.errors import InsufficientBalance
from cozegate.billing.service import BillingService
from cozegate.keys.errors import KeyQuotaExceeded
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService
from cozegate.models import LedgerEntry, Reservation

pytestmark = pytest.mark.db

billing = BillingService()
ATTEMPTS = 50
PRICE = 1_000


async def _attempt(db_sessionmaker, user_id: int, index: int, key_id: int | None = None) -> bool:
    async with db_sessionmaker() as session:
        try:
            await billing.reserve(
                session,
                request_id=f"race-{index}",
                user_id=user_id,
                amount=PRICE,
                api_key_id=key_id,
            )
        except (InsufficientBalance, KeyQuotaExceeded):
            await session.rollback()
            return False
        await session.commit()
        return True


async def test_fifty_reservations_race_for_seven(db_sessionmaker, make_user) -> None:
    user = await make_user("racer", balance=7 * PRICE)
    results = await asyncio.gather(
        *(_attempt(db_sessionmaker, user.id, i) for i in range(ATTEMPTS))
    )
    assert sum(results) == 7
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 0
        ledger_sum = await session.scalar(
            select(func.sum(LedgerEntry.amount)).where(LedgerEntry.user_id == user.id)
        )
        assert ledger_sum == 0  # 7000 top-up, 7 × -1000 reserves
        held = await session.scalar(select(func.count()).select_from(Reservation))
        assert held == 7


async def test_key_quota_race(db_sessionmaker, make_user) -> None:
    user = await make_user("quota-racer", balance=100 * PRICE)
    async with db_sessionmaker() as session:
        key = await KeyService().create_key(session, user.id, KeyCreate(name="k", quota=5 * PRICE))
        await session.commit()
    results = await asyncio.gather(
        *(_attempt(db_sessionmaker, user.id, i, key.id) for i in range(ATTEMPTS))
    )
    assert sum(results) == 5
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 95 * PRICE


async def test_concurrent_settles_of_one_request_charge_once(db_sessionmaker, make_user) -> None:
    user = await make_user("settler", balance=10 * PRICE)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="once", user_id=user.id, amount=5 * PRICE)
        await session.commit()

    async def settle() -> bool:
        async with db_sessionmaker() as session:
            result = await billing.settle(session, "once", 2 * PRICE)
            await session.commit()
            return not result.already_finished

    outcomes = await asyncio.gather(*(settle() for _ in range(10)))
    assert sum(outcomes) == 1
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 8 * PRICE
        assert len(await billing.ledger(session, request_id="once")) == 2
