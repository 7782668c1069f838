"""Reserve, settle, refund, top up: every balance movement, each with a ledger row.

The request lifecycle (design §2): ``reserve`` in a short transaction before the upstream
call; ``settle`` (or ``refund``) in another short transaction afterwards, whatever happened.
Both are keyed by the gateway request id.

Rules:
* reserve refuses (InsufficientBalance / KeyQuotaExceeded) rather than go below zero;
* settle with cost ≤ reserved refunds the difference; with cost > reserved it takes the
  extra from the balance **up to what is left** (never below zero) and records the uncovered
  rest as ``shortfall`` on the reservation: the call already happened, so refusing is no
  longer possible, and a negative balance is never allowed;
* a limited key quota follows the same path (reserved from, refunded to, capped at zero);
* settle/refund run once per request: the second call finds the reservation finished and
  returns the first outcome with ``already_finished=True``, changing nothing. The ledger's
  unique idempotency keys (``reserve:<id>``, ``finish:<id>``) back this up in the database.

The SQL of reserve / settle / refund lives in ``billing.booking``, shared with the request
path's writers (``billing.writer``), which run the same rules for many requests per
transaction. Services never commit; on an exception the caller must roll back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from cozegate.billing.booking import Close, Conflict, Held, Hold, Op, execute_one
from cozegate.billing.errors import DuplicateRequest, InsufficientBalance
from cozegate.billing.repository import BalanceRepository
from cozegate.billing.schemas import SettleResult, UsageLogCreate
from cozegate.billing.tx import ConnectionTx
from cozegate.models import LedgerEntry
from cozegate.models.base import utcnow
from cozegate.models.ledger_entry import KIND_ADJUST, KIND_TOP_UP
from cozegate.models.reservation import REFUNDED, SETTLED
from cozegate.users.errors import UserNotFound

REAPED = "reaped: never settled"


class BillingService:
    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock

    async def reserve(
        self,
        session: AsyncSession,
        *,
        request_id: str,
        user_id: int,
        amount: int,
        api_key_id: int | None = None,
        target: str | None = None,
    ) -> Held:
        """Hold ``amount`` micros from the user's balance (and the key's quota, if limited)."""
        if amount < 0:
            raise ValueError("a reservation cannot be negative")
        # Checked first here so the caller's transaction stays usable after the refusal;
        # the writers on the request path rely on the unique constraint alone.
        if await BalanceRepository(session).get_reservation(request_id) is not None:
            raise DuplicateRequest(f"request {request_id} already has a reservation")
        op = Hold(request_id=request_id, user_id=user_id, amount=amount,
                  api_key_id=api_key_id, target=target)
        try:
            held = await self._book(session, op)
        except Conflict as exc:
            raise DuplicateRequest(f"request {request_id} already has a reservation") from exc
        assert isinstance(held, Held)
        return held

    async def settle(
        self,
        session: AsyncSession,
        request_id: str,
        cost: int,
        *,
        usage_log: UsageLogCreate | None = None,
        reason: str = "",
    ) -> SettleResult:
        """Turn the reservation into the real charge ``cost`` (see the module rules).

        ``usage_log``, when given, is written in the same transaction with ``cost`` set to
        what was charged, and only by the call that actually settles.
        """
        return await self._finish(session, Close(
            request_id=request_id, cost=cost, status=SETTLED, reason=reason,
            usage=usage_log.model_dump() if usage_log is not None else None))

    async def refund(
        self,
        session: AsyncSession,
        request_id: str,
        reason: str,
        *,
        usage_log: UsageLogCreate | None = None,
    ) -> SettleResult:
        """Give the whole reservation back (upstream failed before doing billable work)."""
        return await self._finish(session, Close(
            request_id=request_id, cost=0, status=REFUNDED, reason=reason,
            usage=usage_log.model_dump() if usage_log is not None else None))

    async def refund_stale(
        self, session: AsyncSession, older_than: datetime, reason: str = REAPED
    ) -> list[SettleResult]:
        """Refund reservations left open since before ``older_than`` (a process died between
        reserve and settle). Safe alongside live settles: each refund claims its row first."""
        stale = await BalanceRepository(session).list_open_reservations(older_than)
        return [await self.refund(session, r.request_id, reason) for r in stale]

    async def _finish(self, session: AsyncSession, op: Close) -> SettleResult:
        if op.cost < 0:
            raise ValueError("a cost cannot be negative")
        result = await self._book(session, op)
        assert isinstance(result, SettleResult)
        return result

    async def _book(self, session: AsyncSession, op: Op) -> Held | SettleResult:
        now = self._clock()

        def book(sync_session: Session) -> Held | SettleResult:
            sync_session.flush()  # the caller's pending ORM changes go first
            return execute_one(ConnectionTx(sync_session.connection()), op, now)

        return await session.run_sync(book)

    async def top_up(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> LedgerEntry:
        """Credit ``amount`` micros. With an idempotency key, a repeat returns the first entry."""
        if amount <= 0:
            raise ValueError("a top-up must be positive")
        return await self._move(
            session, user_id, amount, KIND_TOP_UP, reason, idempotency_key or f"top_up:{uuid4()}"
        )

    async def adjust(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> LedgerEntry:
        """An operator's correction, either sign; a debit never takes the balance below zero."""
        if amount == 0:
            raise ValueError("an adjustment cannot be zero")
        return await self._move(
            session, user_id, amount, KIND_ADJUST, reason, idempotency_key or f"adjust:{uuid4()}"
        )

    async def _move(
        self,
        session: AsyncSession,
        user_id: int,
        amount: int,
        kind: str,
        reason: str,
        idempotency_key: str,
    ) -> LedgerEntry:
        repo = BalanceRepository(session)
        existing = await repo.entry_by_key(idempotency_key)
        if existing is not None:
            return existing
        if amount > 0:
            balance_after = await repo.credit(user_id, amount)
        else:
            balance_after = await repo.debit(user_id, -amount)
            if balance_after is None and await repo.balance(user_id) is not None:
                raise InsufficientBalance("the balance does not cover this adjustment")
        if balance_after is None:
            raise UserNotFound(f"no user with id {user_id}")
        return await repo.add_entry(
            LedgerEntry(
                user_id=user_id,
                kind=kind,
                amount=amount,
                balance_after=balance_after,
                idempotency_key=idempotency_key,
                reason=reason,
                created_at=self._clock(),
            )
        )

    async def balance(self, session: AsyncSession, user_id: int) -> int:
        balance = await BalanceRepository(session).balance(user_id)
        if balance is None:
            raise UserNotFound(f"no user with id {user_id}")
        return balance

    async def ledger(
        self,
        session: AsyncSession,
        *,
        user_id: int | None = None,
        request_id: str | None = None,
        offset: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> Sequence[LedgerEntry]:
        return await BalanceRepository(session).entries(
            user_id=user_id, request_id=request_id, offset=offset, limit=limit,
            newest_first=newest_first,
        )

    async def ledger_count(
        self, session: AsyncSession, *, user_id: int | None = None, request_id: str | None = None
    ) -> int:
        """How many ledger rows match (the total of a paged ledger listing)."""
        return await BalanceRepository(session).count_entries(
            user_id=user_id, request_id=request_id
        )
