"""The SSE parser must take whatever real servers send; the encoder must emit the strict form."""

from __future__ import annotations

import pytest

from cozegate.kit.sse import SSEParser, aiter_events, encode_event, parse_events

COZE_STREAM = (
    'id: 0\nevent: Message\ndata: {"content":"Hang","node_seq_id":"0"}\n\n'
    'id: 1\nevent: Done\ndata: {"debug_url":"https://www.coze.cn/x"}\n\n'
)


def test_parses_coze_workflow_stream() -> None:
    events = parse_events([COZE_STREAM])
    assert [(e.id, e.event) for e in events] == [("0", "Message"), ("1", "Done")]
    assert events[0].data == '{"content":"Hang","node_seq_id":"0"}'


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_same_events_whatever_the_chunking(size: int) -> None:
    raw = COZE_STREAM.replace("\n", "\r\n")
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    assert parse_events(chunks) == parse_events([COZE_STREAM])


def test_comments_retry_and_unknown_fields_are_tolerated() -> None:
    events = parse_events([": keep-alive\n\nretry: 1500\nfoo: bar\nevent: PING\ndata: {}\n\n"])
    assert len(events) == 1
    assert events[0].event == "PING"
    assert events[0].retry == 1500
    assert events[0].id is None  # missing id: stays missing, not carried over


def test_multiline_data_is_joined_with_newlines() -> None:
    [event] = parse_events(["data: first\ndata: second\ndata:third\n\n"])
    assert event.data == "first\nsecond\nthird"
    assert event.event is None


def test_field_lines_without_colon_or_space() -> None:
    # WHATWG: a line with no colon is a field with an empty value; one space after the
    # colon is dropped, no more.
    [event] = parse_events(["data\nevent:x\ndata:  two\n\n"])
    assert (event.event, event.data) == ("x", "\n two")


def test_lone_cr_line_endings_and_bom() -> None:
    [event] = parse_events(["\ufeffevent: x\rdata: y\r\r"])
    assert (event.event, event.data) == ("x", "y")


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed("data: a\r") == []
    assert parser.feed("\n") == []  # the \n completes the CRLF, it is not a blank line
    [event] = parser.feed("\r\n")
    assert event.data == "a"


def test_partial_event_at_eof_is_dropped() -> None:
    assert parse_events(["id: 3\nevent: Message\ndata: {}"]) == []


def test_encoder_writes_id_event_data_order() -> None:
    assert encode_event('{"a":1}', event="Message", id=4) == (
        b'id: 4\nevent: Message\ndata: {"a":1}\n\n'
    )
    assert encode_event("a\nb") == b"data: a\ndata: b\n\n"


def test_round_trip() -> None:
    raw = encode_event("x", event="e", id="9") + encode_event("y\nz", event="f")
    events = parse_events([raw])
    assert [(e.id, e.event, e.data) for e in events] == [("9", "e", "x"), (None, "f", "y\nz")]


async def test_async_iteration_yields_events_as_they_complete() -> None:
    async def source():
        yield b"id: 0\nevent: Message\n"
        yield b"data: {}\n\nid: 1\n"
        yield b"event: Done\ndata: {}\n\n"

    events = [event async for event in aiter_events(source())]
    assert [e.id for e in events] == ["0", "1"]


def test_blocks_without_data_dispatch_nothing() -> None:
    events = parse_events(["retry: 100\n\nid: 7\n\nevent: lonely\n\ndata: x\n\n"])
    assert [(e.data, e.event, e.id, e.retry) for e in events] == [("x", None, None, 100)]


def test_empty_data_line_is_an_event_with_empty_data() -> None:
    [event] = parse_events(["event: ping\ndata:\n\n"])
    assert (event.event, event.data) == ("ping", "")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_lf_only_input_cut_anywhere_parses_the_same(size: int) -> None:
    chunks = [COZE_STREAM[i : i + size] for i in range(0, len(COZE_STREAM), size)]
    assert parse_events(chunks) == parse_events([COZE_STREAM])
    # LF first, CRLF from some point on (the parser switches to its general path).
    tail = COZE_STREAM[20:].replace("\n", "\r\n")
    mixed = [COZE_STREAM[:20]] + [tail[i : i + size] for i in range(0, len(tail), size)]
    assert parse_events(mixed) == parse_events([COZE_STREAM])


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_an_id_with_a_nul_is_ignored_and_an_id_without_space_kept(line_end: str) -> None:
    raw = "id: 1\0x\nevent: A\ndata: a\n\nid:7\ndata: b\n\n".replace("\n", line_end)
    events = parse_events([raw])
    assert [(e.id, e.data) for e in events] == [(None, "a"), ("7", "b")]
