"""``/api/admin/usage``: the usage log (filtered, paged), its CSV export and daily totals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from cozegate.admin.deps import PageDep, TxDep
from cozegate.admin.schemas import DailyUsageReport, Page, UsageOut
from cozegate.admin.usage_export import pinned, usage_csv
from cozegate.billing.schemas import UsageFilter
from cozegate.billing.usage_repository import UsageRepository
from cozegate.deps import RuntimeDep
from cozegate.models.base import utcnow

router = APIRouter(prefix="/usage")


async def usage_filter(
    user_id: Annotated[int | None, Query()] = None,
    key_id: Annotated[int | None, Query()] = None,
    model: Annotated[str | None, Query()] = None,
    workflow_id: Annotated[str | None, Query()] = None,
    channel_id: Annotated[int | None, Query()] = None,
    status: Annotated[str | None, Query(description="success, error, interrupted, …")] = None,
    since: Annotated[datetime | None, Query(
        description="Inclusive; ISO 8601 (a time without an offset is UTC).")] = None,
    until: Annotated[datetime | None, Query(
        description="Exclusive; ISO 8601 (a time without an offset is UTC).")] = None,
) -> UsageFilter:
    return UsageFilter(user_id=user_id, api_key_id=key_id, model=model,
                       workflow_id=workflow_id, channel_id=channel_id, status=status,
                       since=_utc(since), until=_utc(until))


UsageFilterDep = Annotated[UsageFilter, Depends(usage_filter)]


@router.get("", summary="Usage log rows, newest first")
async def list_usage(filters: UsageFilterDep, tx: TxDep, page: PageDep) -> Page[UsageOut]:
    found = await UsageRepository(tx.session).page(filters, offset=page.offset,
                                                   limit=page.limit)
    return Page(items=[UsageOut.of(row) for row in found.items], total=found.total,
                offset=page.offset, limit=page.limit)


@router.get("/export.csv", summary="Usage log rows as CSV (header row first), newest first",
            response_class=StreamingResponse)
async def export_usage(filters: UsageFilterDep, runtime: RuntimeDep) -> StreamingResponse:
    filename = f"usage-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    await runtime.writer.flush()  # see deps.get_session
    return StreamingResponse(
        usage_csv(runtime.sessionmaker, pinned(filters)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/daily", summary="Totals per UTC day (and per model), oldest day first")
async def daily_usage(
    filters: UsageFilterDep, tx: TxDep,
    by_model: Annotated[bool, Query(description="One row per day and model.")] = False,
) -> DailyUsageReport:
    days = await UsageRepository(tx.session).daily(filters, by_model=by_model)
    return DailyUsageReport.of(days, by_model)


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
