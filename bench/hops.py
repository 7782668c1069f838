"""Where a stream's time to first chunk goes inside the gateway, step by step.

    python -m bench.hops            # ~1 min; prints a markdown table

Starts the fake upstream (core 1; 20 chunks, 5 ms before each, as scenario (c)) and
``cozegate serve`` (core 0) with ``bench/hops_site`` on its ``PYTHONPATH``: that
``sitecustomize`` stamps each stream on its way (see its docstring for the steps). For each
surface and concurrency, one load (bench.loadgen on core 1), then the p50/p90 of each step.

Why: on a host where the gateway is ~90% busy at c=64, the added TTFC was 5-6 ms, above its
3 ms target (0.6-1.4 ms where the gateway has CPU to spare), while the gateway's own work
before the upstream call takes ~0.15 ms. The table shows the rest is waiting for the event
loop: the request's task starts one loop pass after its bytes arrive, and the upstream's
head and first chunk are read one poll after they arrive; near saturation a pass takes
milliseconds.
(The first chunk was also written one pass after it was read, until ``kit.eager`` made the
reader resume inside the read's callback: rx->tx went from ~2 ms to ~0.1 ms at c=64.)
Not a test, and not part of bench.run: the wrappers cost a little CPU themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
from pathlib import Path

from bench.gateway import prepare_gateway, start_gateway
from bench.procs import free_port
from bench.runner import start_upstream
from bench.scenarios import LOAD_CPU, Target, configure_upstream, run_loadgen

GATEWAY_CPU = 0
SITE = Path(__file__).resolve().parent / "hops_site"
STEPS = ("recv->task", "task->up", "up->head", "head->rx", "rx->tx", "recv->tx")
MEANING = {
    "recv->task": "request bytes in → its task runs (one loop pass)",
    "task->up": "auth, limits, price, hold, run record → upstream request sent",
    "up->head": "upstream answers the head (fake upstream on core 1) and the loop reads it",
    "head->rx": "the upstream's 5 ms before chunk 1, and the loop reading it",
    "rx->tx": "chunk 1 in → converted and written (in the read's callback: kit.eager)",
    "recv->tx": "all of it, as the gateway sees it",
}


def measure(loads: list[tuple[str, int]], duration: float,
            warmup: float = 1.0) -> list[tuple[str, int, dict]]:
    """Per (surface, concurrency): the steps' p50/p90 (ms) and the load's own figures."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="cozegate-hops-") as tmp:
        workdir = Path(tmp)
        out = workdir / "hops.json"
        upstream, up_url = start_upstream(LOAD_CPU, workdir / "upstream.log")
        gateway = None
        # BENCH_HOPS_OUT, not COZEGATE_*: bench.gateway keeps those away from the gateway.
        saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "BENCH_HOPS_OUT")}
        try:
            configure_upstream(up_url, 5.0, 20)
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(SITE), saved["PYTHONPATH"]) if p)
            os.environ["BENCH_HOPS_OUT"] = str(out)
            gateway = start_gateway(workdir, free_port(), up_url, GATEWAY_CPU)
            key = prepare_gateway(gateway.url, gateway.admin_key, up_url)
            pid = gateway.pid
            assert pid is not None
            for api, concurrency in loads:
                target = Target(gateway.url, api, key)
                run_loadgen(target, "stream", concurrency, warmup, 0.0)  # warm-up
                os.kill(pid, signal.SIGUSR2)  # drop the warm-up's stamps
                time.sleep(0.3)
                result = run_loadgen(target, "stream", concurrency, duration, 0.0,
                                     server_pid=pid)
                out.unlink(missing_ok=True)
                os.kill(pid, signal.SIGUSR2)
                for _ in range(50):
                    if out.exists() and out.stat().st_size:
                        break
                    time.sleep(0.1)
                hops = json.loads(out.read_text()) if out.exists() else {}
                hops["loadgen"] = {"streams_per_s": result.get("rps"),
                                   "ttfc_p50": (result.get("ttfc_ms") or {}).get("p50"),
                                   "cpu_us": result.get("server_cpu_us_per_req"),
                                   "errors": result.get("errors")}
                rows.append((api, concurrency, hops))
                print(json.dumps({"api": api, "c": concurrency, **hops}), flush=True)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            if gateway is not None:
                gateway.stop()
            upstream.stop()
    return rows


def table(rows: list[tuple[str, int, dict]]) -> str:
    head = "| step (p50 / p90, ms) | " + " | ".join(
        f"{api} c={c}" for api, c, _ in rows) + " |"
    lines = [head, "|---" * (len(rows) + 1) + "|"]
    for step in STEPS:
        cells = []
        for _, _, hops in rows:
            h = hops.get(step)
            cells.append(f"{h['p50']:.2f} / {h['p90']:.2f}" if h else "—")
        lines.append(f"| {step}: {MEANING[step]} | " + " | ".join(cells) + " |")
    loads = [hops["loadgen"] for _, _, hops in rows]
    lines.append("| loadgen: streams/s | " + " | ".join(
        f"{lg['streams_per_s']}" for lg in loads) + " |")
    lines.append("| loadgen: TTFC p50 (ms, client side) | " + " | ".join(
        f"{lg['ttfc_p50']}" for lg in loads) + " |")
    lines.append("| gateway CPU per stream (µs) | " + " | ".join(
        f"{lg['cpu_us']}" for lg in loads) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--concurrency", type=int, action="append",
                        help="concurrency levels (default: 16 and 64)")
    parser.add_argument("--api", action="append", choices=["openai", "coze"],
                        help="surfaces (default: both)")
    parser.add_argument("-d", "--duration", type=float, default=4.0)
    args = parser.parse_args(argv)
    loads = [(api, c) for api in (args.api or ["openai", "coze"])
             for c in (args.concurrency or [16, 64])]
    print(table(measure(loads, args.duration)))


if __name__ == "__main__":
    main()
