"""``cozegate keys list|create|update|revoke``: gateway keys (the raw key is shown once)."""

from __future__ import annotations

from datetime import UTC, datetime
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

KeyIdArg = Annotated[int, typer.Argument(metavar="KEY_ID", help="The key's id (keys list).")]
Expires = Annotated[str | None, typer.Option(
    "--expires", metavar="TIME", show_default=False,
    help="Expiry, ISO 8601 (2026-12-31 or 2026-12-31T18:00+08:00; no offset = UTC).")]
Quota = Annotated[str | None, typer.Option(
    "--quota", metavar="AMOUNT", show_default=False,
    help="Spending limit of this key, e.g. 5 (default: unlimited, bounded by the balance).")]
Models = Annotated[list[str] | None, typer.Option(
    "--model", metavar="NAME", show_default=False,
    help="A model name or workflow id the key may call (repeatable; none = all).")]
Ips = Annotated[list[str] | None, typer.Option(
    "--ip", metavar="CIDR", show_default=False,
    help="A client IP or network allowed to use the key (repeatable; none = any).")]
Rpm = Annotated[int | None, typer.Option("--rpm", min=1, show_default=False,
                                         help="Requests per minute.")]

KEY_COLUMNS: list[Column] = [
    ("id", field("id")), ("user", field("user_id")), ("name", field("name")),
    ("key", lambda k: "sk-…" + k["hint"]), ("status", field("status")),
    ("expires", field("expires_at")), ("quota left", lambda k: k["quota"] or "unlimited"),
    ("used", field("used")), ("models", lambda k: k["allowed_models"] or "all"),
    ("ips", lambda k: k["allowed_ips"] or "any"), ("rpm", field("rpm_limit")),
    ("last used", field("last_used_at")),
]


def list_keys(
    user: Annotated[str | None, typer.Option("--user", metavar="USER", show_default=False,
                                             help="Only this user's keys (id or name).")] = None,
    offset: OffsetOption = 0, limit: LimitOption = 50, url: UrlOption = DEFAULT_URL,
    admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """List keys (their last four characters only)."""

    def go(client: AdminClient) -> None:
        user_id = refs.user_id(client, user) if user else None
        page = client.get("/keys", {"user_id": user_id, "offset": offset, "limit": limit})
        show(page, as_json, lambda p: page_table(KEY_COLUMNS, p))

    run_admin(url, admin_key, go)


def create_key(
    user: Annotated[str, typer.Argument(metavar="USER", help="Owner: user id or name.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
    expires: Expires = None, quota: Quota = None, model: Models = None, ip: Ips = None,
    rpm: Rpm = None, url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key for USER and print it: it is shown this once and never again."""

    def go(client: AdminClient) -> None:
        body: dict[str, Any] = {"user_id": refs.user_id(client, user), "name": name,
                                "expires_at": _time(expires), "quota": quota,
                                "allowed_models": model or None, "allowed_ips": ip or None,
                                "rpm_limit": rpm}
        created = client.post("/keys", body)
        show(created, as_json, _print_created)

    run_admin(url, admin_key, go)


def update_key(
    key_id: KeyIdArg,
    name: Annotated[str | None, typer.Option(show_default=False)] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable",
                                                 show_default=False)] = None,
    expires: Expires = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expires.")] = False,
    quota: Quota = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="No quota.")] = False,
    model: Models = None,
    all_models: Annotated[bool, typer.Option("--all-models", help="Clear the model list.")
                          ] = False,
    ip: Ips = None,
    any_ip: Annotated[bool, typer.Option("--any-ip", help="Clear the IP list.")] = False,
    rpm: Rpm = None,
    no_rpm: Annotated[bool, typer.Option("--no-rpm", help="Clear the key's RPM limit.")] = False,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Change a key; only the options given are changed (--quota sets what is left)."""
    body: dict[str, Any] = {"name": name, "enabled": enabled}
    body = {k: v for k, v in body.items() if v is not None}
    for field_name, value, clear, flag in (
            ("expires_at", _time(expires), no_expiry, "--expires/--no-expiry"),
            ("quota", quota, unlimited, "--quota/--unlimited"),
            ("allowed_models", model, all_models, "--model/--all-models"),
            ("allowed_ips", ip, any_ip, "--ip/--any-ip"),
            ("rpm_limit", rpm, no_rpm, "--rpm/--no-rpm")):
        if value and clear:
            raise typer.BadParameter(f"{flag}: give one or the other")
        if value or clear:
            body[field_name] = value or None

    def go(client: AdminClient) -> None:
        if not body:
            raise CliFailure("nothing to change: give at least one option", ExitCode.USAGE)
        show(client.patch(f"/keys/{key_id}", body), as_json, lambda k: table(KEY_COLUMNS, [k]))

    run_admin(url, admin_key, go)


def revoke_key(key_id: KeyIdArg, url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
               as_json: JsonOption = False) -> None:
    """Delete a key for good: it is refused from the next request on."""

    def go(client: AdminClient) -> None:
        client.delete(f"/keys/{key_id}")
        show({"revoked": key_id}, as_json, lambda _: say(f"revoked key {key_id}"))

    run_admin(url, admin_key, go)


def _print_created(created: dict[str, Any]) -> None:
    table(KEY_COLUMNS, [created])
    say(f"key (shown once, keep it): {created['key']}")


def _time(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r}") from exc
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Gateway keys (admin API).", no_args_is_help=True)
    group.command("list")(list_keys)
    group.command("create")(create_key)
    group.command("update")(update_key)
    group.command("revoke")(revoke_key)
    app.add_typer(group, name="keys")
