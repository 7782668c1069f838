"""The usage log over the admin API: filters, pagination, CSV export, daily totals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cozegate.admin.schemas import USAGE_COLUMNS
from tests.admin.helpers import STORY, admin, cost_of, story
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db

STORY_MODEL = f"coze-workflow/{STORY}"
FAIL_MODEL = f"coze-workflow/{catalog.ALWAYS_FAIL}"


async def _traffic(gateway: Gateway, http: httpx.AsyncClient) -> dict[str, int]:
    """Three successes (two by admin, one by nora) and one upstream failure by admin."""
    nora_id, nora_key = await gateway.create_user("nora", "1")
    costs = [cost_of(await story(gateway, gateway.admin_key)),
             cost_of(await story(gateway, nora_key)),
             cost_of(await story(gateway, gateway.admin_key))]
    failed = await story(gateway, gateway.admin_key, model=FAIL_MODEL)
    assert failed.status_code >= 400
    admin_id = (await http.get("/users", params={"name": "admin"})).json()["items"][0]["id"]
    nora_key_id = (await http.get("/keys", params={"user_id": nora_id})).json()["items"][0]["id"]
    return {"admin": admin_id, "nora": nora_id, "nora_key": nora_key_id, "cost": sum(costs)}


async def test_usage_list_filters_and_pages(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        ids = await _traffic(gateway, http)
        everything = (await http.get("/usage")).json()
        assert everything["total"] == 4
        rows = everything["items"]
        assert [r["model"] for r in rows] == [FAIL_MODEL, STORY_MODEL, STORY_MODEL, STORY_MODEL]
        assert rows[0]["status"] == "error" and rows[0]["cost_micros"] == 0
        assert rows[1]["cost"] == f"0.{rows[1]['cost_micros']:06d}"
        assert sum(r["cost_micros"] for r in rows) == ids["cost"]
        assert rows[1]["channel_name"] == "sandbox" and rows[1]["logid"]

        async def total(**params) -> int:
            response = await http.get("/usage", params=params)
            assert response.status_code == 200, response.text
            return response.json()["total"]

        assert await total(user_id=ids["admin"]) == 3
        assert await total(user_id=ids["nora"]) == 1
        assert await total(key_id=ids["nora_key"]) == 1
        assert await total(model=STORY_MODEL) == 3
        assert await total(workflow_id=catalog.ALWAYS_FAIL) == 1
        assert await total(channel_id=rows[1]["channel_id"]) == 4
        assert await total(channel_id=rows[1]["channel_id"] + 1) == 0
        assert await total(status="error") == 1
        assert await total(status="success", user_id=ids["admin"]) == 2
        now = datetime.now(UTC)
        assert await total(since=(now - timedelta(hours=1)).isoformat()) == 4
        assert await total(since=(now + timedelta(hours=1)).isoformat()) == 0
        assert await total(until=(now - timedelta(hours=1)).isoformat()) == 0
        # A time without an offset is UTC.
        naive = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
        assert await total(since=naive) == 4

        pages = [(await http.get("/usage", params={"offset": offset, "limit": 3})).json()
                 for offset in (0, 3)]
        assert [len(p["items"]) for p in pages] == [3, 1]
        assert [p["total"] for p in pages] == [4, 4]
        assert [r["id"] for p in pages for r in p["items"]] == [r["id"] for r in rows]


async def test_usage_csv_export(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        ids = await _traffic(gateway, http)
        response = await http.get("/usage/export.csv")
        filtered = await http.get("/usage/export.csv", params={"user_id": ids["nora"]})
        listed = (await http.get("/usage")).json()["items"]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    assert tuple(table[0]) == USAGE_COLUMNS
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in records] == [r["id"] for r in listed]
    assert sum(int(r["cost_micros"]) for r in records) == ids["cost"]
    first = records[1]
    assert (first["model"], first["status"], first["stream"]) == (STORY_MODEL, "success",
                                                                  "False")
    assert first["cost"] == listed[1]["cost"] and first["input_tokens"] == str(
        listed[1]["input_tokens"])
    assert records[0]["error"]  # the failure's message, quoted as CSV needs
    nora_rows = list(csv.DictReader(io.StringIO(filtered.text)))
    assert len(nora_rows) == 1 and nora_rows[0]["user_id"] == str(ids["nora"])


async def test_usage_csv_export_of_nothing_is_the_header(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        response = await http.get("/usage/export.csv")
    assert response.text == ",".join(USAGE_COLUMNS) + "\r\n"


async def test_daily_aggregates(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        ids = await _traffic(gateway, http)
        daily = (await http.get("/usage/daily")).json()
        by_model = (await http.get("/usage/daily", params={"by_model": "true"})).json()
        nora = (await http.get("/usage/daily", params={"user_id": ids["nora"]})).json()
        newest = (await http.get("/usage", params={"limit": 1})).json()["items"][0]
    today = newest["created_at"][:10]  # the calls' UTC day (not the clock's: midnight)
    assert daily["by_model"] is False and len(daily["items"]) == 1
    day = daily["items"][0]
    assert (day["day"], day["model"], day["requests"], day["errors"]) == (today, None, 4, 1)
    assert day["cost_micros"] == ids["cost"] and day["cost"] == f"0.{ids['cost']:06d}"
    assert daily["total"]["requests"] == 4 and daily["total"]["cost_micros"] == ids["cost"]
    models = {(row["model"], row["requests"]) for row in by_model["items"]}
    assert models == {(STORY_MODEL, 3), (FAIL_MODEL, 1)}
    assert by_model["total"]["input_tokens"] == day["input_tokens"]
    assert nora["items"][0]["requests"] == 1
