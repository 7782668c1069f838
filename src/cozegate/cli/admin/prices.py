"""``cozegate prices list|set|remove``: per model name / workflow id (``*`` = default)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cozegate.cli.admin.client import AdminClient, path_part
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

TargetArg = Annotated[str, typer.Argument(
    metavar="TARGET", help="Workflow id or model name; '*' (quoted) = the default price.")]
COLUMNS: list[Column] = [
    ("target", field("target")), ("kind", field("kind")),
    ("input / 1K", field("input_price_per_1k")), ("output / 1K", field("output_price_per_1k")),
    ("fixed / call", field("fixed_price")), ("enabled", field("enabled")),
]


def list_prices(offset: OffsetOption = 0, limit: LimitOption = 50, url: UrlOption = DEFAULT_URL,
                admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """List prices."""

    def go(client: AdminClient) -> None:
        page = client.get("/prices", {"offset": offset, "limit": limit})
        show(page, as_json, lambda p: page_table(COLUMNS, p))

    run_admin(url, admin_key, go)


def set_price(
    target: TargetArg,
    input_price: Annotated[str | None, typer.Option(
        "--input", metavar="PRICE", show_default=False, help="Per 1K input tokens.")] = None,
    output_price: Annotated[str | None, typer.Option(
        "--output", metavar="PRICE", show_default=False, help="Per 1K output tokens.")] = None,
    fixed: Annotated[str | None, typer.Option(
        "--fixed", metavar="AMOUNT", show_default=False, help="Per call, whatever the usage.")
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Keep it, but skip it.")] = False,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Set (create or replace) a price: --input and --output per 1K tokens, or --fixed."""
    tokens = input_price is not None or output_price is not None
    if tokens == (fixed is not None):
        raise typer.BadParameter("give --input/--output (per 1K tokens) or --fixed")
    body: dict[str, Any] = {"enabled": not disabled}
    if tokens:
        body.update(input_price_per_1k=input_price or "0", output_price_per_1k=output_price or "0")
    else:
        body["fixed_price"] = fixed

    def go(client: AdminClient) -> None:
        price = client.put(f"/prices/{path_part(target)}", body)
        show(price, as_json, lambda p: table(COLUMNS, [p]))

    run_admin(url, admin_key, go)


def remove_price(target: TargetArg, url: UrlOption = DEFAULT_URL,
                 admin_key: AdminKeyOption = None, as_json: JsonOption = False) -> None:
    """Remove a price (calls of TARGET then fall back to the default price '*', if any)."""

    def go(client: AdminClient) -> None:
        if not target.strip():
            raise CliFailure("TARGET is empty", ExitCode.USAGE)
        client.delete(f"/prices/{path_part(target)}")
        show({"removed": target}, as_json, lambda _: say(f"removed the price of {target}"))

    run_admin(url, admin_key, go)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Prices per model or workflow (admin API).", no_args_is_help=True)
    group.command("list")(list_prices)
    group.command("set")(set_price)
    group.command("remove")(remove_price)
    app.add_typer(group, name="prices")
