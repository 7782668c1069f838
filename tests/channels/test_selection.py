"""Channel order: priority first, weights among equals (seeded, statistically loose)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from cozegate.channels.selection import order_candidates, serves


@dataclass
class Fake:
    name: str
    priority: int = 0
    weight: int = 1
    targets: list[str] | None = None


def test_priority_dominates() -> None:
    channels = [Fake("low", 0, 100), Fake("high", 10, 1), Fake("mid", 5, 1)]
    rng = random.Random(1)
    for _ in range(50):
        assert [c.name for c in order_candidates(channels, rng)] == ["high", "mid", "low"]


def test_weights_among_equals() -> None:
    channels = [Fake("a", weight=1), Fake("b", weight=3), Fake("zero", weight=0)]
    rng = random.Random(42)
    firsts = Counter(order_candidates(channels, rng)[0].name for _ in range(4000))
    assert firsts["zero"] == 0
    share_b = firsts["b"] / 4000
    assert 0.70 < share_b < 0.80  # expected 0.75
    # Every order is a full permutation: failover can reach each channel.
    assert sorted(c.name for c in order_candidates(channels, rng)) == ["a", "b", "zero"]


def test_seeded_rng_is_deterministic() -> None:
    channels = [Fake(str(i), weight=i + 1) for i in range(5)]
    first = [c.name for c in order_candidates(channels, random.Random(7))]
    again = [c.name for c in order_candidates(channels, random.Random(7))]
    assert first == again


def test_serves() -> None:
    assert serves(Fake("all"), ["wf-1"])
    assert serves(Fake("all", targets=[]), [None])
    assert serves(Fake("some", targets=["wf-1"]), ["coze-workflow", "wf-1"])
    assert not serves(Fake("some", targets=["wf-1"]), ["wf-2", None])
