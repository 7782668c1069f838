"""Parsing and merging of workflow inputs given on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cozegate.cli.common import CliFailure, ExitCode
from cozegate.cli.params import merge_parameters, parse_assignment, parse_ext


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("city=Hangzhou", ("city", "Hangzhou")),
        ("n=3", ("n", 3)),
        ("x=1.5", ("x", 1.5)),
        ("ok=true", ("ok", True)),
        ("nothing=null", ("nothing", None)),
        ('tags=["a","b"]', ("tags", ["a", "b"])),
        ('obj={"k":1}', ("obj", {"k": 1})),
        ('zip="01234"', ("zip", "01234")),
        ("zip=01234", ("zip", "01234")),  # not valid JSON → the literal string
        ("empty=", ("empty", "")),
        ("eq=a=b", ("eq", "a=b")),  # only the first '=' splits
        (" spaced =v", ("spaced", "v")),
        ("text=hello world", ("text", "hello world")),
    ],
)
def test_parse_assignment(text: str, expected: tuple[str, object]) -> None:
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["novalue", "=value", ""])
def test_parse_assignment_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(CliFailure) as info:
        parse_assignment(text)
    assert info.value.exit_code == ExitCode.USAGE


def test_merge_order_file_then_parameters_then_p(tmp_path: Path) -> None:
    file = tmp_path / "p.json"
    file.write_text(json.dumps({"a": "file", "b": "file", "c": "file"}), encoding="utf-8")
    merged = merge_parameters(["c=p1", "c=p2"], '{"b": "json", "c": "json"}', file)
    assert merged == {"a": "file", "b": "json", "c": "p2"}


def test_merge_rejects_non_object_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(CliFailure, match="must be a JSON object"):
        merge_parameters(None, "[1, 2]", None)
    with pytest.raises(CliFailure, match="not valid JSON"):
        merge_parameters(None, "{bad", None)
    with pytest.raises(CliFailure, match="cannot read parameters file"):
        merge_parameters(None, None, tmp_path / "missing.json")


def test_parse_ext_stringifies_scalars() -> None:
    assert parse_ext('{"user_id": "u1", "latitude": 39.9, "flag": true}') == {
        "user_id": "u1",
        "latitude": "39.9",
        "flag": "true",
    }
    assert parse_ext(None) is None
    with pytest.raises(CliFailure):
        parse_ext('{"nested": {"a": 1}}')
