"""Balance, quota, reservation and ledger queries of the ORM side (top-ups, adjustments,
listings). Reserve / settle / refund are plain SQL in ``billing.booking``.

Every debit here is a *guarded* single-statement UPDATE (``... WHERE balance >= :amount``): the
check and the write are one atomic step on both SQLite (one writer at a time) and Postgres
(row lock taken by the UPDATE, predicate re-checked after waiting), so no interleaving of
concurrent requests can take a balance or a key quota below zero.

The ORM-enabled UPDATEs skip syncing objects already in the session
(``synchronize_session=False``): callers read balances back through this repository
instead of trusting objects that may be stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.models import ApiKey, LedgerEntry, Price, Reservation, User
from cozegate.models.reservation import RESERVED


class BalanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- user balance -----------------------------------------------------------------

    async def balance(self, user_id: int, *, for_update: bool = False) -> int | None:
        query = select(User.balance).where(User.id == user_id)
        if for_update:
            query = query.with_for_update()  # row lock on Postgres; SQLite has one writer
        return await self.session.scalar(query)

    async def debit(self, user_id: int, amount: int) -> int | None:
        """Take ``amount`` if the balance covers it; the new balance, or None if it did not."""
        return await self.session.scalar(
            update(User)
            .where(User.id == user_id, User.balance >= amount)
            .values(balance=User.balance - amount)
            .returning(User.balance)
            .execution_options(synchronize_session=False)
        )

    async def credit(self, user_id: int, amount: int) -> int | None:
        return await self.session.scalar(
            update(User)
            .where(User.id == user_id)
            .values(balance=User.balance + amount)
            .returning(User.balance)
            .execution_options(synchronize_session=False)
        )

    # -- key quota --------------------------------------------------------------------

    async def key_quota(self, key_id: int) -> tuple[bool, int | None]:
        """(key exists, remaining quota or None for unlimited)."""
        row = (
            await self.session.execute(
                select(ApiKey.id, ApiKey.quota_remaining).where(ApiKey.id == key_id)
            )
        ).first()
        return (False, None) if row is None else (True, row[1])

    # -- reservations -----------------------------------------------------------------

    async def get_reservation(self, request_id: str) -> Reservation | None:
        return await self.session.scalar(
            select(Reservation)
            .where(Reservation.request_id == request_id)
            .execution_options(populate_existing=True)
        )

    async def list_open_reservations(
        self, older_than: datetime, *, limit: int | None = None
    ) -> Sequence[Reservation]:
        """Reservations never settled (a crashed process), oldest first: for a reaper to
        refund (read in the order of ``ix_reservations_status_created``)."""
        query = (
            select(Reservation)
            .where(Reservation.status == RESERVED, Reservation.created_at < older_than)
            .order_by(Reservation.created_at, Reservation.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return (await self.session.scalars(query)).all()

    # -- ledger -----------------------------------------------------------------------

    async def add_entry(self, entry: LedgerEntry) -> LedgerEntry:
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def entry_by_key(self, idempotency_key: str) -> LedgerEntry | None:
        return await self.session.scalar(
            select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key)
        )

    async def entries(
        self,
        *,
        user_id: int | None = None,
        request_id: str | None = None,
        offset: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> Sequence[LedgerEntry]:
        order = LedgerEntry.id.desc() if newest_first else LedgerEntry.id
        query = _ledger_filter(select(LedgerEntry), user_id, request_id).order_by(order)
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def count_entries(
        self, *, user_id: int | None = None, request_id: str | None = None
    ) -> int:
        query = select(func.count()).select_from(LedgerEntry)
        return await self.session.scalar(_ledger_filter(query, user_id, request_id)) or 0


def _ledger_filter(query: Select[Any], user_id: int | None, request_id: str | None) -> Select[Any]:
    if user_id is not None:
        query = query.where(LedgerEntry.user_id == user_id)
    if request_id is not None:
        query = query.where(LedgerEntry.request_id == request_id)
    return query


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, target: str) -> Price | None:
        return await self.session.scalar(select(Price).where(Price.target == target))

    async def find_enabled(self, targets: Sequence[str]) -> Sequence[Price]:
        return (
            await self.session.scalars(
                select(Price).where(Price.target.in_(targets), Price.enabled.is_(True))
            )
        ).all()

    async def list(self) -> Sequence[Price]:
        return (await self.session.scalars(select(Price).order_by(Price.target))).all()

    async def list_enabled(self) -> Sequence[Price]:
        return (await self.session.scalars(select(Price).where(Price.enabled.is_(True)))).all()

    async def add(self, price: Price) -> Price:
        self.session.add(price)
        await self.session.flush()
        return price

    async def delete(self, price: Price) -> None:
        await self.session.delete(price)
        await self.session.flush()
