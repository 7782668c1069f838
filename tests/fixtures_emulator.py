"""Emulator fixtures for every test suite (plugged in by tests/conftest.py).

* ``emulator_config`` — a fresh test :class:`EmulatorConfig` (tiny PING interval, no chunk
  delay, seeded fault RNG); override fields with ``emulator_test_config(**overrides)``.
* ``emulator_app`` — an in-process emulator app for ``httpx.ASGITransport``.
* ``emulator_client`` — an ``httpx.AsyncClient`` on ``emulator_app`` sending the sandbox PAT
  (``httpx.ASGITransport``: responses arrive whole; drop/break faults raise
  ``EmulatorConnectionDropped`` / ``EmulatorStreamBroken``).
* ``emulator_transport`` — an :class:`EmulatorTransport` on ``emulator_app``: streams in-process
  and turns drop/break into ``httpx.RemoteProtocolError`` like a real socket.
* ``emulator_server`` — one real server per test session (``.url``, ``.app``, ``.reset()``).
* ``emulator_url`` — its base URL (state shared within the session: runs, conversations).
* ``fresh_emulator_url`` — the same URL after ``reset()`` (no runs, conversations, tokens).
* ``emulator_server_factory`` — start extra servers with their own config (stopped after the test).

Constants: ``SANDBOX_TOKEN``, ``SANDBOX_OAUTH_APP_ID``, ``SANDBOX_OAUTH_KEY_ID``,
``SANDBOX_PRIVATE_KEY`` (public test key, not a secret) and the catalog ids in ``catalog``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cozegate.emulator import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_TOKEN,
    EmulatorConfig,
    EmulatorServer,
    EmulatorTransport,
    catalog,
    create_emulator_app,
    sandbox_private_key,
)

SANDBOX_PRIVATE_KEY = sandbox_private_key()
TEST_PING_INTERVAL = 0.05
IN_PROCESS_BASE_URL = "http://emulator"

__all__ = [
    "IN_PROCESS_BASE_URL",
    "SANDBOX_OAUTH_APP_ID",
    "SANDBOX_OAUTH_KEY_ID",
    "SANDBOX_PRIVATE_KEY",
    "SANDBOX_TOKEN",
    "catalog",
    "emulator_test_config",
]


def emulator_test_config(**overrides: Any) -> EmulatorConfig:
    """Config tuned for fast tests; keyword arguments override any field."""
    values: dict[str, Any] = {"ping_interval": TEST_PING_INTERVAL, "chunk_interval": 0.0,
                              "fault_seed": 1234}
    values.update(overrides)
    return EmulatorConfig(**values)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return emulator_test_config()


@pytest.fixture
def emulator_app(emulator_config: EmulatorConfig) -> Starlette:
    return create_emulator_app(emulator_config)


@pytest.fixture
async def emulator_client(emulator_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL,
                                 headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}) as client:
        yield client


@pytest.fixture
def emulator_transport(emulator_app: Starlette) -> EmulatorTransport:
    return EmulatorTransport(emulator_app)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator_test_config()) as server:
        yield server


@pytest.fixture
def emulator_url(emulator_server: EmulatorServer) -> str:
    return emulator_server.url


@pytest.fixture
def fresh_emulator_url(emulator_server: EmulatorServer) -> str:
    emulator_server.reset()
    return emulator_server.url


@pytest.fixture
def emulator_server_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """``factory(**config_overrides)`` starts a server with its own config."""
    servers: list[EmulatorServer] = []

    def start(**overrides: Any) -> EmulatorServer:
        server = EmulatorServer(emulator_test_config(**overrides)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
