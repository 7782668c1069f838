"""The poll display: one line per poll off a terminal, a spinner plus error lines on one."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from cozegate.cli.polling import PollProgress
from cozegate.cli.progress import PollDisplay


def _progress(polls: int, errors: int, status: str, error: str | None = None) -> PollProgress:
    return PollProgress(started=0.0, polls=polls, errors=errors, status=status,
                        next_delay=2.0, last_error=error)


def test_plain_lines_once_per_poll() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with PollDisplay(console, "x", monotonic=lambda: 3.0) as display:
        display.update(_progress(0, 0, "submitted"))  # before the first sleep: silent
        display.update(_progress(1, 0, "Running"))
        display.update(_progress(1, 0, "Running"))  # reported again before the sleep
        display.update(_progress(2, 1, "Running", "code: 5000, msg: boom"))
        display.update(_progress(3, 1, "Success"))
    assert buffer.getvalue().splitlines() == [
        "poll 1: Running (3.0s)",
        "poll 2 failed, will retry: code: 5000, msg: boom",
        "poll 3: Success (3.0s)",
    ]


def test_terminal_shows_a_live_status_and_error_lines() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200, highlight=False)
    with PollDisplay(console, "x", monotonic=lambda: 12.5) as display:
        display.update(_progress(4, 1, "Running", "connection reset"))
        display.update(_progress(5, 1, "Running"))
    text = Text.from_ansi(buffer.getvalue()).plain
    assert "poll 4 failed, will retry: connection reset" in text
    assert "Running  12.5s elapsed  poll 5  (1 poll errors)  next in 2s" in text
    assert "poll 1:" not in text  # no per-poll lines: the spinner carries the status
