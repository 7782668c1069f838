"""Options every admin command takes, and the connection they describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from cozegate.cli.admin.client import AdminClient
from cozegate.cli.common import CliFailure, ExitCode, run_guarded

DEFAULT_URL = "http://127.0.0.1:3000"

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="COZEGATE_URL", metavar="URL",
                 help="The gateway's base URL (env COZEGATE_URL)."),
]
AdminKeyOption = Annotated[
    str | None,
    typer.Option("--admin-key", envvar="COZEGATE_ADMIN_KEY", metavar="KEY", show_default=False,
                 help="An admin gateway key, sk-… (env COZEGATE_ADMIN_KEY)."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the admin API's JSON answer instead of tables."),
]
OffsetOption = Annotated[int, typer.Option("--offset", min=0, help="Rows to skip.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=500, help="Rows per page.")]


def connect(url: str, admin_key: str | None) -> AdminClient:
    if not admin_key:
        raise CliFailure("no admin key: pass --admin-key or set COZEGATE_ADMIN_KEY (the key "
                         "`cozegate serve` printed on its first start)", ExitCode.USAGE)
    return AdminClient(url, admin_key)


def run_admin(url: str, admin_key: str | None, action: Callable[[AdminClient], Any]) -> None:
    """Connect, run ``action``, and turn any CliFailure into a message and an exit code."""

    def go() -> None:
        with connect(url, admin_key) as client:
            action(client)

    run_guarded(go)
