"""``callback_url``: the finished task is POSTed, HMAC-signed, retried with backoff."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cozegate.kit.serving import ThreadedServer
from cozegate.tasks.callbacks import SIGNATURE_HEADER, verify
from tests.fixtures_emulator import catalog
from tests.tasks.helpers import TaskClient, running_gateway

pytestmark = pytest.mark.db


@dataclass
class Receiver:
    """A small HTTP endpoint that fails its first ``failures`` deliveries with a 500."""

    failures: int
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=500 if len(self.received) <= self.failures else 204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def wait_for(client: TaskClient, task_id: str, state: str) -> dict:
    for _ in range(300):
        task = await client.task(task_id)
        if task["callback_status"] == state:
            return task
        await client.http.get("/api/coze/health")  # a tiny pause that also exercises health
    raise AssertionError(f"callback of {task_id} never became {state}: {task}")


async def test_callback_is_signed_and_retried_until_delivered(db_url: str) -> None:
    receiver = Receiver(failures=2)
    with ThreadedServer(receiver.app()) as hook:
        async with running_gateway(db_url, callback_allow_private=True) as gateway, \
                TaskClient(gateway.url, gateway.admin_key) as client:
            secret = "a-callback-secret-of-mine"
            submitted = (await client.submit(
                catalog.ECHO, {"input": "hi"}, callback_url=f"{hook.url}/hook",
                callback_secret=secret)).json()
            assert "callback_secret" not in submitted  # the caller chose it
            task = await wait_for(client, submitted["task_id"], "delivered")
    assert len(receiver.received) == 3
    deliveries = [headers["x-cozegate-delivery"] for headers, _ in receiver.received]
    assert deliveries == [f"{task['id']}:{n}" for n in (1, 2, 3)]
    headers, body = receiver.received[-1]
    assert verify(secret, headers[SIGNATURE_HEADER.lower()], body)
    assert not verify("another-secret-entirely", headers[SIGNATURE_HEADER.lower()], body)
    assert not verify(secret, headers[SIGNATURE_HEADER.lower()], body + b" ")
    assert headers["x-cozegate-event"] == "task.succeeded"
    assert headers["x-cozegate-task-id"] == task["id"]
    sent = json.loads(body)
    assert sent["id"] == task["id"] and sent["status"] == "completed"
    assert sent["output_data"] == {"input": "hi"} and sent["cost"] == task["cost"]


async def test_a_generated_secret_is_returned_once_and_failures_give_up(db_url: str) -> None:
    receiver = Receiver(failures=100)
    with ThreadedServer(receiver.app()) as hook:
        async with running_gateway(db_url, callback_max_attempts=3,
                                   callback_allow_private=True) as gateway, \
                TaskClient(gateway.url, gateway.admin_key) as client:
            submitted = (await client.submit(catalog.ALWAYS_FAIL,
                                             callback_url=f"{hook.url}/hook")).json()
            secret = submitted["callback_secret"]
            task = await wait_for(client, submitted["task_id"], "failed")
    assert len(receiver.received) == 3
    headers, body = receiver.received[0]
    assert verify(secret, headers[SIGNATURE_HEADER.lower()], body)
    assert headers["x-cozegate-event"] == "task.failed"
    assert task["status"] == "failed" and "callback_secret" not in task


async def test_a_callback_url_must_be_http(db_url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        answer = await client.submit(catalog.ECHO, {"input": "hi"},
                                     callback_url="file:///etc/passwd")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook",              # loopback
    "http://localhost/hook",                # resolves to loopback
    "http://10.1.2.3/hook",                 # private network
    "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "http://[::1]/hook",
    "http://[::ffff:192.168.0.1]/hook",     # IPv4-mapped private
])
async def test_callbacks_into_the_operators_network_are_refused(db_url: str, url: str) -> None:
    async with running_gateway(db_url) as gateway, \
            TaskClient(gateway.url, gateway.admin_key) as client:
        answer = await client.submit(catalog.ECHO, {"input": "hi"}, callback_url=url)
        tasks = (await client.http.get("/api/coze/tasks")).json()
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "callback_not_allowed"
    assert tasks["total"] == 0  # refused before anything was created or reserved
