"""The output rendering rule, case by case."""

from __future__ import annotations

import pytest

from cozegate.protocol.output_render import interrupt_question, render_output


@pytest.mark.parametrize(("data", "expected"), [
    ("plain text", "plain text"),
    ("", ""),
    (None, ""),
    ('{"output":"Hangzhou"}', "Hangzhou"),
    ('{"anything":"x"}', "x"),
    ('{"n": 5}', '{\n  "n": 5\n}'),
    ('{"a":"1","b":"2"}', '{\n  "a": "1",\n  "b": "2"\n}'),
    ('{"城市":"杭州","temp":21}', '{\n  "城市": "杭州",\n  "temp": 21\n}'),
    ("{}", ""),
    ('{"content_type":1,"data":"hello","type_for_model":2}', "hello"),
    ('{"content_type":1,"data":"hi"}', "hi"),
    ('{"content_type":1,"data":"hi","extra":1}',
     '{\n  "content_type": 1,\n  "data": "hi",\n  "extra": 1\n}'),
    ("[1, 2]", "[1, 2]"),
    ("42", "42"),
    ("{not json}", "{not json}"),
    ('{"output":{"nested":"x"}}', '{\n  "output": {\n    "nested": "x"\n  }\n}'),
])
def test_render_output(data: str | None, expected: str) -> None:
    assert render_output(data) == expected


def test_raw_mode_is_verbatim() -> None:
    assert render_output('{"output":"x"}', "raw") == '{"output":"x"}'


@pytest.mark.parametrize(("data", "expected"), [
    ('{"content_type":"text","content":"Which city?"}', "Which city?"),
    ('{"question":"Q?","options":[]}', "Q?"),
    ("Plain question", "Plain question"),
    ("", ""),
    (None, ""),
    ('{"other":1}', '{"other":1}'),
])
def test_interrupt_question(data: str | None, expected: str) -> None:
    assert interrupt_question(data) == expected
