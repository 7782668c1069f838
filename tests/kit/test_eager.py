"""kit.eager: a future resolved from a loop callback resumes its task inside that callback;
resolved inside a task, cancelled or failed, it behaves as a plain future. On asyncio's own
loop and on uvloop (what ``cozegate serve`` runs)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from cozegate.kit.eager import EagerFuture, eager_future

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    def run(main: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as runner:
            return runner.run(main)
    return run


async def _waiting(future: asyncio.Future[Any], order: list[Any]) -> asyncio.Task[None]:
    async def wait() -> None:
        order.append(("resumed", await future))

    task = asyncio.create_task(wait())
    await asyncio.sleep(0)  # the task now waits on the future
    return task


def test_resolved_by_a_callback_the_task_runs_inside_it(run) -> None:
    async def main() -> list[Any]:
        order: list[Any] = []
        future = eager_future()
        task = await _waiting(future, order)

        def callback() -> None:
            order.append("set")
            future.set_result(1)
            order.append("callback returns")

        asyncio.get_running_loop().call_soon(callback)
        await task
        return order

    assert run(main()) == ["set", ("resumed", 1), "callback returns"]


def test_an_exception_waits_for_the_next_pass_and_is_retrieved(run) -> None:
    """Failures are not worth a pass: and taken at once, the future would report its
    exception as never retrieved (it marks that after scheduling its callbacks)."""
    async def main() -> list[Any]:
        order: list[Any] = []
        future = eager_future()

        async def wait() -> None:
            try:
                await future
            except ValueError as exc:
                order.append(("raised", str(exc)))

        task = asyncio.create_task(wait())
        await asyncio.sleep(0)

        def fail() -> None:
            future.set_exception(ValueError("late"))
            order.append("timer returns")

        asyncio.get_running_loop().call_later(0.001, fail)
        await task
        return order

    reports: list[Any] = []

    async def with_handler() -> list[Any]:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reports.append(context.get("future")))
        order = await main()
        gc.collect()  # a future that thinks its exception was not retrieved says so here
        return order

    assert run(with_handler()) == ["timer returns", ("raised", "late")]
    # (The collection may also meet other tests' leftovers: only our futures count.)
    assert [future for future in reports if isinstance(future, EagerFuture)] == []


def test_resolved_inside_a_task_it_waits_for_the_next_pass(run) -> None:
    async def main() -> list[Any]:
        order: list[Any] = []
        future = eager_future()
        task = await _waiting(future, order)
        future.set_result(2)  # here a task runs (main): another cannot run inside it
        order.append("set returned")
        await task
        return order

    assert run(main()) == ["set returned", ("resumed", 2)]


def test_a_cancellation_is_only_requested(run) -> None:
    """asyncio.timeout cancels from its timer, then marks itself expiring: the task must see
    the CancelledError after that, or the timeout would not become TimeoutError."""
    async def main() -> str:
        future = eager_future()
        try:
            async with asyncio.timeout(0.01):
                await future
        except TimeoutError:
            return "timed out"
        return "not reached"

    assert run(main()) == "timed out"

    async def cancelled_by_a_callback() -> list[Any]:
        order: list[Any] = []
        future = eager_future()
        task = await _waiting(future, order)

        def cancel() -> None:
            task.cancel()
            order.append("cancel returned")

        asyncio.get_running_loop().call_soon(cancel)
        with pytest.raises(asyncio.CancelledError):
            await task
        return [*order, future.cancelled()]

    assert run(cancelled_by_a_callback()) == ["cancel returned", True]


def test_it_belongs_to_the_real_loop_and_keeps_the_task_context(run) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="loop")

    async def main() -> tuple[bool, bool, str, bool]:
        loop = asyncio.get_running_loop()
        future = eager_future()
        seen: list[str] = []

        async def wait() -> None:
            var.set("task")
            await future
            seen.append(var.get())

        task = asyncio.create_task(wait())
        await asyncio.sleep(0)
        loop.call_soon(future.set_result, None)
        await task
        return (future.get_loop() is loop, isinstance(future, EagerFuture), seen[0],
                asyncio.isfuture(future))

    assert run(main()) == (True, True, "task", True)


def test_a_failing_callback_goes_to_the_loop_exception_handler(run) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        reported: list[str] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
        future = eager_future()

        def broken(_: asyncio.Future[Any]) -> None:
            raise RuntimeError("boom")

        future.add_done_callback(broken)
        loop.call_soon(future.set_result, None)
        await asyncio.sleep(0.01)
        return reported

    assert run(main()) == ["Exception in an eager future callback"]
