"""One pooled :class:`CozeClient` per channel, built on first use and reused.

A channel whose settings change (``updated_at`` moves) gets a fresh client; the old one is
closed. The ``sandbox`` channel's base URL names the in-process emulator, reached through an
in-process transport: no socket, no Coze account, same wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from cozegate.config import CozeApiSettings, OAuthJWTConfig
from cozegate.upstream import CozeClient

if TYPE_CHECKING:
    from cozegate.emulator import EmulatorTransport

SANDBOX_BASE_URL = "emulator://sandbox"
# What the in-process emulator believes its own host is (JWT ``aud``, debug URLs).
_SANDBOX_HTTP_URL = "http://sandbox.emulator"


@dataclass(frozen=True, slots=True)
class ChannelAccess:
    """What it takes to call one channel: decrypted credentials, detached from any session."""

    id: int
    name: str
    base_url: str
    auth_type: str  # pat | oauth_jwt
    api_token: str | None = None
    oauth_jwt: OAuthJWTConfig | None = None
    version: datetime | None = None
    priority: int = 0
    weight: int = 1
    targets: list[str] | None = None
    consecutive_failures: int = 0

    @property
    def is_sandbox(self) -> bool:
        return self.base_url == SANDBOX_BASE_URL


class UpstreamPool:
    def __init__(self, template: CozeApiSettings) -> None:
        # Timeouts and retry budget come from settings; the account from the channel.
        self._template = template
        self._clients: dict[int, tuple[datetime | None, CozeClient]] = {}
        self._retired: list[CozeClient] = []
        self._sandbox_transport: EmulatorTransport | None = None

    def client_for(self, channel: ChannelAccess) -> CozeClient:
        cached = self._clients.get(channel.id)
        if cached is not None and cached[0] == channel.version:
            return cached[1]
        client = self._build(channel)
        self._clients[channel.id] = (channel.version, client)
        if cached is not None:
            # Requests already on the old client finish on it; it is closed at shutdown,
            # since closing it now would cut streams in flight.
            self._retired.append(cached[1])
        return client

    async def aclose(self) -> None:
        clients = [client for _, client in self._clients.values()] + self._retired
        self._clients.clear()
        self._retired.clear()
        for client in clients:
            await client.aclose()

    def _build(self, channel: ChannelAccess) -> CozeClient:
        transport: httpx.AsyncBaseTransport | None = None
        base_url = channel.base_url
        if channel.is_sandbox:
            transport = self._sandbox()
            base_url = _SANDBOX_HTTP_URL
        settings = self._template.model_copy(update={
            # The relay retries across channels itself (relay.service), so a dead channel
            # costs one connect attempt per round instead of a whole backoff series.
            "max_retries": 0,
            "base_url": base_url,
            "api_token": channel.api_token,
            "oauth_jwt": channel.oauth_jwt,
        })
        return CozeClient.from_settings(settings, transport=transport)

    def _sandbox(self) -> EmulatorTransport:
        # Unlike httpx.ASGITransport, which buffers whole responses, this one streams, so
        # sandbox streams reach clients event by event.
        if self._sandbox_transport is None:
            # Imported here: a gateway without a sandbox channel never loads the emulator.
            from cozegate.emulator import EmulatorTransport, create_emulator_app

            self._sandbox_transport = EmulatorTransport(create_emulator_app())
        return self._sandbox_transport
