"""Result files of ``cozegate run``: ``sync_YYYYMMDDHHMMSS.json`` / ``async_YYYYMMDDHHMMSS.json``.

The timestamp is the submission time in Beijing time (UTC+8), as the scripts users come from
name their files. A file is never overwritten: a second run in the same second gets ``_1``,
``_2``… before the extension. The layout of a file (documented in docs/cli.md)::

    {
      "request":  <the exact JSON body POSTed to /v1/workflow/run>,
      "response": <sync: the raw response body (or the error body)
                   async: {"submit": <raw submit response or error body>,
                           "run_history": <raw final run-history record, or null>}>,
      "error":    null | {"type", "code", "msg", "logid", "debug_url"},
      "meta":     {"mode", "workflow_id", "base_url", "submitted_at", "finished_at",
                   "elapsed_seconds", "status", "exit_code", "polls", "poll_errors"}
    }
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cozegate.cli.common import CliFailure, ExitCode

BEIJING = timezone(timedelta(hours=8), name="Asia/Shanghai")
# Far more than any real burst within one second; a bound keeps a broken dir from looping.
_MAX_SUFFIX = 10_000


def beijing_stamp(moment: datetime) -> str:
    """``YYYYMMDDHHMMSS`` of ``moment`` in Beijing time (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def result_filename(mode: str, submitted_at: datetime, suffix: int = 0) -> str:
    stem = f"{mode}_{beijing_stamp(submitted_at)}"
    return f"{stem}_{suffix}.json" if suffix else f"{stem}.json"


def write_result(
    record: dict[str, Any], *, mode: str, submitted_at: datetime, output_dir: Path | None
) -> Path:
    """Write ``record`` under a fresh name; returns the path written."""
    directory = output_dir or Path.cwd()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        message = f"cannot create output dir {directory}: {exc.strerror}"
        raise CliFailure(message, ExitCode.USAGE) from exc
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    for suffix in range(_MAX_SUFFIX):
        path = directory / result_filename(mode, submitted_at, suffix)
        try:
            # "x" fails if the file exists, so two concurrent runs cannot clobber each other.
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        except OSError as exc:
            raise CliFailure(f"cannot write {path}: {exc.strerror}", ExitCode.USAGE) from exc
        return path
    raise CliFailure(f"too many result files for {mode} in {directory}", ExitCode.USAGE)


def iso_beijing(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")
