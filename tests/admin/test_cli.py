"""The admin CLI against a running gateway: ``--json`` answers, exit codes, table output.

The gateway runs in its own thread and loop, so the synchronous commands are invoked
straight from the async tests.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cozegate.admin.schemas import USAGE_COLUMNS
from cozegate.cli.main import create_app
from tests.admin.helpers import STORY, cost_of, story
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db

EMULATOR = "emulator://sandbox"


def cli(gateway: Gateway, *args: str, key: str | None = None,
        env: dict[str, str | None] | None = None) -> Result:
    environment = {"COZEGATE_URL": gateway.url,
                   "COZEGATE_ADMIN_KEY": key or gateway.admin_key, **(env or {})}
    return CliRunner().invoke(create_app(), list(args), env=environment)


def cli_json(gateway: Gateway, *args: str, expect: int = 0) -> Any:
    # Right after GROUP COMMAND: anything after a "--" in args is an argument, not an option.
    result = cli(gateway, *args[:2], "--json", *args[2:])
    assert result.exit_code == expect, (result.stdout, result.stderr)
    return json.loads(result.stdout)


async def test_users_groups_top_up_and_ledger(gateway: Gateway) -> None:
    group = cli_json(gateway, "groups", "add", "vip", "--ratio", "1.5", "--description", "v")
    assert (group["name"], group["ratio"]) == ("vip", "1.5")
    user = cli_json(gateway, "users", "add", "alice", "--group", "vip", "--email", "a@x.io")
    assert (user["group"], user["balance"]) == ("vip", "0.000000")

    entry = cli_json(gateway, "users", "top-up", "alice", "12.5", "--reason", "invoice 1")
    assert (entry["kind"], entry["amount"], entry["reason"]) == ("top_up", "12.500000",
                                                                 "invoice 1")
    assert entry["balance_after_micros"] == 12_500_000
    # A negative amount after "--", so it is not read as an option.
    adjusted = cli_json(gateway, "users", "adjust", str(user["id"]), "--reason", "fix", "--",
                        "-0.5")
    assert adjusted["amount_micros"] == -500_000 and adjusted["balance_after"] == "12.000000"

    ledger = cli_json(gateway, "users", "ledger", "alice")
    assert [(e["kind"], e["amount"]) for e in ledger["items"]] == [
        ("adjust", "-0.500000"), ("top_up", "12.500000")]
    oldest = cli_json(gateway, "users", "ledger", "alice", "--oldest-first", "--limit", "1")
    assert oldest["total"] == 2 and oldest["items"][0]["reason"] == "invoice 1"
    shown = cli_json(gateway, "users", "show", "alice")
    assert (shown["balance"], shown["balance_micros"]) == ("12.000000", 12_000_000)
    assert [u["name"] for u in cli_json(gateway, "users", "list")["items"]] == ["admin", "alice"]

    assert cli_json(gateway, "groups", "set-ratio", "vip", "2")["ratio"] == "2"
    assert [g["name"] for g in cli_json(gateway, "groups", "list")["items"]] == ["default",
                                                                                 "vip"]
    disabled = cli_json(gateway, "users", "update", "alice", "--disable", "--group", "default")
    assert disabled["enabled"] is False and disabled["group"] == "default"


async def test_keys_created_once_then_disabled_and_revoked(gateway: Gateway) -> None:
    cli_json(gateway, "users", "add", "bob")
    cli_json(gateway, "users", "top-up", "bob", "1", "--reason", "start")
    created = cli_json(gateway, "keys", "create", "bob", "--name", "laptop", "--quota", "0.5",
                       "--model", STORY, "--rpm", "100", "--expires", "2099-01-01")
    raw = created["key"]
    assert raw.startswith("sk-") and created["hint"] == raw[-4:]
    assert created["expires_at"].startswith("2099-01-01T00:00:00")
    assert (created["quota"], created["allowed_models"], created["rpm_limit"]) == (
        "0.500000", [STORY], 100)

    listed = cli(gateway, "keys", "list", "--user", "bob", "--json")
    assert raw not in listed.stdout and json.loads(listed.stdout)["total"] == 1
    answer = await story(gateway, raw)
    assert answer.status_code == 200
    used = cli_json(gateway, "keys", "list", "--user", "bob")["items"][0]
    assert used["used_micros"] == cost_of(answer)

    disabled = cli_json(gateway, "keys", "update", str(created["id"]), "--disable",
                        "--unlimited", "--all-models", "--no-expiry")
    assert disabled["status"] == "disabled" and disabled["quota"] is None
    assert disabled["allowed_models"] is None and disabled["expires_at"] is None
    assert (await story(gateway, raw)).status_code == 403
    assert cli_json(gateway, "keys", "update", str(created["id"]), "--enable")["enabled"]
    assert (await story(gateway, raw)).status_code == 200

    assert cli_json(gateway, "keys", "revoke", str(created["id"])) == {"revoked": created["id"]}
    assert (await story(gateway, raw)).status_code == 401


async def test_channels_commands(gateway: Gateway) -> None:
    channels = cli_json(gateway, "channels", "list")
    assert [c["name"] for c in channels["items"]] == ["sandbox"]
    added = cli_json(gateway, "channels", "add", "backup", "--base-url", EMULATOR, "--token",
                     "pat_backup_token_1234", "--priority", "-1", "--target", STORY,
                     "--disabled")
    assert (added["status"], added["priority"], added["targets"]) == ("disabled", -1, [STORY])
    assert added["secret_hint"] == "…1234"
    updated = cli_json(gateway, "channels", "update", "backup", "--weight", "4",
                       "--all-targets")
    assert updated["weight"] == 4 and updated["targets"] is None

    ok = cli_json(gateway, "channels", "test", "sandbox")
    assert ok["ok"] is True and ok["latency_ms"] >= 0
    failed = cli(gateway, "channels", "test", "backup", "--json")  # the emulator: bad token
    assert failed.exit_code == 3
    assert json.loads(failed.stdout)["error"]["code"] == 4100
    human = cli(gateway, "channels", "test", "backup")
    assert human.exit_code == 3 and "4100" in human.stdout

    assert cli_json(gateway, "channels", "disable", "sandbox", "--reason", "drill")[
        "status"] == "disabled"
    assert cli_json(gateway, "channels", "enable", "sandbox")["status"] == "enabled"
    events = cli_json(gateway, "channels", "events", "sandbox")
    assert [(e["kind"], e["message"]) for e in events["items"]] == [("disabled", "drill"),
                                                                     ("enabled", "")]
    assert cli_json(gateway, "channels", "remove", "backup") == {"removed": added["id"]}
    assert cli_json(gateway, "channels", "list")["total"] == 1


async def test_prices_commands_and_the_next_charge(gateway: Gateway) -> None:
    price = cli_json(gateway, "prices", "set", STORY, "--input", "0.01", "--output", "0.03")
    assert (price["kind"], price["input_price_per_1k"], price["output_price_per_1k"]) == (
        "tokens", "0.01", "0.03")
    admin_before = cli_json(gateway, "users", "show", "admin")["balance_micros"]
    answer = await story(gateway, gateway.admin_key)
    admin_after = cli_json(gateway, "users", "show", "admin")["balance_micros"]
    assert admin_before - admin_after == cost_of(answer, 10_000_000, 30_000_000)

    fixed = cli_json(gateway, "prices", "set", "coze-workflow/x", "--fixed", "0.1")
    assert (fixed["target"], fixed["fixed_price"]) == ("coze-workflow/x", "0.100000")
    targets = [p["target"] for p in cli_json(gateway, "prices", "list")["items"]]
    assert targets == ["*", STORY, "coze-workflow/x"]
    assert cli_json(gateway, "prices", "remove", STORY) == {"removed": STORY}
    assert cli_json(gateway, "prices", "set", "*", "--input", "0.002", "--output", "0.004")[
        "input_price_micros_per_1m"] == 2_000_000


async def test_usage_commands(gateway: Gateway, tmp_path: Path) -> None:
    _, key = await gateway.create_user("cora", "1")
    costs = [cost_of(await story(gateway, gateway.admin_key)), cost_of(await story(gateway, key))]
    everything = cli_json(gateway, "usage", "list")
    assert everything["total"] == 2
    mine = cli_json(gateway, "usage", "list", "--user", "cora", "--channel", "sandbox",
                    "--status", "success", "--since", "2000-01-01")
    assert mine["total"] == 1 and mine["items"][0]["key_name"] == "cora-key"
    assert cli_json(gateway, "usage", "list", "--limit", "1", "--offset", "1")["items"][0][
        "user_id"] == everything["items"][1]["user_id"]

    target = tmp_path / "usage.csv"
    written = cli(gateway, "usage", "export", "--output", str(target))
    assert written.exit_code == 0 and "wrote 2 rows" in written.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert sum(int(r["cost_micros"]) for r in rows) == sum(costs)
    to_stdout = cli(gateway, "usage", "export", "--model", "nothing")
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout.splitlines() == [",".join(USAGE_COLUMNS)]

    daily = cli_json(gateway, "usage", "daily", "--by-model")
    assert daily["by_model"] is True and daily["total"]["requests"] == 2
    assert daily["total"]["cost_micros"] == sum(costs)


async def test_tables_for_people(gateway: Gateway) -> None:
    await story(gateway, gateway.admin_key)
    for args, expected in ((("users", "list"), "admin"), (("users", "show", "admin"), "keys"),
                           (("channels", "list"), "sandbox"), (("keys", "list"), "sk-…"),
                           (("prices", "list"), "0.001"), (("groups", "list"), "default"),
                           (("usage", "list"), "sandbox"), (("usage", "daily"), "total"),
                           (("channels", "test", "1"), "ok"),
                           (("users", "ledger", "admin"), "top_up")):
        result = cli(gateway, *args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        assert expected in result.stdout, (args, result.stdout)
    created = cli(gateway, "keys", "create", "admin", "--name", "second")
    assert created.exit_code == 0 and "key (shown once, keep it): sk-" in created.stdout


async def test_errors_and_exit_codes(gateway: Gateway) -> None:
    no_key = cli(gateway, "users", "list", env={"COZEGATE_ADMIN_KEY": None})
    assert no_key.exit_code == 2 and "no admin key" in no_key.stderr
    _, user_key = await gateway.create_user("dan", "1")
    not_admin = cli(gateway, "users", "list", key=user_key)
    assert not_admin.exit_code == 3 and "admin_required" in not_admin.stderr
    bad_key = cli(gateway, "users", "list", key="sk-" + "x" * 48)
    assert bad_key.exit_code == 3 and "401 invalid_api_key" in bad_key.stderr
    unreachable = cli(gateway, "users", "list", "--url", "http://127.0.0.1:9")
    assert unreachable.exit_code == 3 and "cannot reach the gateway" in unreachable.stderr
    bad_amount = cli(gateway, "users", "top-up", "dan", "1.0000001", "--reason", "x")
    assert bad_amount.exit_code == 2 and "400 invalid_request" in bad_amount.stderr
    unknown = cli(gateway, "users", "show", "nobody")
    assert unknown.exit_code == 3 and "no user named 'nobody'" in unknown.stderr
    missing = cli(gateway, "keys", "revoke", "999")
    assert missing.exit_code == 3 and "404 key_not_found" in missing.stderr
    both = cli(gateway, "prices", "set", "x", "--fixed", "1", "--input", "1")
    assert both.exit_code == 2
    nothing = cli(gateway, "keys", "update", "1")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    bad_time = cli(gateway, "keys", "create", "dan", "--expires", "soon")
    assert bad_time.exit_code == 2
    no_secret = cli(gateway, "channels", "add", "x", "--base-url", EMULATOR)
    assert no_secret.exit_code == 2 and "--token" in no_secret.stderr
