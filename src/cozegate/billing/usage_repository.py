"""Usage log rows: insert, filtered pages, per-day aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cozegate.billing.schemas import DailyUsage, UsageFilter, UsageLogCreate
from cozegate.models import UsageLog
from cozegate.models.base import utcnow


@dataclass(frozen=True)
class UsagePage:
    items: Sequence[UsageLog]
    total: int
    offset: int
    limit: int


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, data: UsageLogCreate) -> UsageLog:
        values = data.model_dump()
        values["created_at"] = values["created_at"] or utcnow()
        row = UsageLog(**values)
        self.session.add(row)
        await self.session.flush()
        return row

    async def page(self, filters: UsageFilter, *, offset: int = 0, limit: int = 50) -> UsagePage:
        """Newest first."""
        query = _filtered(select(UsageLog), filters)
        total = await self.session.scalar(
            _filtered(select(func.count()).select_from(UsageLog), filters)
        )
        items = (
            await self.session.scalars(
                query.order_by(UsageLog.created_at.desc(), UsageLog.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()
        return UsagePage(items=items, total=total or 0, offset=offset, limit=limit)

    async def daily(self, filters: UsageFilter, *, by_model: bool = False) -> list[DailyUsage]:
        """Totals per UTC day (and per model when ``by_model``), oldest day first."""
        day = self._utc_day()
        columns: list[Any] = [
            day.label("day"),
            func.count().label("requests"),
            func.sum(case((UsageLog.status != "success", 1), else_=0)).label("errors"),
            func.sum(UsageLog.input_tokens).label("input_tokens"),
            func.sum(UsageLog.output_tokens).label("output_tokens"),
            func.sum(UsageLog.cost).label("cost"),
        ]
        groups: list[Any] = [day]
        if by_model:
            columns.append(UsageLog.model)
            groups.append(UsageLog.model)
        query = _filtered(select(*columns), filters).group_by(*groups).order_by(*groups)
        rows = (await self.session.execute(query)).all()
        return [
            DailyUsage(
                day=_as_date(row.day),
                model=row.model if by_model else None,
                requests=int(row.requests),
                errors=int(row.errors or 0),
                input_tokens=int(row.input_tokens or 0),
                output_tokens=int(row.output_tokens or 0),
                cost=int(row.cost or 0),
            )
            for row in rows
        ]

    def _utc_day(self) -> Any:
        # SQLite stores naive UTC text (see models.base.UTCDateTime); Postgres stores
        # timestamptz, whose date() would follow the session time zone, hence the shift.
        if self.session.get_bind().dialect.name == "postgresql":
            return func.date(func.timezone("UTC", UsageLog.created_at))
        return func.date(UsageLog.created_at)


def _filtered(query: Select[Any], filters: UsageFilter) -> Select[Any]:
    equal = {
        UsageLog.user_id: filters.user_id,
        UsageLog.api_key_id: filters.api_key_id,
        UsageLog.model: filters.model,
        UsageLog.workflow_id: filters.workflow_id,
        UsageLog.channel_id: filters.channel_id,
        UsageLog.status: filters.status,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(UsageLog.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(UsageLog.created_at < filters.until)
    return query


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
