"""Event-loop choice shared by the harness processes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

try:  # uvloop ships with uvicorn[standard]; plain asyncio still works, just slower.
    import uvloop
except ImportError:  # pragma: no cover - the project venv has it
    uvloop = None

T = TypeVar("T")


def run_fast(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when available (``uvloop.install`` is deprecated)."""
    factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)
