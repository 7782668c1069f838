"""kit.serving: the foreground server freezes its startup heap once it is up, and collects
its youngest generation less often."""

from __future__ import annotations

import gc
import threading
import time

import uvicorn

from cozegate.kit.serving import GEN0_THRESHOLD, _FrozenHeapServer, bind_socket


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
    thresholds = gc.get_threshold()
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while (gc.get_freeze_count() == 0 or gc.get_threshold()[0] != GEN0_THRESHOLD) \
                and time.monotonic() < deadline:
            time.sleep(0.01)  # uvicorn says "started" just before the freeze
        assert server.started and gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GEN0_THRESHOLD, *thresholds[1:])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
