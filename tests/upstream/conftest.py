"""Emulator fixtures for the client tests: one real-HTTP emulator per module, reset per test.

The emulator's fault rules below fire only on the first N matching requests, which is what
retry tests need (a header would fault every retry too). Workflow-scoped rules pick catalog
workflows that no other test in this package reads through those paths.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from cozegate.config import OAuthJWTConfig
from cozegate.emulator import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_TOKEN,
    EmulatorConfig,
    EmulatorServer,
    FaultRule,
    sandbox_private_key,
)
from cozegate.upstream import CozeClient, JWTAuth, PATAuth, RetryPolicy, Timeouts

from .helpers import FAST_RETRY, CountingTransport

ECHO = "7500000000000001001"
STORY = "7500000000000001002"
ASK_CITY = "7500000000000001003"
ALWAYS_FAIL = "7500000000000001004"
SLOW_JOB = "7500000000000001005"
DRAFT_ONLY = "7500000000000001006"
CHAT_MEMORY = "7500000000000001007"
CHAT_ASK = "7500000000000001008"
WORKSPACE = "7500000000000000001"

# GET /v1/workflows/{SLOW_JOB}: two 503s, then normal. GET …/{DRAFT_ONLY}/versions: 4013 twice.
# GET /v1/workflows/{CHAT_ASK}: the connection is dropped once.
FAULT_RULES = [
    FaultRule(fault="http=503", path=f"/v1/workflows/{SLOW_JOB}", first_n=2),
    FaultRule(fault="rate_limit", path=f"/v1/workflows/{DRAFT_ONLY}/versions", first_n=2),
    FaultRule(fault="drop", path=f"/v1/workflows/{CHAT_ASK}", first_n=1),
]

TEST_TIMEOUTS = Timeouts(connect=1.0, run=10.0, read=2.0, stream_idle=2.0, write=2.0, pool=2.0)


@pytest.fixture(scope="module")
def fault_emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(ping_interval=0.05, faults=FAULT_RULES, fault_seed=1)
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def emu_url(fault_emulator: EmulatorServer) -> str:
    fault_emulator.reset()
    return fault_emulator.url


@pytest.fixture
def counting() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
def jwt_config() -> OAuthJWTConfig:
    return OAuthJWTConfig(app_id=SANDBOX_OAUTH_APP_ID, key_id=SANDBOX_OAUTH_KEY_ID,
                          private_key=sandbox_private_key())


MakeClient = Callable[..., CozeClient]


@pytest.fixture
async def make_client(emu_url: str) -> AsyncIterator[MakeClient]:
    """Build clients on the emulator (PAT by default); all are closed at teardown."""
    clients: list[CozeClient] = []

    def make(*, auth: PATAuth | JWTAuth | None = None, timeouts: Timeouts = TEST_TIMEOUTS,
             retry: RetryPolicy = FAST_RETRY, **kwargs: object) -> CozeClient:
        client = CozeClient(emu_url, auth or PATAuth(SANDBOX_TOKEN), timeouts=timeouts,
                            retry_policy=retry, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
