"""Futures whose waiting task resumes at once when a loop callback resolves them.

A task waiting on an ordinary future resumes one event-loop pass after ``set_result``: the
future hands the task's wake-up to ``loop.call_soon``, behind everything already queued for
the next pass. Under load a pass is long (1-3 ms at 64 concurrent streams), and a relayed
stream waited one such pass between receiving its first chunk from Coze and writing it to
the client: the largest single step of what the gateway added to a stream's time to first
chunk (bench/hops.py measures it step by step). The lean client reads a stream's first
chunk through an eager future. Python 3.12's eager tasks do not help (they run a new
task's first step at once, not a waiting task's next one), and the project runs on 3.11.

:func:`eager_future` makes a future that schedules its callbacks through :class:`_EagerLoop`,
a stand-in for the loop that runs a callback at once when no task is running (the future
was resolved by a protocol callback or a timer, as the lean client's are), so the waiting
task runs inside the callback that received the bytes. Otherwise it defers to the real
``call_soon``: resolved inside a task (a task cannot run inside another one), cancelled,
or failed (see ``_not_a_result``). Only results are eager.

This leans on how CPython's C futures (3.11, 3.12) work, not on documented API: a future
schedules its callbacks with ``loop.call_soon(callback, future, context=...)`` on the loop
it was created with and asks that loop ``get_debug()`` when created; a task accepts a
future whose ``get_loop()``, answered here by the subclass, is its own loop.
``tests/kit/test_eager.py`` pins that behaviour on asyncio's loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_current_task = asyncio.current_task


class _EagerLoop:
    """The loop as an eager future sees it; anything but ``call_soon`` goes to the real one."""

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def call_soon(self, callback: Callable[..., Any], *args: Any,
                  context: contextvars.Context | None = None) -> None:
        loop = self._loop
        if _current_task(loop) is not None or (args and _not_a_result(args[0])):
            loop.call_soon(callback, *args, context=context)
            return
        try:
            if context is None:
                callback(*args)
            else:
                context.run(callback, *args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # as the loop treats a failing callback
            loop.call_exception_handler({"message": "Exception in an eager future callback",
                                         "exception": exc})

    def get_debug(self) -> bool:
        return self._loop.get_debug()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)


def _not_a_result(future: asyncio.Future[Any]) -> bool:
    # A cancellation is only a request: whoever cancels (asyncio.timeout's timer, say) still
    # has its own state to set before the task may see the CancelledError. An exception: the
    # future marks it "never retrieved" only after scheduling its callbacks, so a task that
    # took it at once would still be reported for not taking it. Neither is worth a pass.
    return future.cancelled() or future.exception() is not None


class EagerFuture(asyncio.Future[T]):
    """An asyncio future whose callbacks run at once when resolved outside any task."""

    __slots__ = ("_real_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=_EagerLoop(loop))  # type: ignore[arg-type]
        self._real_loop = loop

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._real_loop


def eager_future(loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Future[Any]:
    """A new :class:`EagerFuture` on ``loop`` (the running loop by default)."""
    return EagerFuture(loop if loop is not None else asyncio.get_running_loop())
