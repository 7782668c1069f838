"""Authentication: PATs, OAuth JWT apps and the access tokens they mint (spec §3).

Every API path needs ``Authorization: Bearer <token>`` where the token is a configured PAT
or an unexpired ``czs_`` token from ``/api/permission/oauth2/token``. That endpoint takes a
JWT signed (RS256) by a trusted app: ``kid`` = the app's key id, ``iss`` = its app id,
``aud`` = this emulator's Host header (what cozepy sends: the base URL's netloc) or a
configured audience, single-use ``jti``, unexpired ``exp``. PyJWT does the verifying.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cozegate.emulator.config import EmulatorConfig, OAuthAppConfig
from cozegate.emulator.sandbox import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_TOKEN,
    sandbox_public_key,
)
from cozegate.emulator.state import EmulatorState
from cozegate.emulator.wire import CozeError, coze_error, raw_json

TOKEN_PATH = "/api/permission/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TTL = 900


class Authenticator:
    """Knows the accepted credentials; issued tokens and used jtis live in the state."""

    def __init__(self, config: EmulatorConfig, state: EmulatorState) -> None:
        self.state = state
        self.tokens = set(config.tokens)
        apps = list(config.oauth_apps)
        if config.sandbox:
            self.tokens.add(SANDBOX_TOKEN)
            apps.append(OAuthAppConfig(app_id=SANDBOX_OAUTH_APP_ID, key_id=SANDBOX_OAUTH_KEY_ID,
                                       public_key=sandbox_public_key()))
        self.apps = {app.key_id: app for app in apps}
        self.audiences = list(config.jwt_audiences)
        self.max_ttl = config.max_token_ttl

    def check_bearer(self, authorization: str | None) -> None:
        token = _bearer(authorization)
        if token in self.tokens:
            return
        expiry = self.state.access_tokens.get(token or "")
        if expiry is not None and expiry > time.time():
            return
        raise CozeError(4100, "authentication is invalid", status=401)

    def exchange(self, authorization: str | None, host: str, body: dict[str, Any]) -> dict:
        """Verify the JWT and mint an access token; raises :class:`OAuthError`."""
        assertion = _bearer(authorization)
        if not assertion:
            raise OAuthError("invalid_request", "missing JWT bearer", status=401)
        if body.get("grant_type") != JWT_GRANT:
            raise OAuthError("unsupported_grant_type", f"grant_type must be {JWT_GRANT}",
                             error="grant_type")
        ttl = body.get("duration_seconds") or DEFAULT_TTL
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise OAuthError("invalid_request", "duration_seconds must be a positive integer",
                             error="duration_seconds")
        claims = self._verify(assertion, host)
        now = time.time()
        self._purge_jti(now)
        if claims["jti"] in self.state.used_jti:
            raise OAuthError("invalid_jwt", "JWT jti has already been used", status=401)
        self.state.used_jti[claims["jti"]] = float(claims["exp"])
        expires_in = int(now) + min(ttl, self.max_ttl)
        token = "czs_" + secrets.token_urlsafe(32)
        self.state.access_tokens[token] = expires_in
        return {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}

    def _verify(self, assertion: str, host: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_jwt", f"malformed JWT: {exc}", status=401) from exc
        app = self.apps.get(str(header.get("kid")))
        if app is None:
            raise OAuthError("invalid_jwt", "unknown kid: no OAuth app has this public key id",
                             status=401)
        try:
            return jwt.decode(
                assertion, app.public_key, algorithms=["RS256"], issuer=app.app_id,
                audience=[host, *self.audiences],
                options={"require": ["iss", "aud", "iat", "exp", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_jwt", f"JWT rejected: {exc}", status=401) from exc

    def _purge_jti(self, now: float) -> None:
        # A jti only needs remembering until its JWT expires; after that exp rejects it.
        # Expired access tokens go too, so a long-lived emulator does not grow.
        for jti in [j for j, exp in self.state.used_jti.items() if exp < now]:
            del self.state.used_jti[jti]
        tokens = self.state.access_tokens
        for token in [t for t, exp in tokens.items() if exp < now]:
            del tokens[token]


class OAuthError(Exception):
    """OAuth endpoint error, rendered as ``{"error_code","error_message","error"}``."""

    def __init__(self, code: str, message: str, *, status: int = 400, error: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.error = code, message, status, error


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def oauth_token(request: Request) -> Response:
    authenticator: Authenticator = request.app.state.authenticator
    try:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise OAuthError("invalid_request", "body must be a JSON object")
        host = request.headers.get("host", "")
        return raw_json(authenticator.exchange(request.headers.get("authorization"), host, body))
    except OAuthError as exc:
        return raw_json({"error_code": exc.code, "error_message": exc.message,
                         "error": exc.error}, status=exc.status)


class AuthMiddleware:
    """Rejects unauthenticated API calls with 4100 before any route runs."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == TOKEN_PATH:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            self.authenticator.check_bearer(authorization)
        except CozeError as exc:
            await coze_error(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)


ROUTES = [Route(TOKEN_PATH, oauth_token, methods=["POST"])]
