"""Child-process helpers for the runner: CPU pinning, readiness, RSS, clean shutdown."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

TASKSET = shutil.which("taskset")


def raise_nofile_limit() -> int:
    """Lift the soft fd limit to the hard one (inherited by children): 2,000 held streams cost
    2,000 fds in the load generator and 4,000 in the gateway (client + upstream sides)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    """Prefix with ``taskset -c cpu`` (taskset execs, so the child keeps the same pid)."""
    if cpu is None or TASKSET is None:
        return cmd
    return [TASKSET, "-c", str(cpu), *cmd]


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A started process whose stdout is read by a thread (so waits can time out) and kept."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None, log: Path | None = None) -> None:
        self.name = name
        # Bounded: a gateway may log a line per failed request for minutes; only the recent
        # lines matter (readiness, the loadgen's final JSON line, error tails).
        self.lines: queue.Queue[str] = queue.Queue(maxsize=10_000)
        self.output: deque[str] = deque(maxlen=2_000)
        self._log = log.open("w") if log is not None else None
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=cwd,
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if self._log is not None:
                self._log.write(line)
                self._log.flush()
            with contextlib.suppress(queue.Full):  # nobody reads after startup: drop
                self.lines.put_nowait(line)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str] | None:
        """First output line matching ``pattern`` within ``timeout`` s (None if none/exited)."""
        rx = re.compile(pattern, re.IGNORECASE)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    return None
                continue
            if m := rx.search(line):
                return m
        return None

    def tail(self, n: int) -> str:
        return "".join(list(self.output)[-n:])

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace)
        self._reader.join(1.0)
        if self._log is not None:
            self._log.close()


def wait_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
            return True
        time.sleep(0.05)
    return False


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    return out


def vmrss_kib(pid: int) -> int:
    """VmRSS of ``pid`` plus its descendants (a server might fork a worker), in KiB."""
    total = 0
    stack, seen = [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        stack += _children(p)
    return total


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` and its live descendants (None if it is gone)."""
    total, found = 0, False
    stack, seen = [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/stat") as f:
                # Fields after the parenthesised command name; utime, stime are 14 and 15.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found = True
        total += int(fields[11]) + int(fields[12])
        stack += _children(p)
    return total / CLK_TCK if found else None
