"""``cozegate chat``: a chat-flow session, turn by turn, on one conversation.

Each turn is one ``/v1/workflows/chat`` call; the ``conversation_id`` Coze assigns on the
first turn is sent with every later one, so the flow sees the whole conversation. When the
flow asks a question (``conversation.chat.requires_action``) there is no resume call in a chat
flow: the next message on the same conversation is the answer. ``/new`` starts a new
conversation, ``/exit`` (or EOF) ends the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

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
    ExtOption,
    ParametersFileOption,
    ParametersOption,
    ParamOption,
    RunInputs,
    build_inputs,
)
from cozegate.cli.render import format_usage
from cozegate.cli.upstream_errors import describe_error
from cozegate.config import CozeApiSettings
from cozegate.protocol.coze import ChatEvent, ChatEventType, ChatMessageInput, Message, Usage
from cozegate.upstream import CozeClient
from cozegate.upstream.errors import CozeError

EXIT_COMMAND = "/exit"
NEW_COMMAND = "/new"

InputSource = Callable[[], str | None]  # None: no more input (EOF / messages used up)


@dataclass
class TurnResult:
    conversation_id: str | None
    status: str = "failed"  # completed | requires_action | failed
    answer: str = ""
    usage: Usage | None = None
    error: str | None = None
    debug_url: str | None = None


class ChatPrinter:
    """Assistant answers as they stream; the question of a requires_action turn included."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._streamed: set[str] = set()  # message ids already shown through deltas
        self._line_open = False

    def delta(self, message: Message) -> None:
        if not self._line_open:
            self.console.print("[bold magenta]flow>[/] ", end="")
            self._line_open = True
        self.console.print(escape(message.content), end="")
        if message.id:
            self._streamed.add(message.id)

    def completed(self, message: Message) -> None:
        shown = message.id in self._streamed if message.id else self._line_open
        if shown:
            return
        # Not streamed (some flows send only the completed message): show it whole.
        self.delta(message)

    def end_line(self) -> None:
        if self._line_open:
            self.console.print()
            self._line_open = False


def _is_answer(message: Message) -> bool:
    # "verbose" (finish markers), "follow_up" suggestions and tool traffic are not the answer.
    return message.role == "assistant" and message.type in ("answer", "")


def _apply(event: ChatEvent, result: TurnResult, printer: ChatPrinter) -> None:
    """Fold one chat-flow event into the turn's result, printing answer text as it comes."""
    chat, message = event.chat, event.message
    if chat is not None:
        result.conversation_id = chat.conversation_id or result.conversation_id
        result.usage = chat.usage or result.usage
    answer = message if message is not None and _is_answer(message) else None
    if event.type is ChatEventType.MESSAGE_DELTA and answer is not None:
        printer.delta(answer)
        result.answer += answer.content
    elif event.type is ChatEventType.MESSAGE_COMPLETED and answer is not None:
        if not result.answer:
            result.answer = answer.content
        printer.completed(answer)
    elif event.type is ChatEventType.CHAT_COMPLETED:
        result.status = "completed"
    elif event.type is ChatEventType.CHAT_REQUIRES_ACTION:
        result.status = "requires_action"
    elif event.type is ChatEventType.CHAT_FAILED:
        result.status = "failed"
        last_error = chat.last_error if chat is not None else None
        result.error = f"{last_error.code}: {last_error.msg}" if last_error else event.data
    elif event.type is ChatEventType.ERROR:
        result.status = "failed"
        result.error = event.data
    elif event.type is ChatEventType.DONE:
        result.debug_url = event.debug_url


async def chat_turn(
    client: CozeClient,
    workflow_id: str,
    text: str,
    *,
    conversation_id: str | None,
    inputs: RunInputs,
    printer: ChatPrinter,
) -> TurnResult:
    """One message out, one streamed answer back."""
    result = TurnResult(conversation_id=conversation_id)
    opened = client.chat_workflow(
        workflow_id,
        [ChatMessageInput(content=text)],
        parameters=inputs.parameters or None,
        conversation_id=conversation_id,
        bot_id=inputs.bot_id,
        app_id=inputs.app_id,
        ext=inputs.ext,
    )
    try:
        async with opened as stream:
            async for event in stream:
                _apply(event, result, printer)
    finally:
        printer.end_line()  # also when the stream breaks, so the error starts a line
    return result


@dataclass
class SessionReport:
    conversation_id: str | None = None
    turns: int = 0
    failed_turns: int = 0
    waiting: bool = False  # the last turn asked a question nobody answered
    errors: list[str] = field(default_factory=list)


async def chat_session(
    client: CozeClient,
    workflow_id: str,
    *,
    inputs: RunInputs,
    next_input: InputSource,
    printer: ChatPrinter,
    notes: Console,
    conversation_id: str | None = None,
    stop_on_failure: bool = False,
) -> SessionReport:
    """Turns until ``/exit`` or the input runs out; returns what happened."""
    report = SessionReport(conversation_id=conversation_id)
    while True:
        text = next_input()
        if text is None or text.strip() == EXIT_COMMAND:
            return report
        if text.strip() == NEW_COMMAND:
            report.conversation_id, report.waiting = None, False
            notes.print("[dim]new conversation[/]")
            continue
        if not text.strip():
            continue
        result = await chat_turn(client, workflow_id, text, conversation_id=report.conversation_id,
                                 inputs=inputs, printer=printer)
        report.turns += 1
        report.conversation_id = result.conversation_id
        report.waiting = result.status == "requires_action"
        usage = format_usage(result.usage)
        notes.print(f"[dim]conversation {report.conversation_id} · {result.status}"
                    f"{' · ' + usage if usage else ''}[/]")
        if report.waiting:
            notes.print("[cyan]the flow asked a question: your next message is the answer[/]")
        if result.status == "failed":
            report.failed_turns += 1
            report.errors.append(result.error or "chat failed")
            notes.print(f"[red]chat failed:[/] {escape(result.error or 'unknown error')}")
            if stop_on_failure:
                return report


def scripted_input(messages: list[str], console: Console) -> InputSource:
    """``--message`` values, echoed so a transcript reads like a session."""
    queue = list(messages)

    def next_message() -> str | None:
        if not queue:
            return None
        text = queue.pop(0)
        console.print(f"[bold green]you>[/] {escape(text)}")
        return text

    return next_message


def prompt_input(console: Console) -> InputSource:
    def next_message() -> str | None:
        try:
            return click.prompt("you", err=True, default="", show_default=False)
        except click.Abort:
            console.print()  # Ctrl-D / EOF ends the session like /exit
            return None

    return next_message


async def execute_chat(
    workflow_id: str,
    *,
    coze: CozeApiSettings,
    inputs: RunInputs,
    next_input: InputSource,
    conversation_id: str | None,
    stop_on_failure: bool,
) -> SessionReport:
    out = stdout_console()
    async with CozeClient.from_settings(coze) as client:
        try:
            return await chat_session(
                client, workflow_id, inputs=inputs, next_input=next_input,
                printer=ChatPrinter(out), notes=stderr_console(),
                conversation_id=conversation_id, stop_on_failure=stop_on_failure,
            )
        except CozeError as exc:
            raise CliFailure(describe_error(exc), ExitCode.UPSTREAM) from exc


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("chat")
    def chat_command(
        workflow_id: WorkflowIdArgument,
        conversation_id: Annotated[
            str | None,
            typer.Option("--conversation-id", metavar="ID", show_default=False,
                         help="Continue an existing conversation."),
        ] = None,
        message: Annotated[
            list[str] | None,
            typer.Option("--message", "-m", metavar="TEXT", show_default=False,
                         help="Send these messages in order, then exit (non-interactive)."),
        ] = None,
        param: ParamOption = None,
        parameters: ParametersOption = None,
        parameters_file: ParametersFileOption = None,
        bot_id: BotIdOption = None,
        app_id: AppIdOption = None,
        ext: ExtOption = None,
        base_url: BaseUrlOption = None,
        token: TokenOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Chat with a chat flow. Type /new for a new conversation, /exit to quit."""

        def go() -> None:
            inputs = build_inputs(params=param, parameters=parameters,
                                  parameters_file=parameters_file, bot_id=bot_id,
                                  app_id=app_id, ext=ext)
            coze = resolve_coze_settings(base_url, token, config)
            scripted = message is not None
            notes = stderr_console()
            if not scripted:
                notes.print("[dim]chat flow session: /new starts a new conversation, "
                            "/exit quits[/]")
            report = asyncio.run(execute_chat(
                workflow_id, coze=coze, inputs=inputs,
                next_input=scripted_input(message or [], stdout_console()) if scripted
                else prompt_input(notes),
                conversation_id=conversation_id,
                # A script wants to stop at the first failure; a person may rephrase.
                stop_on_failure=scripted,
            ))
            if report.waiting and report.conversation_id:
                notes.print("the flow is waiting for an answer; continue with "
                            f"--conversation-id {report.conversation_id}")
            if scripted and report.failed_turns:
                raise CliFailure(f"chat failed: {report.errors[-1]}", ExitCode.WORKFLOW_FAILED)

        run_guarded(go)
