"""Fault injection: header / query and configured rules, over real HTTP and in-process."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from cozepy import Coze, CozeAPIError, TokenAuth

from cozegate.emulator import (
    EmulatorConnectionDropped,
    EmulatorServer,
    EmulatorStreamBroken,
    FaultRule,
)
from cozegate.emulator.faultspec import parse_fault
from tests.fixtures_emulator import SANDBOX_TOKEN, catalog

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
ECHO_RUN = {"workflow_id": catalog.ECHO, "parameters": {"input": "x"}}
STORY_RUN = {"workflow_id": catalog.STORY, "parameters": {"topic": "t", "chunks": 4}}


@pytest.fixture
def client(emulator_url: str) -> httpx.Client:
    with httpx.Client(base_url=emulator_url, headers=AUTH) as http:
        yield http


def fault(value: str) -> dict[str, str]:
    return {"X-Emulator-Fault": value}


def test_parse_fault_syntax() -> None:
    plan = parse_fault("latency=5; http=502:html, break")
    assert (plan.latency_ms, plan.http_status, plan.http_html, plan.break_after) == (
        5, 502, True, 1)
    assert parse_fault("rate_limit").rate_limit_status == 429
    assert parse_fault("drop").drop
    with pytest.raises(ValueError):
        parse_fault("explode")


def test_drop_before_any_byte(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.post("/v1/workflow/run", json=ECHO_RUN, headers=fault("drop"))
    assert client.get("/v1/workspaces").status_code == 200  # the server lives on


def test_break_stream_mid_event(client: httpx.Client) -> None:
    received = b""
    with pytest.raises(httpx.RemoteProtocolError), client.stream(
            "POST", "/v1/workflow/stream_run", json=STORY_RUN, headers=fault("break=2")) as r:
        assert r.status_code == 200
        for chunk in r.iter_raw():
            received += chunk
    text = received.decode()
    assert text.count("\n\n") == 2  # two whole events, then part of the third
    assert text.startswith("id: 0\nevent: Message\n") and not text.endswith("\n\n")


def test_break_seen_by_cozepy(emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    server = emulator_server_factory(faults=[FaultRule(fault="break=1",
                                                       path="/v1/workflow/stream_run")])
    coze = Coze(auth=TokenAuth(SANDBOX_TOKEN), base_url=server.url)
    seen = []
    with pytest.raises(httpx.RemoteProtocolError):
        for event in coze.workflows.runs.stream(workflow_id=catalog.STORY,
                                                parameters={"topic": "t"}):
            seen.append(event)
    assert len(seen) == 1  # the first event whole, the second cut


def test_break_json_body(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/workflow/run", json=ECHO_RUN, headers=fault("break=0"))


def test_http_5xx_json_and_html(client: httpx.Client, emulator_url: str) -> None:
    response = client.post("/v1/workflow/run", json=ECHO_RUN, headers=fault("http=503"))
    assert response.status_code == 503 and response.json()["code"] == 5000
    html = client.post("/v1/workflow/run", json=ECHO_RUN,
                       params={"emulator_fault": "http=502:html"})
    assert html.status_code == 502 and html.headers["content-type"].startswith("text/html")


def test_rate_limit_seen_by_cozepy(emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    server = emulator_server_factory(faults=[FaultRule(fault="rate_limit",
                                                       path="/v1/workflow/run", first_n=1)])
    coze = Coze(auth=TokenAuth(SANDBOX_TOKEN), base_url=server.url)
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.runs.create(workflow_id=catalog.ECHO, parameters={"input": "x"})
    assert info.value.code == 4013
    assert coze.workflows.runs.create(workflow_id=catalog.ECHO,
                                      parameters={"input": "x"}).data == '{"input":"x"}'


def test_html_error_seen_by_cozepy(emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    server = emulator_server_factory(faults=[FaultRule(fault="http=502:html")])
    coze = Coze(auth=TokenAuth(SANDBOX_TOKEN), base_url=server.url)
    with pytest.raises(CozeAPIError) as info:
        coze.workflows.retrieve(workflow_id=catalog.ECHO)
    assert info.value.code == 502 and "<html>" in info.value.msg


def test_latency(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post("/v1/workflow/run", json=ECHO_RUN, headers=fault("latency=150"))
    assert response.json()["code"] == 0 and time.monotonic() - started >= 0.15


def test_slow_first_byte(client: httpx.Client) -> None:
    started = time.monotonic()
    with client.stream("POST", "/v1/workflow/stream_run", json=STORY_RUN,
                       headers=fault("first_byte=200")) as response:
        head_at = time.monotonic() - started
        body = response.read()
        body_at = time.monotonic() - started
    assert head_at < 0.15 and body_at >= 0.2 and body.count(b"\n\n") == 6


def test_config_rule_first_n_and_workflow(
        emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    server = emulator_server_factory(faults=[
        FaultRule(fault="http=500", workflow_id=catalog.STORY, first_n=2)])
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        statuses = [http.post("/v1/workflow/stream_run", json=STORY_RUN).status_code
                    for _ in range(3)]
        echo = http.post("/v1/workflow/run", json=ECHO_RUN)
    assert statuses == [500, 500, 200] and echo.json()["code"] == 0


def test_config_rule_probability_is_seeded(
        emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    def outcomes() -> list[int]:
        server = emulator_server_factory(faults=[
            FaultRule(fault="http=503", path="/v1/workspaces", probability=0.5)])
        with httpx.Client(base_url=server.url, headers=AUTH) as http:
            return [http.get("/v1/workspaces").status_code for _ in range(20)]

    first, second = outcomes(), outcomes()
    assert first == second and {200, 503} == set(first)


def test_bad_fault_header_and_disabled_header(
        client: httpx.Client, emulator_server_factory: Callable[..., EmulatorServer]) -> None:
    bad = client.get("/v1/workspaces", headers=fault("explode"))
    assert bad.status_code == 400 and bad.json()["code"] == 4000
    server = emulator_server_factory(fault_header=False)
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        assert http.get("/v1/workspaces", headers=fault("http=500")).status_code == 200


async def test_in_process_drop_and_break_raise(emulator_client: httpx.AsyncClient) -> None:
    with pytest.raises(EmulatorConnectionDropped):
        await emulator_client.post("/v1/workflow/run", json=ECHO_RUN, headers=fault("drop"))
    with pytest.raises(EmulatorStreamBroken):
        await emulator_client.post("/v1/workflow/stream_run", json=STORY_RUN,
                                   headers=fault("break=1"))
    limited = await emulator_client.get("/v1/workspaces", headers=fault("rate_limit=200"))
    assert limited.status_code == 200 and limited.json()["code"] == 4013
