"""execute_id_from_debug_url reads the query as parse_qs would."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from cozegate.protocol.workflow_stream import execute_id_from_debug_url


def by_parse_qs(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("execute_id")
    return values[0] if values else None


@pytest.mark.parametrize("url", [
    "https://www.coze.cn/work_flow?execute_id=7516000000000000103&space_id=1&workflow_id=2",
    "https://www.coze.cn/work_flow?space_id=1&execute_id=75&workflow_id=2",
    "https://x/?xexecute_id=1", "https://x/#a?execute_id=1", "https://x/?execute_id=",
    "https://x/?execute_id=a%20b+c", "https://x/?a=1;execute_id=9", "", "no-url",
    "https://x/?execute_id=1&execute_id=2", "https://x/?execute_id=&execute_id=3",
])
def test_same_answer_as_parse_qs(url: str) -> None:
    assert execute_id_from_debug_url(url) == by_parse_qs(url)
