"""kit.serving: the foreground server freezes its startup heap once it is up."""

from __future__ import annotations

import gc
import threading
import time

import uvicorn

from cozegate.kit.serving import _FrozenHeapServer, bind_socket


async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def test_the_startup_heap_is_frozen_once_serving() -> None:
    sock = bind_socket("127.0.0.1", 0)
    server = _FrozenHeapServer(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    gc.unfreeze()
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # uvicorn says "started" just before the freeze
        assert server.started and gc.get_freeze_count() > 0
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        gc.unfreeze()
