"""Is an actor alive?  Judged from the age of its last report.  [pure]

Every actor reports once per ``report_every_s`` from the very loop that does its work, so a
report that stops coming means that loop is stuck: the process is stopped (SIGSTOP), spins in
an endless loop, or waits in a blocking call.  Busy is not stuck: every stage's loop reports
between units of work, however much work is queued.

Verdicts, given the time the actor was started (or adopted) and the time its last report
arrived; time is an argument:

* ``STARTING``: no report yet and started less than ``start_within_s`` ago (a Python process
  importing its modules on a loaded machine can take seconds);
* ``ALIVE``: the last report is younger than one interval plus half an interval of slack;
* ``LATE``: at least one report is missing, but fewer than ``hung_after_missed``;
* ``HUNG``: ``hung_after_missed`` reports are missing (the last of them half an interval
  overdue), or the actor never reported within ``start_within_s``.  The coordinator kills a
  hung actor with SIGKILL and restarts it like a crashed one.

With the defaults (1 s reports, 3 missed) a hung actor is declared hung 3.5 s after its last
report, so 3.5 to 4.5 s after it stopped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Liveness(enum.Enum):
    STARTING = "starting"
    ALIVE = "running"
    LATE = "late"
    HUNG = "hung"


@dataclass(frozen=True, slots=True)
class Thresholds:
    report_every_s: float = 1.0  # every actor reports this often (actors/runtime/actor.py)
    hung_after_missed: int = 3  # this many missing reports in a row: hung
    start_within_s: float = 15.0  # the first report must come within this after start

    def __post_init__(self) -> None:
        if not self.report_every_s > 0:
            raise ValueError(f"report_every_s must be > 0, got {self.report_every_s!r}")
        if self.hung_after_missed < 1:
            raise ValueError(f"hung_after_missed must be >= 1, got {self.hung_after_missed!r}")
        if not self.start_within_s > self.report_every_s:
            raise ValueError(
                f"start_within_s ({self.start_within_s!r}) must exceed report_every_s "
                f"({self.report_every_s!r})"
            )

    @property
    def late_after_s(self) -> float:
        """Report age from which one report is missing."""
        return self.report_every_s * 1.5

    @property
    def hung_after_s(self) -> float:
        """Report age from which ``hung_after_missed`` reports are missing."""
        return self.report_every_s * (self.hung_after_missed + 0.5)


DEFAULT = Thresholds()


def liveness(
    now: float, started: float, last_report: float | None, t: Thresholds = DEFAULT
) -> Liveness:
    """The verdict on one actor at ``now`` (all times in seconds on one monotonic clock).
    ``last_report`` is None while the actor has not reported since ``started``."""
    if last_report is None:
        return Liveness.HUNG if now - started >= t.start_within_s else Liveness.STARTING
    age = now - last_report
    if age >= t.hung_after_s:
        return Liveness.HUNG
    if age >= t.late_after_s:
        return Liveness.LATE
    return Liveness.ALIVE
