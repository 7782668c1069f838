"""Usage rows as CSV, streamed page by page.

Each page is read in its own short session, so a large export never holds a connection for
its whole length. The time window is pinned (``until`` ≤ the export's start) and rows come
newest first, so rows logged while the export runs do not shift the pages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

from cozegate.admin.schemas import USAGE_COLUMNS, UsageOut
from cozegate.billing.schemas import UsageFilter
from cozegate.billing.usage_repository import UsageRepository
from cozegate.db import SessionMaker
from cozegate.models.base import utcnow

EXPORT_PAGE_SIZE = 1000


def pinned(filters: UsageFilter) -> UsageFilter:
    now = utcnow()
    until = now if filters.until is None else min(filters.until, now)
    return filters.model_copy(update={"until": until})


async def usage_csv(sessionmaker: SessionMaker, filters: UsageFilter) -> AsyncIterator[str]:
    yield _line(USAGE_COLUMNS)
    offset = 0
    while True:
        async with sessionmaker() as session:
            page = await UsageRepository(session).page(filters, offset=offset,
                                                       limit=EXPORT_PAGE_SIZE)
        for row in page.items:
            out = UsageOut.of(row).model_dump(mode="json")
            yield _line(out[column] for column in USAGE_COLUMNS)
        offset += len(page.items)
        if len(page.items) < EXPORT_PAGE_SIZE:
            return


def _line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        "" if value is None else value for value in values)
    return buffer.getvalue()
