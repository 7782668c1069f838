"""How ``cozegate tasks`` shows tasks: a table, one task's details, and a live watch."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from cozegate.cli.admin.output import Column, field, table
from cozegate.cli.common import ExitCode, stdout_console

COLUMNS: list[Column] = [
    ("id", field("id")), ("name", field("name")), ("status", field("status")),
    ("execution", field("execution_status")), ("workflow", field("workflow_id")),
    ("mode", field("mode")), ("cost", field("cost")), ("created", field("created_at")),
]
DETAIL_FIELDS = ("id", "name", "status", "execution_status", "workflow_id", "mode", "channel",
                 "execution_id", "execute_id", "debug_url", "usage", "cost", "error",
                 "callback_status", "created_at", "finished_at")


def exit_code_of(task: dict[str, Any]) -> ExitCode:
    """0 for a completed task; 1 when it failed, was interrupted or cancelled."""
    return ExitCode.OK if task.get("status") == "completed" else ExitCode.WORKFLOW_FAILED


def task_list(answer: dict[str, Any]) -> None:
    table(COLUMNS, answer["tasks"])
    shown = len(answer["tasks"])
    if answer["total"] > shown:
        first = answer["offset"] + 1 if shown else answer["offset"]
        stdout_console().print(f"{first}–{answer['offset'] + shown} of {answer['total']} "
                               "(use --offset / --limit for more)", style="dim")


def task_details(task: dict[str, Any]) -> None:
    console = stdout_console()
    for name in DETAIL_FIELDS:
        value = task.get(name)
        if value is None:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        console.print(f"[bold]{name}[/]: {escape(str(value))}")
    if task.get("interrupt"):
        console.print(f"[bold]interrupt[/]: {escape(json.dumps(task['interrupt']))}")
    if task.get("output_data") is not None:
        console.print("[bold]output[/]:")
        console.print(escape(_pretty(task["output_data"])), markup=True)


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


class Watch:
    """Shows events as they come: a spinner with the latest state on a terminal, one line
    per event elsewhere; streamed answer text is printed as it arrives."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or stdout_console()
        self.final: dict[str, Any] | None = None
        self._status: Status | None = None
        self._in_text = False

    def follow(self, events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
        with ExitStack() as stack:
            if self.console.is_terminal:
                self._status = stack.enter_context(self.console.status("waiting for events…"))
            for event in events:
                self.show(event)
        return self.final

    def show(self, event: dict[str, Any]) -> None:
        name, data = event["event"], event["data"]
        if name == "message":
            self.console.print(escape(data.get("content", "")), end="")
            self._in_text = True
            return
        if self._in_text:
            self.console.print()
            self._in_text = False
        line = _describe(name, data)
        if name == "progress" and self._status is not None:
            self._status.update(line)
            return
        if name in ("succeeded", "failed", "cancelled", "interrupted"):
            self.final = data
            self.console.print(line)
            if data.get("output_data") is not None and name == "succeeded":
                self.console.print(escape(_pretty(data["output_data"])))
            return
        self.console.print(line)
        if self._status is not None:
            self._status.update(line)


def _describe(name: str, data: Any) -> str:
    data = data if isinstance(data, dict) else {}
    match name:
        case "submitted":
            return f"submitted {data.get('task_id')} (workflow {data.get('workflow_id')})"
        case "started" if data.get("mode") == "async":
            return (f"running: Coze async run {data.get('execute_id')} on "
                    f"{data.get('channel')}")
        case "started":
            return f"running: held stream on {data.get('channel')} ({data.get('reason')})"
        case "fallback":
            return f"[yellow]fallback[/]: {escape(str(data.get('reason')))}"
        case "progress":
            nodes = ", ".join(data.get("nodes_finished") or []) or "none"
            return (f"{data.get('execute_status')}: poll {data.get('polls')}, nodes finished: "
                    f"{escape(nodes)}, next poll in {data.get('next_poll_in', 0):g}s")
        case "resumed":
            return f"resumed polling of {data.get('execute_id')} after a gateway restart"
        case "warning":
            return f"[yellow]warning[/]: {escape(str(data.get('message')))}"
        case "succeeded":
            return f"[bold green]completed[/] (cost {data.get('cost')})"
        case _:
            error = data.get("error") or name
            return f"[bold red]{name}[/]: {escape(str(error))}"


def json_line(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()
