"""``cozegate channels list|add|update|remove|enable|disable|test|events``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cozegate.cli.admin import refs
from cozegate.cli.admin.client import AdminClient
from cozegate.cli.admin.options import (
    DEFAULT_URL,
    AdminKeyOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    UrlOption,
    run_admin,
)
from cozegate.cli.admin.output import Column, field, page_table, say, show, table
from cozegate.cli.common import CliFailure, ExitCode

ChannelArg = Annotated[str, typer.Argument(metavar="CHANNEL", help="Channel id or name.")]
BaseUrl = Annotated[str | None, typer.Option(
    "--base-url", metavar="URL", show_default=False,
    help="Coze API base: https://api.coze.cn (default), https://api.coze.com, a Coze Studio "
         "server, or emulator://sandbox.")]
Token = Annotated[str | None, typer.Option("--token", metavar="PAT", show_default=False,
                                           help="Personal access token (pat auth).")]
OAuthFile = Annotated[Path | None, typer.Option(
    "--oauth-jwt-file", metavar="FILE", show_default=False,
    help="OAuth JWT app JSON (app_id, key_id, private_key, aud, scopes): oauth_jwt auth.")]
Priority = Annotated[int | None, typer.Option(help="Higher is tried first [0].",
                                              show_default=False)]
Weight = Annotated[int | None, typer.Option(min=0, show_default=False,
                                            help="Share among equal priorities [1].")]
Targets = Annotated[list[str] | None, typer.Option(
    "--target", metavar="ID", show_default=False,
    help="A workflow id or model name the channel serves (repeatable; none = all).")]
Reason = Annotated[str, typer.Option(help="Why (kept in the channel's events).")]

COLUMNS: list[Column] = [
    ("id", field("id")), ("name", field("name")), ("status", field("status")),
    ("auth", field("auth_type")), ("secret", field("secret_hint")),
    ("base url", field("base_url")), ("prio", field("priority")), ("weight", field("weight")),
    ("targets", lambda c: c["targets"] or "all"), ("failures", field("consecutive_failures")),
]


def list_channels(offset: OffsetOption = 0, limit: LimitOption = 50, url: UrlOption = DEFAULT_URL,
                  admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """List channels (secrets are never shown, at most their last four characters)."""

    def go(client: AdminClient) -> None:
        page = client.get("/channels", {"offset": offset, "limit": limit})
        show(page, as_json, lambda p: page_table(COLUMNS, p))

    run_admin(url, admin_key, go)


def add_channel(
    name: Annotated[str, typer.Argument(help="Unique name (also the seed's account_id).")],
    base_url: BaseUrl = None, token: Token = None, oauth_jwt_file: OAuthFile = None,
    priority: Priority = None, weight: Weight = None, target: Targets = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Add a Coze account as a channel (give --token or --oauth-jwt-file)."""

    def go(client: AdminClient) -> None:
        body: dict[str, Any] = {"name": name, "enabled": not disabled, "targets": target,
                                **_auth(token, oauth_jwt_file, required=True)}
        body.update(_settings(base_url, priority, weight))
        show(client.post("/channels", body), as_json, lambda c: table(COLUMNS, [c]))

    run_admin(url, admin_key, go)


def update_channel(
    channel: ChannelArg, base_url: BaseUrl = None, token: Token = None,
    oauth_jwt_file: OAuthFile = None, priority: Priority = None, weight: Weight = None,
    target: Targets = None,
    all_targets: Annotated[bool, typer.Option("--all-targets",
                                              help="Serve every workflow/model.")] = False,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Change a channel; only the options given are changed."""
    if target and all_targets:
        raise typer.BadParameter("--target and --all-targets exclude each other")

    def go(client: AdminClient) -> None:
        body: dict[str, Any] = {**_auth(token, oauth_jwt_file, required=False),
                                **_settings(base_url, priority, weight)}
        if target or all_targets:
            body["targets"] = target or None
        if not body:
            raise CliFailure("nothing to change: give at least one option", ExitCode.USAGE)
        answer = client.patch(f"/channels/{refs.channel_id(client, channel)}", body)
        show(answer, as_json, lambda c: table(COLUMNS, [c]))

    run_admin(url, admin_key, go)


def remove_channel(channel: ChannelArg, url: UrlOption = DEFAULT_URL,
                   admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Remove a channel (its events go with it; usage rows keep its name)."""

    def go(client: AdminClient) -> None:
        channel_id = refs.channel_id(client, channel)
        client.delete(f"/channels/{channel_id}")
        show({"removed": channel_id}, as_json, lambda _: say(f"removed channel {channel_id}"))

    run_admin(url, admin_key, go)


def enable_channel(channel: ChannelArg, reason: Reason = "", url: UrlOption = DEFAULT_URL,
                   admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Enable a channel (also after an auto-disable; clears its failure streak)."""
    _switch(channel, "enable", reason, url, admin_key, as_json)


def disable_channel(channel: ChannelArg, reason: Reason = "", url: UrlOption = DEFAULT_URL,
                    admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Disable a channel: no request is sent to it until it is enabled again."""
    _switch(channel, "disable", reason, url, admin_key, as_json)


def test_channel(channel: ChannelArg, url: UrlOption = DEFAULT_URL,
                 admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Call Coze with the channel's credentials; exit 3 when Coze refuses or is unreachable."""

    def go(client: AdminClient) -> None:
        result = client.post(f"/channels/{refs.channel_id(client, channel)}/test")
        show(result, as_json, _print_test)
        if not result["ok"]:
            raise typer.Exit(int(ExitCode.UPSTREAM))

    run_admin(url, admin_key, go)


def channel_events(channel: ChannelArg, offset: OffsetOption = 0, limit: LimitOption = 50,
                   url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
                   as_json: JsonOption = False) -> None:
    """A channel's state changes: auto-disable, enable, disable (oldest first)."""

    def go(client: AdminClient) -> None:
        page = client.get(f"/channels/{refs.channel_id(client, channel)}/events",
                          {"offset": offset, "limit": limit})
        columns: list[Column] = [("time", field("created_at")), ("event", field("kind")),
                                 ("message", field("message"))]
        show(page, as_json, lambda p: page_table(columns, p))

    run_admin(url, admin_key, go)


def _switch(channel: str, action: str, reason: str, url: str, admin_key: str | None,
            as_json: bool) -> None:
    def go(client: AdminClient) -> None:
        answer = client.post(f"/channels/{refs.channel_id(client, channel)}/{action}",
                             {"reason": reason})
        show(answer, as_json, lambda c: table(COLUMNS, [c]))

    run_admin(url, admin_key, go)


def _print_test(result: dict[str, Any]) -> None:
    if result["ok"]:
        say(f"ok: Coze answered in {result['latency_ms']} ms")
        return
    error = result["error"]
    logid = f" (logid {error['logid']})" if error.get("logid") else ""
    say(f"failed after {result['latency_ms']} ms: {error['code']} {error['msg']}{logid}")


def _auth(token: str | None, oauth_jwt_file: Path | None, *, required: bool) -> dict[str, Any]:
    if token and oauth_jwt_file:
        raise CliFailure("give --token or --oauth-jwt-file, not both", ExitCode.USAGE)
    if oauth_jwt_file is not None:
        try:
            app = json.loads(oauth_jwt_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CliFailure(f"cannot read the OAuth JWT app JSON {oauth_jwt_file}: {exc}",
                             ExitCode.USAGE) from exc
        return {"auth_type": "oauth_jwt", "oauth_jwt": app}
    if token:
        return {"auth_type": "pat", "token": token}
    if required:
        raise CliFailure("a channel needs --token or --oauth-jwt-file", ExitCode.USAGE)
    return {}


def _settings(base_url: str | None, priority: int | None, weight: int | None) -> dict[str, Any]:
    given = {"base_url": base_url, "priority": priority, "weight": weight}
    return {name: value for name, value in given.items() if value is not None}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Upstream Coze accounts (admin API).", no_args_is_help=True)
    group.command("list")(list_channels)
    group.command("add")(add_channel)
    group.command("update")(update_channel)
    group.command("remove")(remove_channel)
    group.command("enable")(enable_channel)
    group.command("disable")(disable_channel)
    group.command("test")(test_channel)
    group.command("events")(channel_events)
    app.add_typer(group, name="channels")
