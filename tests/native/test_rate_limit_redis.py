"""Rate limits shared by several gateway processes through Redis (skipped without
``COZEGATE_TEST_REDIS_URL``): one key's budget is spent wherever its calls land."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import pytest
from cozepy import CozeAPIError

from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway
from tests.native.conftest import coze_client

pytestmark = [pytest.mark.db, pytest.mark.redis]


async def test_two_gateways_share_one_limit(
        redis_url: str, gateway_factory: Callable[..., Awaitable[Gateway]]) -> None:
    # One deployment: the same database, Redis (COZEGATE_TEST_REDIS_URL, which the
    # ``redis_url`` fixture checks) and Redis key prefix.
    prefix = f"cgtest:{secrets.token_hex(6)}:"
    first = await gateway_factory(redis_prefix=prefix)
    second = await gateway_factory(redis_prefix=prefix)
    assert first.settings.redis_url == second.settings.redis_url == redis_url
    _, key = await first.create_user("shared", "1", rate_limits={"workflow": 3})
    here, there = coze_client(first, key), coze_client(second, key)
    for coze in (here, there, here):
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"})
    for coze in (there, here):
        with pytest.raises(CozeAPIError) as info:
            coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"})
        assert info.value.code == 4013
    # The other classes keep their own budget, on both.
    assert here.workflows.retrieve(workflow_id=catalog.ECHO).workflow_detail.workflow_id
    assert there.workflows.retrieve(workflow_id=catalog.ECHO).workflow_detail.workflow_id
