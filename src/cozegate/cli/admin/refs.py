"""Users and channels are named on the command line by id or by name.

An argument made only of digits is an id; anything else is a name, looked up through the
list endpoint's ``name`` filter.
"""

from __future__ import annotations

from typing import Any

from cozegate.cli.admin.client import AdminClient
from cozegate.cli.common import CliFailure, ExitCode


def user_id(client: AdminClient, ref: str) -> int:
    return _resolve(client, "/users", "user", ref)


def channel_id(client: AdminClient, ref: str) -> int:
    return _resolve(client, "/channels", "channel", ref)


def _resolve(client: AdminClient, path: str, what: str, ref: str) -> int:
    if ref.isdigit():
        return int(ref)
    found: list[dict[str, Any]] = client.get(path, {"name": ref})["items"]
    if not found:
        raise CliFailure(f"no {what} named {ref!r}", ExitCode.UPSTREAM)
    return int(found[0]["id"])
