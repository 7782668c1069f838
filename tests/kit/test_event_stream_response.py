"""kit.event_stream_response: streams, and a client leaving stops the body (finally runs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from cozegate.kit.event_stream_response import EventStreamResponse


async def body(state: dict[str, Any], count: int, pause: float = 0.0) -> AsyncIterator[bytes]:
    try:
        for i in range(count):
            if pause:
                await asyncio.sleep(pause)
            yield b"data: %d\n\n" % i
    finally:
        state["closed"] = True


def client(leave_after: float | None = None) -> tuple[Any, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if leave_after is None:
            await asyncio.Event().wait()  # never leaves
        await asyncio.sleep(leave_after or 0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return (receive, send), sent


async def test_a_whole_stream_is_sent_then_ended() -> None:
    state: dict[str, Any] = {}
    (receive, send), sent = client()
    response = EventStreamResponse(body(state, 3), headers={"Cache-Control": "no-cache"})
    await response({"type": "http"}, receive, send)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert [m["body"] for m in sent[1:]] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b""]
    assert sent[-1]["more_body"] is False and state["closed"]


async def test_items_encoded_between_first_and_last_bytes() -> None:
    """``encode`` turns each item into one write; ``first`` goes out before the items and
    ``last`` in the body's final write, with nothing after it."""
    state: dict[str, Any] = {}

    async def numbers() -> AsyncIterator[int]:
        try:
            for i in range(3):
                yield i
        finally:
            state["closed"] = True

    (receive, send), sent = client()
    response = EventStreamResponse(numbers(), encode=lambda i: b"n%d;" % i, first=b"hi;",
                                   last=b"bye")
    await response({"type": "http"}, receive, send)
    assert [m["body"] for m in sent[1:]] == [b"hi;", b"n0;", b"n1;", b"n2;", b"bye"]
    assert [m["more_body"] for m in sent[1:]] == [True, True, True, True, False]
    assert state["closed"]


async def test_last_bytes_are_not_sent_when_the_client_leaves() -> None:
    state: dict[str, Any] = {}
    (receive, send), sent = client(leave_after=0.05)
    response = EventStreamResponse(body(state, 1000, pause=0.01), last=b"data: [DONE]\n\n")
    await response({"type": "http"}, receive, send)
    assert state["closed"] and all(m.get("body") != b"data: [DONE]\n\n" for m in sent)


async def test_a_client_leaving_stops_the_body_quietly() -> None:
    state: dict[str, Any] = {}
    (receive, send), sent = client(leave_after=0.05)
    response = EventStreamResponse(body(state, 1000, pause=0.01))
    task = asyncio.ensure_future(response({"type": "http"}, receive, send))
    await task  # no exception: the disconnect is a normal end
    assert state["closed"] and not task.cancelled()
    assert task.cancelling() == 0  # nothing left pending for the server's task
    assert 2 <= len(sent) < 100 and sent[-1].get("more_body", True) is True
