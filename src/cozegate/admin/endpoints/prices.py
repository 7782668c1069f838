"""``/api/admin/prices``: the price of a model name or workflow id (``*`` = default price).

The target is the last part of the path and may contain ``/`` (``coze-workflow/750…``).
A change applies to this process's next call (its price snapshot is dropped after the
commit) and to other processes' within the snapshot's few seconds (``billing.price_book``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from cozegate.admin.deps import PageDep, PriceServiceDep, TxDep
from cozegate.admin.requests import PriceBody
from cozegate.admin.schemas import Page, PriceOut
from cozegate.deps import RuntimeDep

router = APIRouter(prefix="/prices")

TargetPath = Annotated[str, Path(min_length=1, max_length=255,
                                 description="Model name or workflow id; * = default price.")]


@router.get("", summary="List prices")
async def list_prices(tx: TxDep, prices: PriceServiceDep, page: PageDep) -> Page[PriceOut]:
    rows = await prices.list_prices(tx.session)  # one row per priced target: few
    window = rows[page.offset:page.offset + page.limit]
    return Page(items=[PriceOut.of(p) for p in window], total=len(rows), offset=page.offset,
                limit=page.limit)


@router.get("/{target:path}", summary="Show a price")
async def get_price(target: TargetPath, tx: TxDep, prices: PriceServiceDep) -> PriceOut:
    return PriceOut.of(await prices.get_price(tx.session, target))


@router.put("/{target:path}", summary="Set (create or replace) a price")
async def set_price(target: TargetPath, body: PriceBody, tx: TxDep,
                    prices: PriceServiceDep, runtime: RuntimeDep) -> PriceOut:
    price = await prices.set_price(tx.session, body.to_service(target))
    await tx.session.flush()
    tx.after_commit(runtime.prices.invalidate)
    return PriceOut.of(price)


@router.delete("/{target:path}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove a price")
async def delete_price(target: TargetPath, tx: TxDep, prices: PriceServiceDep,
                       runtime: RuntimeDep) -> None:
    await prices.delete_price(tx.session, target)
    tx.after_commit(runtime.prices.invalidate)
