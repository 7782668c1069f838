"""Prices over the admin API; a price set is the next call's exact charge."""

from __future__ import annotations

import pytest

from tests.admin.helpers import STORY, admin, cost_of, error_of, story
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def _balance(http) -> int:
    return (await http.get("/users", params={"name": "admin"})).json()["items"][0][
        "balance_micros"]


async def test_price_crud(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        default = (await http.get("/prices/*")).json()
        assert (default["kind"], default["input_price_per_1k"], default["output_price_per_1k"]) \
            == ("tokens", "0.001", "0.002")
        assert default["input_price_micros_per_1m"] == 1_000_000 and default["fixed_price"] is None

        model = "coze-workflow/7500000000000001001"  # a target with a slash, in the path
        set_ = await http.put(f"/prices/{model}", json={"fixed_price": "0.05"})
        assert set_.status_code == 200, set_.text
        assert (set_.json()["target"], set_.json()["kind"]) == (model, "fixed")
        assert (set_.json()["fixed_price"], set_.json()["fixed_price_micros"]) == ("0.050000",
                                                                                  50_000)
        assert set_.json()["input_price_per_1k"] is None
        replaced = await http.put(f"/prices/{model}", json={"input_price_per_1k": "0.0375",
                                                            "output_price_per_1k": "1"})
        assert replaced.json()["kind"] == "tokens"
        assert replaced.json()["input_price_per_1k"] == "0.0375"
        assert replaced.json()["output_price_micros_per_1m"] == 1_000_000_000

        listed = (await http.get("/prices")).json()
        assert [p["target"] for p in listed["items"]] == ["*", model] and listed["total"] == 2
        assert (await http.delete(f"/prices/{model}")).status_code == 204
        assert (await http.get(f"/prices/{model}")).status_code == 404
        assert (await http.delete(f"/prices/{model}")).status_code == 404

        both = await http.put("/prices/x", json={"fixed_price": "1", "input_price_per_1k": "1"})
        neither = await http.put("/prices/x", json={})
        as_float = await http.put("/prices/x", json={"input_price_per_1k": 0.001})
        negative = await http.put("/prices/x", json={"fixed_price": "-1"})
        for response in (both, neither, as_float, negative):
            assert response.status_code == 400, response.text
            assert error_of(response)["code"] == "invalid_request"


async def test_a_token_price_set_is_the_next_calls_exact_charge(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        await http.put(f"/prices/{STORY}", json={"input_price_per_1k": "0.01",
                                                 "output_price_per_1k": "0.03"})
        before = await _balance(http)
        answer = await story(gateway, gateway.admin_key)
        assert answer.status_code == 200
        # 0.01 / 1K = 10 micros a token in, 0.03 / 1K = 30 out
        assert before - await _balance(http) == cost_of(answer, 10_000_000, 30_000_000)
        row = (await http.get("/usage", params={"limit": 1})).json()["items"][0]
        assert (row["input_price_per_1k"], row["output_price_per_1k"]) == ("0.01", "0.03")


async def test_fixed_and_disabled_prices(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        await http.put(f"/prices/{STORY}", json={"fixed_price": "0.25"})
        before = await _balance(http)
        assert (await story(gateway, gateway.admin_key)).status_code == 200
        assert before - await _balance(http) == 250_000

        # A disabled price is skipped: the default price applies again.
        off = await http.put(f"/prices/{STORY}", json={"fixed_price": "0.25", "enabled": False})
        assert off.json()["enabled"] is False
        before = await _balance(http)
        answer = await story(gateway, gateway.admin_key)
        assert before - await _balance(http) == cost_of(answer)

        # No price at all: the call is refused, nothing charged.
        await http.delete("/prices/*")
        before = await _balance(http)
        refused = await story(gateway, gateway.admin_key)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "price_not_configured"
        assert await _balance(http) == before
