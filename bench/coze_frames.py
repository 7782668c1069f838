"""Pre-rendered Coze wire frames for the fake upstream (wire spec §1.3, §1.5, §2.1, §2.2, §2.7).

Everything that does not vary per request is rendered once, so the fake upstream spends its
CPU on sockets, not on JSON encoding: it must stay far cheaper than the gateway it feeds.
"""

from __future__ import annotations

import json

LOGID = "20250301120000A1B2C3D4E5F60718293A"
WORKFLOW_ID = "7516000000000000001"
SPACE_ID = "7516000000000000900"
USAGE = {"input_count": 12, "output_count": 20, "token_count": 32}


def _compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def debug_url(execute_id: str) -> str:
    return (
        f"https://www.coze.cn/work_flow?execute_id={execute_id}"
        f"&space_id={SPACE_ID}&workflow_id={WORKFLOW_ID}"
    )


def run_body(execute_id: str) -> bytes:
    """Sync `/v1/workflow/run` success body: top-level debug_url, string data, usage."""
    return _compact(
        {
            "code": 0,
            "msg": "",
            "data": _compact({"output": "hello from the fake upstream"}),
            "debug_url": debug_url(execute_id),
            "usage": USAGE,
            "execute_id": execute_id,
            "detail": {"logid": LOGID},
        }
    ).encode()


def error_body(code: int, msg: str) -> bytes:
    return _compact({"code": code, "msg": msg, "detail": {"logid": LOGID}}).encode()


def _event(data: str, event: str, event_id: int | None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


def chunked(payload: bytes) -> bytes:
    """One HTTP/1.1 chunk; each SSE event is sent as its own chunk, as a flushing server does."""
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def workflow_message(i: int, n: int) -> bytes:
    """The i-th streamed Message of an Output node (id i, node_seq_id i)."""
    data = _compact(
        {
            "content": f"tok{i} ",
            "node_title": "Output",
            "node_seq_id": str(i),
            "node_is_finish": i == n - 1,
            "node_id": "100001",
            "node_type": "Message",
        }
    )
    return chunked(_event(data, "Message", i))


def workflow_tail(n: int, execute_id: str) -> bytes:
    """End-node Message carrying usage (id n), then Done (id n+1), then the last chunk."""
    end = _compact(
        {
            "content": _compact({"output": "done"}),
            "node_title": "End",
            "node_seq_id": "0",
            "node_is_finish": True,
            "node_type": "End",
            "usage": USAGE,
        }
    )
    done = _compact({"debug_url": debug_url(execute_id)})
    return (
        chunked(_event(end, "Message", n))
        + chunked(_event(done, "Done", n + 1))
        + b"0\r\n\r\n"
    )


def _chat(status: str, chat_id: str, conv_id: str, usage: dict[str, int]) -> str:
    return _compact(
        {
            "id": chat_id,
            "conversation_id": conv_id,
            "created_at": 1740801600,
            "last_error": {"code": 0, "msg": ""},
            "status": status,
            "usage": usage,
        }
    )


def chat_head(chat_id: str, conv_id: str) -> bytes:
    zero = {"token_count": 0, "output_count": 0, "input_count": 0}
    return chunked(
        _event(_chat("created", chat_id, conv_id, zero), "conversation.chat.created", None)
    ) + chunked(
        _event(_chat("in_progress", chat_id, conv_id, zero), "conversation.chat.in_progress", None)
    )


def chat_delta(i: int, chat_id: str, conv_id: str) -> bytes:
    data = _compact(
        {
            "id": "7516000000000003001",
            "conversation_id": conv_id,
            "chat_id": chat_id,
            "role": "assistant",
            "type": "answer",
            "content": f"tok{i} ",
            "content_type": "text",
        }
    )
    return chunked(_event(data, "conversation.message.delta", None))


def chat_tail(n: int, chat_id: str, conv_id: str, execute_id: str) -> bytes:
    completed = _compact(
        {
            "id": "7516000000000003001",
            "conversation_id": conv_id,
            "chat_id": chat_id,
            "role": "assistant",
            "type": "answer",
            "content": "".join(f"tok{i} " for i in range(n)),
            "content_type": "text",
        }
    )
    usage = {"token_count": 32, "output_count": 20, "input_count": 12}
    return (
        chunked(_event(completed, "conversation.message.completed", None))
        + chunked(
            _event(_chat("completed", chat_id, conv_id, usage), "conversation.chat.completed", None)
        )
        + chunked(_event(_compact({"debug_url": debug_url(execute_id)}), "done", None))
        + b"0\r\n\r\n"
    )
