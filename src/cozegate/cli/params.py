"""Workflow inputs from the command line: ``-p key=value``, ``--parameters``, ``--parameters-file``.

Merge order, weakest first: the file, then ``--parameters``, then each ``-p`` in the order
given (so a later ``-p`` for the same key wins). A ``-p`` value that parses as JSON is used as
JSON (``-p n=3`` is the number 3, ``-p tags='["a","b"]'`` a list, ``-p ok=true`` a boolean,
``-p x=null`` null); anything else is the literal string (``-p city=Hangzhou``). To force a
string that looks like JSON, quote it as JSON: ``-p 'zip="01234"'``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from cozegate.cli.common import CliFailure, ExitCode

ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="KEY=VALUE",
        help="One workflow input (repeatable). JSON values are parsed, anything else is a string.",
        show_default=False,
    ),
]
ParametersOption = Annotated[
    str | None,
    typer.Option(
        "--parameters", metavar="JSON", help="Workflow inputs as a JSON object.", show_default=False
    ),
]
ParametersFileOption = Annotated[
    Path | None,
    typer.Option(
        "--parameters-file",
        metavar="FILE",
        help="Workflow inputs from a JSON file holding an object ('-' reads stdin).",
        show_default=False,
    ),
]
BotIdOption = Annotated[
    str | None,
    typer.Option("--bot-id", help="Agent (bot) to associate with the run.", show_default=False),
]
AppIdOption = Annotated[
    str | None,
    typer.Option("--app-id", help="Coze app the workflow belongs to.", show_default=False),
]
ExtOption = Annotated[
    str | None,
    typer.Option(
        "--ext",
        metavar="JSON",
        help='Extra fields as a JSON object, e.g. \'{"user_id":"u1"}\' (values sent as strings).',
        show_default=False,
    ),
]
WorkflowVersionOption = Annotated[
    str | None,
    typer.Option(
        "--workflow-version", help="Library workflow version, e.g. v0.0.5.", show_default=False
    ),
]
ConnectorIdOption = Annotated[
    str | None,
    typer.Option(
        "--connector-id", help="Channel id (Coze's default: 1024, API).", show_default=False
    ),
]


@dataclass(frozen=True)
class RunInputs:
    """Everything a run sends besides the workflow id, already validated."""

    parameters: dict[str, Any] = field(default_factory=dict)
    bot_id: str | None = None
    app_id: str | None = None
    ext: dict[str, str] | None = None
    workflow_version: str | None = None
    connector_id: str | None = None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` → (key, value), the value decoded as JSON when it is JSON."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliFailure(f"bad -p {text!r}: expected KEY=VALUE", ExitCode.USAGE)
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """Decode ``text`` as a JSON object, or fail as a usage error naming ``what``."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CliFailure(f"{what} is not valid JSON: {exc}", ExitCode.USAGE) from exc
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise CliFailure(f"{what} must be a JSON object, got {kind}", ExitCode.USAGE)
    return value


def read_parameters_file(path: Path) -> dict[str, Any]:
    if str(path) == "-":
        return parse_json_object(sys.stdin.read(), "parameters from stdin")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        message = f"cannot read parameters file {path}: {exc.strerror}"
        raise CliFailure(message, ExitCode.USAGE) from exc
    return parse_json_object(text, f"parameters file {path}")


def merge_parameters(
    params: list[str] | None, parameters: str | None, parameters_file: Path | None
) -> dict[str, Any]:
    """File < --parameters < -p (later -p wins)."""
    merged: dict[str, Any] = {}
    if parameters_file is not None:
        merged.update(read_parameters_file(parameters_file))
    if parameters is not None:
        merged.update(parse_json_object(parameters, "--parameters"))
    for item in params or []:
        key, value = parse_assignment(item)
        merged[key] = value
    return merged


def parse_ext(text: str | None) -> dict[str, str] | None:
    """``--ext``: Coze declares it ``map<string,string>``, so scalars are sent as strings."""
    if text is None:
        return None
    ext: dict[str, str] = {}
    for key, value in parse_json_object(text, "--ext").items():
        if isinstance(value, dict | list):
            raise CliFailure(f"--ext value for {key!r} must be a string or number", ExitCode.USAGE)
        ext[key] = value if isinstance(value, str) else json.dumps(value)
    return ext


def build_inputs(
    *,
    params: list[str] | None,
    parameters: str | None,
    parameters_file: Path | None,
    bot_id: str | None = None,
    app_id: str | None = None,
    ext: str | None = None,
    workflow_version: str | None = None,
    connector_id: str | None = None,
) -> RunInputs:
    return RunInputs(
        parameters=merge_parameters(params, parameters, parameters_file),
        bot_id=bot_id,
        app_id=app_id,
        ext=parse_ext(ext),
        workflow_version=workflow_version,
        connector_id=connector_id,
    )
