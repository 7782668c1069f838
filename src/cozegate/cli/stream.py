"""``cozegate stream``: run a workflow over SSE, printing node output as it arrives.

When the workflow asks a question (``Interrupt``) the answer comes from ``--answer`` (in
order) or from the prompt, and the run continues with ``stream_resume`` — in a loop, since
a resumed run may ask again — until ``Done`` or ``Error``. :func:`stream_workflow_run` holds
that loop and takes the answer source and the printer as arguments, so it is testable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import click
import typer
from rich.console import Console
from rich.markup import escape

from cozegate.cli.common import (
    BaseUrlOption,
    CliEnv,
    CliFailure,
    ConfigOption,
    ExitCode,
    TokenOption,
    WorkflowIdArgument,
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
from cozegate.cli.render import format_usage, print_facts, question_text
from cozegate.cli.upstream_errors import describe_error
from cozegate.config import CozeApiSettings
from cozegate.protocol.coze import (
    Usage,
    WorkflowEvent,
    WorkflowEventMessage,
    WorkflowEventType,
)
from cozegate.upstream import CozeClient
from cozegate.upstream.errors import CozeError


@dataclass(frozen=True)
class Question:
    """An interrupt, as shown to whoever answers it."""

    node_title: str
    text: str  # the question, or "" when the workflow only said it wants input
    event_id: str
    interrupt_type: int
    raw_data: str | None


AnswerSource = Callable[[Question], str | None]  # None: no answer available


@dataclass
class StreamReport:
    status: str = "Running"  # then Done | Error | Unanswered
    error_code: int | None = None
    error_message: str | None = None
    debug_url: str | None = None
    execute_id: str | None = None
    resumes: int = 0
    # Each resume is billed again, so usage is summed over the segments of the run.
    usage: Usage = field(default_factory=Usage)
    pending: Question | None = None


def execute_id_from_url(url: str | None) -> str | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("execute_id")
    return values[0] if values else None


class StreamPrinter:
    """Node output as it arrives: a dimmed node title, then the node's text chunks."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._open_node: str | None = None  # title of the node whose text is mid-line

    def message(self, message: WorkflowEventMessage) -> None:
        if self._open_node is None or self._open_node != message.node_title:
            self.end_line()
            title = message.node_title or "output"
            self.console.print(f"[dim]── {escape(title)}[/]")
            self._open_node = message.node_title
        self.console.print(escape(message.content), end="")
        if message.node_is_finish:
            self.end_line()

    def end_line(self) -> None:
        if self._open_node is not None:
            self.console.print()
            self._open_node = None


async def _consume(
    stream: AsyncIterable[WorkflowEvent], report: StreamReport, printer: StreamPrinter
) -> Question | None:
    """Read one stream segment; return the question if it ended in an interrupt."""
    segment_usage: Usage | None = None
    question: Question | None = None
    async for event in stream:
        if event.type is WorkflowEventType.MESSAGE and event.message is not None:
            printer.message(event.message)
            if event.message.usage is not None:
                segment_usage = event.message.usage  # cumulative within a segment
        elif event.type is WorkflowEventType.ERROR:
            printer.end_line()
            error = event.error
            report.status = "Error"
            report.error_code = error.error_code if error else None
            report.error_message = error.error_message if error else event.data
            report.debug_url = event.debug_url or report.debug_url
        elif event.type is WorkflowEventType.INTERRUPT and event.interrupt is not None:
            printer.end_line()
            data = event.interrupt.interrupt_data
            question = Question(
                node_title=event.interrupt.node_title,
                text=question_text(data.data),
                event_id=data.event_id,
                interrupt_type=data.type,
                raw_data=data.data,
            )
            report.execute_id = data.event_id.split("/", 1)[0] or report.execute_id
        elif event.type is WorkflowEventType.DONE:
            printer.end_line()
            report.debug_url = event.debug_url or report.debug_url
            # Done carries no execute_id field, but its debug_url names the run.
            report.execute_id = report.execute_id or execute_id_from_url(report.debug_url)
            if report.status != "Error" and question is None:
                report.status = "Done"
    printer.end_line()
    if segment_usage is not None:
        report.usage = Usage(
            input_count=report.usage.input_count + segment_usage.input_count,
            output_count=report.usage.output_count + segment_usage.output_count,
            token_count=report.usage.token_count + segment_usage.token_count,
        )
    return question if report.status != "Error" else None


async def stream_workflow_run(
    client: CozeClient,
    workflow_id: str,
    inputs: RunInputs,
    *,
    answers: AnswerSource,
    printer: StreamPrinter,
) -> StreamReport:
    """Stream, answering interrupts, until Done/Error or an interrupt nobody answers."""
    report = StreamReport()
    opened = client.stream_workflow(
        workflow_id,
        inputs.parameters,
        bot_id=inputs.bot_id,
        app_id=inputs.app_id,
        ext=inputs.ext,
        workflow_version=inputs.workflow_version,
        connector_id=inputs.connector_id,
    )
    while True:
        async with opened as stream:
            question = await _consume(stream, report, printer)
        if question is None:
            return report
        answer = answers(question)
        if answer is None:
            report.status = "Unanswered"
            report.pending = question
            return report
        report.resumes += 1
        opened = client.resume_workflow_stream(
            workflow_id, question.event_id, answer, question.interrupt_type
        )


def make_answer_source(preset: list[str], console: Console) -> AnswerSource:
    """``--answer`` values first, in order; then the prompt (stdin). EOF means no answer."""
    queue = list(preset)

    def answer(question: Question) -> str | None:
        title = f" [dim]({escape(question.node_title)})[/]" if question.node_title else ""
        console.print(f"[bold cyan]?[/] {escape(question.text or 'The workflow needs input.')}"
                      f"{title}")
        if queue:
            value = queue.pop(0)
            console.print(f"[dim]answer:[/] {escape(value)}")
            return value
        try:
            return click.prompt("answer", err=True)
        except click.Abort:
            console.print()  # end the prompt line before the error message
            return None

    return answer


async def execute_stream(
    workflow_id: str,
    inputs: RunInputs,
    *,
    coze: CozeApiSettings,
    answers: AnswerSource,
    printer: StreamPrinter,
) -> StreamReport:
    async with CozeClient.from_settings(coze) as client:
        try:
            return await stream_workflow_run(client, workflow_id, inputs, answers=answers,
                                             printer=printer)
        except CozeError as exc:
            printer.end_line()
            raise CliFailure(describe_error(exc), ExitCode.UPSTREAM) from exc


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("stream")
    def stream_command(
        workflow_id: WorkflowIdArgument,
        param: ParamOption = None,
        parameters: ParametersOption = None,
        parameters_file: ParametersFileOption = None,
        bot_id: BotIdOption = None,
        app_id: AppIdOption = None,
        ext: ExtOption = None,
        workflow_version: WorkflowVersionOption = None,
        connector_id: ConnectorIdOption = None,
        answer: Annotated[
            list[str] | None,
            typer.Option("--answer", "-a", metavar="TEXT", show_default=False,
                         help="Answer to the next question the workflow asks (repeatable, "
                              "used in order before prompting)."),
        ] = None,
        base_url: BaseUrlOption = None,
        token: TokenOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Run a workflow with streaming output; answer its questions and resume."""

        def go() -> None:
            inputs = build_inputs(
                params=param, parameters=parameters, parameters_file=parameters_file,
                bot_id=bot_id, app_id=app_id, ext=ext, workflow_version=workflow_version,
                connector_id=connector_id,
            )
            coze = resolve_coze_settings(base_url, token, config)
            out = stdout_console()
            report = asyncio.run(execute_stream(
                workflow_id, inputs, coze=coze,
                answers=make_answer_source(answer or [], stderr_console()),
                printer=StreamPrinter(out),
            ))
            print_facts(out, {
                "usage": format_usage(report.usage) if report.usage.token_count else None,
                "resumes": report.resumes or None,
                "execute_id": report.execute_id,
                "debug_url": report.debug_url,
            })
            if report.status == "Error":
                raise CliFailure(
                    f"workflow error {report.error_code}: {report.error_message}",
                    ExitCode.WORKFLOW_FAILED,
                )
            if report.status == "Unanswered":
                raise CliFailure(
                    "the workflow is waiting for an answer and none was given "
                    "(pass --answer TEXT or run interactively)",
                    ExitCode.USAGE,
                )

        run_guarded(go)

