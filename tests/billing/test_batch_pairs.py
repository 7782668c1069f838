"""A hold and its close booked in one transaction (an in-memory grant and its deferred
settlement ride together), and a granted hold the balance no longer covers.

Runs ``booking.execute`` on the test database directly, so each list of ops is one batch
exactly, on SQLite and Postgres alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

from cozegate.billing.booking import Close, Held, Hold, Op, execute
from cozegate.billing.errors import ReservationNotFound
from cozegate.billing.schemas import SettleResult
from cozegate.billing.service import BillingService
from cozegate.billing.tx import ConnectionTx
from cozegate.keys.errors import KeyQuotaExceeded
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService
from cozegate.models import ApiKey, Reservation, UsageLog
from cozegate.models.base import utcnow
from cozegate.models.reservation import REFUNDED, RESERVED, SETTLED

pytestmark = pytest.mark.db

billing = BillingService()


async def book(db_sessionmaker, ops: Sequence[Op]) -> list[Any]:
    async with db_sessionmaker() as session:
        results = await session.run_sync(
            lambda sync: execute(ConnectionTx(sync.connection()), ops, utcnow()))
        await session.commit()
    return results


async def reservation(db_sessionmaker, request_id: str) -> Reservation:
    async with db_sessionmaker() as session:
        row = await session.scalar(select(Reservation).where(
            Reservation.request_id == request_id))
    assert row is not None
    return row


async def test_holds_and_their_closes_in_one_batch(db_sessionmaker, make_user) -> None:
    user = await make_user("pairs", balance=10_000)
    async with db_sessionmaker() as session:
        key = await KeyService().create_key(session, user.id, KeyCreate(name="k", quota=8_000))
        await session.commit()
    results = await book(db_sessionmaker, [
        Close("p0", 1, SETTLED),  # before its hold: there is nothing to claim yet
        Hold("p0", user.id, 500),
        Hold("p1", user.id, 3_000, key.id),
        Close("p1", 1_000, SETTLED, "ok", usage={"user_id": user.id, "status": "success"}),
        Hold("p2", user.id, 2_000, key.id),
        Close("p2", 0, REFUNDED, "upstream 502"),
        Hold("p3", user.id, 1_000),
        Close("p3", 1_500, SETTLED, "beyond the hold"),
        Close("p1", 5, SETTLED),  # a second close of p1: already finished
    ])
    p0_early, p0, h1, c1, h2, c2, h3, c3, again = results
    assert isinstance(p0_early, ReservationNotFound) and isinstance(p0, Held)
    assert isinstance(h1, Held) and h1.key_amount == 3_000
    assert isinstance(c1, SettleResult) and (c1.charged, c1.refunded) == (1_000, 2_000)
    assert isinstance(h2, Held) and isinstance(c2, SettleResult) and c2.refunded == 2_000
    assert isinstance(h3, Held)
    assert isinstance(c3, SettleResult) and (c3.charged, c3.shortfall) == (1_500, 0)
    assert isinstance(again, SettleResult) and again.already_finished
    assert (again.cost, again.charged) == (1_000, 1_000)

    r1 = await reservation(db_sessionmaker, "p1")
    assert (r1.status, r1.amount, r1.key_amount, r1.cost, r1.charged, r1.shortfall,
            r1.reason) == (SETTLED, 3_000, 3_000, 1_000, 1_000, 0, "ok")
    assert r1.finished_at is not None
    r2 = await reservation(db_sessionmaker, "p2")
    assert (r2.status, r2.cost, r2.charged, r2.reason) == (REFUNDED, 0, 0, "upstream 502")
    r3 = await reservation(db_sessionmaker, "p3")
    assert (r3.status, r3.amount, r3.charged) == (SETTLED, 1_000, 1_500)
    assert (await reservation(db_sessionmaker, "p0")).status == RESERVED
    async with db_sessionmaker() as session:
        assert await billing.balance(session, user.id) == 10_000 - 500 - 1_000 - 1_500
        stored = await session.get(ApiKey, key.id)
        assert stored is not None and (stored.quota_remaining, stored.used) == (7_000, 1_000)
        usage = (await session.scalars(select(UsageLog))).all()
        assert [(u.request_id, u.cost) for u in usage] == [("p1", 1_000)]
        ledger = await billing.ledger(session, user_id=user.id)
    assert [(e.kind, e.request_id, e.amount) for e in ledger if e.request_id == "p3"] == [
        ("reserve", "p3", -1_000), ("settle", "p3", -500)]
    running = 0
    for entry in ledger:  # one running balance through the whole batch
        running += entry.amount
        assert entry.balance_after == running


async def test_a_granted_hold_is_booked_short_rather_than_refused(db_sessionmaker,
                                                                   make_user) -> None:
    """The call went ahead on an in-memory grant; another connection spent the money
    meanwhile. What is left is held, the settlement records the rest as shortfall, and no
    balance or quota goes below zero."""
    poor = await make_user("spent", balance=1_000)
    rich = await make_user("quota", balance=50_000)
    async with db_sessionmaker() as session:
        key = await KeyService().create_key(session, rich.id, KeyCreate(name="k", quota=500))
        await session.commit()
    short, capped = await book(db_sessionmaker, [
        Hold("g1", poor.id, 3_000, granted=True),
        Hold("g2", rich.id, 2_000, key.id, granted=True)])
    assert isinstance(short, Held) and (short.amount, short.balance_after) == (1_000, 0)
    assert isinstance(capped, Held) and (capped.amount, capped.key_amount) == (500, 500)
    settled, _ = await book(db_sessionmaker, [Close("g1", 2_500, SETTLED),
                                              Close("g2", 800, SETTLED)])
    assert (settled.charged, settled.shortfall) == (1_000, 1_500)
    async with db_sessionmaker() as session:
        assert await billing.balance(session, poor.id) == 0
        assert await billing.balance(session, rich.id) == 50_000 - 800
        stored = await session.get(ApiKey, key.id)
        assert stored is not None and stored.quota_remaining == 0
    # Not granted, the same hold is refused as ever.
    refused, = await book(db_sessionmaker, [Hold("g3", rich.id, 2_000, key.id)])
    assert isinstance(refused, KeyQuotaExceeded)
