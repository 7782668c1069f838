"""Choosing channels: highest priority first, weighted random order among equals. Pure.

The weighted order is Efraimidis–Spirakis sampling without replacement: each channel draws
``u ** (1 / weight)`` with ``u`` uniform in (0, 1) and the largest draw goes first. So the
first pick is channel *i* with probability ``weight_i / sum(weights)``, and the failover
order after it follows the weights too. Weight 0 means "only when nothing else is left".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Protocol, TypeVar


class Weighted(Protocol):
    @property
    def priority(self) -> int: ...

    @property
    def weight(self) -> int: ...

    @property
    def targets(self) -> list[str] | None: ...


C = TypeVar("C", bound=Weighted)


def serves(channel: Weighted, targets: Iterable[str | None]) -> bool:
    """An empty target list serves everything; otherwise one of ``targets`` must be listed."""
    if not channel.targets:
        return True
    return any(target in channel.targets for target in targets if target)


def weighted_order(channels: Sequence[C], rng: random.Random) -> list[C]:
    def draw(channel: C) -> float:
        if channel.weight <= 0:
            return -rng.random()  # after every positive weight, random among themselves
        return rng.random() ** (1.0 / channel.weight)

    return sorted(channels, key=draw, reverse=True)


def order_candidates(channels: Sequence[C], rng: random.Random) -> list[C]:
    by_priority = sorted(channels, key=lambda channel: channel.priority, reverse=True)
    ordered: list[C] = []
    for _, group in groupby(by_priority, key=lambda channel: channel.priority):
        ordered.extend(weighted_order(list(group), rng))
    return ordered
