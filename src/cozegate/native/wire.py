"""Responses on the Coze surface: the JSON envelope, relayed bodies, and event streams.

JSON answers are compact UTF-8 with ``Content-Type: application/json; charset=utf-8`` and the
log id both in ``X-Tt-Logid`` (what cozepy reads) and in ``detail.logid`` (what coze-js reads).
A relayed upstream answer keeps Coze's body and Coze's log id, so a Coze support ticket can
name it. Streams go out as ``text/event-stream`` with buffering disabled (wire spec §1.5).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import MappingProxyType
from typing import Any

from starlette.responses import Response

from cozegate.kit.event_stream_response import EventStreamResponse
from cozegate.kit.ids import logid as new_logid
from cozegate.protocol.coze import CozeResult

JSON_TYPE = "application/json; charset=utf-8"
SSE_HEADERS = MappingProxyType({"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                "Connection": "keep-alive"})


def coze_json(body: dict[str, Any], logid: str | None = None) -> Response:
    """``body`` (which holds ``code``/``msg`` or gets success defaults) with a log id."""
    logid = logid or _body_logid(body) or new_logid()
    detail = body.get("detail") if isinstance(body.get("detail"), dict) else {}
    payload = {"code": 0, "msg": "", **body, "detail": {**detail, "logid": logid}}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(text, media_type=JSON_TYPE, headers={"X-Tt-Logid": logid})


def coze_data(data: Any, logid: str | None = None) -> Response:
    return coze_json({"data": data}, logid)


def relayed(result: CozeResult) -> Response:
    """Coze's own answer, body and log id as they came."""
    return coze_json(dict(result.raw), result.logid)


def event_stream(chunks: AsyncIterator[bytes], logid: str | None) -> EventStreamResponse:
    """``text/event-stream; charset=utf-8``, as Coze sends it. EventStreamResponse rather
    than Starlette's StreamingResponse: no task group per stream, and the relay's ``finally``
    (its settlement) runs as soon as the client leaves."""
    headers = {**SSE_HEADERS, "X-Tt-Logid": logid or new_logid()}
    return EventStreamResponse(chunks, headers=headers)


def _body_logid(body: dict[str, Any]) -> str | None:
    detail = body.get("detail")
    if isinstance(detail, dict) and isinstance(detail.get("logid"), str):
        return detail["logid"] or None
    return None
