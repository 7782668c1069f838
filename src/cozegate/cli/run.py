"""``cozegate run``: one workflow run, sync or async (submit, then poll the run history).

The logic is :func:`run_sync` / :func:`run_async`, which take a client and return a
:class:`RunReport`; the command only parses options, saves the report and renders it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from cozegate.cli.common import (
    BaseUrlOption,
    CliEnv,
    CliFailure,
    ConfigOption,
    ExitCode,
    JsonOutputOption,
    TokenOption,
    WorkflowIdArgument,
    print_json_document,
    resolve_coze_settings,
    run_guarded,
    stderr_console,
    stdout_console,
)
from cozegate.cli.params import (
    AppIdOption,
    BotIdOption,
    ConnectorIdOption,
    ExtOption,
    ParametersFileOption,
    ParametersOption,
    ParamOption,
    RunInputs,
    WorkflowVersionOption,
    build_inputs,
)
from cozegate.cli.polling import PollOutcome, PollPolicy, PollProgress, poll_until_done
from cozegate.cli.progress import PollDisplay
from cozegate.cli.render import (
    as_dict,
    format_usage,
    print_facts,
    print_output,
    question_text,
)
from cozegate.cli.report import RunReport, mark_aborted, new_report
from cozegate.cli.results import write_result
from cozegate.cli.upstream_errors import (
    describe_error,
    error_body,
    error_record,
    exit_code_for,
    is_transient,
)
from cozegate.config import CozeApiSettings
from cozegate.protocol.coze import InterruptData, RunHistory, WorkflowRunResult
from cozegate.upstream import CozeClient
from cozegate.upstream.errors import CozeError


async def _submit(
    client: CozeClient, workflow_id: str, inputs: RunInputs, *, is_async: bool
) -> WorkflowRunResult:
    return await client.run_workflow(
        workflow_id,
        inputs.parameters,
        bot_id=inputs.bot_id,
        app_id=inputs.app_id,
        ext=inputs.ext,
        workflow_version=inputs.workflow_version,
        connector_id=inputs.connector_id,
        is_async=is_async,
    )


def _interrupted(report: RunReport, interrupt: InterruptData) -> None:
    question = question_text(interrupt.data) or "the workflow needs input"
    report.status = "Interrupted"
    report.exit_code = ExitCode.WORKFLOW_FAILED
    report.reason = (f"the workflow asked a question: {question!r}; "
                     "run it with `cozegate stream` to answer")
    report.error = {"type": "interrupted", "code": None, "msg": question, "logid": None,
                    "debug_url": report.debug_url, "event_id": interrupt.event_id,
                    "interrupt_type": interrupt.type}


def _status_of(history: RunHistory) -> str:
    if history.interrupt_data is not None:
        return "Interrupted"
    return history.execute_status.value


def _fail_report(report: RunReport, exc: CozeError) -> None:
    report.error = error_record(exc)
    report.exit_code = exit_code_for(exc)
    report.status = "Fail" if report.exit_code == ExitCode.WORKFLOW_FAILED else "Error"
    report.reason = describe_error(exc)
    report.debug_url = report.error.get("debug_url") or report.debug_url
    report.logid = report.error.get("logid") or report.logid


async def run_sync(client: CozeClient, report: RunReport, inputs: RunInputs) -> RunReport:
    workflow_id = report.workflow_id
    try:
        result = await _submit(client, workflow_id, inputs, is_async=False)
    except CozeError as exc:
        _fail_report(report, exc)
        report.response = error_body(exc)
        return report
    report.response = result.raw
    report.output = result.data
    report.execute_id = result.execute_id or None
    report.debug_url = result.debug_url or None
    report.logid = result.logid
    report.usage = as_dict(result.usage)
    if result.interrupt_data:
        # A sync run cannot be resumed here; say what the workflow wanted instead.
        _interrupted(report, result.interrupt_data)
        return report
    report.status = "Success"
    report.exit_code = ExitCode.OK
    return report


async def run_async(
    client: CozeClient,
    report: RunReport,
    inputs: RunInputs,
    *,
    policy: PollPolicy,
    on_progress: Callable[[PollProgress], None] | None = None,
) -> RunReport:
    workflow_id = report.workflow_id
    try:
        submitted = await _submit(client, workflow_id, inputs, is_async=True)
    except CozeError as exc:
        _fail_report(report, exc)
        report.response["submit"] = error_body(exc)
        return report
    report.response["submit"] = submitted.raw
    report.execute_id = submitted.execute_id or None
    report.debug_url = submitted.debug_url or None
    report.logid = submitted.logid
    if not report.execute_id:
        report.reason = "Coze accepted the async run but returned no execute_id"
        return report

    def progress(state: PollProgress) -> None:
        # Kept on the report as we go, so a run aborted mid-wait still records its polls.
        report.polls, report.poll_errors = state.polls, state.errors
        if on_progress is not None:
            on_progress(state)

    async def fetch() -> RunHistory:
        return await client.get_run_history(workflow_id, report.execute_id)

    try:
        outcome: PollOutcome[RunHistory] = await poll_until_done(
            fetch,
            status_of=_status_of,
            is_transient=is_transient,
            policy=policy,
            on_progress=progress,
        )
    except CozeError as exc:
        _fail_report(report, exc)
        report.response["run_history"] = error_body(exc)
        return report
    report.polls, report.poll_errors = outcome.polls, outcome.errors
    report.poll_error_messages = outcome.error_messages
    history = outcome.final
    if history is not None:
        report.response["run_history"] = history.raw
        report.output = history.output
        report.usage = as_dict(history.usage)
        report.debug_url = history.debug_url or report.debug_url
    report.status = outcome.status
    if outcome.status == "Success":
        report.exit_code = ExitCode.OK
    elif outcome.status == "Interrupted" and history is not None and history.interrupt_data:
        _interrupted(report, history.interrupt_data)
    elif outcome.status == "Fail" and history is not None:
        report.exit_code = ExitCode.WORKFLOW_FAILED
        code, msg = history.error_code, history.error_message
        report.error = {"type": "workflow_failed", "code": code, "msg": msg,
                        "logid": history.logid, "debug_url": report.debug_url}
        report.reason = f"workflow failed: code {code}: {msg}"
    else:
        report.exit_code = ExitCode.GAVE_UP
        state = "is still running" if history is not None else "is in an unknown state"
        report.reason = (f"gave up after {outcome.polls} polls ({outcome.errors} failed); the run "
                         f"{state}: execute_id {report.execute_id}")
        report.error = {"type": "poll_budget_exhausted", "code": None, "msg": report.reason,
                        "logid": None, "debug_url": report.debug_url}
    return report


# --- the command ---------------------------------------------------------------------------


def print_report(console: Console, report: RunReport, saved_to: Path | None) -> None:
    """Human output on stdout: the output first (what people came for), then the facts."""
    style = "green" if report.ok else "red"
    console.print(f"[bold {style}]{escape(report.status)}[/] [dim]({report.mode} run of "
                  f"workflow {escape(report.workflow_id)})[/]")
    if report.status == "Success" or report.output:
        print_output(console, report.output)
    facts: dict[str, Any] = {
        "execute_id": report.execute_id,
        "usage": format_usage(report.usage),
        "debug_url": report.debug_url,
        "logid": report.logid,
    }
    if report.mode == "async":
        facts["polls"] = f"{report.polls} ({report.poll_errors} failed)"
    facts["elapsed"] = f"{report.elapsed:.2f}s"
    facts["saved"] = saved_to
    print_facts(console, facts)


async def execute_run(
    report: RunReport,
    inputs: RunInputs,
    *,
    coze: CozeApiSettings,
    policy: PollPolicy,
    progress_console: Console,
) -> RunReport:
    started = time.monotonic()
    try:
        async with CozeClient.from_settings(coze) as client:
            if report.mode == "sync":
                await run_sync(client, report, inputs)
            else:
                with PollDisplay(progress_console, "async run submitted") as display:
                    await run_async(client, report, inputs, policy=policy,
                                    on_progress=display.update)
    finally:
        report.elapsed = time.monotonic() - started
    return report


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("run")
    def run_command(
        workflow_id: WorkflowIdArgument,
        param: ParamOption = None,
        parameters: ParametersOption = None,
        parameters_file: ParametersFileOption = None,
        bot_id: BotIdOption = None,
        app_id: AppIdOption = None,
        ext: ExtOption = None,
        workflow_version: WorkflowVersionOption = None,
        connector_id: ConnectorIdOption = None,
        is_async: Annotated[
            bool, typer.Option("--async", help="Submit asynchronously, then poll the run history.")
        ] = False,
        poll_initial: Annotated[
            float, typer.Option("--poll-initial", min=0, help="First poll interval, seconds.")
        ] = 2.0,
        poll_max: Annotated[
            float, typer.Option("--poll-max", min=0, help="Longest poll interval, seconds.")
        ] = 30.0,
        max_polls: Annotated[
            int, typer.Option("--max-polls", min=1, help="Give up after this many polls.")
        ] = 120,
        output_dir: Annotated[
            Path | None,
            typer.Option("--output-dir", metavar="DIR", show_default=False,
                         help="Where to save the result file (default: current directory)."),
        ] = None,
        no_save: Annotated[
            bool, typer.Option("--no-save", help="Do not save a result file.")
        ] = False,
        json_output: JsonOutputOption = False,
        base_url: BaseUrlOption = None,
        token: TokenOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Run a workflow (sync, or --async with polling) and save request + response as JSON.

        Each -p value that parses as JSON is sent as JSON (-p n=3 is a number), anything else
        as a string; quote JSON strings to force them (-p 'code="007"'). Inputs merge as
        --parameters-file < --parameters < -p.
        """

        def go() -> RunReport:
            inputs = build_inputs(
                params=param, parameters=parameters, parameters_file=parameters_file,
                bot_id=bot_id, app_id=app_id, ext=ext, workflow_version=workflow_version,
                connector_id=connector_id,
            )
            coze = resolve_coze_settings(base_url, token, config)
            try:
                policy = PollPolicy(initial=poll_initial, maximum=poll_max, max_polls=max_polls)
            except ValueError as exc:
                raise CliFailure(str(exc), ExitCode.USAGE) from exc
            submitted_at = env.clock()
            report = new_report(workflow_id, inputs, is_async=is_async,
                                submitted_at=submitted_at)
            try:
                asyncio.run(execute_run(report, inputs, coze=coze, policy=policy,
                                        progress_console=stderr_console()))
            except KeyboardInterrupt:
                mark_aborted(report)  # and still save the file below
            report.finished_at = env.clock()
            saved_to, save_failure = None, None
            if not no_save:
                try:
                    saved_to = write_result(report.file_record(coze.base_url), mode=report.mode,
                                            submitted_at=submitted_at, output_dir=output_dir)
                except CliFailure as exc:
                    # Still show the run's result; the run's own failure, if any, wins the exit.
                    save_failure = exc
                    stderr_console().print(f"[bold red]error:[/] {escape(exc.message)}")
            if json_output:
                print_json_document(report.summary(saved_to))
            else:
                print_report(stdout_console(), report, saved_to)
            if not report.ok:
                raise CliFailure(report.reason or report.status, report.exit_code)
            if save_failure is not None:
                raise typer.Exit(int(save_failure.exit_code))
            return report

        run_guarded(go)
