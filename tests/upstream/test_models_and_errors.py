"""Pure units: error-body decoding, the retry policy, and the tolerance of the wire models."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from cozegate.errors import CozegateError
from cozegate.kit.sse import SSEEvent
from cozegate.protocol.coze import (
    ChatEvent,
    ChatEventType,
    ChatStatus,
    ExecuteStatus,
    Message,
    RunHistory,
    RunMode,
    WorkflowEvent,
    WorkflowEventType,
    WorkflowRunResult,
    WorkflowVersion,
    Workspace,
)
from cozegate.upstream import (
    CozeAPIError,
    CozeAuthError,
    CozeConnectError,
    CozeError,
    CozeProtocolError,
    CozeStreamError,
    CozeTimeoutError,
    CozeTransportError,
    RetryPolicy,
    Timeouts,
)
from cozegate.upstream.errors import decode_body
from cozegate.upstream.retry import parse_retry_after

# --- error decoding (wire spec §1.4) ---------------------------------------------------------


def test_error_tree_is_rooted_at_cozegate_error() -> None:
    for cls in (CozeAPIError, CozeAuthError, CozeConnectError, CozeTimeoutError,
                CozeStreamError, CozeProtocolError, CozeTransportError):
        assert issubclass(cls, CozeError) and issubclass(cls, CozegateError)


def test_non_json_body_becomes_code_http_status() -> None:
    with pytest.raises(CozeAPIError) as info:
        decode_body("<html>" + "x" * 2000, http_status=502, logid="L")
    err = info.value
    assert (err.code, err.http_status, err.logid) == (502, 502, "L")
    assert len(err.msg) > 2000 and len(str(err)) < 400  # full msg kept, text truncated


def test_envelope_error_with_numeric_string_code_and_debug_url() -> None:
    with pytest.raises(CozeAPIError) as info:
        decode_body('{"code":"4200","msg":"not published","debug_url":"https://d",'
                    '"detail":{"logid":"DL"}}', http_status=200, logid=None)
    err = info.value
    assert (err.code, err.msg, err.debug_url, err.logid) == (4200, "not published",
                                                              "https://d", "DL")
    assert str(err) == "code: 4200, msg: not published, logid: DL, debug_url: https://d"
    assert not err.retryable


def test_auth_codes_are_auth_errors() -> None:
    for code in (4100, 4101):
        with pytest.raises(CozeAuthError):
            decode_body(f'{{"code":{code},"msg":"no"}}', http_status=401, logid=None)


def test_code_without_msg_is_not_an_error() -> None:
    body = decode_body('{"code":4000,"data":{"x":1}}', http_status=200, logid=None)
    assert body["data"] == {"x": 1}


def test_oauth_error_shape() -> None:
    with pytest.raises(CozeAuthError) as info:
        decode_body('{"error_code":"invalid_jwt","error_message":"JWT rejected","error":""}',
                    http_status=401, logid=None)
    assert info.value.code is None and info.value.oauth_error == "invalid_jwt"
    assert info.value.msg == "JWT rejected"


def test_token_body_without_envelope_is_success() -> None:
    body = decode_body('{"access_token":"czs_x","expires_in":1740805200}', http_status=200,
                       logid=None)
    assert body["access_token"] == "czs_x"


def test_json_error_status_without_coze_fields_is_an_error() -> None:
    with pytest.raises(CozeAPIError) as info:
        decode_body('{"message":"gateway"}', http_status=504, logid=None)
    assert info.value.code == 504 and info.value.retryable
    with pytest.raises(CozeProtocolError):
        decode_body("[1,2]", http_status=200, logid=None)


def test_retryable_codes() -> None:
    for code in (4013, 4020, 5000):
        assert CozeAPIError(code, "x", http_status=200).retryable
    assert CozeAPIError(4013, "x").status_code == 429
    assert not CozeAPIError(4000, "x", http_status=200).retryable


# --- retry policy ------------------------------------------------------------------------


def test_should_retry_matrix() -> None:
    policy = RetryPolicy(max_retries=2)
    connect = CozeConnectError("refused")
    dropped = CozeTransportError("reset")
    timeout = CozeTimeoutError("slow")
    busy = CozeAPIError(503, "<html>", http_status=503)
    limited = CozeAPIError(4013, "slow down", http_status=429)
    business = CozeAPIError(4000, "bad", http_status=200)
    auth = CozeAuthError(4100, "bad token")
    for exc in (connect, dropped, timeout, busy, limited):
        assert policy.should_retry(exc, safe=True, attempt=0)
    assert policy.should_retry(connect, safe=False, attempt=1)
    for exc in (dropped, timeout, busy, limited, business, auth):
        assert not policy.should_retry(exc, safe=False, attempt=0)
    assert not policy.should_retry(business, safe=True, attempt=0)
    assert not policy.should_retry(auth, safe=True, attempt=0)
    assert not policy.should_retry(connect, safe=False, attempt=2)  # budget spent
    opt_in = RetryPolicy(retry_refused_runs=True)
    assert opt_in.should_retry(limited, safe=False, attempt=0)
    assert not opt_in.should_retry(busy, safe=False, attempt=0)


def test_full_jitter_backoff_and_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4, retry_after_cap=10,
                         rng=random.Random(7))
    for attempt in range(6):
        ceiling = min(4, 0.5 * 2**attempt)
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays) and max(delays) > ceiling / 2
    assert policy.delay(0, CozeAPIError(4013, "x", retry_after=3)) == 3
    assert policy.delay(0, CozeAPIError(4013, "x", retry_after=3600)) == 10


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2 and parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 25 <= (parse_retry_after(date, now=now) or 0) <= 31


def test_timeouts_per_kind_of_call() -> None:
    timeouts = Timeouts(connect=5, run=600, read=30, stream_idle=300)
    assert timeouts.for_run().read == 600 and timeouts.for_run().connect == 5
    assert timeouts.for_read().read == 30
    assert timeouts.for_stream().read == 300


# --- tolerant models ---------------------------------------------------------------------


def test_run_history_tolerance() -> None:
    record = {"execute_id": 7516000000000000102, "execute_status": "Paused", "bot_id": "0",
              "connector_id": "1024", "connector_uid": "u", "run_mode": 9, "logid": "X",
              "create_time": "1740801600", "update_time": 1740801612, "output": "",
              "error_code": "", "debug_url": "", "is_output_trimmed": False, "new_field": 1}
    history = RunHistory.model_validate(record)
    assert history.execute_id == "7516000000000000102"
    assert history.execute_status is ExecuteStatus.UNKNOWN
    assert history.run_mode is RunMode.UNKNOWN
    assert history.create_time == 1740801600 and history.error_code == 0
    failed = RunHistory.model_validate({**record, "execute_status": "Fail",
                                        "error_code": "720702001"})
    assert failed.execute_status is ExecuteStatus.FAIL and failed.error_code == 720702001


def test_run_result_and_other_models() -> None:
    result = WorkflowRunResult.model_validate({"execute_id": "1", "debug_url": "",
                                               "logid": "L", "raw": {"a": 1}})
    assert result.is_async_accepted and result.raw == {"a": 1}
    version = WorkflowVersion.model_validate({"version": "v1", "created_at": 1740000000})
    assert version.created_at == "1740000000"
    space = Workspace.model_validate({"id": 75, "name": "n", "role_type": "guest",
                                      "workspace_type": "galaxy"})
    assert space.id == "75" and space.enterprise_id == "" and space.role_type == "guest"
    message = Message.model_validate({"role": "assistant", "content": "x",
                                      "created_at": "1740801602", "content_type": "card"})
    assert message.created_at == 1740801602 and message.content_type == "card"


def test_workflow_event_accessors() -> None:
    message = WorkflowEvent(SSEEvent(data='{"content":"a","node_title":"End","node_seq_id":3,'
                                          '"node_is_finish":true,"usage":{"token_count":5}}',
                                     event="Message", id="4"))
    assert message.id == 4 and message.type is WorkflowEventType.MESSAGE
    assert message.message is not None and message.message.node_seq_id == "3"
    assert message.message.usage is not None and message.message.usage.token_count == 5
    assert message.error is None and message.interrupt is None and not message.is_final
    assert message.raw is message.sse and message.encode() == message.sse.encode()

    odd = WorkflowEvent(SSEEvent(data="not json", event="Telemetry", id="x1"))
    assert odd.id is None and odd.type is WorkflowEventType.UNKNOWN
    assert odd.event == "Telemetry" and odd.payload is None and odd.message is None

    error = WorkflowEvent(SSEEvent(data='{"error_code":"4000","error_message":"bad",'
                                        '"debug_url":"https://d"}', event="Error", id="0"))
    assert error.is_final and error.error is not None and error.error.error_code == 4000
    assert error.debug_url == "https://d"

    lower = WorkflowEvent(SSEEvent(data="{}", event="message", id="0"))
    assert lower.type is WorkflowEventType.UNKNOWN and lower.message is None

    broken = WorkflowEvent(SSEEvent(data='{"interrupt_data":{}}', event="Interrupt", id="1"))
    assert broken.is_final and broken.interrupt is None  # invalid payload: no crash


def test_chat_event_accessors() -> None:
    created = ChatEvent(SSEEvent(data='{"id":1,"conversation_id":"2","status":"paused",'
                                      '"section_id":"2"}', event="conversation.chat.created"))
    assert created.type is ChatEventType.CHAT_CREATED
    assert created.chat is not None and created.chat.id == "1"
    assert created.chat.status is ChatStatus.UNKNOWN and created.message is None
    delta = ChatEvent(SSEEvent(data='{"role":"assistant","content":"Hi","content_type":"text"}',
                               event="conversation.message.delta"))
    assert delta.message is not None and delta.message.content == "Hi" and delta.chat is None
    done = ChatEvent(SSEEvent(data="[DONE]", event="done"))
    assert done.is_final and done.payload is None and done.debug_url is None
    new = ChatEvent(SSEEvent(data="{}", event="conversation.something.new"))
    assert new.type is ChatEventType.UNKNOWN and new.event == "conversation.something.new"
    # The fast lookup events use gives what the Enum call gives, unknown values included.
    for enum_type in (ChatEventType, WorkflowEventType, ChatStatus):
        for value in [member.value for member in enum_type] + ["nope", "DONE"]:
            assert enum_type.parse(value) is enum_type(value)
