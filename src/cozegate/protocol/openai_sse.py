"""Stream items → OpenAI-style SSE bytes.

OpenAI streams are bare ``data:`` events (no ``event:``/``id:``), compact JSON on one line,
ending with ``data: [DONE]``. Keep-alives are SSE comments, which every OpenAI client's SSE
parser skips (unlike Coze's own clients, which is why the Coze surface never sends them).
An error after streaming started is sent as a final ``data: {"error": ...}`` event, then
``[DONE]`` — the openai SDK raises an ``APIError`` when it sees such an event.
"""

from __future__ import annotations

from cozegate.kit import jsonfast
from cozegate.protocol.stream_common import KeepAlive, StreamError, StreamItem

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def encode_item(item: StreamItem) -> bytes:
    """One converter item as SSE bytes."""
    if isinstance(item, KeepAlive):
        return KEEPALIVE
    payload = item.payload() if isinstance(item, StreamError) else item
    return b"data: " + jsonfast.dumps(payload) + b"\n\n"
