"""``cozegate tasks submit|get|list|cancel|watch``: the gateway's task API from a terminal.

Talks to a running gateway (``--url``, env ``COZEGATE_URL``) with a gateway key (``--key``,
env ``COZEGATE_KEY`` or ``COZEGATE_API_KEY``). ``--json`` prints the API's JSON (``watch``:
one event per line). Exit codes (docs/cli.md): 0 done, 1 the task failed / was cancelled
(``watch``, ``submit --watch``), 2 bad input, 3 refused or unreachable, 130 Ctrl-C.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cozegate.cli.admin.options import DEFAULT_URL, LimitOption, OffsetOption, UrlOption
from cozegate.cli.common import CliFailure, ExitCode, print_json_document, run_guarded
from cozegate.cli.params import (
    ParametersFileOption,
    ParametersOption,
    ParamOption,
    merge_parameters,
)
from cozegate.cli.tasks_client import TaskApiClient
from cozegate.cli.tasks_render import Watch, exit_code_of, json_line, task_details, task_list

KeyOption = Annotated[str | None, typer.Option(
    "--key", envvar=["COZEGATE_KEY", "COZEGATE_API_KEY"], metavar="KEY", show_default=False,
    help="A gateway key, sk-… (env COZEGATE_KEY or COZEGATE_API_KEY).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]
TaskIdArgument = Annotated[str, typer.Argument(metavar="TASK_ID", help="task_… id.")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Background tasks through the gateway's task API.",
                        no_args_is_help=True)
    for command in (submit, get, list_tasks, cancel, watch):
        group.command(command.__name__ if command is not list_tasks else "list")(command)
    app.add_typer(group, name="tasks")


def submit(
    workflow_id: Annotated[str, typer.Argument(metavar="WORKFLOW_ID")],
    param: ParamOption = None,
    parameters: ParametersOption = None,
    parameters_file: ParametersFileOption = None,
    name: Annotated[str | None, typer.Option("--name", help="task_name.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    chatflow: Annotated[bool, typer.Option("--chatflow", help="WORKFLOW_ID is a chat flow.")]
    = False,
    message: Annotated[str | None, typer.Option("--message", "-m",
                                                help="A chat flow's user message.")] = None,
    callback_url: Annotated[str | None, typer.Option("--callback-url", metavar="URL")] = None,
    callback_secret: Annotated[str | None, typer.Option("--callback-secret",
                                                        metavar="SECRET")] = None,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", metavar="KEY",
                                                        help="Resend-safe submit.")] = None,
    follow: Annotated[bool, typer.Option("--watch", help="Then follow it to its end.")] = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a task (it runs in the background); prints its id."""
    body: dict[str, Any] = {"workflow_id": workflow_id, "save_as_task": True}

    def action(client: TaskApiClient) -> ExitCode:
        body["input_parameters"] = merge_parameters(param, parameters, parameters_file)
        optional = {"task_name": name, "task_description": description, "message": message,
                    "callback_url": callback_url, "callback_secret": callback_secret,
                    "workflow_type": "chatflow" if chatflow else None}
        body.update({k: v for k, v in optional.items() if v is not None})
        answer = client.submit(body, idempotency_key)
        if as_json and not follow:
            print_json_document(answer)
            return ExitCode.OK
        if not as_json:
            typer.echo(f"task {answer['task_id']} ({answer['status']}); run "
                       f"{answer['execution_id']}")
            if answer.get("callback_secret"):
                typer.echo(f"callback secret (shown once): {answer['callback_secret']}")
        return _follow(client, answer["task_id"], 0, as_json) if follow else ExitCode.OK

    _run(url, key, action)


def get(task_id: TaskIdArgument, url: UrlOption = DEFAULT_URL, key: KeyOption = None,
        as_json: JsonOption = False) -> None:
    """One task: status, output, usage, cost."""

    def action(client: TaskApiClient) -> ExitCode:
        task = client.get(task_id)
        if as_json:
            print_json_document(task)
        else:
            task_details(task)
        return ExitCode.OK

    _run(url, key, action)


def list_tasks(
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, executing, completed, failed, cancelled, active")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", metavar="ID")] = None,
    offset: OffsetOption = 0,
    limit: LimitOption = 50,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """My tasks, newest first."""

    def action(client: TaskApiClient) -> ExitCode:
        answer = client.list({"status": status, "workflow_id": workflow, "offset": offset,
                              "limit": limit})
        if as_json:
            print_json_document(answer)
        else:
            task_list(answer)
        return ExitCode.OK

    _run(url, key, action)


def cancel(task_id: TaskIdArgument, url: UrlOption = DEFAULT_URL, key: KeyOption = None,
           as_json: JsonOption = False) -> None:
    """Cancel a task (its reservation is refunded unless Coze reported usage)."""

    def action(client: TaskApiClient) -> ExitCode:
        task = client.cancel(task_id)
        if as_json:
            print_json_document(task)
        else:
            typer.echo(f"task {task['id']}: {task['status']}")
        return ExitCode.OK

    _run(url, key, action)


def watch(
    task_id: TaskIdArgument,
    after: Annotated[int, typer.Option("--from", min=0, metavar="EVENT_ID",
                                       help="Only events after this id.")] = 0,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Follow a task's events live to its end (replays what happened so far)."""
    _run(url, key, lambda client: _follow(client, task_id, after, as_json))


def _follow(client: TaskApiClient, task_id: str, after: int, as_json: bool) -> ExitCode:
    if as_json:
        final = None
        for event in client.events(task_id, after):
            json_line(event)
            final = event["data"] if event["event"] in (
                "succeeded", "failed", "cancelled", "interrupted") else final
    else:
        final = Watch().follow(client.events(task_id, after))
    if final is None:  # joined after the end (--from past the final event)
        final = client.get(task_id)
    return exit_code_of(final)


def _run(url: str, key: str | None, action: Any) -> None:
    def go() -> None:
        if not key:
            raise CliFailure("no gateway key: pass --key or set COZEGATE_KEY", ExitCode.USAGE)
        with TaskApiClient(url, key) as client:
            code = action(client)
        if code != ExitCode.OK:
            raise typer.Exit(int(code))

    run_guarded(go)
