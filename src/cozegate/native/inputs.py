"""Checking a run's ``parameters`` against the workflow's input schema before calling Coze.

A request Coze would refuse with 4000 is refused here, naming the field, without spending an
upstream call. The check is deliberately no stricter than Coze: only clear violations are
refused (a required input missing or null, a value of the wrong JSON type); unknown inputs,
types the gateway does not know (``image``, ``file``, …) and anything Coze converts itself
(numeric strings for number inputs) pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cozegate.native.errors import bad_request
from cozegate.protocol.coze import WorkflowParameter


def check_inputs(parameters: Mapping[str, Any], schema: Mapping[str, WorkflowParameter]) -> None:
    """Raise a 4000 error naming the first input that does not fit ``schema``."""
    _check_object(parameters, schema, prefix="")


def _check_object(values: Mapping[str, Any], schema: Mapping[str, WorkflowParameter], *,
                  prefix: str) -> None:
    for name, parameter in schema.items():
        path = f"{prefix}{name}"
        value = values.get(name)
        if value is None:
            if parameter.required and parameter.default_value in (None, ""):
                raise bad_request(f"missing required input '{path}'")
            continue
        _check_value(path, parameter, value)


def _check_value(path: str, parameter: WorkflowParameter, value: Any) -> None:
    kind = parameter.type.lower()
    if not _fits(kind, value):
        raise bad_request(f"input '{path}' must be of type {kind}, got {_json_type(value)}")
    if kind == "object" and isinstance(value, dict) and parameter.properties:
        _check_object(value, parameter.properties, prefix=f"{path}.")
    if kind == "array" and isinstance(value, list) and parameter.items is not None:
        for index, item in enumerate(value):
            if item is not None:
                _check_value(f"{path}[{index}]", parameter.items, item)


def _fits(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "number"):
        if isinstance(value, bool):
            return False
        if isinstance(value, str):
            return _numeric(value, integer=kind == "integer")
        if kind == "integer" and isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int | float)
    if kind == "boolean":
        return isinstance(value, bool) or (isinstance(value, str)
                                           and value.lower() in ("true", "false"))
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True  # image, file, time, … : Coze knows better


def _numeric(text: str, *, integer: bool) -> bool:
    try:
        number = float(text)
    except ValueError:
        return False
    return number.is_integer() if integer else True


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
