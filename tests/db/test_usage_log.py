"""Usage log: insert, filters, pagination, per-day aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cozegate.billing.schemas import UsageFilter, UsageLogCreate
from cozegate.billing.usage_export import usage_csv
from cozegate.billing.usage_repository import UsageRepository

pytestmark = pytest.mark.db

DAY1 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)


async def _seed(session) -> None:
    repo = UsageRepository(session)
    rows = [
        (1, 10, "coze-workflow", 100, DAY1, "success"),
        (1, 10, "coze-workflow", 50, DAY1 + timedelta(minutes=1), "error"),
        (1, 11, "coze-chatflow", 7, DAY2, "success"),
        (2, 20, "coze-workflow", 1_000, DAY2 + timedelta(minutes=5), "success"),
    ]
    for index, (user_id, key_id, model, cost, when, status) in enumerate(rows):
        await repo.insert(
            UsageLogCreate(
                request_id=f"req-{index}",
                user_id=user_id,
                api_key_id=key_id,
                key_name="k",
                model=model,
                workflow_id="wf",
                channel_id=1 + index % 2,
                channel_name="c",
                stream=index % 2 == 0,
                input_tokens=10 * (index + 1),
                output_tokens=5,
                input_price=1_000_000,
                output_price=2_000_000,
                cost=cost,
                status=status,
                error=None if status == "success" else "upstream 502",
                duration_ms=12,
                ttfb_ms=3,
                client_ip="127.0.0.1",
                execute_id=f"exe-{index}",
                logid="L",
                debug_url="https://www.coze.cn/work_flow?execute_id=1",
                usage_estimated=False,
                created_at=when,
            )
        )
    await session.commit()


async def test_filters_and_pagination(db_session) -> None:
    await _seed(db_session)
    repo = UsageRepository(db_session)
    everything = await repo.page(UsageFilter())
    assert everything.total == 4
    assert [row.request_id for row in everything.items] == ["req-3", "req-2", "req-1", "req-0"]
    assert everything.items[0].created_at == DAY2 + timedelta(minutes=5)

    page = await repo.page(UsageFilter(user_id=1), offset=1, limit=1)
    assert (page.total, [row.request_id for row in page.items]) == (3, ["req-1"])
    assert (await repo.page(UsageFilter(api_key_id=11))).total == 1
    assert (await repo.page(UsageFilter(model="coze-workflow"))).total == 3
    assert (await repo.page(UsageFilter(channel_id=2))).total == 2
    assert (await repo.page(UsageFilter(status="error"))).items[0].error == "upstream 502"
    in_day2 = await repo.page(UsageFilter(since=DAY2, until=DAY2 + timedelta(days=1)))
    assert [row.request_id for row in in_day2.items] == ["req-3", "req-2"]


async def test_daily_aggregates(db_session) -> None:
    await _seed(db_session)
    repo = UsageRepository(db_session)
    days = await repo.daily(UsageFilter())
    assert [(d.day.isoformat(), d.requests, d.errors, d.cost) for d in days] == [
        ("2026-11-20", 2, 1, 150),
        ("2026-11-21", 2, 0, 1_007),
    ]
    assert days[0].input_tokens == 30 and days[0].output_tokens == 10
    by_model = await repo.daily(UsageFilter(user_id=1), by_model=True)
    assert [(d.day.isoformat(), d.model, d.cost) for d in by_model] == [
        ("2026-11-20", "coze-workflow", 150),
        ("2026-11-21", "coze-chatflow", 7),
    ]


async def test_csv_export(db_session) -> None:
    await _seed(db_session)
    page = await UsageRepository(db_session).page(UsageFilter(user_id=2))
    lines = usage_csv(page.items).splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["created_at", "request_id", "user_id"]
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert row["request_id"] == "req-3"
    assert (row["cost"], row["input_price_per_1k"], row["group_ratio"]) == (
        "0.001000",
        "0.001",
        "1",
    )
