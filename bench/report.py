"""Formatting of the runner's results into bench/RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NA = "gateway not available"


@dataclass(slots=True)
class Row:
    scenario: str
    direct: str
    via: str
    added: str
    target: str
    met: str


def ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} ms"


def us(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} µs"


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}%"


def rps(x: float | None, unit: str = "req/s") -> str:
    return "—" if x is None else f"{x:,.0f} {unit}"


def mib(kib: int | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.1f} MiB"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def with_errors(text: str, result: dict[str, Any] | None) -> str:
    """Append an error count to a cell, so a fast-but-failing run cannot pass unnoticed."""
    if not result or not result.get("error_count"):
        return text
    return f"{text} ({result['error_count']} errors: {result['errors']})"


def table(rows: list[Row]) -> str:
    head = "| scenario | direct | via cozegate | added | target | met? |\n" + "|---" * 6 + "|\n"
    body = "".join(
        f"| {r.scenario} | {r.direct} | {r.via} | {r.added} | {r.target} | {r.met} |\n"
        for r in rows
    )
    return head + body


def detail_table(title: str, runs: dict[str, dict[str, Any] | None]) -> str:
    """Per-run figures: rps, latency and TTFC percentiles, errors."""
    out = [
        f"#### {title}\n",
        "| run | ok | rps | lat p50 | lat p90 | lat p99 | TTFC p50 | TTFC p99 | server CPU/req "
        "| server CPU % | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        if r is None:
            out.append(f"| {name} | {NA} | | | | | | | | | |")
            continue
        lat = r["latency_ms"]
        ttfc = r.get("ttfc_ms") or {}
        out.append(
            f"| {name} | {r['ok']} | {r['rps']:,.1f} | {ms(lat['p50'])} | {ms(lat['p90'])} | "
            f"{ms(lat['p99'])} | {ms(ttfc.get('p50'))} | {ms(ttfc.get('p99'))} | "
            f"{us(r.get('server_cpu_us_per_req'))} | {pct(r.get('server_cpu_pct'))} | "
            f"{r['errors'] or '—'} |"
        )
    return "\n".join(out) + "\n"


def hold_table(runs: dict[str, dict[str, Any] | None], n: int) -> str:
    """(d): how many streams were live, RSS, TTFC of the held streams, errors."""
    out = [
        f"#### (d) holding {n:,} streams open (upstream: 1 chunk/s)\n",
        "| run | live at ready | still open at end | ramp (s) | peak RSS | TTFC p50 | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        if r is None:
            out.append(f"| {name} | {NA} | | | | | |")
            continue
        ttfc = r.get("ttfc_ms") or {}
        out.append(
            f"| {name} | {r.get('ready', {}).get('live', '—')} | "
            f"{r.get('still_open_at_end', '—')} | {r.get('open_s', '—')} | "
            f"{mib(r.get('rss_kib_max'))} | {ms(ttfc.get('p50'))} | {r['errors'] or '—'} |"
        )
    return "\n".join(out) + "\n"
