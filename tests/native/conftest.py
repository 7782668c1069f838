"""Gateways for the Coze-compatible surface tests, and cozepy clients pointed at them.

The ``gateway`` fixture here shadows the shared one: same real gateway on a port, but with
Coze's per-class rate limits raised out of the way (the tests share one Redis when
``COZEGATE_TEST_REDIS_URL`` is set, and key ids restart in every test database), and async
runs polled quickly. Rate limit tests set small limits on their own keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import MappingProxyType
from typing import Any

import pytest
from cozepy import AsyncCoze, AsyncTokenAuth, Coze, TokenAuth

from cozegate.app import create_app
from cozegate.config import OAuthJWTConfig
from cozegate.db import create_sessionmaker, engine_from_url
from cozegate.emulator import EmulatorServer
from cozegate.kit.serving import ThreadedServer
from tests.fixtures_emulator import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_PRIVATE_KEY,
)
from tests.fixtures_gateway import Gateway, gateway_settings

HIGH_LIMITS = MappingProxyType({"workflow": 100_000, "chat": 100_000, "info": 100_000})
FAST_ASYNC = MappingProxyType({"async_poll_interval": 0.05, "async_poll_max_interval": 0.2})


@pytest.fixture
async def gateway_factory(db_url: str) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """``await factory(**setting_overrides)`` → another gateway on the same database."""
    started: list[tuple[Gateway, ThreadedServer]] = []

    async def start(**overrides: Any) -> Gateway:
        pair = await _start(db_url, overrides)
        started.append(pair)
        return pair[0]

    try:
        yield start
    finally:
        for gateway, server in started:
            await _stop(gateway, server)


async def _start(db_url: str, overrides: dict[str, Any]) -> tuple[Gateway, ThreadedServer]:
    values: dict[str, Any] = {"rate_limits": dict(HIGH_LIMITS), "native": dict(FAST_ASYNC)}
    values.update(overrides)
    settings = gateway_settings(db_url, **values)
    app = create_app(settings)
    server = ThreadedServer(app).start()
    engine = engine_from_url(db_url)
    gateway = Gateway(url=server.url, admin_key=app.state.bootstrap.admin_key, app=app,
                      settings=settings, sessionmaker=create_sessionmaker(engine),
                      server=server)
    return gateway, server


async def _stop(gateway: Gateway, server: ThreadedServer) -> None:
    await gateway.sessionmaker.kw["bind"].dispose()
    server.stop()


@pytest.fixture
async def gateway(db_url: str) -> AsyncIterator[Gateway]:
    gateway, server = await _start(db_url, {})
    try:
        yield gateway
    finally:
        await _stop(gateway, server)


def coze_client(gateway: Gateway, key: str | None = None) -> Coze:
    return Coze(auth=TokenAuth(key or gateway.admin_key), base_url=gateway.url)


def async_coze_client(gateway: Gateway, key: str | None = None) -> AsyncCoze:
    return AsyncCoze(auth=AsyncTokenAuth(key or gateway.admin_key), base_url=gateway.url)


@pytest.fixture(params=["pat", "oauth_jwt"])
async def coze_gateway(request: pytest.FixtureRequest, gateway: Gateway,
                       emulator_server_factory: Callable[..., EmulatorServer]) -> Gateway:
    """The gateway once on its sandbox (PAT) channel, once on an OAuth JWT channel to an
    emulator on a real port (the sandbox channel disabled)."""
    if request.param == "oauth_jwt":
        server = emulator_server_factory()
        await gateway.add_channel("oauth", server.url, token=None, auth_type="oauth_jwt",
                                  oauth_jwt=OAuthJWTConfig(app_id=SANDBOX_OAUTH_APP_ID,
                                                           key_id=SANDBOX_OAUTH_KEY_ID,
                                                           private_key=SANDBOX_PRIVATE_KEY))
        await gateway.disable_channel("sandbox")
    return gateway
