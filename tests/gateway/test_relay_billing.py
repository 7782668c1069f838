"""Money under stress: races for the last of a balance, disconnects, failures mid-stream,
failover, and every reason a key is refused. Exact amounts from the emulator's usage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import openai
import pytest
from sqlalchemy import select

from cozegate.billing.price_service import PriceService
from cozegate.billing.service import BillingService
from cozegate.billing.writer import LAZY_DELAY
from cozegate.emulator import EmulatorServer
from cozegate.models import Reservation
from cozegate.users.schemas import GroupCreate
from tests.fixtures_db import sqlite_write_lock
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db

UNIT = 1_000_000
STORY_BODY = {"model": f"coze-workflow/{catalog.STORY}", "messages": [{"role": "user",
              "content": "hi"}], "workflow_parameters": {"topic": "owls"}}


def api(gateway: Gateway, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


async def post(gateway: Gateway, key: str, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.post("/v1/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {key}"})


async def wait_finished(gateway: Gateway, user_id: int, count: int = 1) -> None:
    """Settlement runs after the response; wait until ``count`` reservations are closed."""
    for _ in range(200):
        async with gateway.sessionmaker() as session:
            rows = (await session.scalars(
                select(Reservation).where(Reservation.user_id == user_id))).all()
        if len(rows) >= count and all(r.status != "reserved" for r in rows):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("reservations were not settled")


async def test_concurrent_requests_race_for_the_last_of_a_balance(gateway: Gateway) -> None:
    await gateway.set_price(catalog.STORY, fixed_price=Decimal("1"))
    user_id, key = await gateway.create_user("racer", balance="7")
    responses = await asyncio.gather(*(post(gateway, key, STORY_BODY) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 7
    assert statuses.count(402) == 13
    refused = next(r for r in responses if r.status_code == 402).json()["error"]
    assert refused["code"] == "insufficient_balance"
    await wait_finished(gateway, user_id, 7)
    assert await gateway.balance(user_id) == 0
    rows = await gateway.usage_rows(user_id)
    assert [row.cost for row in rows] == [UNIT] * 7


async def test_token_price_is_charged_from_reported_usage_with_group_ratio(
        gateway: Gateway) -> None:
    async with gateway.session() as session:
        await gateway.runtime.users.create_group(
            session, GroupCreate(name="vip", ratio=Decimal("0.5")))
    user_id, key = await gateway.create_user("vip-user", balance="1", group="vip")
    response = await post(gateway, key, STORY_BODY)
    assert response.status_code == 200
    await wait_finished(gateway, user_id)
    # (10 × 1 + 40 × 2) micros × 0.5
    assert await gateway.balance(user_id) == UNIT - 45
    [row] = await gateway.usage_rows(user_id)
    assert (row.input_tokens, row.output_tokens, row.cost, row.status) == (10, 40, 45, "success")
    assert row.execute_id and row.debug_url and row.logid
    assert row.channel_name == "sandbox" and row.key_name == "vip-user-key"
    assert row.ttfb_ms is not None and row.duration_ms is not None


async def test_client_disconnect_mid_stream_refunds_when_nothing_was_reported(
        gateway: Gateway, emulator_server_factory) -> None:
    slow: EmulatorServer = emulator_server_factory(chunk_interval=0.3)
    await gateway.disable_channel("sandbox")
    await gateway.add_channel("slow", slow.url)
    user_id, key = await gateway.create_user("leaver", balance="1")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http, http.stream(
            "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={**STORY_BODY, "stream": True}) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                break  # first chunk seen: hang up
    await wait_finished(gateway, user_id)
    assert await gateway.balance(user_id) == UNIT
    [row] = await gateway.usage_rows(user_id)
    assert row.status == "cancelled" and row.cost == 0


async def test_upstream_failure_mid_stream_is_a_final_error_chunk_and_refunded(
        gateway: Gateway, emulator_server_factory) -> None:
    broken: EmulatorServer = emulator_server_factory(
        faults=[{"fault": "break=2", "workflow_id": catalog.STORY}])
    await gateway.disable_channel("sandbox")
    await gateway.add_channel("broken", broken.url)
    user_id, key = await gateway.create_user("victim", balance="1")
    stream = await api(gateway, key).chat.completions.create(
        model=STORY_BODY["model"], messages=STORY_BODY["messages"], stream=True,
        extra_body={"workflow_parameters": {"topic": "owls"}})
    received = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            received.append(chunk)
    assert received, "some content arrived before the break"
    assert "upstream" in str(caught.value.body or caught.value.message).lower() or \
        caught.value.message
    await wait_finished(gateway, user_id)
    assert await gateway.balance(user_id) == UNIT
    [row] = await gateway.usage_rows(user_id)
    assert row.status == "error" and row.error


async def test_fails_over_to_the_next_channel_and_disables_a_dead_one(
        gateway: Gateway) -> None:
    await gateway.add_channel("dead", "http://127.0.0.1:9", priority=10)
    user_id, key = await gateway.create_user("survivor", balance="1")
    for _ in range(gateway.settings.channel_failure_threshold):
        response = await post(gateway, key, STORY_BODY)
        assert response.status_code == 200
    await wait_finished(gateway, user_id, gateway.settings.channel_failure_threshold)
    rows = await gateway.usage_rows(user_id)
    assert {row.channel_name for row in rows} == {"sandbox"}
    async with gateway.sessionmaker() as session:
        dead = await gateway.runtime.channels.get_by_name(session, "dead")
    assert dead.status == "auto_disabled"


async def test_price_not_configured_is_refused_before_upstream(gateway: Gateway) -> None:
    async with gateway.session() as session:
        await PriceService().delete_price(session, "*")
    user_id, key = await gateway.create_user("unpriced", balance="1")
    response = await post(gateway, key, STORY_BODY)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "price_not_configured"
    assert await gateway.usage_rows(user_id) == []


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"expires_at": datetime.now(UTC) - timedelta(minutes=1)}, 401, "key_expired"),
    ({"quota": 0}, 429, "key_quota_exceeded"),
    ({"allowed_models": ["coze-workflow/1"]}, 403, "model_not_allowed"),
    ({"allowed_ips": ["10.1.2.3"]}, 403, "ip_not_allowed"),
])
async def test_key_refusals_are_distinct(gateway: Gateway, fields: dict, status: int,
                                         code: str) -> None:
    _, key = await gateway.create_user("refused", balance="1", **fields)
    response = await post(gateway, key, STORY_BODY)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_key_quota_caps_spending(gateway: Gateway) -> None:
    await gateway.set_price(catalog.STORY, fixed_price=Decimal("1"))
    user_id, key = await gateway.create_user("quota", balance="10", quota=2 * UNIT)
    statuses = [(await post(gateway, key, STORY_BODY)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    await wait_finished(gateway, user_id, 2)
    assert await gateway.balance(user_id) == 8 * UNIT


async def test_requests_per_minute_limit(gateway: Gateway) -> None:
    _, key = await gateway.create_user("rpm", balance="1", rpm_limit=2)
    statuses = [(await post(gateway, key, STORY_BODY)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await post(gateway, key, STORY_BODY)
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1


async def reserved_count(gateway: Gateway, user_id: int) -> int:
    async with gateway.sessionmaker() as session:
        rows = (await session.scalars(select(Reservation).where(
            Reservation.user_id == user_id, Reservation.status == "reserved"))).all()
    return len(rows)


@pytest.mark.parametrize("stream", [False, True], ids=["completion", "stream"])
async def test_an_answer_does_not_wait_for_its_settlement_but_reads_do(
        gateway: Gateway, db_backend: str, db_url: str, stream: bool) -> None:
    """The completion, or the whole stream to its [DONE] and the end of the body, is
    answered while its settlement cannot commit (SQLite's write lock is held elsewhere);
    balance reads right after (OpenAI and admin surfaces) wait for that settlement, then
    show it."""
    if db_backend != "sqlite":
        pytest.skip("holds SQLite's write lock from a second connection")
    await gateway.set_price(catalog.SLOW_JOB, fixed_price=Decimal("1"))
    user_id, key = await gateway.create_user("reader", balance="5")
    body = {"model": f"coze-workflow/{catalog.SLOW_JOB}", "stream": stream,
            "messages": [{"role": "user", "content": "go"}],
            "workflow_parameters": {"seconds": 0.5}}

    async def answered(http: httpx.AsyncClient) -> tuple[int, str]:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            return response.status_code, (await response.aread()).decode()

    async with httpx.AsyncClient(base_url=gateway.url, timeout=30,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        answer = asyncio.ensure_future(answered(http))
        for _ in range(200):  # the hold is committed: the run is upstream now
            if await reserved_count(gateway, user_id):
                break
            await asyncio.sleep(0.01)
        with sqlite_write_lock(db_url):
            status, text = await asyncio.wait_for(answer, 10)
            assert status == 200
            assert text.endswith("data: [DONE]\n\n") if stream else '"content"' in text
            assert await reserved_count(gateway, user_id) == 1  # not settled yet
            reading = asyncio.ensure_future(http.get("/v1/dashboard/billing/usage"))
            admin_reading = asyncio.ensure_future(http.get(
                f"/api/admin/users/{user_id}",
                headers={"Authorization": f"Bearer {gateway.admin_key}"}))
            await asyncio.sleep(0.3)
            assert not reading.done() and not admin_reading.done()
        used = (await asyncio.wait_for(reading, 10)).json()
        user = (await asyncio.wait_for(admin_reading, 10)).json()
    assert used["total_usage"] == 100.0  # cents: the settled 1.00
    assert user["balance_micros"] == 4 * UNIT
    assert await reserved_count(gateway, user_id) == 0
    assert await gateway.balance(user_id) == 4 * UNIT


async def test_a_covered_call_waits_for_no_commit_at_all(
        gateway: Gateway, db_backend: str, db_url: str) -> None:
    """On SQLite the hold of a call the balance covers is granted in memory: the whole call,
    hold included, is answered while SQLite's write lock is held elsewhere from the start.
    Its hold and settlement are booked once the lock is free, as one pair."""
    if db_backend != "sqlite":
        pytest.skip("holds SQLite's write lock from a second connection")
    await gateway.set_price(catalog.STORY, fixed_price=Decimal("1"))
    user_id, key = await gateway.create_user("granted", balance="5")
    assert (await post(gateway, key, STORY_BODY)).status_code == 200  # warm: key cached
    assert await gateway.balance(user_id) == 4 * UNIT
    with sqlite_write_lock(db_url):
        response = await asyncio.wait_for(post(gateway, key, STORY_BODY), 3)
        assert response.status_code == 200
        assert await reserved_count(gateway, user_id) == 0  # not even the hold is booked
    assert await gateway.balance(user_id) == 3 * UNIT
    async with gateway.sessionmaker() as session:
        rows = (await session.scalars(select(Reservation).where(
            Reservation.user_id == user_id))).all()
    assert sorted(r.status for r in rows) == ["settled", "settled"]


async def test_a_lone_answer_is_settled_soon_without_any_read(gateway: Gateway) -> None:
    """A completion's settlement waits for a batch to ride with (the next call's hold); with
    no next call and no read to force it, it is booked on its own within ``DEFER_WITHIN``,
    well before the lazy run-start delay."""
    await gateway.set_price(catalog.STORY, fixed_price=Decimal("1"))
    user_id, key = await gateway.create_user("lone", balance="5")
    assert (await post(gateway, key, STORY_BODY)).status_code == 200
    answered = asyncio.get_running_loop().time()
    while True:  # the database itself, no read barrier
        async with gateway.sessionmaker() as session:
            balance = await BillingService().balance(session, user_id)
        if balance == 4 * UNIT and not await reserved_count(gateway, user_id):
            break
        assert asyncio.get_running_loop().time() - answered < LAZY_DELAY / 4
        await asyncio.sleep(0.005)


async def test_legacy_usage_is_exact_for_fractions_of_a_cent(gateway: Gateway) -> None:
    await gateway.set_price(catalog.STORY, fixed_price=Decimal("0.00009"))
    user_id, key = await gateway.create_user("cents", balance="5")
    assert (await post(gateway, key, STORY_BODY)).status_code == 200
    await wait_finished(gateway, user_id)
    async with httpx.AsyncClient(base_url=gateway.url,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        used = (await http.get("/v1/dashboard/billing/usage")).json()
    assert used["total_usage"] == 0.009  # not 0.009000000000000001


async def test_models_and_legacy_billing_endpoints(gateway: Gateway) -> None:
    await gateway.set_price(catalog.STORY, fixed_price=Decimal("1"))
    user_id, key = await gateway.create_user("viewer", balance="5")
    models = await api(gateway, key).models.list()
    ids = [m.id for m in models.data]
    assert "coze-workflow" in ids and f"coze-workflow/{catalog.STORY}" in ids
    assert (await post(gateway, key, STORY_BODY)).status_code == 200
    await wait_finished(gateway, user_id)
    async with httpx.AsyncClient(base_url=gateway.url,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        sub = (await http.get("/v1/dashboard/billing/subscription")).json()
        used = (await http.get("/v1/dashboard/billing/usage")).json()
    assert sub["hard_limit_usd"] == 5.0
    assert used["total_usage"] == 100.0
