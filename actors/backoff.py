"""Reconnect and restart delays.  [pure]

Capped exponential backoff with full jitter, first retry immediate: a dropped connection is
usually back at once, and when it is not, many clients must not retry in lock step (the
"reconnect storm" that trips venue rate limits).  Randomness comes in as a ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


def delays(
    *, base_s: float = 0.1, cap_s: float = 10.0, factor: float = 2.0, rng: random.Random
) -> Iterator[float]:
    """0, then uniform(0, min(cap, base * factor**n)) for n = 0, 1, 2, ..."""
    yield 0.0
    ceiling = base_s
    while True:
        yield rng.uniform(ceiling / 2, ceiling)
        ceiling = min(cap_s, ceiling * factor)


class RestartPolicy:
    """When to restart a crashed actor: immediately the first time, then backing off while
    it keeps crashing; an actor that stayed up ``stable_s`` is forgiven its history."""

    def __init__(self, *, base_s: float = 0.2, cap_s: float = 10.0, stable_s: float = 30.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.stable_s = stable_s
        self.crashes = 0

    def on_exit(self, uptime_s: float) -> float:
        """The actor exited after ``uptime_s``: how long to wait before starting it again."""
        if uptime_s >= self.stable_s:
            self.crashes = 0
        self.crashes += 1
        if self.crashes == 1:
            return 0.0
        return min(self.cap_s, self.base_s * 2 ** (self.crashes - 2))
