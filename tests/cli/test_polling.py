"""The polling loop, driven by fake fetchers and a fake sleep (no waiting)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from cozegate.cli.polling import PollPolicy, PollProgress, poll_until_done
from cozegate.cli.upstream_errors import is_transient
from cozegate.upstream.errors import CozeAPIError, CozeTransportError


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


def scripted(steps: list[object]) -> Callable[[], Awaitable[str]]:
    """A fetch that returns (or raises) the next step each call."""
    remaining = list(steps)

    async def fetch() -> str:
        step = remaining.pop(0)
        if isinstance(step, BaseException):
            raise step
        return str(step)

    return fetch


def recorder() -> tuple[list[float], Callable[[float], Awaitable[None]]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return slept, sleep


def test_backoff_schedule() -> None:
    policy = PollPolicy(initial=2, maximum=30, max_polls=10)
    assert policy.delays() == [2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30, 30, 30]
    with pytest.raises(ValueError):
        PollPolicy(max_polls=0)


async def test_polls_until_success_and_counts_transient_errors() -> None:
    slept, sleep = recorder()
    seen: list[tuple[int, int, str]] = []

    def on_progress(progress: PollProgress) -> None:
        seen.append((progress.polls, progress.errors, progress.status))

    outcome = await poll_until_done(
        scripted(["Running", Flaky("boom"), "Running", "Success"]),
        status_of=lambda status: status,
        is_transient=lambda exc: isinstance(exc, Flaky),
        policy=PollPolicy(initial=1, maximum=2, max_polls=10),
        on_progress=on_progress,
        sleep=sleep,
    )
    assert outcome.status == "Success"
    assert outcome.final == "Success"
    assert (outcome.polls, outcome.errors) == (4, 1)
    assert outcome.error_messages == ["boom"]
    assert slept == [1, 1.5, 2, 2]
    assert (2, 1, "Running") in seen


async def test_fail_is_final() -> None:
    _, sleep = recorder()
    outcome = await poll_until_done(
        scripted(["Running", "Fail", "Success"]),
        status_of=lambda status: status,
        is_transient=lambda exc: False,
        policy=PollPolicy(initial=0, maximum=0, max_polls=5),
        sleep=sleep,
    )
    assert (outcome.status, outcome.polls, outcome.finished) == ("Fail", 2, True)


async def test_budget_runs_out() -> None:
    _, sleep = recorder()
    outcome = await poll_until_done(
        scripted(["Running", Flaky("x"), "Running"]),
        status_of=lambda status: status,
        is_transient=lambda exc: isinstance(exc, Flaky),
        policy=PollPolicy(initial=0, maximum=0, max_polls=3),
        sleep=sleep,
    )
    assert (outcome.status, outcome.polls, outcome.errors) == ("Running", 3, 1)
    assert not outcome.finished
    assert outcome.final == "Running"


async def test_fatal_error_propagates() -> None:
    _, sleep = recorder()
    with pytest.raises(Fatal):
        await poll_until_done(
            scripted(["Running", Fatal("no")]),
            status_of=lambda status: status,
            is_transient=lambda exc: isinstance(exc, Flaky),
            policy=PollPolicy(initial=0, maximum=0, max_polls=5),
            sleep=sleep,
        )


def test_transient_classification() -> None:
    assert is_transient(CozeTransportError("reset"))
    assert is_transient(CozeAPIError(5000, "internal"))
    assert is_transient(CozeAPIError(4013, "qps"))
    assert is_transient(CozeAPIError(None, "<html>", http_status=503))
    assert not is_transient(CozeAPIError(4100, "auth"))
    assert not is_transient(CozeAPIError(4200, "not found"))
    assert not is_transient(ValueError("bug"))
