"""Who may use the admin API, and how its errors look."""

from __future__ import annotations

import httpx
import pytest

from tests.admin.helpers import admin, error_of
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def test_no_key_and_bad_key_are_401(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        missing = await http.get("/api/admin/users")
        bad = await http.get("/api/admin/users",
                             headers={"Authorization": "Bearer sk-" + "x" * 48})
    assert missing.status_code == 401 and error_of(missing)["code"] == "invalid_api_key"
    assert bad.status_code == 401 and error_of(bad)["code"] == "invalid_api_key"


async def test_non_admin_key_is_403_admin_required(gateway: Gateway) -> None:
    _, key = await gateway.create_user("carol", "1")
    async with admin(gateway, key) as http:
        for method, path in (("GET", "/users"), ("GET", "/channels"), ("PUT", "/prices/*"),
                             ("GET", "/usage/export.csv"), ("POST", "/channels/1/test")):
            response = await http.request(method, path)
            assert response.status_code == 403, (method, path)
            error = error_of(response)
            assert error["code"] == "admin_required" and error["message"]


async def test_admin_key_gets_in(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        response = await http.get("/users")
    assert response.status_code == 200
    assert [u["name"] for u in response.json()["items"]] == ["admin"]


async def test_validation_errors_are_400_in_the_admin_shape(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        float_amount = await http.post("/users/1/top-ups", json={"amount": 12.5,
                                                                 "reason": "x"})
        too_precise = await http.post("/users/1/top-ups", json={"amount": "0.0000001",
                                                                "reason": "x"})
        no_reason = await http.post("/users/1/top-ups", json={"amount": "1"})
        unknown_field = await http.post("/users/1/top-ups",
                                        json={"amount": "1", "reason": "x", "amout": "2"})
        bad_time = await http.get("/usage", params={"since": "yesterday"})
        bad_limit = await http.get("/users", params={"limit": 0})
        bad_json = await http.post("/users", content=b"{nope",
                                   headers={"Content-Type": "application/json"})
    for response, param in ((float_amount, "amount"), (too_precise, "amount"),
                            (no_reason, "reason"), (unknown_field, "amout"),
                            (bad_time, "query.since"), (bad_limit, "query.limit")):
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["code"] == "invalid_request" and error["param"] == param, error
    assert "decimal string" in error_of(float_amount)["message"]
    assert bad_json.status_code == 400 and error_of(bad_json)["code"] == "invalid_request"


async def test_unknown_ids_are_404_with_a_specific_code(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user = await http.get("/users/999")
        key = await http.patch("/keys/999", json={"enabled": False})
        channel = await http.post("/channels/999/test")
        price = await http.get("/prices/nothing-here")
        group = await http.patch("/groups/nope", json={"ratio": "2"})
    assert [r.status_code for r in (user, key, channel, price, group)] == [404] * 5
    assert [error_of(r)["code"] for r in (user, key, channel, price, group)] == [
        "user_not_found", "key_not_found", "channel_not_found", "price_not_found",
        "group_not_found"]
