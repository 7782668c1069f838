"""Credentials for Coze: a Personal Access Token, or an OAuth JWT app minting short tokens.

An auth object hands out the bearer token for the next call. ``JWTAuth`` caches the access token
it minted and mints a new one a margin before it expires; concurrent callers that find the
cache stale share one token request (single flight under an ``asyncio.Lock``). When Coze
rejects a token with 4100 the client calls :meth:`invalidate` and retries once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from cozegate.config import OAuthJWTConfig
from cozegate.upstream.errors import CozeAuthError, CozeProtocolError

TOKEN_PATH = "/api/permission/oauth2/token"
JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 3600  # seconds a signed JWT is valid for; cozepy uses the same

# Exchanges one signed JWT (as bearer) with this body for the token endpoint's JSON body.
# ``sign`` is called once per attempt: each JWT carries a single-use ``jti``.
TokenExchange = Callable[[Callable[[], str], dict[str, Any]], Awaitable[dict[str, Any]]]


class Auth(Protocol):
    """What the client needs from a credential."""

    @property
    def refreshable(self) -> bool:
        """True when a rejected token can be replaced by a fresh one."""
        ...

    async def token(self, exchange: TokenExchange) -> str: ...

    async def invalidate(self, token: str) -> None: ...


class PATAuth:
    """A Personal Access Token: fixed, nothing to refresh."""

    refreshable = False

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("empty Coze access token")
        self._token = token

    async def token(self, exchange: TokenExchange) -> str:
        return self._token

    async def invalidate(self, token: str) -> None:
        return None

    def __repr__(self) -> str:
        return "PATAuth(token=<redacted>)"


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: float  # absolute epoch seconds
    refresh_at: float  # when to mint the next one

    def __repr__(self) -> str:
        return f"AccessToken(value=<redacted>, expires_at={self.expires_at})"


class JWTAuth:
    """An OAuth JWT ("service") app: RS256-signed JWT → short-lived access token, cached."""

    refreshable = True

    def __init__(
        self,
        config: OAuthJWTConfig,
        base_url: str,
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        # cozepy signs for the API host as written in the base URL, port included.
        self._aud = config.aud or urlparse(base_url).netloc
        self._refresh_margin = refresh_margin
        self._clock = clock  # decides cache freshness; injectable so tests need not sleep
        self._cached: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.tokens_minted = 0

    def __repr__(self) -> str:
        return f"JWTAuth(app_id={self._config.app_id!r}, aud={self._aud!r})"

    @property
    def audience(self) -> str:
        return self._aud

    @property
    def cached_token(self) -> AccessToken | None:
        """The access token in use (for health pages and tests; its repr hides the value)."""
        return self._cached

    async def token(self, exchange: TokenExchange) -> str:
        cached = self._cached
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        async with self._lock:
            # Whoever held the lock before us may have minted a fresh token already.
            cached = self._cached
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            fresh = await self._mint(exchange)
            self._cached = fresh
            return fresh.value

    async def invalidate(self, token: str) -> None:
        async with self._lock:
            # Only drop the token that was rejected: if another caller already replaced
            # it, the new one is good and must not be thrown away (that would re-mint).
            if self._cached is not None and self._cached.value == token:
                self._cached = None

    def sign_jwt(self) -> str:
        """A fresh single-use JWT for the token endpoint (claim times use the real clock)."""
        import jwt  # here: only OAuth JWT channels need PyJWT (~2 MiB kept for life)

        now = int(time.time())
        claims = {
            "iss": self._config.app_id,
            "aud": self._aud,
            "iat": now,
            "exp": now + JWT_LIFETIME,
            "jti": f"{now}:{secrets.token_hex(4)}:{secrets.token_hex(8)}",
        }
        headers = {"kid": self._config.key_id, "typ": "JWT"}
        try:
            return jwt.encode(claims, self._config.private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # Never echo the key; the exception text from cryptography does not contain it.
            raise CozeAuthError(None, f"cannot sign the OAuth JWT: {type(exc).__name__}",
                                oauth_error="invalid_private_key") from exc

    def token_request_body(self) -> dict[str, Any]:
        return {
            "duration_seconds": self._config.token_ttl,
            "grant_type": JWT_GRANT_TYPE,
            "scope": _scope(self._config.scopes),
        }

    async def _mint(self, exchange: TokenExchange) -> AccessToken:
        requested_at = self._clock()
        body = await exchange(self.sign_jwt, self.token_request_body())
        self.tokens_minted += 1
        value = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
            raise CozeProtocolError("OAuth token response lacks access_token/expires_in")
        expires_at = float(expires_in)
        if expires_at < 1_000_000_000:
            # Coze sends an absolute epoch; a small number can only be a duration (some
            # self-hosted servers do that). Reading it as absolute would re-mint every call.
            expires_at = requested_at + expires_at
        lifetime = max(0.0, expires_at - requested_at)
        margin = min(self._refresh_margin, lifetime * 0.1)
        return AccessToken(value=value, expires_at=expires_at, refresh_at=expires_at - margin)


def _scope(scopes: list[str] | dict[str, Any] | None) -> dict[str, Any] | None:
    """The config's scope, as the token endpoint wants it (JSON ``null`` when absent)."""
    if scopes is None:
        return None
    if isinstance(scopes, dict):
        return scopes
    return {"account_permission": {"permission_list": list(scopes)}}
