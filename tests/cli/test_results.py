"""Result file names (Beijing time at submission) and the never-overwrite rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from cozegate.cli.results import beijing_stamp, result_filename, write_result

# 2026-11-22 18:30:05 UTC is 2026-11-23 02:30:05 in Beijing: the date rolls over too.
SUBMITTED = datetime(2026, 11, 22, 18, 30, 5, tzinfo=UTC)


def test_stamp_is_beijing_time() -> None:
    assert beijing_stamp(SUBMITTED) == "20261123023005"
    other_zone = SUBMITTED.astimezone(timezone(timedelta(hours=-5)))
    assert beijing_stamp(other_zone) == "20261123023005"
    assert result_filename("sync", SUBMITTED) == "sync_20261123023005.json"
    assert result_filename("async", SUBMITTED, 2) == "async_20261123023005_2.json"


def test_write_never_overwrites(tmp_path: Path) -> None:
    paths = [
        write_result({"n": n}, mode="sync", submitted_at=SUBMITTED, output_dir=tmp_path)
        for n in range(3)
    ]
    assert [p.name for p in paths] == [
        "sync_20261123023005.json",
        "sync_20261123023005_1.json",
        "sync_20261123023005_2.json",
    ]
    assert [json.loads(p.read_text(encoding="utf-8"))["n"] for p in paths] == [0, 1, 2]


def test_write_creates_output_dir_and_keeps_unicode(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir"
    path = write_result({"city": "杭州"}, mode="async", submitted_at=SUBMITTED, output_dir=target)
    assert path.parent == target
    assert "杭州" in path.read_text(encoding="utf-8")
