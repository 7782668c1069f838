"""Reserve / settle / refund / top-up: exact ledger amounts and idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from cozegate.billing.errors import (
    DuplicateRequest,
    InsufficientBalance,
    PriceNotConfigured,
    ReservationNotFound,
)
from cozegate.billing.price_service import PriceService
from cozegate.billing.repository import BalanceRepository
from cozegate.billing.schemas import PriceSet, UsageFilter, UsageLogCreate
from cozegate.billing.service import BillingService
from cozegate.billing.usage_repository import UsageRepository
from cozegate.keys.errors import KeyQuotaExceeded
from cozegate.keys.schemas import KeyCreate
from cozegate.keys.service import KeyService
from cozegate.models import LedgerEntry

pytestmark = pytest.mark.db

billing = BillingService()


async def ledger_amounts(session, request_id: str) -> list[tuple[str, int, int]]:
    rows = await billing.ledger(session, request_id=request_id)
    return [(row.kind, row.amount, row.balance_after) for row in rows]


async def test_reserve_then_settle_refunds_the_difference(db_sessionmaker, make_user) -> None:
    user = await make_user("alice", balance=10_000)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="r1", user_id=user.id, amount=4_000)
        await session.commit()
        assert await billing.balance(session, user.id) == 6_000

    async with db_sessionmaker() as session:
        result = await billing.settle(session, "r1", 1_234)
        await session.commit()
        assert (result.charged, result.refunded, result.shortfall) == (1_234, 2_766, 0)
        assert not result.already_finished
        assert await billing.balance(session, user.id) == 8_766
        assert await ledger_amounts(session, "r1") == [
            ("reserve", -4_000, 6_000),
            ("settle", 2_766, 8_766),
        ]


async def test_settle_is_idempotent(db_sessionmaker, make_user) -> None:
    user = await make_user("bob", balance=5_000)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="r2", user_id=user.id, amount=3_000)
        first = await billing.settle(session, "r2", 1_000)
        again = await billing.settle(session, "r2", 2_500)
        refund_after = await billing.refund(session, "r2", "late refund")
        await session.commit()
        assert again.already_finished and refund_after.already_finished
        assert again.charged == first.charged == 1_000
        assert refund_after.status == "settled"
        assert await billing.balance(session, user.id) == 4_000
        assert len(await billing.ledger(session, request_id="r2")) == 2


async def test_refund_returns_everything_once(db_sessionmaker, make_user) -> None:
    user = await make_user("carol", balance=5_000)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="r3", user_id=user.id, amount=5_000)
        assert await billing.balance(session, user.id) == 0
        result = await billing.refund(session, "r3", "upstream 502")
        second = await billing.refund(session, "r3", "upstream 502")
        await session.commit()
        assert (result.status, result.charged, result.refunded) == ("refunded", 0, 5_000)
        assert second.already_finished
        assert await billing.balance(session, user.id) == 5_000
        assert await ledger_amounts(session, "r3") == [
            ("reserve", -5_000, 0),
            ("refund", 5_000, 5_000),
        ]


async def test_settle_above_reservation_takes_extra_up_to_the_balance(
    db_sessionmaker, make_user
) -> None:
    user = await make_user("dave", balance=1_000)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="r4", user_id=user.id, amount=600)
        result = await billing.settle(session, "r4", 900)  # extra 300, 400 left: all covered
        assert (result.charged, result.shortfall) == (900, 0)
        assert await billing.balance(session, user.id) == 100

        await billing.reserve(session, request_id="r5", user_id=user.id, amount=50)
        result = await billing.settle(session, "r5", 500)  # extra 450, only 50 left
        await session.commit()
        assert (result.charged, result.shortfall) == (100, 400)
        assert await billing.balance(session, user.id) == 0
        assert await ledger_amounts(session, "r5") == [("reserve", -50, 50), ("settle", -50, 0)]


async def test_reserve_refuses_insufficient_balance(db_sessionmaker, make_user) -> None:
    user = await make_user("erin", balance=999)
    async with db_sessionmaker() as session:
        with pytest.raises(InsufficientBalance) as caught:
            await billing.reserve(session, request_id="r6", user_id=user.id, amount=1_000)
        assert caught.value.status_code == 402
        assert caught.value.details == {"balance": 999, "required": 1_000}
        await session.rollback()
        assert await billing.balance(session, user.id) == 999


async def test_duplicate_request_and_unknown_reservation(db_sessionmaker, make_user) -> None:
    user = await make_user("frank", balance=100)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="r7", user_id=user.id, amount=10)
        with pytest.raises(DuplicateRequest):
            await billing.reserve(session, request_id="r7", user_id=user.id, amount=10)
        with pytest.raises(ReservationNotFound):
            await billing.settle(session, "nope", 1)


async def test_key_quota_is_reserved_and_settled(db_sessionmaker, make_user) -> None:
    user = await make_user("gina", balance=100_000)
    keys = KeyService()
    async with db_sessionmaker() as session:
        key = await keys.create_key(session, user.id, KeyCreate(name="k", quota=1_000))
        await billing.reserve(
            session, request_id="q1", user_id=user.id, api_key_id=key.id, amount=800
        )
        with pytest.raises(KeyQuotaExceeded):
            await billing.reserve(
                session, request_id="q2", user_id=user.id, api_key_id=key.id, amount=300
            )
        await billing.settle(session, "q1", 500)
        await session.commit()
        stored = await keys.get_key(session, key.id)
        await session.refresh(stored)
        assert (stored.quota_remaining, stored.used) == (500, 500)
        assert await billing.balance(session, user.id) == 99_500


async def test_insufficient_balance_releases_the_key_quota(db_sessionmaker, make_user) -> None:
    user = await make_user("hank", balance=100)
    keys = KeyService()
    async with db_sessionmaker() as session:
        key = await keys.create_key(session, user.id, KeyCreate(name="k", quota=1_000))
        with pytest.raises(InsufficientBalance):
            await billing.reserve(
                session, request_id="q3", user_id=user.id, api_key_id=key.id, amount=500
            )
        assert await BalanceRepository(session).key_quota(key.id) == (True, 1_000)


async def test_top_up_and_adjust_with_idempotency(db_sessionmaker, make_user) -> None:
    user = await make_user("ivy")
    async with db_sessionmaker() as session:
        first = await billing.top_up(
            session, user.id, 2_000_000, "invoice 1", idempotency_key="inv-1"
        )
        again = await billing.top_up(
            session, user.id, 2_000_000, "invoice 1", idempotency_key="inv-1"
        )
        assert first.id == again.id
        await billing.adjust(session, user.id, -500_000, "correction")
        with pytest.raises(InsufficientBalance):
            await billing.adjust(session, user.id, -5_000_000, "too much")
        await session.commit()
        assert await billing.balance(session, user.id) == 1_500_000
        entries = await billing.ledger(session, user_id=user.id)
        assert [(e.kind, e.amount, e.balance_after) for e in entries] == [
            ("top_up", 2_000_000, 2_000_000),
            ("adjust", -500_000, 1_500_000),
        ]


async def test_ledger_idempotency_key_is_unique_in_the_database(db_sessionmaker, make_user) -> None:
    user = await make_user("jack")
    async with db_sessionmaker() as session:
        for _ in range(2):
            session.add(
                LedgerEntry(
                    user_id=user.id,
                    kind="adjust",
                    amount=1,
                    balance_after=1,
                    idempotency_key="same",
                    reason="",
                )
            )
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_balance_never_negative_by_constraint(db_sessionmaker, make_user) -> None:
    user = await make_user("kim", balance=5)
    async with db_sessionmaker() as session:
        assert await BalanceRepository(session).debit(user.id, 6) is None
        user_row = await session.get(type(user), user.id)
        user_row.balance = -1
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_prices_resolve_with_default(db_session) -> None:
    prices = PriceService()
    with pytest.raises(PriceNotConfigured):
        await prices.resolve(db_session, "wf-1", "coze-workflow")
    await prices.set_price(
        db_session,
        PriceSet(
            target="wf-1", input_price_per_1k=Decimal("0.001"), output_price_per_1k=Decimal("0.002")
        ),
    )
    await prices.set_price(db_session, PriceSet(target="*", fixed_price=Decimal("0.01")))
    snapshot = await prices.resolve(db_session, "wf-1", "coze-workflow")
    assert (snapshot.input_price, snapshot.output_price) == (1_000_000, 2_000_000)
    assert snapshot.cost(1000, 500) == 2_000
    fallback = await prices.resolve(db_session, "wf-2", "coze-workflow")
    assert fallback.is_fixed and fallback.cost(0, 0, 1_500_000) == 15_000
    with pytest.raises(ValueError):
        PriceSet(target="x", input_price_per_1k=Decimal("0.001"), fixed_price=Decimal("1"))


async def test_settle_writes_the_usage_log_once(db_sessionmaker, make_user) -> None:
    user = await make_user("lee", balance=10_000)
    log = UsageLogCreate(
        request_id="ignored",
        user_id=user.id,
        model="coze-workflow",
        workflow_id="wf",
        input_tokens=10,
        output_tokens=20,
        cost=999_999,
        status="success",
        logid="L1",
    )
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="u1", user_id=user.id, amount=100)
        await billing.settle(session, "u1", 30, usage_log=log)
        await billing.settle(session, "u1", 30, usage_log=log)
        await session.commit()
        page = await UsageRepository(session).page(UsageFilter(user_id=user.id))
        assert page.total == 1
        assert (page.items[0].request_id, page.items[0].cost) == ("u1", 30)


async def test_refund_stale_reservations(db_sessionmaker, make_user) -> None:
    user = await make_user("reaped", balance=1_000)
    async with db_sessionmaker() as session:
        await billing.reserve(session, request_id="old", user_id=user.id, amount=300)
        await billing.reserve(session, request_id="done", user_id=user.id, amount=200)
        await billing.settle(session, "done", 200)
        await session.commit()
        cutoff = datetime.now(UTC) + timedelta(seconds=1)
        results = await billing.refund_stale(session, cutoff)
        await session.commit()
        assert [(r.request_id, r.status, r.refunded) for r in results] == [("old", "refunded", 300)]
        assert await billing.balance(session, user.id) == 800
        assert await billing.refund_stale(session, cutoff) == []
