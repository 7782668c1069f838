"""Instructions per request: the gateway's user-space work, counted by callgrind.

    python -m bench.instructions            # ~2 min; writes bench/INSTRUCTIONS.md
    # against another commit as well (its tree's src/ shadows the installed package):
    git worktree add /tmp/base <rev> && python -m bench.instructions --baseline /tmp/base

Why: this box is shared, and req/s or CPU µs per request move ±20-30% with the neighbours
(bench/RESULTS.md records the load). A change of 5-15% cannot be seen that way. Under
valgrind's callgrind the gateway runs ~50x slower but executes the same instructions
whatever the neighbours do, so two commits measured minutes or days apart compare. Kernel
time (syscalls: socket and WAL writes) is not counted; RESULTS.md has it.

Method: the fake upstream (core 1) and ``cozegate serve`` under
``valgrind --tool=callgrind --instr-atstart=no`` (core 0), provisioned through the admin API
as in bench.run. Per scenario, sequentially at concurrency 1: warm-up requests, then
``callgrind_control -i on``, N requests, a dump; instructions per request = the dump's total
over N. All threads count (the billing writer too). The task worker's tick (every second:
claim, reap, settle) is pushed out of the window with ``COZEGATE_TASKS__*``; it would add
instructions per second of wall time, not per request.

Streams are 20 chunks 20 ms apart, so each chunk reaches the gateway on its own even at
valgrind's speed (at 5 ms some arrive together and are cheaper). Not a test; results
committed as markdown.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.gateway import ADMIN_KEY_RX, gateway_command, gateway_env, prepare_gateway
from bench.procs import Child, free_port, pinned, python_module, wait_port
from bench.run import git_rev
from bench.runner import start_upstream
from bench.scenarios import configure_upstream

T = TypeVar("T")
BENCH_DIR = Path(__file__).resolve().parent
GATEWAY_CPU, LOAD_CPU = 0, 1
STREAM_CHUNKS, STREAM_DELAY_MS = 20, 20.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    api: str  # loadgen --api
    mode: str  # nonstream | stream
    chunks: int
    requests: int
    expect_events: int = 0


SCENARIOS = (
    Scenario("OpenAI non-stream (chat.completion)", "openai", "nonstream", 0, 200),
    Scenario("OpenAI stream, 20 chunks", "openai", "stream", STREAM_CHUNKS, 20),
    Scenario("Coze /v1/workflow/run", "coze", "nonstream", 0, 200),
    Scenario("Coze /v1/workflow/stream_run, 20 chunks", "coze", "stream", STREAM_CHUNKS, 20,
             STREAM_CHUNKS + 2),
)


class Callgrind:
    """``cozegate serve`` under callgrind, instrumentation off until asked."""

    def __init__(self, workdir: Path, port: int, upstream_url: str,
                 source: Path | None = None) -> None:
        cmd = gateway_command()
        if cmd is None or shutil.which("valgrind") is None:
            raise SystemExit("needs `cozegate serve` and valgrind (apt install valgrind)")
        self.out = workdir / "callgrind.out"
        env = gateway_env(workdir, upstream_url) | {
            "COZEGATE_TASKS__WORKER_INTERVAL": "86400",
            "COZEGATE_TASKS__LEASE_SECONDS": "864000",
        }
        if source is not None:  # another checkout's code, ahead of the installed package
            env["PYTHONPATH"] = str(source / "src")
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={self.out}"]
        # The console script's interpreter, run explicitly: valgrind follows no shebang.
        self.child = Child("cozegate", pinned(
            [*valgrind, sys.executable, *cmd, "--host", "127.0.0.1", "--port", str(port)],
            GATEWAY_CPU), env=env, cwd=workdir, log=workdir / "gateway.log")
        m = self.child.wait_for(ADMIN_KEY_RX, timeout=600)
        if m is None or not wait_port(port, timeout=300):
            self.child.stop()
            raise SystemExit(f"gateway did not start: {self.child.tail(10)!r}")
        self.admin_key = m.group(1)
        self.dumps = 0

    def control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args, str(self.child.pid)], check=True,
                       capture_output=True, timeout=300)

    def measure(self, run: Callable[[], T]) -> tuple[int, T]:
        """``run()``'s result and the instructions executed meanwhile (instrumentation goes
        off after)."""
        self.control("-i", "on")
        value = run()
        self.control("-d")
        self.control("-i", "off")
        self.dumps += 1
        dump = Path(f"{self.out}.{self.dumps}")
        for _ in range(100):  # the dump is written asynchronously
            if dump.exists() and "totals:" in dump.read_text(errors="replace"):
                break
            time.sleep(0.1)
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1]), value
        raise RuntimeError(f"no totals in {dump}")

    def stop(self) -> None:
        self.child.stop(grace=60)


def loadgen(url: str, key: str, s: Scenario, requests: int) -> dict[str, Any]:
    args = ["--url", url, "--api", s.api, "--mode", s.mode, "-c", "1", "-n", str(requests),
            "--warmup", "0", "--timeout", "120", "--key", key,
            "--expect-events", str(s.expect_events)]
    done = subprocess.run(pinned(python_module("bench.loadgen", *args), LOAD_CPU),
                          capture_output=True, text=True, timeout=3600, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"loadgen printed no result: {done.stderr[-500:]!r}")
    return json.loads(lines[-1])


def measure_all(source: Path | None) -> list[dict[str, Any]]:
    """Every scenario on one gateway (``source``: a checkout whose code it runs)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cozegate-instr-") as tmp:
        workdir = Path(tmp)
        upstream, up_url = start_upstream(LOAD_CPU, workdir / "upstream.log")
        gateway = None
        try:
            port = free_port()
            print(f"starting the gateway ({source or 'this checkout'}) under callgrind",
                  flush=True)
            gateway = Callgrind(workdir, port, up_url, source)
            url = f"http://127.0.0.1:{port}"
            key = prepare_gateway(url, gateway.admin_key, up_url)
            for s in SCENARIOS:
                configure_upstream(up_url, STREAM_DELAY_MS if s.chunks else 0.0, s.chunks)
                loadgen(url, key, s, 10)  # warm-up: caches, pools, specialised bytecode
                total, result = gateway.measure(
                    lambda s=s: loadgen(url, key, s, s.requests))  # type: ignore[misc]
                ok, errors = result.get("ok", 0), result.get("error_count", 0)
                row = {"scenario": s.name, "requests": ok, "errors": errors,
                       "instructions": total,
                       "per_request": round(total / ok) if ok and not errors else None}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            if gateway is not None:
                gateway.stop()
            upstream.stop()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "INSTRUCTIONS.md")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout (git worktree) to measure too, for a comparison")
    args = parser.parse_args(argv)
    baseline = measure_all(args.baseline.resolve()) if args.baseline else None
    write(args.out, measure_all(None), baseline, args.baseline)


def write(path: Path, rows: list[dict[str, Any]], baseline: list[dict[str, Any]] | None,
          baseline_dir: Path | None) -> None:
    lines = [
        "# cozegate: instructions per request (callgrind)",
        "",
        f"Generated by `python -m bench.instructions` at `{git_rev()}` on "
        f"{time.strftime('%Y-%m-%dT%H%M%S', time.gmtime())} UTC. Regenerate rather than edit.",
        "",
        "User-space instructions the gateway process executes per request (all threads), "
        "at concurrency 1, counted by valgrind's callgrind: independent of the machine's "
        "load, unlike bench/RESULTS.md. Kernel time (socket and WAL writes) is not counted. "
        f"Streams: {STREAM_CHUNKS} chunks, {STREAM_DELAY_MS:g} ms apart, each received on "
        "its own. See the module docstring for the method; repeated runs agree within 1-2% "
        "(4% once, on Coze stream_run), so only a larger change is a finding.",
        "",
    ]
    if baseline is None or baseline_dir is None:
        lines += ["| scenario | requests | errors | instructions per request |",
                  "|---|---|---|---|"]
        lines += [f"| {r['scenario']} | {r['requests']} | {r['errors']} | {_m(r)} |"
                  for r in rows]
    else:
        base = git_rev(baseline_dir)
        lines += [f"| scenario | requests | at `{base}` (baseline) | at `{git_rev()}` "
                  "| change |", "|---|---|---|---|---|"]
        for old, new in zip(baseline, rows, strict=True):
            change = "—"
            if old["per_request"] and new["per_request"]:
                change = f"{(new['per_request'] / old['per_request'] - 1) * 100:+.1f}%"
            lines.append(f"| {new['scenario']} | {new['requests']} | {_m(old)} | {_m(new)} "
                         f"| {change} |")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def _m(row: dict[str, Any]) -> str:
    return f"{row['per_request'] / 1e6:.2f} M" if row["per_request"] else "— (errors)"


if __name__ == "__main__":
    main()
