"""Why the load generator has its own HTTP client: httpx vs aiohttp vs bench.rawhttp.

Each client runs the same closed loop (non-stream ``POST /v1/workflow/run``) pinned to core 1
against the fake upstream alone on core 0, under uvloop. aiohttp is not a project dependency;
it is measured when importable, e.g. after ``pip install --target /tmp/aiohttp-pkgs aiohttp``
and ``BENCH_AIOHTTP_PATH=/tmp/aiohttp-pkgs`` (added to PYTHONPATH of the aiohttp process
only, so its pinned deps cannot shadow the venv's elsewhere), and reported as "not
installed" otherwise.

    python -m bench.compare_clients --client httpx --url http://127.0.0.1:PORT -c 64 -d 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx

from bench.aio import run_fast
from bench.loadgen import LoadConfig, run_load
from bench.procs import Child, pinned, python_module
from bench.runner import GATEWAY_CPU, start_upstream
from bench.scenarios import LOAD_CPU

try:  # optional: only for this comparison
    import aiohttp
except ImportError:
    aiohttp = None

CLIENTS = ("raw", "httpx", "aiohttp")
BODY = b'{"workflow_id":"7516000000000000001","parameters":{"input":"hi"}}'
HEADERS = {"Authorization": "Bearer pat_bench", "Content-Type": "application/json"}
PATH = "/v1/workflow/run"


async def _loop(one: Any, c: int, duration: float) -> dict[str, Any]:
    """Closed loop around ``one()`` (a coroutine function returning the HTTP status)."""
    ok = errors = 0
    deadline = perf_counter() + duration

    async def worker() -> None:
        nonlocal ok, errors
        while perf_counter() < deadline:
            try:
                status = await one()
            except Exception:  # any client-side failure counts; the comparison goes on
                errors += 1
                continue
            if status == 200:
                ok += 1
            else:
                errors += 1

    t0 = perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return {"ok": ok, "errors": errors, "rps": round(ok / (perf_counter() - t0), 1)}


async def _httpx(url: str, c: int, duration: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=HEADERS) as client:

        async def one() -> int:
            r = await client.post(PATH, content=BODY)
            return r.status_code

        return await _loop(one, c, duration)


async def _aiohttp(url: str, c: int, duration: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(url, connector=connector, headers=HEADERS) as session:

        async def one() -> int:
            async with session.post(PATH, data=BODY) as r:
                await r.read()
                return r.status

        return await _loop(one, c, duration)


async def _raw(url: str, c: int, duration: float) -> dict[str, Any]:
    r = await run_load(LoadConfig(url=url, concurrency=c, duration=duration))
    return {"ok": r["ok"], "errors": r["error_count"], "rps": r["rps"]}


def measure(client: str, url: str, c: int, duration: float) -> dict[str, Any]:
    if client == "aiohttp" and aiohttp is None:
        return {"client": client, "c": c, "rps": None, "note": "not installed"}
    fn = {"raw": _raw, "httpx": _httpx, "aiohttp": _aiohttp}[client]
    return {"client": client, "c": c, **run_fast(fn(url, c, duration))}


def _env_for(client: str) -> dict[str, str] | None:
    extra = os.environ.get("BENCH_AIOHTTP_PATH")
    if client != "aiohttp" or not extra:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra, env.get("PYTHONPATH")) if p)
    return env


def _run_one(client: str, url: str, c: int, duration: float) -> dict[str, Any]:
    args = ["--client", client, "--url", url, "-c", str(c), "-d", str(duration)]
    child = Child("client", pinned(python_module("bench.compare_clients", *args), LOAD_CPU),
                  env=_env_for(client))
    try:
        child.proc.wait(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        child.output.append("timed out")
    child.stop()
    line = next((x for x in reversed(child.output) if x.startswith("{")), None)
    if line:
        return json.loads(line)
    return {"client": client, "c": c, "rps": None, "note": child.tail(3).strip()}


def compare_all(duration: float, out_dir: Path, repeat: int = 1) -> list[dict[str, Any]]:
    """Every client at c=1 and c=64, each in its own pinned process; best of ``repeat``."""
    upstream, url = start_upstream(GATEWAY_CPU, out_dir / "upstream-clients.log")
    results: list[dict[str, Any]] = []
    try:
        for client in CLIENTS:
            for c in (1, 64):
                print(f"  client comparison: {client} c={c}", flush=True)
                runs = [_run_one(client, url, c, duration) for _ in range(repeat)]
                results.append(max(runs, key=lambda r: r.get("rps") or 0.0))
    finally:
        upstream.stop()
    (out_dir / "clients.json").write_text(json.dumps(results, indent=2))
    return results


def render(results: list[dict[str, Any]]) -> str:
    out = [
        "#### HTTP client comparison (non-stream, client on core 1, fake upstream on core 0)",
        "",
        "| client | c=1 req/s | c=64 req/s | note |",
        "|---|---|---|---|",
    ]
    for client in CLIENTS:
        by_c = {r["c"]: r for r in results if r["client"] == client}
        cells = [f"{by_c[c]['rps']:,.0f}" if by_c.get(c, {}).get("rps") else "—" for c in (1, 64)]
        note = "; ".join(sorted({r.get("note", "") for r in by_c.values()} - {""}))
        errs = sum(r.get("errors", 0) or 0 for r in by_c.values())
        if errs:
            note = f"{note} {errs} errors".strip()
        out.append(f"| {client} | {cells[0]} | {cells[1]} | {note} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="closed-loop throughput of one HTTP client")
    p.add_argument("--client", choices=CLIENTS, required=True)
    p.add_argument("--url", required=True)
    p.add_argument("-c", "--concurrency", type=int, default=64)
    p.add_argument("-d", "--duration", type=float, default=3.0)
    a = p.parse_args(argv)
    print(json.dumps(measure(a.client, a.url, a.concurrency, a.duration)), flush=True)


if __name__ == "__main__":
    main()
