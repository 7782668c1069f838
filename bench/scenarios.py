"""Measuring primitives of the runner: drive the upstream's config, run the pinned load
generator as a child process, hold streams while sampling RSS."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.procs import Child, cpu_seconds, pinned, python_module, vmrss_kib
from bench.stats import summarize_ms

LOAD_CPU = 1  # the load generator's core (the gateway gets core 0 alone)


@dataclass(slots=True)
class Target:
    """Where a load goes: base URL, API flavour (coze | coze-chat | openai), bearer key."""

    url: str
    api: str
    key: str


def configure_upstream(upstream_url: str, delay_ms: float, chunks: int) -> None:
    """Set the fake upstream's defaults; a gateway in front does not forward per-request hints."""
    r = httpx.post(
        f"{upstream_url}/_bench/config", params={"delay_ms": delay_ms, "chunks": chunks}, timeout=10
    )
    r.raise_for_status()


def _loadgen_cmd(t: Target, mode: str, concurrency: int, extra: list[str]) -> list[str]:
    args = ["--url", t.url, "--api", t.api, "--mode", mode, "-c", str(concurrency),
            "--key", t.key, *extra]
    return pinned(python_module("bench.loadgen", *args), LOAD_CPU)


def failed_result(why: str) -> dict[str, object]:
    """Stands in for a load that produced no result (crash, hang): reported as an error of
    kind ``harness`` with zero successes, never as a number that was not measured."""
    return {"ok": 0, "rps": 0.0, "errors": {"harness": why[-300:]}, "error_count": 1,
            "latency_ms": summarize_ms([]), "ttfc_ms": summarize_ms([]), "events": 0}


def _last_json(child: Child) -> dict[str, object]:
    for line in reversed(child.output):
        if line.startswith("{"):
            return json.loads(line)
    return failed_result(f"loadgen printed no result: {child.tail(5)!r}")


def _wait(child: Child, timeout: float) -> None:
    try:
        child.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.output.append(f"(killed after {timeout:.0f} s)\n")


def run_loadgen(
    t: Target,
    mode: str,
    concurrency: int,
    duration: float,
    warmup: float,
    expect_events: int = 0,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """One load; with ``server_pid``, also the server's CPU time per answered request — a
    figure that, unlike req/s, hardly moves when neighbours compete for the CPU."""
    extra = ["-d", str(duration), "--warmup", str(warmup), "--expect-events", str(expect_events)]
    cpu0 = cpu_seconds(server_pid) if server_pid else None
    t0 = time.monotonic()
    child = Child("loadgen", _loadgen_cmd(t, mode, concurrency, extra))
    try:
        _wait(child, duration + warmup + 120)
    finally:
        child.stop()
    result = _last_json(child)
    cpu1 = cpu_seconds(server_pid) if server_pid else None
    wall = time.monotonic() - t0
    done = result.get("completed_total") or 0
    if cpu0 is not None and cpu1 is not None:
        # Busy share of the server's core over the load: ~100% = CPU-bound; far below with
        # poor throughput = it waits (locks, pools, I/O), not computes.
        result["server_cpu_pct"] = round(100 * (cpu1 - cpu0) / wall, 1)
        if done:
            result["server_cpu_us_per_req"] = round((cpu1 - cpu0) / done * 1e6, 1)
    return result


def hold_and_sample(
    t: Target, streams: int, hold_seconds: float, rss_pid: int | None
) -> dict[str, object]:
    """Hold ``streams`` open streams through ``t``; sample VmRSS of ``rss_pid`` (and its
    children) every 0.2 s while they are all live (no pid: no samples, never a made-up 0).
    Returns the loadgen result + rss figures."""
    extra = ["--hold-seconds", str(hold_seconds), "--timeout", "300"]
    child = Child("loadgen-hold", _loadgen_cmd(t, "hold", streams, extra))
    samples: list[int] = []
    ready: dict[str, object] = {}
    try:
        m = child.wait_for(r'^\{"event": "ready"', timeout=240)
        if m is not None:
            ready = json.loads(m.string)
            # Sample over most of the hold, stopping before the loadgen starts closing.
            stop_at = time.monotonic() + max(0.5, hold_seconds - 0.5)
            while rss_pid is not None and time.monotonic() < stop_at:
                samples.append(vmrss_kib(rss_pid))
                time.sleep(0.2)
        _wait(child, hold_seconds + 120)
    finally:
        child.stop()
    result = _last_json(child)
    result["ready"] = ready
    result["rss_kib_samples"] = samples
    result["rss_kib_max"] = max(samples) if samples else None
    return result
