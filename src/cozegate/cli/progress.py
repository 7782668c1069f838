"""Live display of a run being polled: a spinner on terminals, one line per poll elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.text import Text

from cozegate.cli.polling import PollProgress


class _StatusLine:
    """Rendered on every refresh, so elapsed time ticks while we sleep between polls."""

    def __init__(self, execute_id: str, monotonic: Callable[[], float]) -> None:
        self.execute_id = execute_id
        self.progress: PollProgress | None = None
        self.monotonic = monotonic

    def __rich__(self) -> Text:
        progress = self.progress
        if progress is None:
            return Text(f"submitted {self.execute_id}")
        text = Text()
        text.append(f"{progress.status}", style="bold")
        text.append(f"  {progress.elapsed(self.monotonic()):.1f}s elapsed")
        text.append(f"  poll {progress.polls}")
        if progress.errors:
            text.append(f"  ({progress.errors} poll errors)", style="yellow")
        text.append(f"  next in {progress.next_delay:g}s", style="dim")
        return text


class PollDisplay:
    """Context manager; pass :meth:`update` as the poll loop's ``on_progress``."""

    def __init__(
        self, console: Console, execute_id: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.console = console
        self._line = _StatusLine(execute_id, monotonic)
        # A spinner only makes sense on a terminal; logs and CI get plain lines instead.
        self._status: Status | None = (
            Status(self._line, console=console) if console.is_terminal else None
        )
        self._reported = (0, 0)

    def __enter__(self) -> Self:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def update(self, progress: PollProgress) -> None:
        self._line.progress = progress
        seen = (progress.polls, progress.errors)
        if seen == self._reported or progress.polls == 0:
            return  # progress is also reported before each sleep; say things once per poll
        self._reported = seen
        if progress.last_error:
            self.console.print(f"[yellow]poll {progress.polls} failed, will retry:[/] "
                               f"{escape(progress.last_error)}")
        elif self._status is None:
            elapsed = progress.elapsed(self._line.monotonic())
            self.console.print(f"poll {progress.polls}: {escape(progress.status)} ({elapsed:.1f}s)")
