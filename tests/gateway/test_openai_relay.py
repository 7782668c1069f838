"""The OpenAI surface, judged by the official openai SDK against a gateway on a real port.

Usage numbers are the emulator's deterministic counts (docs/emulator.md), so charges are
exact: sandbox price 0.001 / 0.002 per 1K tokens → 1 / 2 micros per token.
"""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from tests.fixtures_emulator import catalog
from tests.fixtures_gateway import Gateway

pytestmark = pytest.mark.db

STORY = catalog.STORY
ECHO = catalog.ECHO
ASK_CITY = catalog.ASK_CITY
ALWAYS_FAIL = catalog.ALWAYS_FAIL
CHAT_MEMORY = catalog.CHAT_MEMORY
CHAT_ASK = catalog.CHAT_ASK
SANDBOX_BALANCE = 100_000_000
STORY_TEXT = ("Once upon a time, owls set out on a long journey. Along the way owls met a "
              "friendly fox, crossed a silver river and found the way home. The end.")


def client(gateway: Gateway, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key or gateway.admin_key,
                              max_retries=0)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def admin_id(gateway: Gateway) -> int:
    async with gateway.sessionmaker() as session:
        return (await gateway.runtime.users.get_user_by_name(session, "admin")).id


async def test_non_stream_workflow_returns_real_usage_and_charges_exactly(
        gateway: Gateway) -> None:
    completion = await client(gateway).chat.completions.create(
        model="coze-workflow", messages=user("hi"),
        extra_body={"workflow_id": STORY, "workflow_parameters": {"topic": "owls"}})
    assert completion.object == "chat.completion"
    assert completion.model == "coze-workflow"
    assert completion.choices[0].message.content == STORY_TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 40)
    extra = completion.model_extra or {}
    assert extra["coze_execute_id"] and "execute_id=" in extra["coze_debug_url"]
    # 10 input tokens × 1 micro + 40 output tokens × 2 micros
    assert await gateway.balance(await admin_id(gateway)) == SANDBOX_BALANCE - 90


async def test_stream_delivers_the_same_content_and_usage(gateway: Gateway) -> None:
    stream = await client(gateway).chat.completions.create(
        model=f"coze-workflow/{STORY}", messages=user("hi"), stream=True,
        stream_options={"include_usage": True}, extra_body={"workflow_parameters":
                                                            {"topic": "owls"}})
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == STORY_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 50
    assert await gateway.balance(await admin_id(gateway)) == SANDBOX_BALANCE - 90


async def test_stream_response_headers(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http, http.stream(
            "POST", "/v1/chat/completions",
            headers={"Authorization": f"Bearer {gateway.admin_key}"},
            json={"model": "coze-workflow", "workflow_id": STORY, "stream": True,
                  "workflow_parameters": {"topic": "owls"}, "messages": user("hi")}) as resp:
        body = (await resp.aread()).decode()
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["x-accel-buffering"] == "no"
    assert body.endswith("data: [DONE]\n\n")


async def test_chat_flow_continues_a_conversation(gateway: Gateway) -> None:
    api = client(gateway)
    first = await api.chat.completions.create(
        model=f"coze-chatflow/{CHAT_MEMORY}", messages=user("my name is Ada"))
    conversation_id = (first.model_extra or {})["conversation_id"]
    assert conversation_id
    second = await api.chat.completions.create(
        model=f"coze-chatflow/{CHAT_MEMORY}", messages=user("what did I say?"),
        extra_body={"conversation_id": conversation_id})
    assert (second.model_extra or {})["conversation_id"] == conversation_id
    assert "my name is Ada" in (second.choices[0].message.content or "")
    assert second.usage is not None and second.usage.total_tokens > 0


async def test_workflow_interrupt_then_resume(gateway: Gateway) -> None:
    api = client(gateway)
    asked = await api.chat.completions.create(model=f"coze-workflow/{ASK_CITY}",
                                              messages=user("weather please"))
    marker = (asked.model_extra or {})["coze_interrupt"]
    assert marker["kind"] == "workflow" and marker["type"] == 2
    assert "city" in (asked.choices[0].message.content or "").lower()
    answered = await api.chat.completions.create(
        model=f"coze-workflow/{ASK_CITY}", messages=user("Hangzhou"),
        extra_body={"coze_resume": {"event_id": marker["event_id"], "type": marker["type"]}})
    assert "Hangzhou" in (answered.choices[0].message.content or "")
    assert "coze_interrupt" not in (answered.model_extra or {})


async def test_chat_flow_question_is_returned_then_answered(gateway: Gateway) -> None:
    api = client(gateway)
    asked = await api.chat.completions.create(model=f"coze-chatflow/{CHAT_ASK}",
                                              messages=user("book a table"))
    extra = asked.model_extra or {}
    assert extra["coze_interrupt"]["kind"] == "chatflow"
    answered = await api.chat.completions.create(
        model=f"coze-chatflow/{CHAT_ASK}", messages=user("7 pm"),
        extra_body={"conversation_id": extra["conversation_id"]})
    assert "coze_interrupt" not in (answered.model_extra or {})
    assert answered.choices[0].message.content


async def test_bad_key_is_an_openai_authentication_error(gateway: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await client(gateway, "sk-not-a-real-key-000000000000000000000000000000").chat.\
            completions.create(model="coze-workflow", messages=user("x"),
                               extra_body={"workflow_id": STORY})
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"


async def test_unknown_model_is_404(gateway: Gateway) -> None:
    with pytest.raises(openai.NotFoundError):
        await client(gateway).chat.completions.create(model="gpt-4o", messages=user("x"))


async def test_missing_required_input_is_400_and_refunded(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client(gateway).chat.completions.create(
            model="coze-workflow", messages=user("x"), extra_body={"workflow_id": ECHO})
    assert "input" in caught.value.message and caught.value.body["coze_code"] == 4000
    assert await gateway.balance(await admin_id(gateway)) == SANDBOX_BALANCE


@pytest.mark.parametrize("stream", [False, True])
async def test_failing_workflow_is_an_upstream_error_before_any_byte(
        gateway: Gateway, stream: bool) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await client(gateway).chat.completions.create(
            model=f"coze-workflow/{ALWAYS_FAIL}", messages=user("x"), stream=stream)
    assert caught.value.status_code == 502
    assert caught.value.body["debug_url"].startswith("https://")
    assert await gateway.balance(await admin_id(gateway)) == SANDBOX_BALANCE


async def test_answer_on_the_returned_conversation_id_resumes_the_run(gateway: Gateway) -> None:
    api = client(gateway)
    asked = await api.chat.completions.create(model=f"coze-workflow/{ASK_CITY}",
                                              messages=user("weather please"))
    conversation_id = (asked.model_extra or {})["conversation_id"]
    assert conversation_id.startswith("cgs_")
    assert (asked.model_extra or {})["coze_interrupt"]["conversation_id"] == conversation_id
    answered = await api.chat.completions.create(
        model=f"coze-workflow/{ASK_CITY}", messages=user("Paris"),
        extra_body={"conversation_id": conversation_id})
    assert "Paris" in (answered.choices[0].message.content or "")
    # The interrupt was consumed: the same id starts a fresh run (which asks again).
    again = await api.chat.completions.create(
        model=f"coze-workflow/{ASK_CITY}", messages=user("Rome"),
        extra_body={"conversation_id": conversation_id})
    assert "coze_interrupt" in (again.model_extra or {})


async def test_a_chat_ui_resending_the_history_resumes_without_extensions(
        gateway: Gateway) -> None:
    """What a plain chat UI does: no extension fields, the whole history every time."""
    api = client(gateway)
    history = user("weather please")
    stream = await api.chat.completions.create(model=f"coze-workflow/{ASK_CITY}",
                                               messages=history, stream=True)
    question = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert question
    history += [{"role": "assistant", "content": question}, {"role": "user",
                                                              "content": "Hangzhou"}]
    answered = await api.chat.completions.create(model=f"coze-workflow/{ASK_CITY}",
                                                 messages=history)
    assert "Hangzhou" in (answered.choices[0].message.content or "")


async def test_two_concurrent_answers_resume_the_run_once(gateway: Gateway) -> None:
    api = client(gateway)
    asked = await api.chat.completions.create(model=f"coze-workflow/{ASK_CITY}",
                                              messages=user("weather please"))
    conversation_id = (asked.model_extra or {})["conversation_id"]

    async def answer(city: str) -> str:
        done = await api.chat.completions.create(
            model=f"coze-workflow/{ASK_CITY}", messages=user(city),
            extra_body={"conversation_id": conversation_id})
        return "resumed" if "coze_interrupt" not in (done.model_extra or {}) else "new run"

    outcomes = sorted(await asyncio.gather(answer("Oslo"), answer("Lima")))
    assert outcomes == ["new run", "resumed"]
