"""``cozegate usage list|export|daily``: the usage log, filtered like the admin API."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

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
from cozegate.cli.admin.output import Column, field, page_table, show, table
from cozegate.cli.common import CliFailure, ExitCode, stderr_console

UserFilter = Annotated[str | None, typer.Option(
    "--user", metavar="USER", show_default=False, help="User id or name.")]
KeyFilter = Annotated[int | None, typer.Option("--key", metavar="KEY_ID", show_default=False)]
ModelFilter = Annotated[str | None, typer.Option("--model", show_default=False)]
WorkflowFilter = Annotated[str | None, typer.Option("--workflow", metavar="ID",
                                                    show_default=False)]
ChannelFilter = Annotated[str | None, typer.Option(
    "--channel", metavar="CHANNEL", show_default=False, help="Channel id or name.")]
StatusFilter = Annotated[str | None, typer.Option(
    "--status", show_default=False, help="success, error, interrupted, …")]
SinceFilter = Annotated[str | None, typer.Option(
    "--since", metavar="TIME", show_default=False,
    help="From this time on, ISO 8601 (no offset = UTC).")]
UntilFilter = Annotated[str | None, typer.Option(
    "--until", metavar="TIME", show_default=False, help="Before this time, ISO 8601.")]

COLUMNS: list[Column] = [
    ("time", field("created_at")), ("user", field("user_id")), ("key", field("key_name")),
    ("model", field("model")), ("channel", field("channel_name")), ("status", field("status")),
    ("in", field("input_tokens")), ("out", field("output_tokens")), ("cost", field("cost")),
    ("ms", field("duration_ms")), ("error", field("error")),
]
DAILY_COLUMNS: list[Column] = [
    ("day", field("day")), ("requests", field("requests")), ("errors", field("errors")),
    ("in", field("input_tokens")), ("out", field("output_tokens")), ("cost", field("cost")),
]


@dataclass(frozen=True)
class Filters:
    user: str | None
    key: int | None
    model: str | None
    workflow: str | None
    channel: str | None
    status: str | None
    since: str | None
    until: str | None

    def params(self, client: AdminClient) -> dict[str, Any]:
        return {
            "user_id": refs.user_id(client, self.user) if self.user else None,
            "key_id": self.key, "model": self.model, "workflow_id": self.workflow,
            "channel_id": refs.channel_id(client, self.channel) if self.channel else None,
            "status": self.status, "since": self.since, "until": self.until,
        }


def list_usage(
    user: UserFilter = None, key: KeyFilter = None, model: ModelFilter = None,
    workflow: WorkflowFilter = None, channel: ChannelFilter = None, status: StatusFilter = None,
    since: SinceFilter = None, until: UntilFilter = None, offset: OffsetOption = 0,
    limit: LimitOption = 50, url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Usage log rows, newest first."""
    filters = Filters(user, key, model, workflow, channel, status, since, until)

    def go(client: AdminClient) -> None:
        page = client.get("/usage", {**filters.params(client), "offset": offset,
                                     "limit": limit})
        show(page, as_json, lambda p: page_table(COLUMNS, p))

    run_admin(url, admin_key, go)


def export_usage(
    user: UserFilter = None, key: KeyFilter = None, model: ModelFilter = None,
    workflow: WorkflowFilter = None, channel: ChannelFilter = None, status: StatusFilter = None,
    since: SinceFilter = None, until: UntilFilter = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write the CSV here (default: stdout).")] = None,
    url: UrlOption = DEFAULT_URL, admin_key: AdminKeyOption = None,
) -> None:
    """Every matching usage row as CSV (header row first), newest first."""
    filters = Filters(user, key, model, workflow, channel, status, since, until)

    def go(client: AdminClient) -> None:
        params = filters.params(client)
        if output is None:
            _copy(client, params, sys.stdout)
            return
        try:
            with output.open("w", encoding="utf-8", newline="") as sink:
                rows = _copy(client, params, sink)
        except OSError as exc:
            raise CliFailure(f"cannot write {output}: {exc}", ExitCode.USAGE) from exc
        stderr_console().print(f"wrote {rows} {'row' if rows == 1 else 'rows'} to {output}")

    run_admin(url, admin_key, go)


def daily_usage(
    by_model: Annotated[bool, typer.Option("--by-model", help="One row per day and model.")
                        ] = False,
    user: UserFilter = None, key: KeyFilter = None, model: ModelFilter = None,
    workflow: WorkflowFilter = None, channel: ChannelFilter = None, status: StatusFilter = None,
    since: SinceFilter = None, until: UntilFilter = None, url: UrlOption = DEFAULT_URL,
    admin_key: AdminKeyOption = None, as_json: JsonOption = False,
) -> None:
    """Totals per UTC day (and per model with --by-model), oldest day first."""
    filters = Filters(user, key, model, workflow, channel, status, since, until)

    def go(client: AdminClient) -> None:
        report = client.get("/usage/daily", {**filters.params(client), "by_model": by_model})
        show(report, as_json, _print_daily)

    run_admin(url, admin_key, go)


def _copy(client: AdminClient, params: dict[str, Any], sink: TextIO) -> int:
    """Stream the CSV into ``sink``; the number of data rows written."""
    newlines, tail = 0, ""
    with client.stream("/usage/export.csv", params) as chunks:
        for chunk in chunks:
            sink.write(chunk)
            newlines += (tail + chunk).count("\r\n")  # a \r\n may straddle two chunks
            tail = chunk[-1:]
    sink.flush()
    return max(newlines - 1, 0)  # rows end in \r\n; the header is one of them


def _print_daily(report: dict[str, Any]) -> None:
    columns = list(DAILY_COLUMNS)
    if report["by_model"]:
        columns.insert(1, ("model", field("model")))
    total = {**report["total"], "day": "total", "model": ""}
    table(columns, [*report["items"], total])


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The usage log (admin API).", no_args_is_help=True)
    group.command("list")(list_usage)
    group.command("export")(export_usage)
    group.command("daily")(daily_usage)
    app.add_typer(group, name="usage")
