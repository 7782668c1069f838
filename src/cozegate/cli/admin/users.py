"""``cozegate users list|add|show|update|top-up|adjust|ledger``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cozegate.cli.admin import refs
from cozegate.cli.admin.client import AdminClient
from cozegate.cli.admin.keys import KEY_COLUMNS
from cozegate.cli.admin.options import (
    DEFAULT_URL,
    AdminKeyOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    UrlOption,
    run_admin,
)
from cozegate.cli.admin.output import Column, details, field, page_table, show, table
from cozegate.cli.common import CliFailure, ExitCode, print_json_document

UserArg = Annotated[str, typer.Argument(metavar="USER", help="User id or name.")]
AmountArg = Annotated[str, typer.Argument(metavar="AMOUNT",
                                          help='A decimal amount, e.g. 12.5 (6 decimals max).')]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; kept in the ledger.")]
IdempotencyOption = Annotated[str | None, typer.Option(
    "--idempotency-key", metavar="KEY", show_default=False,
    help="Repeat-safe: the same key books the movement only once.")]

COLUMNS: list[Column] = [
    ("id", field("id")), ("name", field("name")), ("group", field("group")),
    ("ratio", field("group_ratio")), ("balance", field("balance")),
    ("admin", field("is_admin")), ("enabled", field("enabled")),
]
LEDGER_COLUMNS: list[Column] = [
    ("id", field("id")), ("time", field("created_at")), ("kind", field("kind")),
    ("amount", field("amount")), ("balance after", field("balance_after")),
    ("request", field("request_id")), ("reason", field("reason")),
]


def list_users(offset: OffsetOption = 0, limit: LimitOption = 50, url: UrlOption = DEFAULT_URL,
               admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """List users with their group and balance."""

    def go(client: AdminClient) -> None:
        page = client.get("/users", {"offset": offset, "limit": limit})
        show(page, as_json, lambda p: page_table(COLUMNS, p))

    run_admin(url, admin_key, go)


def add_user(
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    email: Annotated[str | None, typer.Option(show_default=False)] = None,
    group: Annotated[str | None, typer.Option(show_default=False,
                                              help="Group name [default].")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May use the admin API.")] = False,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Add a user (balance 0: use top-up; keys: `cozegate keys create`)."""

    def go(client: AdminClient) -> None:
        user = client.post("/users", {"name": name, "email": email, "group": group,
                                      "is_admin": admin})
        show(user, as_json, lambda u: table(COLUMNS, [u]))

    run_admin(url, admin_key, go)


def show_user(user: UserArg, url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
              as_json: JsonOption = False) -> None:
    """Show a user and its keys (--json: the user object only)."""

    def go(client: AdminClient) -> None:
        found = client.get(f"/users/{refs.user_id(client, user)}")
        if as_json:
            print_json_document(found)
            return
        details([(name, found[name]) for name in (
            "id", "email", "group", "group_ratio", "balance", "balance_micros", "is_admin",
            "enabled", "created_at")], title=f"user {found['name']}")
        keys = client.get("/keys", {"user_id": found["id"], "limit": 500})
        page_table(KEY_COLUMNS, keys, title="keys")

    run_admin(url, admin_key, go)


def update_user(
    user: UserArg,
    enabled: Annotated[bool | None, typer.Option(
        "--enable/--disable", show_default=False,
        help="A disabled user's keys are all refused.")] = None,
    group: Annotated[str | None, typer.Option(show_default=False,
                                              help="Move to this group.")] = None,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Enable or disable a user, or move it to another group."""

    def go(client: AdminClient) -> None:
        body = {k: v for k, v in {"enabled": enabled, "group": group}.items() if v is not None}
        if not body:
            raise CliFailure("nothing to change: give --enable/--disable or --group",
                             ExitCode.USAGE)
        answer = client.patch(f"/users/{refs.user_id(client, user)}", body)
        show(answer, as_json, lambda u: table(COLUMNS, [u]))

    run_admin(url, admin_key, go)


def top_up(user: UserArg, amount: AmountArg, reason: ReasonOption,
           idempotency_key: IdempotencyOption = None, url: UrlOption = DEFAULT_URL,
           admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Credit AMOUNT to a user's balance, with a reason (a ledger entry)."""
    _move(user, "top-ups", amount, reason, idempotency_key, url, admin_key, as_json)


def adjust(user: UserArg, amount: AmountArg, reason: ReasonOption,
           idempotency_key: IdempotencyOption = None, url: UrlOption = DEFAULT_URL,
           admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Correct a balance by AMOUNT, either sign (a negative one after --: -- -1.5)."""
    _move(user, "adjustments", amount, reason, idempotency_key, url, admin_key, as_json)


def ledger(user: UserArg, offset: OffsetOption = 0, limit: LimitOption = 50,
           oldest_first: Annotated[bool, typer.Option("--oldest-first",
                                                      help="Oldest entries first.")] = False,
           url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
           as_json: JsonOption = False) -> None:
    """Every movement of a user's balance: top-ups, adjustments, reserves, settles, refunds."""

    def go(client: AdminClient) -> None:
        page = client.get(f"/users/{refs.user_id(client, user)}/ledger",
                          {"offset": offset, "limit": limit,
                           "order": "asc" if oldest_first else "desc"})
        show(page, as_json, lambda p: page_table(LEDGER_COLUMNS, p))

    run_admin(url, admin_key, go)


def _move(user: str, kind: str, amount: str, reason: str, idempotency_key: str | None,
          url: str, admin_key: str | None, as_json: bool) -> None:
    def go(client: AdminClient) -> None:
        body: dict[str, Any] = {"amount": amount, "reason": reason}
        if idempotency_key:
            body["idempotency_key"] = idempotency_key
        entry = client.post(f"/users/{refs.user_id(client, user)}/{kind}", body)
        show(entry, as_json, lambda e: table(LEDGER_COLUMNS, [e]))

    run_admin(url, admin_key, go)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Users, balances and the ledger (admin API).", no_args_is_help=True)
    group.command("list")(list_users)
    group.command("add")(add_user)
    group.command("show")(show_user)
    group.command("update")(update_user)
    group.command("top-up")(top_up)
    group.command("adjust")(adjust)
    group.command("ledger")(ledger)
    app.add_typer(group, name="users")
