"""A small synchronous client of the task API (``/api/coze``) for ``cozegate tasks``.

Failures become :class:`CliFailure` with docs/cli.md's exit codes: 2 when the request itself
is wrong (400), 3 when the gateway refused it or could not be reached. The event stream
reconnects by itself after a dropped connection, sending ``Last-Event-ID``, so a watcher
sees every event once even across network trouble or a gateway restart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from cozegate.cli.gateway_http import GatewayHTTP, segment
from cozegate.kit.sse import SSEParser

PREFIX = "/api/coze"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0)  # > keep-alive
FINAL_EVENTS = ("succeeded", "failed", "cancelled", "interrupted")
RECONNECTS = 5  # consecutive reconnects without a new event before giving up


class TaskApiClient(GatewayHTTP):
    key_hint = "--key / COZEGATE_KEY"

    def __init__(self, url: str, key: str, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(url, key, prefix=PREFIX, timeout=TIMEOUT, transport=transport)

    def submit(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._json(self._send("POST", "/tasks/execute", json=body, headers=headers))

    def get(self, task_id: str) -> Any:
        return self._json(self._send("GET", f"/tasks/{segment(task_id)}"))

    def list(self, params: Mapping[str, Any]) -> Any:
        clean = {key: value for key, value in params.items() if value is not None}
        return self._json(self._send("GET", "/tasks", params=clean))

    def cancel(self, task_id: str) -> Any:
        return self._json(self._send("POST", f"/tasks/{segment(task_id)}/cancel"))

    def events(self, task_id: str, after: int = 0) -> Iterator[dict[str, Any]]:
        """``{"id", "event", "data"}`` dicts until the final event; reconnects on drops."""
        last, failures = after, 0
        while True:
            try:
                for event in self._event_stream(task_id, last):
                    last, failures = event["id"], 0
                    yield event
                    if event["event"] in FINAL_EVENTS:
                        return
                return  # the gateway closed the stream: nothing more will come
            except httpx.TransportError as exc:
                failures += 1
                if failures > RECONNECTS:
                    raise self._unreachable(exc) from exc
                time.sleep(min(0.5 * 2 ** failures, 5.0))

    def _event_stream(self, task_id: str, after: int) -> Iterator[dict[str, Any]]:
        headers = {"Last-Event-ID": str(after)} if after else {}
        with self._http.stream("GET", f"/tasks/{segment(task_id)}/events", headers=headers,
                               timeout=STREAM_TIMEOUT) as response:
            if response.status_code >= 400:
                response.read()
                raise self._refusal(response)
            parser = SSEParser()
            for chunk in response.iter_text():
                for event in parser.feed(chunk):
                    if event.id is None or event.event is None:
                        continue  # retry: lines, keep-alive comments
                    yield {"id": int(event.id), "event": event.event,
                           "data": _json_or_text(event.data)}


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data
