"""PAT and OAuth JWT authentication (spec §3), mostly in-process for speed."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cozepy import Coze, CozeAPIError, JWTOAuthApp, TokenAuth
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cozegate.emulator import create_emulator_app
from cozegate.emulator.auth import JWT_GRANT, TOKEN_PATH
from cozegate.emulator.config import parse_oauth_app_flag
from cozegate.errors import ConfigError
from tests.fixtures_emulator import (
    IN_PROCESS_BASE_URL,
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_PRIVATE_KEY,
    SANDBOX_TOKEN,
    catalog,
    emulator_test_config,
)

AUD = "emulator"  # the Host header of IN_PROCESS_BASE_URL


def make_jwt(*, key: str = SANDBOX_PRIVATE_KEY, kid: str = SANDBOX_OAUTH_KEY_ID,
             iss: str = SANDBOX_OAUTH_APP_ID, aud: str = AUD, exp_in: int = 3600,
             **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"iss": iss, "aud": aud, "iat": now, "exp": now + exp_in,
                               "jti": uuid.uuid4().hex}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=IN_PROCESS_BASE_URL)


async def exchange(client: httpx.AsyncClient, token: str, **body: Any) -> httpx.Response:
    payload = {"duration_seconds": 900, "grant_type": JWT_GRANT, "scope": None, **body}
    return await client.post(TOKEN_PATH, json=payload,
                             headers={"Authorization": f"Bearer {token}"})


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pat_wrong"},
                                     {"Authorization": "Basic cGF0X3NhbmRib3g="}])
async def test_bad_or_missing_token_is_4100(emulator_app: Any, headers: dict) -> None:
    async with client_for(emulator_app) as client:
        response = await client.get("/v1/workspaces", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert (body["code"], body["msg"]) == (4100, "authentication is invalid")
    assert body["detail"]["logid"] == response.headers["x-tt-logid"]


async def test_stream_auth_error_is_json(emulator_app: Any) -> None:
    async with client_for(emulator_app) as client:
        response = await client.post("/v1/workflow/stream_run",
                                     json={"workflow_id": catalog.STORY})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == 4100


async def test_configured_tokens_and_no_sandbox() -> None:
    app = create_emulator_app(emulator_test_config(tokens=["pat_mine"], sandbox=False))
    async with client_for(app) as client:
        ok = await client.get("/v1/workspaces", headers={"Authorization": "Bearer pat_mine"})
        refused = await client.get("/v1/workspaces",
                                   headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})
        jwt_refused = await exchange(client, make_jwt())
    assert ok.json()["code"] == 0
    assert refused.json()["code"] == 4100
    assert jwt_refused.status_code == 401 and "unknown kid" in jwt_refused.json()["error_message"]


async def test_jwt_exchange_and_token_use(emulator_app: Any) -> None:
    async with client_for(emulator_app) as client:
        response = await exchange(client, make_jwt(), duration_seconds=1000)
        body = response.json()
        assert response.status_code == 200 and body["access_token"].startswith("czs_")
        assert abs(body["expires_in"] - (time.time() + 1000)) < 3
        ok = await client.get("/v1/workspaces",
                              headers={"Authorization": f"Bearer {body['access_token']}"})
        assert ok.json()["code"] == 0
        # expired tokens stop working
        emulator_app.state.emulator.access_tokens[body["access_token"]] = time.time() - 1
        expired = await client.get("/v1/workspaces",
                                   headers={"Authorization": f"Bearer {body['access_token']}"})
        assert expired.json()["code"] == 4100


async def test_duration_is_capped(emulator_app: Any) -> None:
    async with client_for(emulator_app) as client:
        body = (await exchange(client, make_jwt(), duration_seconds=10**7)).json()
    assert body["expires_in"] <= int(time.time()) + 86399


async def test_jti_replay_is_rejected(emulator_app: Any) -> None:
    token = make_jwt()
    async with client_for(emulator_app) as client:
        first = await exchange(client, token)
        second = await exchange(client, token)
    assert first.status_code == 200
    assert second.status_code == 401
    body = second.json()
    assert set(body) == {"error_code", "error_message", "error"}
    assert "jti" in body["error_message"]


@pytest.mark.parametrize("bad", [
    {"exp_in": -10},
    {"aud": "api.coze.com"},
    {"iss": "someone-else"},
    {"kid": "unknown-key"},
    {"jti": None},
])
async def test_bad_jwts_are_rejected(emulator_app: Any, bad: dict) -> None:
    async with client_for(emulator_app) as client:
        response = await exchange(client, make_jwt(**bad))
    assert response.status_code == 401
    assert response.json()["error_message"]


async def test_wrong_signature_and_garbage(emulator_app: Any) -> None:
    other_private, _ = rsa_pair()
    async with client_for(emulator_app) as client:
        forged = await exchange(client, make_jwt(key=other_private))
        garbage = await exchange(client, "not-a-jwt")
        bad_grant = await exchange(client, make_jwt(), grant_type="password")
    assert forged.status_code == 401 and "Signature" in forged.json()["error_message"]
    assert garbage.status_code == 401
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "grant_type"


async def test_configured_audience_and_app(tmp_path: Path) -> None:
    private, public = rsa_pair()
    pem = tmp_path / "app.pem"
    pem.write_text(public)
    app_config = parse_oauth_app_flag(f"4242:kid-1:{pem}")
    app = create_emulator_app(emulator_test_config(oauth_apps=[app_config],
                                                   jwt_audiences=["api.coze.cn"]))
    async with client_for(app) as client:
        ok = await exchange(client, make_jwt(key=private, kid="kid-1", iss="4242",
                                             aud="api.coze.cn"))
        own_host = await exchange(client, make_jwt(key=private, kid="kid-1", iss="4242"))
    assert ok.status_code == 200 and own_host.status_code == 200


def test_oauth_app_flag_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        parse_oauth_app_flag("only:two")
    with pytest.raises(ConfigError):
        parse_oauth_app_flag(f"1:k:{tmp_path / 'missing.pem'}")


def test_cozepy_sees_oauth_errors(emulator_url: str) -> None:
    other_private, _ = rsa_pair()
    app = JWTOAuthApp(client_id=SANDBOX_OAUTH_APP_ID, private_key=other_private,
                      public_key_id=SANDBOX_OAUTH_KEY_ID, base_url=emulator_url)
    with pytest.raises(CozeAPIError) as info:
        app.get_access_token(ttl=900)
    assert info.value.code is None and "Signature" in info.value.msg


def test_cozepy_default_jwt_aud_is_netloc(emulator_url: str) -> None:
    app = JWTOAuthApp(client_id=SANDBOX_OAUTH_APP_ID, private_key=SANDBOX_PRIVATE_KEY,
                      public_key_id=SANDBOX_OAUTH_KEY_ID, base_url=emulator_url)
    token = app.get_access_token(ttl=60)
    coze = Coze(auth=TokenAuth(token.access_token), base_url=emulator_url)
    assert coze.workflows.retrieve(workflow_id=catalog.ECHO).workflow_detail.workflow_id

