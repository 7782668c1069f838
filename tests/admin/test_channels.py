"""Channels over the admin API: CRUD without secrets, switch + events, test, relay refresh."""

from __future__ import annotations

import pytest

from tests.admin.helpers import admin, error_of, story
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db

EMULATOR = "emulator://sandbox"
SECRET = "pat_secret_value_1234"


async def test_channel_crud_never_returns_the_secret(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        created = await http.post("/channels", json={
            "name": "second", "base_url": EMULATOR, "token": SECRET, "priority": 5,
            "weight": 3, "targets": ["7500000000000001001"]})
        assert created.status_code == 201, created.text
        channel = created.json()
        assert SECRET not in created.text and "ciphertext" not in created.text
        assert channel["auth_type"] == "pat" and channel["secret_hint"] == "…1234"
        assert (channel["status"], channel["priority"], channel["weight"]) == ("enabled", 5, 3)
        listed = (await http.get("/channels")).json()
        assert [c["name"] for c in listed["items"]] == ["sandbox", "second"]
        assert listed["total"] == 2 and SECRET not in str(listed)
        assert (await http.get("/channels", params={"name": "second"})).json()["total"] == 1
        paged = (await http.get("/channels", params={"offset": 1, "limit": 1})).json()
        assert [c["name"] for c in paged["items"]] == ["second"] and paged["total"] == 2

        updated = await http.patch(f"/channels/{channel['id']}",
                                   json={"priority": 9, "targets": None, "token": "pat_new_9876"})
        assert updated.status_code == 200, updated.text
        assert updated.json()["priority"] == 9 and updated.json()["targets"] is None
        assert updated.json()["secret_hint"] == "…9876"
        shown = (await http.get(f"/channels/{channel['id']}")).json()
        assert shown["priority"] == 9

        duplicate = await http.post("/channels", json={"name": "second", "base_url": EMULATOR,
                                                       "token": SECRET})
        assert duplicate.status_code == 409
        assert error_of(duplicate)["code"] == "channel_name_taken"
        no_secret = await http.post("/channels", json={"name": "third", "base_url": EMULATOR})
        assert no_secret.status_code == 400 and "token" in error_of(no_secret)["message"]
        bad_switch = await http.patch(f"/channels/{channel['id']}",
                                      json={"auth_type": "oauth_jwt"})
        assert bad_switch.status_code == 400

        removed = await http.delete(f"/channels/{channel['id']}")
        assert removed.status_code == 204
        assert (await http.get(f"/channels/{channel['id']}")).status_code == 404
        assert (await http.get("/channels")).json()["total"] == 1


async def test_disable_and_enable_reach_the_relay_and_are_logged(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        sandbox = (await http.get("/channels", params={"name": "sandbox"})).json()["items"][0]
        assert sandbox["secret_hint"] == "…"  # a short token shows nothing of itself
        disabled = await http.post(f"/channels/{sandbox['id']}/disable",
                                   json={"reason": "maintenance"})
        assert disabled.json()["status"] == "disabled"
        refused = await story(gateway, gateway.admin_key)
        assert refused.status_code == 503  # no enabled channel serves it

        enabled = await http.post(f"/channels/{sandbox['id']}/enable")  # no body needed
        assert enabled.json()["status"] == "enabled"
        assert (await story(gateway, gateway.admin_key)).status_code == 200

        events = (await http.get(f"/channels/{sandbox['id']}/events")).json()
        assert [(e["kind"], e["message"]) for e in events["items"]] == [
            ("disabled", "maintenance"), ("enabled", "")]


async def test_auto_disabled_channel_shows_status_and_event(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        sandbox = (await http.get("/channels")).json()["items"][0]
        async with gateway.session() as session:
            for _ in range(gateway.runtime.channels.failure_threshold):
                await gateway.runtime.channels.record_failure(session, sandbox["id"], "boom")
        shown = (await http.get(f"/channels/{sandbox['id']}")).json()
        assert shown["status"] == "auto_disabled" and shown["last_error"] == "boom"
        events = (await http.get(f"/channels/{sandbox['id']}/events")).json()["items"]
        assert events[0]["kind"] == "auto_disabled" and "boom" in events[0]["message"]
        enabled = (await http.post(f"/channels/{sandbox['id']}/enable")).json()
        assert enabled["status"] == "enabled" and enabled["consecutive_failures"] == 0


async def test_channel_test_ok_on_the_sandbox(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        sandbox = (await http.get("/channels")).json()["items"][0]
        result = await http.post(f"/channels/{sandbox['id']}/test")
    assert result.status_code == 200
    body = result.json()
    assert body["ok"] is True and body["error"] is None
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0


async def test_channel_test_reports_the_coze_error_of_a_bad_token(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        bad = (await http.post("/channels", json={
            "name": "bad-token", "base_url": EMULATOR, "token": "pat_wrong_token_0000",
            "enabled": False})).json()
        result = (await http.post(f"/channels/{bad['id']}/test")).json()
        after = (await http.get(f"/channels/{bad['id']}")).json()
    assert result["ok"] is False
    assert result["error"]["code"] == 4100 and result["error"]["msg"]
    assert result["error"]["logid"]
    # A test is not traffic: it does not count towards auto-disable.
    assert after["consecutive_failures"] == 0 and after["status"] == "disabled"


async def test_channel_test_reports_an_unreachable_host(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        dead = (await http.post("/channels", json={
            "name": "dead", "base_url": "http://127.0.0.1:9", "token": "pat_whatever_0000",
            "enabled": False})).json()
        result = (await http.post(f"/channels/{dead['id']}/test")).json()
    assert result["ok"] is False
    assert result["error"]["code"] == "upstream_connect_error" and result["error"]["logid"] is None
