"""Workflow output (the End node's ``data`` string) → assistant message text.

The rule, applied in order (documented in docs/openai-mapping.md):

1. ``raw`` mode: the string verbatim, nothing else applies.
2. Not a JSON object (plain text, a number, an array, invalid JSON): verbatim.
3. The "returns text" wrapper ``{"content_type": 1, "data": "<text>", "type_for_model": 2}``
   (an object whose keys are a subset of those three and whose ``data`` is a string):
   ``data`` verbatim.
4. An empty object ``{}`` (End node without outputs): the empty string.
5. An object with exactly one key whose value is a string (``{"output": "Hangzhou"}``):
   that string. The key name does not matter, so renaming a variable never changes what
   clients see; a single non-string value (number, list, object) is *not* unwrapped.
6. Anything else: the object as pretty JSON (2-space indent, non-ASCII kept, key order as
   Coze sent it), so it stays machine-readable.
"""

from __future__ import annotations

import json
from typing import Any

from cozegate.protocol.openai import OutputMode

_ANSWER_WRAPPER_KEYS = frozenset({"content_type", "data", "type_for_model"})


def render_output(data: str | None, mode: OutputMode = "text") -> str:
    """Render one workflow output string by the rule above."""
    if data is None:
        return ""
    if mode == "raw":
        return data
    parsed = _parse_object(data)
    if parsed is None:
        return data
    answer = unwrap_answer(parsed)
    if answer is not None:
        return answer
    if not parsed:
        return ""
    if len(parsed) == 1:
        (value,) = parsed.values()
        if isinstance(value, str):
            return value
    return json.dumps(parsed, ensure_ascii=False, indent=2)


def unwrap_answer(obj: dict[str, Any]) -> str | None:
    """The text of a ``use_answer_content`` wrapper, or ``None`` if ``obj`` is not one."""
    if "data" in obj and "content_type" in obj and obj.keys() <= _ANSWER_WRAPPER_KEYS:
        data = obj["data"]
        if isinstance(data, str):
            return data
    return None


def _parse_object(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    # Cheap pre-check: most streamed text is not JSON and json.loads would raise on it.
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def interrupt_question(data: str | None) -> str:
    """The human-readable prompt inside ``interrupt_data.data``.

    Coze sends a JSON string such as ``{"content_type":"text","content":"Which city?"}``;
    question nodes with options add ``options``. Falls back to the raw string.
    """
    if not data:
        return ""
    parsed = _parse_object(data)
    if parsed is None:
        return data
    for key in ("content", "question", "data"):
        value = parsed.get(key)
        if isinstance(value, str) and value:
            return value
    return data
