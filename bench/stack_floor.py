"""The stack floor: what uvicorn and the lean upstream client cost with no gateway logic.

    python -m bench.stack_floor --port 3001 --upstream http://127.0.0.1:8001

A bare ASGI app served exactly as ``cozegate serve`` serves the gateway (``kit.serving``:
uvicorn with uvloop and httptools, one worker) that relays ``POST /v1/chat/completions`` to
the upstream's ``/v1/workflow/stream_run`` through the same lean HTTP client the gateway
uses (``upstream.transport.lean``), and answers with OpenAI-shaped JSON, or for a stream one
fixed ``chat.completion.chunk`` per upstream body chunk and ``[DONE]``. No key, rate limit,
price, billing, run record, usage log, SSE parsing or conversion: the relay work nothing in
the gateway can remove. The runner measures it beside cozegate (bench/RESULTS.md, "stack
floor") so that the gateway's own share of a request's CPU is a measured figure. Not part of
cozegate; not a test.
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import orjson

from cozegate.kit.serving import serve_forever
from cozegate.upstream.transport.lean import LeanPool, LeanRequest

Scope = dict[str, Any]
UPSTREAM_HEADERS = [("Authorization", "Bearer pat_bench"), ("Content-Type", "application/json")]
CHUNK = (b'data: {"object":"chat.completion.chunk","choices":[{"index":0,'
         b'"delta":{"content":"x"},"finish_reason":null}]}\n\n')
DONE = b"data: [DONE]\n\n"


class StackFloor:
    """The ASGI app; the pool is made on the server's loop, at startup."""

    def __init__(self, upstream: str) -> None:
        self._upstream = httpx.URL(upstream)
        self._pool: LeanPool | None = None
        self._timeout = httpx.Timeout(60.0)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = orjson.loads(body)
        assert self._pool is not None
        upstream_body = orjson.dumps({"workflow_id": request.get("workflow_id"),
                                      "parameters": {"BOT_USER_INPUT": "hi"}})
        response = await self._pool.send(LeanRequest(
            "POST", "/v1/workflow/stream_run", UPSTREAM_HEADERS, upstream_body, self._timeout))
        if request.get("stream"):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            while await response.next_chunk():
                await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            await response.aclose()
            await send({"type": "http.response.body", "body": DONE, "more_body": False})
            return
        events = await response.aread()
        await response.aclose()
        answer = orjson.dumps({
            "id": "chatcmpl-floor", "object": "chat.completion", "model": request.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": len(events),
                      "total_tokens": len(events)}})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._pool = LeanPool(self._upstream, limits=httpx.Limits(max_connections=None))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="the fake upstream's base URL")
    args = p.parse_args(argv)
    print(f"stack floor on http://127.0.0.1:{args.port}", flush=True)
    serve_forever(StackFloor(args.upstream), "127.0.0.1", args.port, log_level="warning",
                  access_log=False, ws="none")


if __name__ == "__main__":
    main()
