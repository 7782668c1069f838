"""Turning Coze payloads into something readable: nested JSON text decoded, usage, links."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.json import JSON
from rich.markup import escape

# Workflow outputs nest JSON inside JSON strings (run history wraps the End node's text in
# {"Output": "<json>"}); a few levels cover every shape Coze produces.
_MAX_DEPTH = 4


def decode_json_text(value: Any, depth: int = 0) -> Any:
    """Decode strings holding a JSON object or array, recursively; leave the rest alone."""
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                return decode_json_text(json.loads(stripped), depth + 1)
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {key: decode_json_text(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_json_text(item, depth + 1) for item in value]
    return value


def as_dict(value: Any) -> dict[str, Any] | None:
    """A pydantic model, dataclass-like object or mapping as a plain dict (``None`` stays)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return {key: item for key, item in vars(value).items() if not key.startswith("_")}


def print_output(console: Console, output: Any) -> None:
    """Pretty-print a workflow output: JSON as highlighted JSON, text as text."""
    decoded = decode_json_text(output)
    if isinstance(decoded, dict | list):
        console.print(JSON.from_data(decoded, ensure_ascii=False))
    elif decoded is None or decoded == "":
        console.print("[dim](no output)[/]")
    else:
        console.print(escape(str(decoded)))


def format_usage(usage: Any) -> str | None:
    data = as_dict(usage)
    if not data or not any(data.get(key) for key in ("token_count", "input_count", "output_count")):
        return None
    return (
        f"tokens {data.get('token_count', 0)} "
        f"(in {data.get('input_count', 0)}, out {data.get('output_count', 0)})"
    )


def print_facts(console: Console, facts: Mapping[str, Any]) -> None:
    """``label: value`` lines, labels dimmed; empty values skipped."""
    for label, value in facts.items():
        if value in (None, ""):
            continue
        console.print(f"[dim]{escape(label)}:[/] {escape(str(value))}")


def question_text(data: str | None) -> str:
    """The human question inside ``interrupt_data.data`` (JSON text, or plain text)."""
    if not data:
        return ""
    try:
        decoded: Any = json.loads(data)
    except ValueError:
        return data
    if isinstance(decoded, dict):
        for key in ("content", "question", "prompt", "text"):
            if isinstance(decoded.get(key), str) and decoded[key]:
                return decoded[key]
        return data
    return decoded if isinstance(decoded, str) else data
