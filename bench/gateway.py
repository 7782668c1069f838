"""The pluggable gateway step of the runner: start ``cozegate serve``, then provision it.

Nothing here is measured; it only produces a running gateway (pid, URL) and a gateway key.
When ``cozegate serve`` does not exist yet, or provisioning fails, ``GatewayUnavailable`` is
raised and the runner reports "gateway not available" instead of numbers.

What the runner expects from the gateway (only this module knows; adjust it if they change):
- ``cozegate serve --host 127.0.0.1 --port P`` serves the OpenAI and Coze surfaces, one
  process (it is pinned to one core with taskset), ``GET /healthz`` answers 200 when up;
- the database comes from ``COZEGATE_DATABASE_URL`` (SQLite, in bench/out/<stamp>/gateway/);
- on first start it prints the admin key on a line matching ``ADMIN_KEY_RX``;
- ``COZE_API_TOKEN`` + ``COZE_API_BASE`` in the environment make its first-start channel
  point at the fake upstream (issue 3 §1), so the upstream is reached even if the channel
  step below is unnecessary;
- the admin JSON API under ``/api/admin`` (bearer = admin key; docs/admin.md) lists and
  creates channels, creates a user, tops up its balance, sets price ``*`` and creates a key
  ``sk-…`` (``prepare_gateway``). If that fails, the runner falls back to
  ``bench.gateway_db`` (cozegate's service layer on the gateway's SQLite file) and says so
  in RESULTS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.procs import Child, pinned, wait_port

ADMIN_KEY_RX = r"admin[ _-]?key\b[^:=\n]*[:=]\s*(\S+)"
ADMIN_PREFIX = "/api/admin"  # docs/admin.md
BENCH_PAT = "pat_bench"
BALANCE = "1000000"
HUGE_LIMIT = 100_000_000  # per minute: never reached, but still checked on every request
RATE_LIMITS = {"workflow": HUGE_LIMIT, "chat": HUGE_LIMIT, "info": HUGE_LIMIT}
# Token-priced, so billing does its real work (reserve, settle from usage) on every call.
PRICE = {"input_price_per_1k": "0.001", "output_price_per_1k": "0.002"}


class GatewayUnavailable(Exception):
    """The gateway cannot be benchmarked; the message says why (shown in RESULTS.md)."""


@dataclass(slots=True)
class Gateway:
    """A gateway under test: started here (``child``) or already running (``--gateway-url``)."""

    url: str
    admin_key: str
    child: Child | None = None
    external_pid: int | None = None
    db_url: str | None = None  # known when started here: enables the DB provisioning fallback

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else self.external_pid

    def stop(self) -> None:
        if self.child is not None:  # never stop a gateway we did not start
            self.child.stop()


def gateway_command() -> list[str] | None:
    """``cozegate`` if it has a working ``serve`` subcommand, else None."""
    exe = shutil.which("cozegate") or str(Path(sys.executable).with_name("cozegate"))
    if not Path(exe).exists():
        return None
    try:
        probe = subprocess.run(
            [exe, "serve", "--help"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [exe, "serve"] if probe.returncode == 0 else None


def gateway_env(workdir: Path, upstream_url: str) -> dict[str, str]:
    """The environment of a benchmarked ``cozegate serve``: no stray COZEGATE_/COZE_
    settings, a fresh SQLite file in ``workdir``, the fake upstream as first-start channel."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COZEGATE_", "COZE_"))}
    return env | {
        "COZEGATE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "COZE_API_TOKEN": BENCH_PAT,
        "COZE_API_BASE": upstream_url,
        # Coze-surface defaults are 30-100/min per key: far below any benchmark rate. Raised,
        # not disabled, so the limiter's per-request cost is still measured.
        "COZEGATE_RATE_LIMITS": json.dumps(RATE_LIMITS),
    }


def start_gateway(workdir: Path, port: int, upstream_url: str, cpu: int | None) -> Gateway:
    cmd = gateway_command()
    if cmd is None:
        raise GatewayUnavailable("`cozegate serve` is not available")
    env = gateway_env(workdir, upstream_url)
    db_url = env["COZEGATE_DATABASE_URL"]
    # cwd = the temp dir, so no stray config.json in the repo is picked up.
    child = Child("cozegate", pinned([*cmd, "--host", "127.0.0.1", "--port", str(port)], cpu),
                  env=env, cwd=workdir, log=workdir / "gateway.log")
    m = child.wait_for(ADMIN_KEY_RX, timeout=60)
    if m is None or not wait_port(port, timeout=30):
        tail = child.tail(5).strip()
        child.stop()
        raise GatewayUnavailable(f"gateway did not start (no admin key line / port): {tail!r}")
    url = f"http://127.0.0.1:{port}"
    try:
        httpx.get(f"{url}/healthz", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        child.stop()
        raise GatewayUnavailable(f"/healthz failed: {exc}") from exc
    return Gateway(url=url, admin_key=m.group(1), child=child, db_url=db_url)


def _call(client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    try:
        r = client.request(method, ADMIN_PREFIX + path, json=body)
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(f"prepare: {method} {path}: {exc}") from exc
    if r.status_code >= 300:
        raise GatewayUnavailable(f"prepare: {method} {path} -> {r.status_code} {r.text[:200]}")
    return r.json() if r.content else None


def _ensure_channel(client: httpx.Client, upstream_url: str) -> None:
    """The first start made channel ``default`` from COZE_API_*; add one if it did not."""
    listing = _call(client, "GET", "/channels?limit=500")
    urls = {c.get("base_url", "").rstrip("/") for c in listing.get("items", [])}
    if upstream_url.rstrip("/") not in urls:
        _call(client, "POST", "/channels",
              {"name": "bench", "base_url": upstream_url, "token": BENCH_PAT, "priority": 100})


def prepare_gateway(admin_url: str, admin_key: str, upstream_url: str) -> str:
    """Channel to the fake upstream, user ``bench`` with a balance, price ``*``, and a key
    with limits far above any benchmark rate, through the admin API (docs/admin.md).
    Returns the gateway key ``sk-…``."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=admin_url, headers=headers, timeout=30) as client:
        _ensure_channel(client, upstream_url)
        user = _call(client, "POST", "/users", {"name": "bench"})
        _call(client, "POST", f"/users/{user['id']}/top-ups",
              {"amount": BALANCE, "reason": "benchmark"})
        _call(client, "PUT", "/prices/*", PRICE)
        key = _call(client, "POST", "/keys", {
            "user_id": user["id"], "name": "bench", "rpm_limit": HUGE_LIMIT,
            "rate_limits": RATE_LIMITS})
    raw = str(key.get("key", "")) if isinstance(key, dict) else ""
    if not raw.startswith("sk-"):
        raise GatewayUnavailable("prepare: no `sk-` key in the POST /keys answer")
    return raw
