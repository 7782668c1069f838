"""An ``is_async`` run outlives the process that accepted it: the next start follows it on
and settles it from Coze's usage, exactly once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from cozegate.emulator import EmulatorServer
from cozegate.models import Reservation, Run
from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import _start, _stop

pytestmark = pytest.mark.db

UNIT = 1_000_000
NEVER = {"async_poll_interval": 3600.0, "async_poll_max_interval": 3600.0}


async def state(gateway: Gateway, execute_id: str) -> tuple[str, str]:
    async with gateway.sessionmaker() as session:
        run = await session.scalar(select(Run).where(Run.execute_id == execute_id))
        assert run is not None and run.request_id is not None
        reservation = await session.scalar(
            select(Reservation).where(Reservation.request_id == run.request_id))
        assert reservation is not None
        return run.status, reservation.status


async def test_the_next_process_settles_an_async_run_left_running(
        db_url: str, emulator_server_factory) -> None:
    upstream: EmulatorServer = emulator_server_factory()  # outlives both gateways
    first, server = await _start(db_url, {"native": NEVER})  # never polls before it stops
    try:
        await first.disable_channel("sandbox")
        await first.add_channel("upstream", upstream.url)
        user_id, key = await first.create_user("patient", balance="1")
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
            accepted = (await http.post("/v1/workflow/run", headers={
                "Authorization": f"Bearer {key}"}, json={
                "workflow_id": catalog.SLOW_JOB, "parameters": {"seconds": 0.1},
                "is_async": True})).json()
        execute_id = accepted["execute_id"]
        assert accepted["code"] == 0 and execute_id
        await asyncio.sleep(0.3)  # the run has ended at Coze; nobody has looked yet
    finally:
        await _stop(first, server)
    assert await state(first, execute_id) == ("running", "reserved")

    second, server = await _start(db_url, {})  # fast polling: follows the run at start
    try:
        for _ in range(200):
            if await state(second, execute_id) == ("succeeded", "settled"):
                break
            await asyncio.sleep(0.05)
        assert await state(second, execute_id) == ("succeeded", "settled")
        [row] = await second.usage_rows(user_id)
        assert row.status == "success" and row.execute_id == execute_id
        assert row.cost == row.input_tokens * 1 + row.output_tokens * 2 > 0
        assert await second.balance(user_id) == UNIT - row.cost
    finally:
        await _stop(second, server)
