"""Keys over the admin API: the raw key once, then hints; changes reach auth at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.admin.helpers import admin, cost_of, error_of, story
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def _user(http, name: str, balance: str = "1") -> int:
    user = (await http.post("/users", json={"name": name})).json()
    await http.post(f"/users/{user['id']}/top-ups", json={"amount": balance, "reason": "t"})
    return user["id"]


async def test_created_key_is_shown_once_and_works(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user_id = await _user(http, "ivy")
        created = await http.post("/keys", json={"user_id": user_id, "name": "laptop",
                                                 "quota": "0.5", "rpm_limit": 60})
        assert created.status_code == 201, created.text
        key = created.json()
        raw = key["key"]
        assert raw.startswith("sk-") and len(raw) == 51 and key["hint"] == raw[-4:]
        assert (key["status"], key["quota"], key["quota_micros"]) == ("active", "0.500000",
                                                                      500_000)

        listed = await http.get("/keys", params={"user_id": user_id})
        shown = await http.get(f"/keys/{key['id']}")
        for response in (listed, shown):
            assert raw not in response.text and raw[3:20] not in response.text
            assert "key_hash" not in response.text
        assert "key" not in shown.json() and shown.json()["hint"] == raw[-4:]
        assert listed.json()["total"] == 1

        answer = await story(gateway, raw)
        assert answer.status_code == 200, answer.text
        cost = cost_of(answer)
        after = (await http.get(f"/keys/{key['id']}")).json()
        assert after["used_micros"] == cost and after["quota_micros"] == 500_000 - cost
        assert after["last_used_at"] is not None
        user = (await http.get(f"/users/{user_id}")).json()
        assert user["balance_micros"] == 1_000_000 - cost


async def test_disabling_a_key_refuses_it_and_enabling_restores_it(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user_id = await _user(http, "jack")
        key = (await http.post("/keys", json={"user_id": user_id, "name": "k"})).json()
        assert (await story(gateway, key["key"])).status_code == 200  # cached from here on
        disabled = await http.patch(f"/keys/{key['id']}", json={"enabled": False})
        assert disabled.json()["status"] == "disabled"
        refused = await story(gateway, key["key"])
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "key_disabled"
        await http.patch(f"/keys/{key['id']}", json={"enabled": True})
        assert (await story(gateway, key["key"])).status_code == 200


async def test_update_expiry_quota_and_allowlist(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user_id = await _user(http, "kate")
        key = (await http.post("/keys", json={"user_id": user_id, "name": "k"})).json()
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        expired = (await http.patch(f"/keys/{key['id']}", json={"expires_at": past})).json()
        assert expired["status"] == "expired"
        refused = await story(gateway, key["key"])
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "key_expired"
        cleared = (await http.patch(f"/keys/{key['id']}", json={"expires_at": None})).json()
        assert cleared["status"] == "active" and cleared["expires_at"] is None

        only_echo = await http.patch(f"/keys/{key['id']}", json={
            "allowed_models": ["7500000000000001001"], "name": "echo-only"})
        assert only_echo.json()["allowed_models"] == ["7500000000000001001"]
        assert only_echo.json()["name"] == "echo-only"
        refused = await story(gateway, key["key"])
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "model_not_allowed"
        await http.patch(f"/keys/{key['id']}", json={"allowed_models": None})

        exhausted = (await http.patch(f"/keys/{key['id']}", json={"quota": "0"})).json()
        assert exhausted["status"] == "exhausted" and exhausted["quota"] == "0.000000"
        refused = await story(gateway, key["key"])
        assert refused.status_code == 429
        unlimited = (await http.patch(f"/keys/{key['id']}", json={"quota": None})).json()
        assert unlimited["quota"] is None and unlimited["status"] == "active"
        assert (await story(gateway, key["key"])).status_code == 200

        naive = await http.patch(f"/keys/{key['id']}", json={"expires_at": "2030-01-01T00:00"})
        assert naive.status_code == 400 and error_of(naive)["param"] == "expires_at"
        bad_ip = await http.patch(f"/keys/{key['id']}", json={"allowed_ips": ["10.0.0.300"]})
        assert bad_ip.status_code == 400


async def test_revoked_key_is_gone(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user_id = await _user(http, "liam")
        key = (await http.post("/keys", json={"user_id": user_id, "name": "k"})).json()
        assert (await story(gateway, key["key"])).status_code == 200
        assert (await http.delete(f"/keys/{key['id']}")).status_code == 204
        refused = await story(gateway, key["key"])
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert (await http.get(f"/keys/{key['id']}")).status_code == 404
        assert (await http.delete(f"/keys/{key['id']}")).status_code == 404


async def test_key_listing_pages_and_unknown_user(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user_id = await _user(http, "mia")
        for name in ("a", "b", "c"):
            await http.post("/keys", json={"user_id": user_id, "name": name})
        page = (await http.get("/keys", params={"offset": 1, "limit": 1})).json()
        assert page["total"] == 4  # admin's key + mia's three
        assert [k["name"] for k in page["items"]] == ["a"]
        mine = (await http.get("/keys", params={"user_id": user_id, "limit": 2})).json()
        assert mine["total"] == 3 and [k["name"] for k in mine["items"]] == ["a", "b"]
        missing = await http.post("/keys", json={"user_id": 999, "name": "x"})
        assert missing.status_code == 404 and error_of(missing)["code"] == "user_not_found"
        float_quota = await http.post("/keys", json={"user_id": user_id, "name": "x",
                                                     "quota": 0.5})
        assert float_quota.status_code == 400 and error_of(float_quota)["param"] == "quota"
        negative = await http.post("/keys", json={"user_id": user_id, "name": "x",
                                                  "quota": "-1"})
        assert negative.status_code == 400 and "negative" in error_of(negative)["message"]
