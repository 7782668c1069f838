"""Transport-level faults against a raw asyncio server: what is retried, what never is.

The raw server (helpers.RawServer) can drop a connection after reading a request or cut a
stream mid-event, which an ASGI app cannot; it also counts exactly what reached it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from cozegate.upstream import (
    CozeAPIError,
    CozeAuthError,
    CozeConnectError,
    CozeStreamError,
    CozeStreamTimeoutError,
    CozeTimeoutError,
    CozeTransportError,
    Timeouts,
)

from .helpers import (
    FAST_TIMEOUTS,
    SUCCESS_RUN,
    WORKFLOW_INFO,
    CountingTransport,
    RawRequest,
    RawServer,
    closed_port,
    http_head,
    json_response,
    raw_client,
    write,
)

SSE = "text/event-stream; charset=utf-8"


async def _serve_sequence(answers: list[bytes | None]):
    """A server answering the n-th request with answers[n] (None = drop the connection)."""

    async def behaviour(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        index = min(len(server.requests), len(answers)) - 1
        answer = answers[index]
        if answer is not None:
            await write(writer, answer)

    server = RawServer(behaviour)
    return server


HTML_502 = http_head(502, "text/html", length=20) + b"<html>bad gw</html>\n"
HTML_503 = http_head(503, "text/html", length=17) + b"<html>busy</html>"
ENVELOPE_5000 = json_response({"code": 5000, "msg": "internal error"})
ENVELOPE_4013 = json_response({"code": 4013, "msg": "rate limited"}, status=429)
INFO_OK = json_response(WORKFLOW_INFO)
RUN_OK = json_response(SUCCESS_RUN)


# --- non-idempotent calls are never retried once sent --------------------------------------


@pytest.mark.parametrize("answer", [HTML_502, HTML_503, ENVELOPE_5000, ENVELOPE_4013, None],
                         ids=["502-html", "503-html", "5000", "4013", "dropped-after-send"])
async def test_run_is_never_retried_after_reaching_coze(answer: bytes | None) -> None:
    async with await _serve_sequence([answer, RUN_OK]) as server, raw_client(server.url) as client:
        with pytest.raises((CozeAPIError, CozeTransportError)) as info:
            await client.run_workflow("1", {"input": "x"})
    assert len(server.requests) == 1
    if answer is None:
        assert isinstance(info.value, CozeTransportError) and info.value.sent


async def test_stream_run_is_never_retried_after_reaching_coze() -> None:
    async with await _serve_sequence([HTML_502]) as server, raw_client(server.url) as client:
        with pytest.raises(CozeAPIError) as info:
            async with client.stream_workflow("1", {"input": "x"}):
                pass
    assert info.value.code == 502 and info.value.http_status == 502
    assert len(server.requests) == 1


async def test_chat_and_conversation_create_are_not_retried_on_5000() -> None:
    async with await _serve_sequence([ENVELOPE_5000]) as server, raw_client(server.url) as client:
        with pytest.raises(CozeAPIError):
            await client.create_conversation()
        with pytest.raises(CozeAPIError):
            async with client.chat_workflow("1", [{"role": "user", "content": "hi"}]):
                pass
        with pytest.raises(CozeAPIError):
            await client.resume_workflow("1", "e/1", "x", 2)
    assert [r.path for r in server.requests] == [
        "/v1/conversation/create", "/v1/workflows/chat", "/v1/workflows/resume"]


# --- calls that never reached Coze are retried, runs included ------------------------------


async def test_runs_and_reads_are_retried_when_the_connection_is_refused() -> None:
    counting = CountingTransport()
    async with raw_client(f"http://127.0.0.1:{closed_port()}", transport=counting) as client:
        with pytest.raises(CozeConnectError) as info:
            await client.run_workflow("1", {"input": "x"})
        assert info.value.sent is False
        assert len(counting.requests) == 1 + client.retry.max_retries == 4

        counting.requests.clear()
        with pytest.raises(CozeConnectError):
            async with client.stream_workflow("1"):
                pass
        assert len(counting.requests) == 4

        counting.requests.clear()
        with pytest.raises(CozeConnectError):
            await client.list_workspaces()
        assert len(counting.requests) == 4


async def test_run_succeeds_once_the_server_comes_up() -> None:
    port = closed_port()
    counting = CountingTransport()

    async def answer(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await write(writer, RUN_OK)

    async def start_later() -> asyncio.Server:
        await asyncio.sleep(0.02)
        server = RawServer(answer)
        server_obj = await asyncio.start_server(server._handle, "127.0.0.1", port)
        return server_obj

    async with raw_client(f"http://127.0.0.1:{port}", transport=counting) as client:
        starter = asyncio.create_task(start_later())
        # base delay 0.01 s × 2^n with full jitter: give the server time by retrying more.
        client.retry = type(client.retry)(max_retries=8, base_delay=0.02, max_delay=0.1)
        result = await client.run_workflow("1")
        server_obj = await starter
    server_obj.close()
    assert result.data == '{"output":"ok"}'
    assert len(counting.requests) >= 2


# --- reads are retried on the retryable answers and on transport failures ------------------


@pytest.mark.parametrize("failure", [HTML_503, ENVELOPE_4013, ENVELOPE_5000, None],
                         ids=["503", "4013", "5000", "dropped"])
async def test_get_is_retried_then_succeeds(failure: bytes | None) -> None:
    async with await _serve_sequence([failure, failure, INFO_OK]) as server, \
            raw_client(server.url) as client:
        info = await client.get_workflow("1")
    assert info.workflow_detail.workflow_id == "1"
    assert len(server.requests) == 3


async def test_get_gives_up_after_max_retries() -> None:
    async with await _serve_sequence([HTML_503]) as server, raw_client(server.url) as client:
        with pytest.raises(CozeAPIError) as info:
            await client.list_workspaces()
    assert info.value.code == 503 and info.value.retryable
    assert len(server.requests) == 4


async def test_business_errors_are_not_retried() -> None:
    answer = json_response({"code": 4200, "msg": "not published", "debug_url": "https://d"})
    async with await _serve_sequence([answer]) as server, raw_client(server.url) as client:
        with pytest.raises(CozeAPIError) as info:
            await client.get_workflow("1")
    assert (info.value.code, info.value.msg, info.value.debug_url) == (4200, "not published",
                                                                       "https://d")
    assert info.value.logid == "20250301120000RAWSERVERLOGID0001"
    assert len(server.requests) == 1


async def test_retry_after_is_honoured_and_capped() -> None:
    limited = json_response({"code": 4013, "msg": "slow down"}, status=429,
                            extra={"Retry-After": "5"})
    async with await _serve_sequence([limited, INFO_OK]) as server, \
            raw_client(server.url) as client:
        started = time.monotonic()
        await client.get_workflow("1")
        elapsed = time.monotonic() - started
    # Retry-After 5 s capped at retry_after_cap = 0.2 s by FAST_RETRY.
    assert 0.18 <= elapsed < 2
    assert len(server.requests) == 2


async def test_slow_first_byte_times_out_and_a_read_is_retried() -> None:
    async def slow_then_fast(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 1:
            await asyncio.sleep(0.6)
        await write(writer, INFO_OK)

    server = RawServer(slow_then_fast)
    timeouts = Timeouts(connect=1, run=0.3, read=0.3, stream_idle=0.3)
    async with server, raw_client(server.url, timeouts=timeouts) as client:
        await client.get_workflow("1")
        assert len(server.requests) == 2
        server.requests.clear()
        with pytest.raises(CozeTimeoutError):
            await client.run_workflow("1")  # sync run: read budget exceeded, never retried
    assert len(server.requests) == 1


# --- streams -------------------------------------------------------------------------------


def _stream_server(*parts: bytes | float, content_type: str = SSE) -> RawServer:
    """Send headers then each part; a float part sleeps that long. Closes at the end."""

    async def behaviour(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await write(writer, http_head(200, content_type))
        for part in parts:
            if isinstance(part, float):
                await asyncio.sleep(part)
            else:
                await write(writer, part)

    return RawServer(behaviour)


MSG = (b'id: 0\nevent: Message\ndata: {"content":"Hang","node_title":"Output",'
       b'"node_seq_id":"0","node_is_finish":false}\n\n')
DONE = b'id: 1\nevent: Done\ndata: {"debug_url":"https://www.coze.cn/work_flow?x=1"}\n\n'


async def test_stream_ends_cleanly_after_done() -> None:
    async with _stream_server(MSG, DONE) as server, raw_client(server.url) as client, \
            client.stream_workflow("1") as stream:
        events = [event async for event in stream]
        assert stream.logid == "20250301120000RAWSERVERLOGID0001"
        assert stream.finished
    assert [e.event for e in events] == ["Message", "Done"]
    assert events[0].message is not None and events[0].message.content == "Hang"
    assert events[1].debug_url == "https://www.coze.cn/work_flow?x=1"
    assert events[0].encode() == MSG.replace(b": ", b": ")


async def test_stream_stops_at_done_even_if_the_socket_stays_open() -> None:
    async with _stream_server(MSG, DONE, 5.0) as server, raw_client(server.url) as client:
        started = time.monotonic()
        async with client.stream_workflow("1") as stream:
            events = [event async for event in stream]
    assert len(events) == 2 and time.monotonic() - started < 1


async def _keepalive_sse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         connections: list[int]) -> None:
    """Serve stream_run requests on one keep-alive connection: chunked SSE, Done, end."""
    connections.append(1)
    body = MSG + DONE
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {SSE}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    try:
        while True:
            request_head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in request_head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            await write(writer, head + chunked)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def test_streams_ending_with_done_reuse_the_connection() -> None:
    connections: list[int] = []
    server = await asyncio.start_server(
        lambda r, w: _keepalive_sse(r, w, connections), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with raw_client(f"http://127.0.0.1:{port}") as client:
            for _ in range(3):
                async with client.stream_workflow("1") as stream:
                    assert [e.event async for e in stream] == ["Message", "Done"]
    finally:
        server.close()
    assert len(connections) == 1


async def test_eof_without_final_event_is_an_error() -> None:
    async with _stream_server(MSG) as server, raw_client(server.url) as client:
        received = []
        with pytest.raises(CozeStreamError, match="before the final event"):
            async with client.stream_workflow("1") as stream:
                async for event in stream:
                    received.append(event)
    assert len(received) == 1


async def test_connection_cut_mid_event_is_a_stream_error() -> None:
    async with _stream_server(MSG, b'id: 1\nevent: Message\ndata: {"cont') as server, \
            raw_client(server.url) as client:
        with pytest.raises(CozeStreamError):
            async with client.stream_workflow("1") as stream:
                async for _ in stream:
                    pass


async def test_chunked_stream_cut_mid_body_is_a_stream_error() -> None:
    async def behaviour(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        await write(writer, head + f"{len(MSG):x}\r\n".encode() + MSG + b"\r\n" + b"40\r\nid: 1")

    async with RawServer(behaviour) as server, raw_client(server.url) as client:
        received = []
        with pytest.raises(CozeStreamError) as info:
            async with client.stream_workflow("1") as stream:
                async for event in stream:
                    received.append(event)
    assert len(received) == 1
    assert "before the final event" not in str(info.value)  # a broken transfer, not EOF


async def test_stream_idle_timeout() -> None:
    timeouts = Timeouts(connect=1, run=5, read=5, stream_idle=0.3)
    async with _stream_server(MSG, 3.0, DONE) as server, \
            raw_client(server.url, timeouts=timeouts) as client:
        started = time.monotonic()
        with pytest.raises(CozeStreamTimeoutError) as info:
            async with client.stream_workflow("1") as stream:
                async for _ in stream:
                    pass
    assert isinstance(info.value, CozeStreamError) and isinstance(info.value, CozeTimeoutError)
    assert time.monotonic() - started < 2


async def test_error_and_interrupt_are_final_events() -> None:
    error = b'id: 1\nevent: Error\ndata: {"error_code":"4000","error_message":"bad"}\n\n'
    interrupt = (b'id: 1\nevent: Interrupt\ndata: {"interrupt_data":{"event_id":"1/2",'
                 b'"type":2,"data":""},"node_title":"Question"}\n\n')
    for final in (error, interrupt):
        async with _stream_server(MSG, final) as server, raw_client(server.url) as client, \
                client.stream_workflow("1") as stream:
            events = [event async for event in stream]
        last = events[-1]
        assert last.is_final
    assert last.interrupt is not None and last.interrupt.interrupt_data.event_id == "1/2"


async def test_tolerant_sse_framing() -> None:
    body = (b": keep-alive\r\nretry: 3000\r\n\r\n"
            b"event: PING\r\ndata: {}\r\n\r\n"  # no id
            b'id: 1\r\nevent: Message\r\ndata: {"content":"a",\r\ndata: "node_title":"End",'
            b'"node_seq_id":0,"node_is_finish":true}\r\n\r\n'
            b'id: 2\nevent: Done\ndata: {}\n\n')
    async with _stream_server(body) as server, raw_client(server.url) as client, \
            client.stream_workflow("1") as stream:
        events = [event async for event in stream]
    assert [(e.id, e.event) for e in events] == [(None, "PING"), (1, "Message"), (2, "Done")]
    message = events[1].message
    assert message is not None and message.node_seq_id == "0" and message.node_is_finish


async def test_json_answer_to_a_stream_call_raises_at_open() -> None:
    answer = json_response({"code": 4100, "msg": "authentication is invalid"}, status=401)
    async with await _serve_sequence([answer]) as server, raw_client(server.url) as client:
        with pytest.raises(CozeAuthError) as info:
            async with client.stream_workflow("1"):
                raise AssertionError("must not open")
    assert info.value.code == 4100
    assert len(server.requests) == 1  # a PAT cannot be refreshed: no second try


async def test_breaking_out_early_closes_the_response() -> None:
    async with _stream_server(MSG, 0.05, MSG, 0.05, MSG, 0.05, DONE) as server, \
            raw_client(server.url) as client:
        async with client.stream_workflow("1") as stream:
            async for _ in stream:
                break
        assert stream.response.is_closed
        # The pool is still usable afterwards.
        async with client.stream_workflow("1") as stream:
            assert len([e async for e in stream]) == 4


async def test_awaited_stream_is_owned_by_the_caller() -> None:
    async with _stream_server(MSG, DONE) as server, raw_client(server.url) as client:
        stream = await client.stream_workflow("1")
        try:
            first = await anext(stream)
        finally:
            await stream.aclose()
    assert first.id == 0 and stream.response.is_closed


async def test_chat_stream_requires_done_or_failed() -> None:
    chat = (b'event: conversation.chat.created\ndata: {"id":"1","conversation_id":"2",'
            b'"status":"created"}\n\n')
    failed = (b'event: conversation.chat.failed\ndata: {"id":"1","conversation_id":"2",'
              b'"status":"failed","last_error":{"code":5000,"msg":"boom"}}\n\n')
    async with _stream_server(chat) as server, raw_client(server.url) as client:
        with pytest.raises(CozeStreamError):
            async with client.chat_workflow("1", [{"role": "user", "content": "hi"}]) as s:
                _ = [e async for e in s]
    hello = [{"role": "user", "content": "hi"}]
    async with _stream_server(chat, failed) as server, raw_client(server.url) as client, \
            client.chat_workflow("1", hello) as s:
        events = [e async for e in s]
    assert events[-1].chat is not None and events[-1].chat.last_error is not None
    assert events[-1].chat.last_error.code == 5000
    body = server.requests[0].json()
    assert body["additional_messages"] == [{"role": "user", "content": "hi"}]
    assert FAST_TIMEOUTS.stream_idle > 0


async def test_aclose_from_another_task_ends_iteration_cleanly() -> None:
    """A gateway closes the upstream stream when its own client goes away."""
    async with _stream_server(MSG, 5.0, DONE) as server, raw_client(server.url) as client:
        stream = await client.stream_workflow("1")
        received = []

        async def consume() -> None:
            async for event in stream:
                received.append(event)

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        await stream.aclose()
        await asyncio.wait_for(consumer, 2)  # no exception, no hang
    assert len(received) == 1 and stream.response.is_closed
