"""The web console over real HTTP: sign-in, the pages, and every change it can make, checked
against the admin API (the same services) with exact amounts."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import update

from cozegate.models import Run, UsageLog
from tests.admin.helpers import admin, cost_of, story
from tests.fixtures_emulator import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_PRIVATE_KEY,
    catalog,
)
from tests.fixtures_gateway import Gateway
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db

RAW_KEY = re.compile(r"sk-[A-Za-z0-9_-]{20,}")


def console(gateway: Gateway, origin: str | None = None) -> httpx.AsyncClient:
    """A browser-like client: keeps the cookie, posts forms with the console's Origin."""
    return httpx.AsyncClient(base_url=f"{gateway.url}/console", timeout=30,
                             headers={"Origin": origin or gateway.url})


@asynccontextmanager
async def signed_in(gateway: Gateway, key: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    async with console(gateway) as client:
        answer = await client.post("/login", data={"key": key or gateway.admin_key})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].endswith("/console/overview")
        yield client


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    assert found, page.text
    return found.group(1)


async def test_pages_need_an_admin_key_and_the_cookie_is_locked_down(gateway: Gateway) -> None:
    _, user_key = await gateway.create_user("erin", "1")
    async with console(gateway) as http:
        away = await http.get("/users")
        assert away.status_code == 303 and away.headers["location"] == "/console/login"
        assert (await http.get("/login")).status_code == 200

        wrong = await http.post("/login", data={"key": "sk-nope"})
        assert wrong.status_code == 401 and "cozegate_console" not in wrong.headers.get(
            "set-cookie", "")
        not_admin = await http.post("/login", data={"key": user_key})
        assert not_admin.status_code == 403
        assert alert(not_admin) == "this key is not an admin key"
        assert (await http.get("/overview")).status_code == 303

        good = await http.post("/login", data={"key": gateway.admin_key})
        assert good.status_code == 303
        cookie = good.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=strict", "path=/console"):
            assert attribute in cookie
        for page in ("overview", "users", "keys", "channels", "prices", "usage"):
            shown = await http.get(f"/{page}")
            assert shown.status_code == 200, (page, shown.text)
            assert shown.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in shown.headers["content-security-policy"]
        assert "sandbox" in (await http.get("/channels")).text

        out = await http.post("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/console/login"
        assert (await http.get("/overview")).status_code == 303
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert not [path for path in paths if path.startswith("/console")]


async def test_a_revoked_admin_key_is_out_at_once(gateway: Gateway) -> None:
    async with admin(gateway) as api:
        boss = (await api.post("/users", json={"name": "boss", "is_admin": True})).json()
        key = (await api.post("/keys", json={"user_id": boss["id"], "name": "web"})).json()
        async with signed_in(gateway, key["key"]) as http:
            assert (await http.get("/users")).status_code == 200
            assert (await api.patch(f"/keys/{key['id']}", json={"enabled": False})
                    ).status_code == 200
            assert (await http.get("/users")).status_code == 303


async def test_forms_from_another_site_are_refused_and_change_nothing(gateway: Gateway) -> None:
    user_id, _ = await gateway.create_user("frank", "2")
    async with signed_in(gateway) as http:
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                        {"Origin": "", "Referer": ""}):
            refused = await http.post(f"/users/{user_id}/top-up", headers=headers,
                                      data={"amount": "5", "reason": "free money"})
            assert refused.status_code == 403, headers
            assert refused.json()["error"]["code"] == "cross_site_form"
        other_port = gateway.url.rsplit(":", 1)[0] + ":1"
        assert (await http.post(f"/users/{user_id}/top-up", headers={"Origin": other_port},
                                data={"amount": "5", "reason": "x"})).status_code == 403
        # Behind a TLS proxy the page is https while the gateway sees http: same host.
        tls = await http.post(f"/users/{user_id}/top-up",
                              headers={"Origin": gateway.url.replace("http:", "https:")},
                              data={"amount": "1", "reason": "tls page"})
        assert tls.status_code == 303
        # A browser that sends no Origin still sends the page it came from.
        same = await http.post(f"/users/{user_id}/top-up",
                               headers={"Origin": "", "Referer": f"{gateway.url}/console/users"},
                               data={"amount": "1", "reason": "referer"})
        assert same.status_code == 303
    assert await gateway.balance(user_id) == 4_000_000


async def test_the_cookie_is_secure_behind_a_tls_proxy(gateway: Gateway) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS): the proxy.
    async with console(gateway) as http:
        answer = await http.post("/login", data={"key": gateway.admin_key},
                                 headers={"X-Forwarded-Proto": "https"})
        assert answer.status_code == 303
        assert "secure" in answer.headers["set-cookie"].lower()
        plain = await http.post("/login", data={"key": gateway.admin_key})
        assert "secure" not in plain.headers["set-cookie"].lower()


async def test_users_top_up_and_switch_with_exact_ledger(gateway: Gateway) -> None:
    async with signed_in(gateway) as http:
        made = await http.post("/users", data={"name": "gina", "email": "g@example.com"})
        assert made.status_code == 303 and made.headers["location"].endswith(
            "/users?done=user-created")
        assert "User created." in (await http.get(gateway.url + made.headers["location"])).text
        taken = await http.post("/users", data={"name": "gina"})
        assert taken.status_code == 409 and "gina" in alert(taken)

        async with admin(gateway) as api:
            gina = (await api.get("/users", params={"name": "gina"})).json()["items"][0]
            topped = await http.post(f"/users/{gina['id']}/top-up",
                                     data={"amount": "12.5", "reason": "invoice 7"})
            assert topped.status_code == 303
            negative = await http.post(f"/users/{gina['id']}/top-up",
                                       data={"amount": "-1", "reason": "oops"})
            assert negative.status_code == 400
            assert alert(negative) == "a top-up must be positive"
            no_reason = await http.post(f"/users/{gina['id']}/top-up", data={"amount": "1"})
            assert no_reason.status_code == 400 and "reason" in alert(no_reason)
            nobody = await http.post("/users/999999/top-up",
                                     data={"amount": "1", "reason": "x"})
            assert nobody.status_code == 404

            ledger = (await api.get(f"/users/{gina['id']}/ledger")).json()
            assert [(e["kind"], e["amount"], e["reason"]) for e in ledger["items"]] == [
                ("top_up", "12.500000", "invoice 7")]
            assert "12.500000" in (await http.get("/users")).text

            off = await http.post(f"/users/{gina['id']}/enabled", data={"enabled": "false"})
            assert off.status_code == 303
            assert (await api.get(f"/users/{gina['id']}")).json()["enabled"] is False


async def test_a_new_key_is_shown_once_works_and_can_be_disabled(gateway: Gateway) -> None:
    user_id, _ = await gateway.create_user("hank", "5")
    async with signed_in(gateway) as http:
        created = await http.post("/keys", data={
            "user_id": str(user_id), "name": "web-key", "quota": "2", "rpm_limit": "30",
            "expires_in_days": "30", "allowed_models": "coze-workflow, coze-chatflow",
            "allowed_ips": ""})
        assert created.status_code == 201, created.text
        raw = RAW_KEY.findall(created.text)
        assert len(raw) == 1
        key = raw[0]
        listing = await http.get("/keys")
        assert key not in listing.text and f"sk-…{key[-4:]}" in listing.text

        async with admin(gateway) as api:
            shown = next(k for k in (await api.get("/keys", params={"user_id": user_id})
                                 ).json()["items"] if k["name"] == "web-key")
        assert (shown["quota"], shown["rpm_limit"]) == ("2.000000", 30)
        assert shown["allowed_models"] == ["coze-workflow", "coze-chatflow"]
        assert shown["expires_at"] is not None and shown["allowed_ips"] is None

        async with httpx.AsyncClient(base_url=gateway.url) as client:
            models = await client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
            assert models.status_code == 200
            off = await http.post(f"/keys/{shown['id']}/enabled", data={"enabled": "false"})
            assert off.status_code == 303
            refused = await client.get("/v1/models",
                                       headers={"Authorization": f"Bearer {key}"})
            assert refused.status_code in (401, 403)

        bad = await http.post("/keys", data={"user_id": str(user_id), "name": "x",
                                             "allowed_ips": "not-an-ip"})
        assert bad.status_code == 400 and "allowed_ips" in alert(bad)
        unknown = await http.post("/keys", data={"user_id": "999999", "name": "x"})
        assert unknown.status_code == 404


async def test_prices_usage_and_export(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("ivy", "10")
    async with signed_in(gateway) as http:
        saved = await http.post("/prices", data={"target": "coze-workflow",
                                                 "input_price_per_1k": "0.004",
                                                 "output_price_per_1k": "0.008"})
        assert saved.status_code == 303
        both = await http.post("/prices", data={"target": "x", "input_price_per_1k": "1",
                                                "fixed_price": "1"})
        assert both.status_code == 400 and "not both" in alert(both)
        no_target = await http.post("/prices", data={"fixed_price": "1"})
        assert no_target.status_code == 400
        async with admin(gateway) as api:
            price = (await api.get("/prices/coze-workflow")).json()
            assert (price["input_price_per_1k"], price["output_price_per_1k"]) == (
                "0.004", "0.008")
            assert (await api.get("/prices/x")).status_code == 404

        answer = await story(gateway, key)
        assert answer.status_code == 200, answer.text
        await gateway.booked()
        # As a browser sends the filter form: every field, the blank ones too.
        page = await http.get("/usage", params={
            "status": "success", "user_id": str(user_id), "key_id": "", "model": "",
            "workflow_id": "", "since": "", "until": ""})
        assert page.status_code == 200 and "ivy-key" in page.text
        assert "ivy-key" not in (await http.get("/usage", params={"status": "error"})).text
        bad = await http.get("/usage", params={"user_id": "ivy", "since": "yesterday"})
        assert bad.status_code == 400
        assert "user_id" in alert(bad) and "since" in alert(bad)
        assert (await http.get("/usage.csv", params={"key_id": "x"})).status_code == 400
        # A time without an offset is UTC, as on the admin API.
        later = await http.get("/usage", params={"since": "2999-01-01T00:00"})
        assert later.status_code == 200 and "ivy-key" not in later.text
        exported = await http.get("/usage.csv", params={"status": "success", "model": ""})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        lines = exported.text.strip().splitlines()
        assert lines[0].startswith("id,created_at,request_id") and len(lines) >= 2
        assert any(",ivy-key," in line for line in lines[1:])
        assert "ivy-key" in (await http.get("/overview")).text


async def test_channel_test_and_switch(gateway: Gateway) -> None:
    async with admin(gateway) as api:
        sandbox = (await api.get("/channels", params={"name": "sandbox"})).json()["items"][0]
    async with signed_in(gateway) as http:
        tested = await http.post(f"/channels/{sandbox['id']}/test")
        assert tested.status_code == 200 and "Coze answered in" in tested.text
        unknown = await http.post("/channels/999999/test")
        assert unknown.status_code == 404
        off = await http.post(f"/channels/{sandbox['id']}/enabled", data={"enabled": "false"})
        assert off.status_code == 303
        async with admin(gateway) as api:
            assert (await api.get(f"/channels/{sandbox['id']}")).json()["status"] == "disabled"
            events = (await api.get(f"/channels/{sandbox['id']}/events")).json()["items"]
            assert (events[-1]["kind"], events[-1]["message"]) == ("disabled",
                                                                  "from the web console")
        back = await http.post(f"/channels/{sandbox['id']}/enabled", data={"enabled": "true"})
        assert back.status_code == 303


async def test_a_users_page_shows_its_keys_and_ledger(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("jade", "3")
    assert (await story(gateway, key)).status_code == 200
    await gateway.booked()
    async with signed_in(gateway) as http:
        assert (await http.post(f"/users/{user_id}/top-up",
                                data={"amount": "2", "reason": "bonus <b>"})).status_code == 303
        page = await http.get(f"/users/{user_id}")
        assert page.status_code == 200
        assert f"sk-…{key[-4:]}" in page.text and "jade-key" in page.text
        # Escaped, not markup: what an operator typed is shown as text.
        assert "bonus &lt;b&gt;" in page.text and "bonus <b>" not in page.text
        async with admin(gateway) as api:
            ledger = (await api.get(f"/users/{user_id}/ledger")).json()["items"]
            balance = (await api.get(f"/users/{user_id}")).json()["balance"]
        assert (ledger[0]["kind"], ledger[0]["reason"]) == ("top_up", "bonus <b>")
        assert len(ledger) >= 3  # the first top-up, the call's charge, the bonus
        for entry in ledger:
            assert entry["amount"] in page.text
        assert balance in page.text
        missing = await http.get("/users/999999")
        assert missing.status_code == 404


async def test_runs_are_listed_filtered_and_shown_whole(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("kai", "3")
    answer = await story(gateway, key)
    assert answer.status_code == 200
    await gateway.booked()
    async with admin(gateway) as api:
        run = (await api.get("/runs", params={"user_id": user_id})).json()["items"][0]
    async with signed_in(gateway) as http:
        listing = await http.get("/runs", params={
            "user_id": str(user_id), "status": "succeeded", "surface": "", "workflow_id": "",
            "execute_id": ""})
        assert listing.status_code == 200 and run["id"] in listing.text
        failed = await http.get("/runs", params={"user_id": str(user_id), "status": "failed"})
        assert run["id"] not in failed.text
        shown = await http.get(f"/runs/{run['id']}")
        assert shown.status_code == 200
        output = answer.json()["choices"][0]["message"]["content"]
        assert output[:40] in shown.text.replace("&#39;", "'").replace("&#34;", '"')
        assert '"topic": "owls"' in shown.text.replace("&#34;", '"')
        assert (await http.get("/runs/nope")).status_code == 404
        assert (await http.get("/runs", params={"user_id": "kai"})).status_code == 400


async def test_tasks_are_listed_and_a_running_one_cancelled(db_url: str) -> None:
    async with running_gateway(db_url) as gateway:
        alice_id, alice_key = await gateway.create_user("alice", balance="1")
        async with TaskClient(gateway.url, alice_key) as alice, signed_in(gateway) as http:
            slow = (await alice.submit(catalog.SLOW_JOB, {"seconds": 30})).json()
            await alice.wait_started(slow["task_id"])
            listing = await http.get("/tasks", params={"user_id": str(alice_id),
                                                       "status": "", "workflow_id": ""})
            assert listing.status_code == 200 and slow["task_id"] in listing.text
            assert f'/tasks/{slow["task_id"]}/cancel' in listing.text
            assert (await http.get("/tasks", params={"user_id": "alice"})).status_code == 400

            cancelled = await http.post(f"/tasks/{slow['task_id']}/cancel")
            assert cancelled.status_code == 303
            seen = await alice.wait(slow["task_id"])
            assert seen["status"] == "cancelled"
            assert seen["error"] == "cancelled by an administrator"
            again = await http.get("/tasks", params={"status": "cancelled"})
            assert slow["task_id"] in again.text
            assert f'/tasks/{slow["task_id"]}/cancel' not in again.text
            missing = await http.post("/tasks/task_0/cancel")
            assert missing.status_code == 404


async def test_the_console_does_not_lock_its_operator_out(gateway: Gateway) -> None:
    async with admin(gateway) as api:
        me = (await api.get("/keys", params={"user_id": 1})).json()["items"][0]
    async with signed_in(gateway) as http:
        own_key = await http.post(f"/keys/{me['id']}/enabled", data={"enabled": "false"})
        assert own_key.status_code == 409 and "signed in with" in alert(own_key)
        own_user = await http.post(f"/users/{me['user_id']}/enabled",
                                   data={"enabled": "false"})
        assert own_user.status_code == 409 and "signed in as" in alert(own_user)
        assert (await http.get("/overview")).status_code == 200
    async with admin(gateway) as api:
        assert (await api.get(f"/keys/{me['id']}")).json()["enabled"] is True


async def test_adjustments_go_either_way_but_never_below_zero(gateway: Gateway) -> None:
    user_id, _ = await gateway.create_user("lena", "2")
    async with signed_in(gateway) as http:
        down = await http.post(f"/users/{user_id}/adjustment",
                               data={"amount": "-0.5", "reason": "goodwill reversal"})
        assert down.status_code == 303 and down.headers["location"].endswith(
            f"/users/{user_id}?done=adjusted")
        too_far = await http.post(f"/users/{user_id}/adjustment",
                                  data={"amount": "-5", "reason": "too much"})
        assert too_far.status_code == 402 and "lena" in too_far.text  # still her page
        zero = await http.post(f"/users/{user_id}/adjustment",
                               data={"amount": "0", "reason": "nothing"})
        assert zero.status_code == 400 and alert(zero) == "an adjustment cannot be zero"
        nobody = await http.post("/users/999999/adjustment",
                                 data={"amount": "1", "reason": "x"})
        assert nobody.status_code == 404
    assert await gateway.balance(user_id) == 1_500_000
    async with admin(gateway) as api:
        ledger = (await api.get(f"/users/{user_id}/ledger")).json()["items"]
    newest = ledger[0]
    assert (newest["kind"], newest["amount"], newest["reason"]) == (
        "adjust", "-0.500000", "goodwill reversal")


async def test_a_keys_limits_change_and_a_revoke_needs_confirming(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("milo", "2", quota=1_000_000)
    async with admin(gateway) as api:
        shown = (await api.get("/keys", params={"user_id": user_id})).json()["items"][0]
    async with signed_in(gateway) as http:
        changed = await http.post(f"/keys/{shown['id']}/limits",
                                  data={"quota": "3", "rpm_limit": "12"})
        assert changed.status_code == 303
        async with admin(gateway) as api:
            now = (await api.get(f"/keys/{shown['id']}")).json()
            assert (now["quota"], now["rpm_limit"]) == ("3.000000", 12)
            unlimited = await http.post(f"/keys/{shown['id']}/limits", data={"quota": ""})
            assert unlimited.status_code == 303
            now = (await api.get(f"/keys/{shown['id']}")).json()
            assert (now["quota"], now["rpm_limit"]) == (None, None)
            bad = await http.post(f"/keys/{shown['id']}/limits", data={"rpm_limit": "0"})
            assert bad.status_code == 400 and "rpm_limit" in alert(bad)

            unconfirmed = await http.post(f"/keys/{shown['id']}/revoke")
            assert unconfirmed.status_code == 400 and "confirm" in alert(unconfirmed)
            assert (await api.get(f"/keys/{shown['id']}")).status_code == 200
            revoked = await http.post(f"/keys/{shown['id']}/revoke", data={"confirm": "yes"})
            assert revoked.status_code == 303
            assert (await api.get(f"/keys/{shown['id']}")).status_code == 404
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            gone = await client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
            assert gone.status_code == 401
        me = await http.post("/keys/1/revoke", data={"confirm": "yes"})
        assert me.status_code == 409


async def test_channels_are_added_with_a_token_or_an_oauth_app(gateway: Gateway) -> None:
    async with signed_in(gateway) as http:
        added = await http.post("/channels", data={
            "name": "emulated", "base_url": f"{gateway.url}/emulator",
            "token": "pat_sandbox", "priority": "5", "weight": "2",
            "targets": "7500000000000001002\ncoze-chatflow"})
        assert added.status_code == 303, added.text
        no_secret = await http.post("/channels", data={"name": "bare",
                                                       "base_url": "https://api.coze.cn"})
        assert no_secret.status_code == 400 and "token" in alert(no_secret)
        not_json = await http.post("/channels", data={
            "name": "jwt", "base_url": "https://api.coze.com", "oauth_jwt": "{app_id"})
        assert not_json.status_code == 400 and "oauth_jwt: not JSON" in alert(not_json)
        jwt = await http.post("/channels", data={
            "name": "jwt", "base_url": "https://api.coze.com",
            "oauth_jwt": '{"app_id": "1", "key_id": "k", "private_key": "-----BEGIN"}'})
        assert jwt.status_code == 303
        async with admin(gateway) as api:
            made = (await api.get("/channels", params={"name": "emulated"})).json()["items"][0]
            assert (made["priority"], made["weight"]) == (5, 2)
            assert made["targets"] == ["7500000000000001002", "coze-chatflow"]
            assert made["secret_hint"] is not None and "pat_sandbox" not in str(made)
            assert (await api.get("/channels", params={"name": "bare"})).json()["total"] == 0
            oauth = (await api.get("/channels", params={"name": "jwt"})).json()["items"][0]
            assert oauth["auth_type"] == "oauth_jwt" and "BEGIN" not in str(oauth)


async def test_only_web_links_become_clickable(gateway: Gateway) -> None:
    """A debug_url comes from upstream: a ``javascript:`` one is shown as text, never linked."""
    user_id, key = await gateway.create_user("nora", "3")
    assert (await story(gateway, key)).status_code == 200
    rows = await gateway.usage_rows(user_id)
    assert rows and (rows[-1].debug_url or "").startswith("http")
    async with gateway.session() as session:
        await session.execute(update(UsageLog).where(UsageLog.id == rows[-1].id)
                              .values(debug_url="javascript:alert(1)"))
        await session.execute(update(Run).where(Run.user_id == user_id)
                              .values(debug_url="javascript:alert(2)"))
    async with signed_in(gateway) as http:
        for page in ("/usage", "/overview", "/runs"):
            shown = await http.get(page, params={"user_id": str(user_id)} if page != "/overview"
                                   else None)
            assert shown.status_code == 200
            assert 'href="javascript:' not in shown.text and "(not a web link)" in shown.text
        async with admin(gateway) as api:
            run = (await api.get("/runs", params={"user_id": user_id})).json()["items"][0]
        one = await http.get(f"/runs/{run['id']}")
        assert 'href="javascript:' not in one.text and "(not a web link)" in one.text


async def test_groups_and_a_ratio_change_apply_to_the_next_call(gateway: Gateway) -> None:
    user_id, key = await gateway.create_user("olga", "5")
    async with signed_in(gateway) as http:
        made = await http.post("/groups", data={"name": "vip", "ratio": "1.5",
                                                "description": "half again"})
        assert made.status_code == 303
        taken = await http.post("/groups", data={"name": "vip", "ratio": "2"})
        assert taken.status_code == 409
        bad = await http.post("/groups", data={"name": "cheap", "ratio": "-1"})
        assert bad.status_code == 400 and "ratio" in alert(bad)
        moved = await http.post(f"/users/{user_id}/group", data={"group": "vip"})
        assert moved.status_code == 303 and moved.headers["location"].endswith("user-moved")
        nowhere = await http.post(f"/users/{user_id}/group", data={"group": "nope"})
        assert nowhere.status_code == 404

        first = await story(gateway, key)
        assert first.status_code == 200
        assert (await http.post("/groups/vip", data={"ratio": "2"})).status_code == 303
        second = await story(gateway, key)
        assert second.status_code == 200
        assert "vip" in (await http.get(f"/users/{user_id}")).text
    rows = await gateway.usage_rows(user_id)
    assert [row.group_ratio_ppm for row in rows[-2:]] == [1_500_000, 2_000_000]
    assert [row.cost for row in rows[-2:]] == [cost_of(first, ratio_ppm=1_500_000),
                                               cost_of(second, ratio_ppm=2_000_000)]


async def test_a_channel_is_changed_and_its_token_rotated(gateway: Gateway) -> None:
    channel_id = await gateway.add_channel("rotating", f"{gateway.url}/unused",
                                           token="pat_first_token_1111", priority=-5)
    async with signed_in(gateway) as http:
        changed = await http.post(f"/channels/{channel_id}", data={
            "priority": "7", "weight": "3", "targets": "7500000000000001002",
            "token": "pat_second_token_2222"})
        assert changed.status_code == 303, changed.text
        async with admin(gateway) as api:
            now = (await api.get(f"/channels/{channel_id}")).json()
            assert (now["priority"], now["weight"], now["targets"]) == (
                7, 3, ["7500000000000001002"])
            assert now["secret_hint"] == "…2222"
            kept = await http.post(f"/channels/{channel_id}", data={"targets": ""})
            assert kept.status_code == 303
            now = (await api.get(f"/channels/{channel_id}")).json()
            assert (now["targets"], now["secret_hint"], now["priority"]) == (None, "…2222", 7)
        bad_url = await http.post(f"/channels/{channel_id}", data={"base_url": "ftp://x"})
        assert bad_url.status_code == 400 and "base_url" in alert(bad_url)
        missing = await http.post("/channels/999999", data={"weight": "1"})
        assert missing.status_code == 404


async def test_a_channels_secret_is_replaced_by_an_oauth_app_and_back(gateway: Gateway) -> None:
    """The change form's secret decides the auth: the channel test calls the emulator with
    what was stored, so a wrong secret shows as Coze's refusal and a right one as an answer."""
    channel_id = await gateway.add_channel("switching", "emulator://sandbox",
                                           token="pat_not_known_upstream")
    app = json.dumps({"app_id": SANDBOX_OAUTH_APP_ID, "key_id": SANDBOX_OAUTH_KEY_ID,
                      "private_key": SANDBOX_PRIVATE_KEY})
    async with signed_in(gateway) as http:
        refused = await http.post(f"/channels/{channel_id}/test")
        assert refused.status_code == 200 and "Coze answered in" not in refused.text
        page = (await http.get("/channels")).text
        assert "or an OAuth JWT app instead" in page

        to_oauth = await http.post(f"/channels/{channel_id}", data={"oauth_jwt": app})
        assert to_oauth.status_code == 303, to_oauth.text
        async with admin(gateway) as api:
            now = (await api.get(f"/channels/{channel_id}")).json()
            assert (now["auth_type"], now["secret_hint"]) == (
                "oauth_jwt", f"app {SANDBOX_OAUTH_APP_ID}")
        answered = await http.post(f"/channels/{channel_id}/test")
        assert "Coze answered in" in answered.text, answered.text
        assert "BEGIN" not in (await http.get("/channels")).text

        kept = await http.post(f"/channels/{channel_id}", data={"weight": "4"})
        assert kept.status_code == 303
        both = await http.post(f"/channels/{channel_id}",
                               data={"token": "pat_sandbox", "oauth_jwt": app})
        assert both.status_code == 400 and "not both" in alert(both)
        not_json = await http.post(f"/channels/{channel_id}", data={"oauth_jwt": "{app"})
        assert not_json.status_code == 400 and "oauth_jwt: not JSON" in alert(not_json)
        no_key = await http.post(f"/channels/{channel_id}",
                                 data={"oauth_jwt": '{"app_id": "1", "key_id": "k"}'})
        assert no_key.status_code == 400 and "private_key" in alert(no_key)
        async with admin(gateway) as api:
            now = (await api.get(f"/channels/{channel_id}")).json()
            assert (now["auth_type"], now["weight"]) == ("oauth_jwt", 4)
        assert "Coze answered in" in (await http.post(f"/channels/{channel_id}/test")).text

        to_pat = await http.post(f"/channels/{channel_id}", data={"token": "pat_sandbox"})
        assert to_pat.status_code == 303
        async with admin(gateway) as api:
            now = (await api.get(f"/channels/{channel_id}")).json()
            assert now["auth_type"] == "pat"
        assert "Coze answered in" in (await http.post(f"/channels/{channel_id}/test")).text
