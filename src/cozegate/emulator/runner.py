"""Serve the emulator on a real port: in a background thread (tests) or in the foreground (CLI).

uvicorn runs with :class:`AbortableProtocol`, an httptools protocol that hands the app an
``abort(hard)`` callable through the ASGI scope extension ``cozegate.emulator.abort``.
Plain ASGI cannot drop a connection before answering (uvicorn would send a 500), so the
``drop`` and ``break`` faults use it to close the socket themselves: ``hard`` aborts at
once (nothing sent), otherwise the transport flushes what was written, then closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cozegate.emulator.app import create_emulator_app
from cozegate.emulator.config import EmulatorConfig
from cozegate.emulator.faults import ABORT_EXTENSION
from cozegate.emulator.state import EmulatorState
from cozegate.kit.serving import STARTUP_TIMEOUT, ThreadedServer
from cozegate.kit.serving import serve_forever as run_forever


class AbortableProtocol(HttpToolsProtocol):
    """httptools protocol whose requests carry an ``abort(hard)`` hook in their scope."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is None or cycle.scope is not self.scope:
            return  # an upgrade request: no new request cycle was made
        transport = self.transport

        def abort(hard: bool) -> None:
            # Marking the cycle disconnected stops uvicorn from answering 500 or logging
            # "returned without completing response" once the app returns.
            cycle.disconnected = True
            if hard:
                transport.abort()
            else:
                transport.close()

        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})  # type: ignore[assignment]
        extensions[ABORT_EXTENSION] = abort


class EmulatorServer(ThreadedServer):
    """The emulator on ``host:port`` in a daemon thread with its own event loop.

    Use as a context manager, or ``start()`` / ``stop()``. ``url`` is the base URL to give
    cozepy; ``reset()`` clears runs and conversations between tests.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.config = config or EmulatorConfig()
        super().__init__(create_emulator_app(self.config), host=host, port=port,
                         log_level=log_level, http=AbortableProtocol)

    def reset(self) -> None:
        """Forget runs, conversations, issued tokens and fault counters."""
        loop: asyncio.AbstractEventLoop | None = self.app.state.loop
        if loop is None or not loop.is_running():
            self.app.state.emulator.reset()
            return
        # The state belongs to the server's loop (tasks to cancel, dicts in use): reset there.
        future = asyncio.run_coroutine_threadsafe(_reset(self.app.state.emulator), loop)
        future.result(STARTUP_TIMEOUT)


async def _reset(state: EmulatorState) -> None:
    state.reset()


def serve_forever(config: EmulatorConfig, host: str, port: int, log_level: str = "info") -> None:
    """Foreground server for the CLI (Ctrl+C stops it)."""
    run_forever(create_emulator_app(config), host, port, log_level=log_level,
                http=AbortableProtocol, access_log=False)
