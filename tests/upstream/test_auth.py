"""OAuth JWT auth against the emulator: the JWT, token caching, refresh, single flight, 4100."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cozegate.config import CozeApiSettings, OAuthJWTConfig
from cozegate.emulator import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_TOKEN,
    EmulatorServer,
    sandbox_private_key,
)
from cozegate.upstream import (
    CozeAuthError,
    CozeClient,
    JWTAuth,
    PATAuth,
)
from cozegate.upstream.auth import JWT_GRANT_TYPE, TOKEN_PATH

from .conftest import ECHO, STORY, MakeClient
from .helpers import FAST_RETRY, CountingTransport, RawRequest, RawServer, json_response, write


class FakeClock:
    """Drives the token cache's notion of time (JWT claims still use the real clock)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _token_requests(counting: CountingTransport) -> list:
    return [r for r in counting.requests if r.url.path == TOKEN_PATH]


async def test_jwt_and_token_request_shape(make_client: MakeClient, jwt_config: OAuthJWTConfig,
                                           emu_url: str, counting: CountingTransport) -> None:
    auth = JWTAuth(jwt_config, emu_url)
    client = make_client(auth=auth, transport=counting)
    await client.list_workspaces()

    token_request, api_request = counting.requests
    assert token_request.url.path == TOKEN_PATH and token_request.method == "POST"
    assertion = token_request.headers["authorization"].removeprefix("Bearer ")
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": SANDBOX_OAUTH_KEY_ID}
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["iss"] == SANDBOX_OAUTH_APP_ID
    assert claims["aud"] == emu_url.removeprefix("http://")  # netloc, port included
    assert claims["exp"] > claims["iat"] >= int(time.time()) - 5 and claims["jti"]
    assert json.loads(token_request.content) == {
        "duration_seconds": 900, "grant_type": JWT_GRANT_TYPE, "scope": None}

    bearer = api_request.headers["authorization"].removeprefix("Bearer ")
    assert bearer.startswith("czs_")
    cached = auth.cached_token
    assert cached is not None and cached.value == bearer
    # expires_in is an absolute epoch: the token lives ~900 s, refreshed 60 s early
    assert abs(cached.expires_at - (time.time() + 900)) < 10
    assert cached.expires_at - cached.refresh_at == pytest.approx(60)
    assert "czs_" not in repr(cached) and "czs_" not in repr(auth)


async def test_token_is_cached_and_refreshed_before_expiry(
        make_client: MakeClient, jwt_config: OAuthJWTConfig, emu_url: str,
        counting: CountingTransport) -> None:
    clock = FakeClock()
    auth = JWTAuth(jwt_config, emu_url, clock=clock)
    client = make_client(auth=auth, transport=counting)
    for _ in range(3):
        await client.get_workflow(ECHO)
    assert len(_token_requests(counting)) == 1
    first = auth.cached_token
    assert first is not None

    clock.now = first.refresh_at - 1  # inside the margin? not yet
    await client.get_workflow(ECHO)
    assert len(_token_requests(counting)) == 1

    clock.now = first.refresh_at + 1  # within the margin before expiry: mint anew
    await client.get_workflow(ECHO)
    assert len(_token_requests(counting)) == 2
    second = auth.cached_token
    assert second is not None and second.value != first.value


async def test_concurrent_callers_share_one_token_request(
        make_client: MakeClient, jwt_config: OAuthJWTConfig, emu_url: str,
        counting: CountingTransport) -> None:
    auth = JWTAuth(jwt_config, emu_url)
    client = make_client(auth=auth, transport=counting)
    results = await asyncio.gather(*(client.get_workflow(ECHO) for _ in range(20)))
    assert len(results) == 20
    assert len(_token_requests(counting)) == 1
    assert len(counting.requests) == 21


async def test_4100_forces_one_refresh_and_one_retry_of_a_run(
        make_client: MakeClient, jwt_config: OAuthJWTConfig, emu_url: str,
        fault_emulator: EmulatorServer, counting: CountingTransport) -> None:
    auth = JWTAuth(jwt_config, emu_url)
    client = make_client(auth=auth, transport=counting)
    await client.get_workflow(ECHO)
    stale = auth.cached_token
    fault_emulator.reset()  # the emulator forgets every access token it issued → 4100

    result = await client.run_workflow(ECHO, {"input": "x"})
    assert result.data
    paths = counting.paths()
    assert paths == [TOKEN_PATH, f"/v1/workflows/{ECHO}", "/v1/workflow/run", TOKEN_PATH,
                     "/v1/workflow/run"]
    assert auth.cached_token is not None and stale is not None
    assert auth.cached_token.value != stale.value

    # Same for a stream opened with a rejected token.
    fault_emulator.reset()
    async with client.stream_workflow(STORY, {"topic": "x", "chunks": 1}) as stream:
        assert [e async for e in stream][-1].event == "Done"
    assert len(_token_requests(counting)) == 3


async def test_concurrent_4100s_share_one_refresh(
        make_client: MakeClient, jwt_config: OAuthJWTConfig, emu_url: str,
        fault_emulator: EmulatorServer, counting: CountingTransport) -> None:
    auth = JWTAuth(jwt_config, emu_url)
    client = make_client(auth=auth, transport=counting)
    await client.get_workflow(ECHO)
    fault_emulator.reset()
    await asyncio.gather(*(client.get_workflow(ECHO) for _ in range(10)))
    # Only the first invalidate drops the token; the others see it was replaced already.
    assert len(_token_requests(counting)) == 2


async def test_pat_4100_is_not_retried(make_client: MakeClient,
                                       counting: CountingTransport) -> None:
    client = make_client(auth=PATAuth("pat_nope"), transport=counting)
    with pytest.raises(CozeAuthError) as info:
        await client.run_workflow(ECHO, {"input": "x"})
    assert info.value.code == 4100 and len(counting.requests) == 1


async def test_jwt_4100_after_refresh_is_raised() -> None:
    """A fresh token rejected again: exactly one refresh and one retry, then the error."""

    async def behaviour(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.path == TOKEN_PATH:
            expires = int(time.time()) + 900
            await write(writer, json_response({"access_token": f"czs_{len(server.requests)}",
                                               "expires_in": expires}))
        else:
            await write(writer, json_response({"code": 4100, "msg": "authentication is invalid"},
                                              status=401))

    server = RawServer(behaviour)
    config = OAuthJWTConfig(app_id=SANDBOX_OAUTH_APP_ID, key_id=SANDBOX_OAUTH_KEY_ID,
                            private_key=sandbox_private_key())
    async with server, CozeClient(server.url, JWTAuth(config, server.url)) as client:
        with pytest.raises(CozeAuthError) as info:
            await client.run_workflow(ECHO)
    assert info.value.code == 4100
    assert [r.path for r in server.requests] == [TOKEN_PATH, "/v1/workflow/run", TOKEN_PATH,
                                                 "/v1/workflow/run"]


async def test_wrong_private_key_fails_the_exchange(
        make_client: MakeClient, emu_url: str, counting: CountingTransport) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    config = OAuthJWTConfig(app_id=SANDBOX_OAUTH_APP_ID, key_id=SANDBOX_OAUTH_KEY_ID,
                            private_key=pem)
    client = make_client(auth=JWTAuth(config, emu_url), transport=counting)
    with pytest.raises(CozeAuthError) as info:
        await client.run_workflow(ECHO, {"input": "x"})
    assert info.value.oauth_error and info.value.code is None
    assert counting.paths() == [TOKEN_PATH]  # the run itself was never sent


async def test_unsigned_garbage_key_is_an_auth_error(emu_url: str) -> None:
    config = OAuthJWTConfig(app_id="1", key_id="k", private_key="not a pem")
    async with CozeClient(emu_url, JWTAuth(config, emu_url)) as client:
        with pytest.raises(CozeAuthError):
            await client.list_workspaces()


async def test_from_settings_picks_jwt_or_pat(emu_url: str,
                                              jwt_config: OAuthJWTConfig) -> None:
    pat = CozeClient.from_settings(CozeApiSettings(base_url=emu_url,
                                                   api_token=SANDBOX_TOKEN, timeout=42))
    both = CozeClient.from_settings(CozeApiSettings(base_url=emu_url,
                                                    api_token=SANDBOX_TOKEN,
                                                    oauth_jwt=jwt_config))
    async with pat, both:
        assert isinstance(pat.auth, PATAuth) and isinstance(both.auth, JWTAuth)
        assert pat.timeouts.run == 42 and pat.timeouts.connect == 5
        assert pat.retry.max_retries == 3
        assert (await both.list_workspaces()).workspaces
        assert (await pat.list_workspaces()).workspaces


async def test_no_token_in_logs(make_client: MakeClient, jwt_config: OAuthJWTConfig,
                                emu_url: str, fault_emulator: EmulatorServer,
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    auth = JWTAuth(jwt_config, emu_url)
    client = make_client(auth=auth)
    await client.get_workflow(ECHO)
    fault_emulator.reset()
    await client.get_workflow(ECHO)  # 4100 → refresh (logged)
    bad = make_client(auth=PATAuth("pat_secret_value"),
                      headers={"X-Emulator-Fault": "http=503"})
    with pytest.raises(Exception):  # noqa: B017 - any error; only the log text matters
        await bad.list_workspaces()
    text = caplog.text
    assert "refreshing" in text and "retry" in text
    for secret in ("czs_", "pat_secret", "pat_sandbox", "Bearer"):
        assert secret not in text


async def test_token_exchange_retried_with_a_fresh_jwt_each_time() -> None:
    """A 503 on the token endpoint is retried (minting is idempotent), each with a new jti;
    an ``expires_in`` that is clearly a duration is read as one."""

    async def behaviour(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        token_calls = [r for r in server.requests if r.path == TOKEN_PATH]
        if request.path == TOKEN_PATH and len(token_calls) <= 2:
            await write(writer, json_response({"code": 5000, "msg": "busy"}, status=503))
        elif request.path == TOKEN_PATH:
            await write(writer, json_response({"access_token": "czs_ok", "expires_in": 900}))
        else:
            await write(writer, json_response({"code": 0, "msg": "", "data": {
                "workspaces": [], "total_count": 0}}))

    server = RawServer(behaviour)
    config = OAuthJWTConfig(app_id=SANDBOX_OAUTH_APP_ID, key_id=SANDBOX_OAUTH_KEY_ID,
                            private_key=sandbox_private_key())
    async with server, CozeClient(server.url, JWTAuth(config, server.url),
                                  retry_policy=FAST_RETRY) as client:
        await client.list_workspaces()
        auth = client.auth
        assert isinstance(auth, JWTAuth) and auth.cached_token is not None
        assert abs(auth.cached_token.expires_at - (time.time() + 900)) < 10
    token_calls = [r for r in server.requests if r.path == TOKEN_PATH]
    assert len(token_calls) == 3
    jtis = {jwt.decode(r.headers["authorization"].removeprefix("Bearer "),
                       options={"verify_signature": False})["jti"] for r in token_calls}
    assert len(jtis) == 3
    assert server.requests[-1].headers["authorization"] == "Bearer czs_ok"
