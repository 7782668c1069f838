"""``cozegate serve`` as a real child process, to kill it the hard way (SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures_gateway import TEST_SECRET_KEY
from tests.tasks.helpers import fast_tasks

COZEGATE = str(Path(sys.executable).parent / "cozegate")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """A gateway in its own process on ``db_url`` with fast task timings."""

    def __init__(self, db_url: str, workdir: Path, **tasks: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("COZEGATE_", "COZE_API"))}
        env.update({"COZEGATE_DATABASE_URL": db_url, "COZEGATE_SECRET_KEY": TEST_SECRET_KEY,
                    "COZEGATE_PORT": str(self.port)})
        env.update({f"COZEGATE_TASKS__{name.upper()}": str(value)
                    for name, value in fast_tasks(**tasks).items()})
        self._log = (workdir / f"serve-{self.port}.log").open("w")
        self.process = subprocess.Popen([COZEGATE, "serve", "--log-level", "warning"],
                                        cwd=workdir, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        self._wait_ready(workdir)

    def _wait_ready(self, workdir: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        log = (workdir / f"serve-{self.port}.log").read_text()
        raise RuntimeError(f"cozegate serve did not start:\n{log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs; leases and streams are left as they were."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()
