"""Recorded-style Coze event sequences (wire spec §2.2 / §2.7), as ``(event, data)`` pairs."""

from __future__ import annotations

from typing import Any

Events = list[tuple[str, Any]]

DEBUG_URL = ("https://www.coze.cn/work_flow?execute_id=7516000000000000103"
             "&space_id=7516000000000000900&workflow_id=7516000000000000001")
EXECUTE_ID = "7516000000000000103"
CHAT_DEBUG_URL = ("https://www.coze.cn/work_flow?execute_id=7516000000000004001"
                  "&space_id=7516000000000000900&workflow_id=7516000000000000002&execute_mode=2")


def _msg(content: str, title: str, seq: str, finish: bool, node_type: str | None = None,
         usage: dict[str, int] | None = None) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"content": content, "node_title": title, "node_seq_id": seq,
                            "node_is_finish": finish}
    if node_type is not None:
        data["node_type"] = node_type
    if usage is not None:
        data["usage"] = usage
    return ("Message", data)


# An Output node streams "Hangzhou" in two pieces, End repeats it as JSON (spec §2.2 example).
WORKFLOW_OUTPUT_THEN_END: Events = [
    ("PING", {}),
    _msg("Hang", "Output", "0", False, "Message"),
    _msg("zhou", "Output", "1", True, "Message"),
    _msg('{"output":"Hangzhou"}', "End", "0", True, "End",
         {"input_count": 12, "output_count": 3, "token_count": 15}),
    ("Done", {"debug_url": DEBUG_URL}),
]

# Only the End node answers, in one piece, with two output variables.
WORKFLOW_END_ONLY: Events = [
    _msg('{"city":"Hangzhou","temp":21}', "End", "0", True, "End",
         {"input_count": 50, "output_count": 100, "token_count": 150}),
    ("Done", {"debug_url": DEBUG_URL}),
]

# End node streaming text itself (use_answer_content + streaming), no node_type (old servers).
WORKFLOW_END_STREAMING: Events = [
    _msg("Once ", "End", "0", False),
    _msg("upon", "End", "1", False),
    _msg(" a time", "End", "2", True, usage={"input_count": 5, "output_count": 7,
                                              "token_count": 12}),
    ("Done", {}),
]

WORKFLOW_INTERRUPT: Events = [
    _msg("Which city and date?", "Question", "0", True, "Question"),
    ("Interrupt", {"interrupt_data": {"event_id": "7516000000000000104/7516000000000000555",
                                      "type": 2, "data": ""}, "node_title": "Question"}),
]

# Interrupt with no preceding Message: the question comes from interrupt_data.data.
WORKFLOW_INTERRUPT_DATA_ONLY: Events = [
    ("Interrupt", {"interrupt_data": {
        "event_id": "7516000000000000104/7516000000000000556", "type": 5,
        "data": '{"content_type":"text","content":"Which city?"}'}, "node_title": "Input"}),
]

WORKFLOW_ERROR: Events = [
    ("PING", {"content": "{}"}),
    ("Error", {"error_code": 4000, "error_message": "Request parameter error",
               "debug_url": DEBUG_URL}),
]

WORKFLOW_ERROR_AFTER_CONTENT: Events = [
    _msg("partial", "Output", "0", False, "Message"),
    ("Error", {"error_code": "720702001", "error_message": "node failed"}),
]

WORKFLOW_NO_USAGE: Events = [
    _msg("hello", "End", "0", True, "End"),
    ("Done", {"debug_url": DEBUG_URL}),
]

# --- chat flow ---------------------------------------------------------------------------

CONV = "7516000000000002001"
CHAT = "7516000000000001001"


def _chat(status: str, usage: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": CHAT, "conversation_id": CONV, "section_id": CONV,
                            "created_at": 1740801600, "last_error": {"code": 0, "msg": ""},
                            "status": status,
                            "usage": usage or {"token_count": 0, "output_count": 0,
                                               "input_count": 0}}
    data.update(extra)
    return data


def _message(content: str, *, type: str = "answer", id: str = "7516000000000003001",
             role: str = "assistant") -> dict[str, Any]:
    return {"id": id, "conversation_id": CONV, "section_id": CONV, "chat_id": CHAT,
            "role": role, "type": type, "content": content, "content_type": "text"}


VERBOSE = ('{"msg_type":"generate_answer_finish","data":"{\\"finish_reason\\":0,'
           '\\"FinData\\":\\"\\"}","from_module":null,"from_unit":null}')

CHATFLOW_SUCCESS: Events = [
    ("conversation.chat.created", _chat("created")),
    ("conversation.chat.in_progress", _chat("in_progress")),
    ("conversation.message.delta", _message("Hi ")),
    ("conversation.message.delta", _message("there")),
    ("conversation.message.completed", _message("Hi there")),
    ("conversation.message.completed", _message(VERBOSE, type="verbose",
                                                id="7516000000000003002")),
    ("conversation.message.completed", _message("Tell me more?", type="follow_up",
                                                id="7516000000000003003")),
    ("conversation.chat.completed", _chat("completed", {"token_count": 32, "output_count": 11,
                                                        "input_count": 21},
                                          completed_at=1740801602)),
    ("done", {"debug_url": CHAT_DEBUG_URL}),
]

# Answers sent only as completed messages (no deltas).
CHATFLOW_COMPLETED_ONLY: Events = [
    ("conversation.chat.created", _chat("created")),
    ("conversation.message.completed", _message("Whole answer")),
    ("conversation.chat.completed", _chat("completed", {"token_count": 3, "output_count": 2,
                                                        "input_count": 1})),
    ("done", {"debug_url": CHAT_DEBUG_URL}),
]

CHATFLOW_REQUIRES_ACTION: Events = [
    ("conversation.chat.created", _chat("created")),
    ("conversation.message.delta", _message("Which city?")),
    ("conversation.message.completed", _message("Which city?")),
    ("conversation.chat.requires_action", _chat("requires_action",
                                                {"token_count": 9, "output_count": 4,
                                                 "input_count": 5})),
    ("done", {"debug_url": CHAT_DEBUG_URL}),
]

CHATFLOW_FAILED: Events = [
    ("conversation.chat.created", _chat("created")),
    ("conversation.chat.failed", _chat("failed", failed_at=1740801603,
                                       last_error={"code": 5000, "msg": "internal error"})),
    ("done", {"debug_url": CHAT_DEBUG_URL}),
]

CHATFLOW_FAILED_DOC_SHAPE: Events = [
    ("conversation.chat.failed", {"code": "720702204", "msg": "conversation name does not exist"}),
]

CHATFLOW_ERROR_EVENT: Events = [
    ("conversation.chat.created", _chat("created")),
    ("conversation.message.delta", _message("Hi")),
    ("error", {"code": 4013, "msg": "rate limited"}),
]
