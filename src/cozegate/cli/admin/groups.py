"""``cozegate groups list|add|set-ratio``: pricing groups (a ratio multiplies every cost)."""

from __future__ import annotations

from typing import Annotated

import typer

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
from cozegate.cli.admin.output import Column, field, page_table, show, table
from cozegate.cli.gateway_http import segment

RatioArg = Annotated[str, typer.Argument(metavar="RATIO", help="e.g. 1.5 (6 decimals max).")]
COLUMNS: list[Column] = [("id", field("id")), ("name", field("name")),
                         ("ratio", field("ratio")), ("description", field("description"))]


def list_groups(offset: OffsetOption = 0, limit: LimitOption = 50, url: UrlOption = DEFAULT_URL,
                admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """List pricing groups."""

    def go(client: AdminClient) -> None:
        page = client.get("/groups", {"offset": offset, "limit": limit})
        show(page, as_json, lambda p: page_table(COLUMNS, p))

    run_admin(url, admin_key, go)


def add_group(
    name: Annotated[str, typer.Argument(help="Unique group name.")],
    ratio: Annotated[str, typer.Option(help="Cost multiplier.")] = "1",
    description: Annotated[str, typer.Option()] = "",
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Add a pricing group."""

    def go(client: AdminClient) -> None:
        group = client.post("/groups", {"name": name, "ratio": ratio,
                                        "description": description})
        show(group, as_json, lambda g: table(COLUMNS, [g]))

    run_admin(url, admin_key, go)


def set_ratio(name: Annotated[str, typer.Argument(help="Group name.")], ratio: RatioArg,
              url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
              as_json: JsonOption = False) -> None:
    """Set a group's ratio; it applies to the next calls of its users."""

    def go(client: AdminClient) -> None:
        group = client.patch(f"/groups/{segment(name)}", {"ratio": ratio})
        show(group, as_json, lambda g: table(COLUMNS, [g]))

    run_admin(url, admin_key, go)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Pricing groups (admin API).", no_args_is_help=True)
    group.command("list")(list_groups)
    group.command("add")(add_group)
    group.command("set-ratio")(set_ratio)
    app.add_typer(group, name="groups")
