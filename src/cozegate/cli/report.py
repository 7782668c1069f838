"""What one ``cozegate run`` produced: the report behind the saved file and ``--json``.

A report is created before the run starts and filled in as the run goes, so a run that is
interrupted (Ctrl-C) can still be saved with what is known (the execute_id above all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cozegate.cli.common import ExitCode
from cozegate.cli.params import RunInputs
from cozegate.cli.render import decode_json_text
from cozegate.cli.results import iso_beijing


@dataclass
class RunReport:
    """Everything known about one run once it is over; becomes the saved file and the output."""

    mode: str  # "sync" | "async"
    workflow_id: str
    request: dict[str, Any]
    submitted_at: datetime
    # Success | Fail | Interrupted (asked a question) | Running (gave up waiting)
    # | Error (Coze refused or was unreachable) | Aborted (Ctrl-C)
    status: str = "Error"
    exit_code: ExitCode = ExitCode.UPSTREAM
    reason: str | None = None
    output: Any = None
    execute_id: str | None = None
    debug_url: str | None = None
    logid: str | None = None
    usage: dict[str, Any] | None = None
    response: Any = None
    error: dict[str, Any] | None = None
    polls: int = 0
    poll_errors: int = 0
    poll_error_messages: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def file_record(self, base_url: str) -> dict[str, Any]:
        return {
            "request": self.request,
            "response": self.response,
            "error": self.error,
            "meta": {
                "mode": self.mode,
                "workflow_id": self.workflow_id,
                "base_url": base_url,
                "submitted_at": iso_beijing(self.submitted_at),
                "finished_at": iso_beijing(self.finished_at) if self.finished_at else None,
                "elapsed_seconds": round(self.elapsed, 3),
                "status": self.status,
                "exit_code": int(self.exit_code),
                "execute_id": self.execute_id,
                "polls": self.polls,
                "poll_errors": self.poll_errors,
                "poll_error_messages": self.poll_error_messages,
            },
        }

    def summary(self, saved_to: Path | None) -> dict[str, Any]:
        """The ``--json`` output."""
        return {
            "ok": self.ok,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "reason": self.reason,
            "workflow_id": self.workflow_id,
            "execute_id": self.execute_id,
            "output": decode_json_text(self.output),
            "raw_output": self.output,
            "usage": self.usage,
            "debug_url": self.debug_url,
            "logid": self.logid,
            "error": self.error,
            "polls": self.polls,
            "poll_errors": self.poll_errors,
            "file": str(saved_to) if saved_to else None,
        }


def request_body(workflow_id: str, inputs: RunInputs, *, is_async: bool) -> dict[str, Any]:
    """The JSON body POSTed to /v1/workflow/run, key for key and in order, as the client
    builds it (``None`` values are not sent)."""
    body: dict[str, Any] = {
        "workflow_id": workflow_id,
        "parameters": inputs.parameters,
        "bot_id": inputs.bot_id,
        "app_id": inputs.app_id,
        "ext": inputs.ext,
        "workflow_version": inputs.workflow_version,
        "connector_id": inputs.connector_id,
    }
    body = {key: value for key, value in body.items() if value is not None}
    body["is_async"] = is_async
    return body


def new_report(
    workflow_id: str, inputs: RunInputs, *, is_async: bool, submitted_at: datetime
) -> RunReport:
    """The report a run fills in as it goes, so an interrupted run can still be saved."""
    report = RunReport("async" if is_async else "sync", workflow_id,
                       request_body(workflow_id, inputs, is_async=is_async), submitted_at)
    if is_async:
        report.response = {"submit": None, "run_history": None}
    return report


def mark_aborted(report: RunReport) -> None:
    """Ctrl-C: the run may well go on upstream; keep what is needed to find it."""
    report.status = "Aborted"
    report.exit_code = ExitCode.ABORTED
    where = f"; execute_id {report.execute_id} may still be running" if report.execute_id else ""
    report.reason = f"interrupted by the user{where}"
    report.error = {"type": "aborted", "code": None, "msg": report.reason, "logid": None,
                    "debug_url": report.debug_url}
