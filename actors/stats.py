"""Counters and latency percentiles that actors report and `pipeline status` shows.  [pure]"""

from __future__ import annotations

from array import array


class LatencyWindow:
    """The last ``size`` samples (ns) in a ring; percentiles over them on demand.

    A ring, not a histogram: cheap to record on the hot path (one store), and the reported
    p50/p99 describe the recent past, which is what an operator looking at status wants.
    """

    __slots__ = ("_count", "_ring", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._ring = array("q", bytes(8 * size))
        self._size = size
        self._count = 0

    def record(self, ns: int) -> None:
        self._ring[self._count % self._size] = ns
        self._count += 1

    def percentiles(self, *qs: float) -> list[float]:
        """Nearest-rank percentiles in microseconds; 0.0 when there are no samples."""
        n = min(self._count, self._size)
        if n == 0:
            return [0.0 for _ in qs]
        ordered = sorted(self._ring[:n])
        return [ordered[min(n - 1, int(q / 100 * n))] / 1000 for q in qs]


class Rate:
    """Events per second from successive cumulative counter readings."""

    __slots__ = ("_last_t", "_last_v", "value")

    def __init__(self) -> None:
        self._last_t: float | None = None
        self._last_v = 0
        self.value = 0.0

    def update(self, total: int, now_s: float) -> float:
        if self._last_t is not None and now_s > self._last_t:
            self.value = max(0.0, (total - self._last_v) / (now_s - self._last_t))
        self._last_t, self._last_v = now_s, total
        return self.value
