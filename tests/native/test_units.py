"""Pure pieces of the Coze surface: input checks, stream tallies, the schema cache, errors."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from cozegate.billing.errors import InsufficientBalance
from cozegate.errors import CozegateError
from cozegate.keys.errors import KeyQuotaExceeded
from cozegate.kit.sse import SSEEvent
from cozegate.native.errors import CozeSurfaceError, for_coze
from cozegate.native.input_schemas import InputSchemas
from cozegate.native.inputs import check_inputs
from cozegate.native.schemas import parse_parameters
from cozegate.native.tally import ChatTally, WorkflowTally, execute_id_of
from cozegate.protocol.coze import ChatEvent, WorkflowEvent, WorkflowParameter
from cozegate.relay.upstreams import ChannelAccess
from cozegate.upstream import CozeAPIError, CozeConnectError, CozeTimeoutError

SCHEMA = MappingProxyType({
    "topic": WorkflowParameter(type="string", required=True),
    "chunks": WorkflowParameter(type="integer", required=False, default_value="5"),
    "ratio": WorkflowParameter(type="number"),
    "flag": WorkflowParameter(type="boolean"),
    "tags": WorkflowParameter(type="array", items=WorkflowParameter(type="string")),
    "where": WorkflowParameter(type="object", properties={
        "city": WorkflowParameter(type="string", required=True)}),
    "picture": WorkflowParameter(type="image"),
})


def refused(parameters: dict[str, object]) -> str:
    with pytest.raises(CozeSurfaceError) as info:
        check_inputs(parameters, SCHEMA)
    assert info.value.details["coze_code"] == 4000
    return info.value.message


def test_inputs_that_fit_pass() -> None:
    check_inputs({"topic": "owls"}, SCHEMA)
    check_inputs({"topic": "owls", "chunks": "7", "ratio": "0.5", "flag": "true",
                  "tags": ["a"], "where": {"city": "Oslo"}, "picture": 12,
                  "unknown": object()}, SCHEMA)
    check_inputs({"topic": "owls", "chunks": 3.0, "ratio": 2}, SCHEMA)


def test_inputs_that_do_not_fit_name_the_field() -> None:
    assert "missing required input 'topic'" in refused({})
    assert "missing required input 'topic'" in refused({"topic": None})
    assert "'chunks' must be of type integer, got string" in refused(
        {"topic": "x", "chunks": "many"})
    assert "'chunks'" in refused({"topic": "x", "chunks": True})
    assert "'chunks'" in refused({"topic": "x", "chunks": 2.5})
    assert "'topic' must be of type string, got integer" in refused({"topic": 1})
    assert "'flag'" in refused({"topic": "x", "flag": "yes"})
    assert "'tags[1]'" in refused({"topic": "x", "tags": ["a", 2]})
    assert "'where.city'" in refused({"topic": "x", "where": {}})
    assert "'where'" in refused({"topic": "x", "where": "Oslo"})


def test_parameters_object_or_json_text() -> None:
    assert parse_parameters(None) == {} and parse_parameters("") == {}
    assert parse_parameters('{"a": 1}') == {"a": 1}
    assert parse_parameters({"a": 1}) == {"a": 1}
    for bad in ("[1]", "{nope", "3"):
        with pytest.raises(CozeSurfaceError):
            parse_parameters(bad)


def wf(event: str, data: str, id: int) -> WorkflowEvent:
    return WorkflowEvent(SSEEvent(data=data, event=event, id=str(id)))


def test_workflow_tally_takes_usage_ids_and_the_end() -> None:
    tally = WorkflowTally()
    tally.see(wf("Message", '{"content":"Hi","node_title":"Output","node_seq_id":"0",'
                 '"node_is_finish":false}', 0))
    tally.see(wf("PING", "{}", 1))
    assert not tally.last and tally.status == "error"  # not ended yet
    tally.see(wf("Message", '{"content":"{\\"output\\":\\"Hi\\"}","node_title":"End",'
                 '"node_seq_id":"0","node_is_finish":true,'
                 '"usage":{"input_count":3,"output_count":2,"token_count":5}}', 2))
    facts = tally.see(wf("Done", '{"debug_url":"https://x/work_flow?execute_id=77&a=b"}', 3))
    assert facts.execute_id == "77" and tally.last and tally.status == "success"
    outcome = tally.outcome(tally.status)
    assert (outcome.input_tokens, outcome.output_tokens, outcome.execute_id) == (3, 2, "77")
    assert tally.output == '{"output":"Hi"}'
    assert tally.failure_event("boom") == (
        b'id: 4\nevent: Error\ndata: {"error_code":5000,"error_message":"boom"}\n\n')


def test_workflow_tally_interrupt_and_error() -> None:
    asked = WorkflowTally()
    facts = asked.see(wf("Interrupt", '{"interrupt_data":{"event_id":"91/5","type":2},'
                         '"node_title":"Question"}', 0))
    assert facts.execute_id == "91" and asked.status == "interrupted"
    assert asked.interrupt == {"event_id": "91/5", "type": 2, "data": None,
                               "node_title": "Question"}
    failed = WorkflowTally()
    failed.see(wf("Error", '{"error_code":"720701002","error_message":"nope"}', 0))
    assert failed.status == "error" and failed.error == "nope"
    assert failed.error_code == 720701002


def chat(event: str, data: str) -> ChatEvent:
    return ChatEvent(SSEEvent(data=data, event=event))


def test_chat_tally() -> None:
    tally = ChatTally()
    facts = tally.see(chat("conversation.chat.created", '{"id":"c1","conversation_id":"v1"}'))
    assert facts.conversation_id == "v1"
    again = tally.see(chat("conversation.chat.in_progress", '{"id":"c1","conversation_id":"v1"}'))
    assert not again  # nothing new
    tally.see(chat("conversation.message.delta", '{"role":"assistant","type":"answer",'
                   '"content":"Hel","content_type":"text"}'))
    tally.see(chat("conversation.message.delta", '{"role":"assistant","type":"answer",'
                   '"content":"lo","content_type":"text"}'))
    tally.see(chat("conversation.chat.completed", '{"id":"c1","conversation_id":"v1",'
                   '"usage":{"input_count":1,"output_count":2,"token_count":3}}'))
    assert not tally.last
    tally.see(chat("done", '{"debug_url":"https://x/?execute_id=5"}'))
    assert tally.last and tally.status == "success" and tally.output == "Hello"
    assert tally.execute_id == "5" and tally.usage.output_tokens == 2
    failure = tally.failure_event("cut")
    assert failure.startswith(b"event: conversation.chat.failed\ndata: ")
    assert b'"conversation_id":"v1"' in failure and b"id:" not in failure


def test_chat_tally_failure_waits_for_done() -> None:
    tally = ChatTally()
    tally.see(chat("conversation.chat.failed", '{"id":"c1","conversation_id":"v1",'
                   '"status":"failed","last_error":{"code":5,"msg":"bad"}}'))
    assert tally.ended and not tally.last and tally.status == "error"
    assert ChatTally().failure_event("x") == b'event: error\ndata: {"code":5000,"msg":"x"}\n\n'


def test_execute_id_of() -> None:
    assert execute_id_of("https://www.coze.cn/work_flow?execute_id=1&space_id=2") == "1"
    assert execute_id_of("https://www.coze.cn/work_flow") is None


def test_error_mapping() -> None:
    passed = for_coze(CozeAPIError(720701002, "failed", logid="L", debug_url="D",
                                   http_status=200))
    assert passed.details == {"coze_code": 720701002, "logid": "L", "debug_url": "D"}
    assert passed.status_code == 200 and passed.message == "failed"
    assert for_coze(CozeConnectError("down")).details["coze_code"] == 5000
    assert for_coze(CozeTimeoutError("slow")).status_code == 504
    oauth = for_coze(CozeAPIError(None, "bad jwt", oauth_error="invalid_jwt"))
    assert oauth.details["coze_code"] == 5000
    poor = for_coze(InsufficientBalance("no money"))
    assert (poor.status_code, poor.details["coze_code"]) == (402, 4028)
    assert for_coze(KeyQuotaExceeded("cap")).details["coze_code"] == 4028
    plain = CozegateError("x", status_code=404)
    assert for_coze(plain) is plain  # the surface's status default applies (4200)


class _FakeClient:
    def __init__(self) -> None:
        self.calls = 0

    async def get_workflow(self, workflow_id: str, include_input_output: bool) -> object:
        self.calls += 1
        if workflow_id == "broken":
            raise CozeConnectError("down")

        class Info:
            input = type("I", (), {"parameters": SCHEMA})()

        return Info()


class _FakePool:
    def __init__(self) -> None:
        self.client = _FakeClient()

    def client_for(self, channel: ChannelAccess) -> _FakeClient:
        return self.client


async def test_input_schemas_are_cached_for_their_ttl() -> None:
    now = [0.0]
    pool = _FakePool()
    schemas = InputSchemas(pool, ttl=10, clock=lambda: now[0])  # type: ignore[arg-type]
    channel = ChannelAccess(id=1, name="c", base_url="http://x", auth_type="pat")
    assert await schemas.get(channel, "w") == SCHEMA
    assert await schemas.get(channel, "w") == SCHEMA
    assert pool.client.calls == 1
    now[0] = 11
    await schemas.get(channel, "w")
    assert pool.client.calls == 2
    assert await schemas.get(channel, "broken") is None  # unknown: the run itself will tell
    assert await schemas.get(channel, "broken") is None
    assert pool.client.calls == 3  # failures are remembered briefly too
