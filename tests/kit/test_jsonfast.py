"""kit.jsonfast reads and writes exactly what the json module does, only faster."""

from __future__ import annotations

import json

import pytest

from cozegate.kit import jsonfast

VALUES = [
    {"content": "héllo 中文 \u2028", "n": 3, "ok": True, "none": None, "list": [1.5, -2]},
    {"big": 2**70, "small": -(2**70)},
    {1: "int key"},
    "plain",
    [],
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_compact_utf8_json(value: object) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    assert jsonfast.dumps(value) == expected


@pytest.mark.parametrize("text", [
    '{"a": 1, "b": [true, null, "x"]}',
    '{"big": 123456789012345678901234567890, "neg": -9223372036854775809}',
    '{"nan": NaN, "inf": -Infinity}',
    '"lone \\ud800 surrogate"',
    '{"f": -1e20, "g": 1.25}',
    '[{"deep": [18446744073709551616, "7500000000000000001"]}, -9223372036854775808]',
])
def test_loads_matches_json(text: str) -> None:
    expected = json.loads(text)
    got = jsonfast.loads(text)
    assert repr(got) == repr(expected)  # repr: NaN != NaN, int vs float matters
    assert repr(jsonfast.loads(text.encode())) == repr(expected)


def test_not_json_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        jsonfast.loads("[DONE]")
