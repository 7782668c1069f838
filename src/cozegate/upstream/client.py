"""``CozeClient``: the async client for one Coze account (cloud, self-hosted or emulator)."""

from __future__ import annotations

import httpx

from cozegate.config import CozeApiSettings
from cozegate.errors import ConfigError
from cozegate.upstream.auth import Auth, JWTAuth, PATAuth
from cozegate.upstream.catalog import CatalogEndpoints
from cozegate.upstream.conversations import ConversationEndpoints
from cozegate.upstream.transport.http import Timeouts
from cozegate.upstream.workflows import WorkflowEndpoints


class CozeClient(WorkflowEndpoints, CatalogEndpoints, ConversationEndpoints):
    """One pooled HTTP/1.1 connection set per upstream account; reuse it, close it once.

    ``async with CozeClient(...) as client`` or ``await client.aclose()``. Endpoint groups live
    in ``workflows.py``, ``catalog.py`` and ``conversations.py``; the request machinery
    (auth, retries, error decoding) in ``base.py``.
    """

    @classmethod
    def from_settings(
        cls,
        settings: CozeApiSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> CozeClient:
        """Build from settings: an OAuth JWT app when configured, else the PAT."""
        return cls(
            settings.base_url,
            auth_from_settings(settings),
            timeouts=Timeouts(
                connect=settings.connect_timeout,
                run=settings.timeout,
                stream_idle=settings.stream_idle_timeout,
                # Metadata reads answer in well under a second; never wait longer than a run.
                read=min(30.0, settings.timeout),
            ),
            max_retries=settings.max_retries,
            transport=transport,
        )


def auth_from_settings(settings: CozeApiSettings) -> Auth:
    if settings.oauth_jwt is not None:
        return JWTAuth(settings.oauth_jwt, settings.base_url)
    if settings.api_token:
        return PATAuth(settings.api_token)
    raise ConfigError("Coze settings need api_token or oauth_jwt")
