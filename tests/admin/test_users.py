"""Users, groups, balances and the ledger over the admin API, with exact amounts."""

from __future__ import annotations

import pytest

from tests.admin.helpers import SANDBOX_BALANCE, admin, cost_of, error_of, story
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db


async def test_user_crud_and_lookup_by_name(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        created = await http.post("/users", json={"name": "alice", "email": "a@example.com"})
        assert created.status_code == 201, created.text
        alice = created.json()
        assert alice["balance"] == "0.000000" and alice["balance_micros"] == 0
        assert (alice["group"], alice["group_ratio"], alice["is_admin"]) == ("default", "1",
                                                                             False)
        assert (await http.get(f"/users/{alice['id']}")).json() == alice
        found = (await http.get("/users", params={"name": "alice"})).json()
        assert found["total"] == 1 and found["items"][0]["id"] == alice["id"]
        assert (await http.get("/users", params={"name": "nobody"})).json()["total"] == 0
        listing = (await http.get("/users", params={"offset": 1, "limit": 1})).json()
        assert listing["total"] == 2 and [u["name"] for u in listing["items"]] == ["alice"]

        taken = await http.post("/users", json={"name": "alice"})
        assert taken.status_code == 409 and error_of(taken)["code"] == "name_taken"
        no_group = await http.post("/users", json={"name": "bob", "group": "vip"})
        assert no_group.status_code == 404 and error_of(no_group)["code"] == "group_not_found"


async def test_groups_and_a_ratio_change_applies_to_the_next_call(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        group = await http.post("/groups", json={"name": "vip", "ratio": "1.5",
                                                 "description": "half again"})
        assert group.status_code == 201, group.text
        assert group.json()["ratio"] == "1.5" and group.json()["ratio_ppm"] == 1_500_000
        user = (await http.post("/users", json={"name": "dora", "group": "vip"})).json()
        await http.post(f"/users/{user['id']}/top-ups", json={"amount": "1", "reason": "t"})
        key = (await http.post("/keys", json={"user_id": user["id"], "name": "k"})).json()

        first = await story(gateway, key["key"])
        charged = 1_000_000 - (await http.get(f"/users/{user['id']}")).json()["balance_micros"]
        assert charged == cost_of(first, ratio_ppm=1_500_000) > cost_of(first)

        changed = await http.patch("/groups/vip", json={"ratio": "2"})
        assert changed.json()["ratio"] == "2"
        second = await story(gateway, key["key"])  # the cached key record had ratio 1.5
        after = (await http.get(f"/users/{user['id']}")).json()["balance_micros"]
        assert 1_000_000 - charged - after == 2 * cost_of(second)

        names = [g["name"] for g in (await http.get("/groups")).json()["items"]]
        assert names == ["default", "vip"]
        assert (await http.get("/groups/vip")).json()["ratio_ppm"] == 2_000_000
        negative = await http.post("/groups", json={"name": "neg", "ratio": "-1"})
        assert negative.status_code == 400


async def test_top_up_with_reason_appears_in_the_ledger_exactly(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user = (await http.post("/users", json={"name": "erin"})).json()
        top_up = await http.post(f"/users/{user['id']}/top-ups",
                                 json={"amount": "12.5", "reason": "invoice 42"})
        assert top_up.status_code == 201, top_up.text
        entry = top_up.json()
        assert (entry["kind"], entry["reason"]) == ("top_up", "invoice 42")
        assert (entry["amount"], entry["amount_micros"]) == ("12.500000", 12_500_000)
        assert (entry["balance_after"], entry["balance_after_micros"]) == ("12.500000",
                                                                          12_500_000)
        adjusted = await http.post(f"/users/{user['id']}/adjustments",
                                   json={"amount": "-0.25", "reason": "goodwill reversal"})
        assert adjusted.status_code == 201
        assert adjusted.json()["amount_micros"] == -250_000
        assert adjusted.json()["balance_after"] == "12.250000"
        too_much = await http.post(f"/users/{user['id']}/adjustments",
                                   json={"amount": "-100", "reason": "x"})
        assert too_much.status_code == 402
        assert error_of(too_much)["code"] == "insufficient_balance"
        assert (await http.post(f"/users/{user['id']}/top-ups",
                                json={"amount": "0", "reason": "x"})).status_code == 400
        assert (await http.post(f"/users/{user['id']}/top-ups",
                                json={"amount": "-1", "reason": "x"})).status_code == 400

        ledger = (await http.get(f"/users/{user['id']}/ledger")).json()
        assert ledger["total"] == 2
        assert [(e["kind"], e["amount"], e["reason"]) for e in ledger["items"]] == [
            ("adjust", "-0.250000", "goodwill reversal"),
            ("top_up", "12.500000", "invoice 42")]
        oldest = (await http.get(f"/users/{user['id']}/ledger",
                                 params={"order": "asc", "limit": 1})).json()
        assert oldest["total"] == 2 and oldest["items"][0]["kind"] == "top_up"
        shown = (await http.get(f"/users/{user['id']}")).json()
        assert (shown["balance"], shown["balance_micros"]) == ("12.250000", 12_250_000)


async def test_top_up_idempotency_key_books_once(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        user = (await http.post("/users", json={"name": "fred"})).json()
        other = (await http.post("/users", json={"name": "gina"})).json()
        body = {"amount": "3", "reason": "wire 7", "idempotency_key": "wire-7"}
        first = (await http.post(f"/users/{user['id']}/top-ups", json=body)).json()
        again = (await http.post(f"/users/{user['id']}/top-ups", json=body)).json()
        elsewhere = (await http.post(f"/users/{other['id']}/top-ups", json=body)).json()
        assert again["id"] == first["id"] and elsewhere["id"] != first["id"]
        assert (await http.get(f"/users/{user['id']}")).json()["balance_micros"] == 3_000_000
        assert (await http.get(f"/users/{other['id']}")).json()["balance_micros"] == 3_000_000


async def test_a_call_shows_in_the_ledger_as_reserve_and_settle(gateway: Gateway) -> None:
    async with admin(gateway) as http:
        me = (await http.get("/users", params={"name": "admin"})).json()["items"][0]
        cost = cost_of(await story(gateway, gateway.admin_key))
        ledger = (await http.get(f"/users/{me['id']}/ledger", params={"order": "asc"})).json()
    kinds = [e["kind"] for e in ledger["items"]]
    assert kinds == ["top_up", "reserve", "settle"]
    assert sum(e["amount_micros"] for e in ledger["items"]) == SANDBOX_BALANCE - cost
    assert ledger["items"][-1]["balance_after_micros"] == SANDBOX_BALANCE - cost


async def test_disabling_a_user_refuses_its_keys_at_once(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("hank", "1")
    assert (await story(gateway, key)).status_code == 200  # the key record is now cached
    async with admin(gateway) as http:
        disabled = await http.patch(f"/users/{user_id}", json={"enabled": False})
        assert disabled.json()["enabled"] is False
        refused = await story(gateway, key)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "user_disabled"
        await http.patch(f"/users/{user_id}", json={"enabled": True})
        assert (await story(gateway, key)).status_code == 200
