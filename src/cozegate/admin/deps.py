"""Dependencies of the admin endpoints: the admin caller, one transaction per request, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.access import CurrentKey
from cozegate.admin.errors import AdminRequired
from cozegate.billing.price_service import PriceService
from cozegate.deps import RuntimeDep
from cozegate.keys.schemas import KeyRecord

MAX_PAGE_SIZE = 500


async def require_admin(key: CurrentKey) -> KeyRecord:
    # current_key already refused a missing, unknown, disabled or expired key (401/403).
    if not key.is_admin:
        raise AdminRequired("this endpoint needs an admin key")
    return key


class Transaction:
    """One request's unit of work: a session the dependency commits when the endpoint returns.

    Callbacks registered with :meth:`after_commit` run only once the commit succeeded: cache
    invalidations must follow the commit, or a concurrent request could reload the old rows
    into the cache between the invalidation and the commit.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def committed(self) -> None:
        for callback in self._after_commit:
            callback()


async def transaction(runtime: RuntimeDep) -> AsyncIterator[Transaction]:
    await runtime.writer.flush()  # see deps.get_session: reads show what answers queued
    async with runtime.sessionmaker() as session:
        tx = Transaction(session)
        # An exception from the endpoint leaves the block here: closing the session rolls
        # the transaction back, and the exception renders in the admin error shape.
        yield tx
        await session.commit()
    tx.committed()


async def price_service() -> PriceService:  # async: a plain def runs in a worker thread
    return PriceService()  # stateless; the runtime does not hold one


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int


async def page_params(
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page.")] = 50,
) -> PageParams:
    return PageParams(offset=offset, limit=limit)


# scope="function": commit before the response is sent, so a client that got a 2xx can rely
# on the change being durable and visible to its next request.
TxDep = Annotated[Transaction, Depends(transaction, scope="function")]
PriceServiceDep = Annotated[PriceService, Depends(price_service)]
PageDep = Annotated[PageParams, Depends(page_params)]
