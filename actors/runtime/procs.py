"""Processes seen through /proc: identity that survives pid reuse, and actors that are not
our children.

A pid alone names a process only while it lives; after it exits the kernel may give the
number to anybody.  ``/proc/<pid>/stat`` field 22 (start time, in clock ticks since boot)
does not repeat for one pid, so (pid, start ticks) names one process for good.  A process
that exited but was never reaped is a zombie (state ``Z``): dead for our purposes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import NamedTuple


class ProcStat(NamedTuple):
    state: str  # R, S, D, T (stopped), Z (zombie), ...
    start_ticks: int


def parse_stat(text: str) -> ProcStat:
    """The state and start time from the text of /proc/<pid>/stat.  The command name in
    parentheses may itself contain spaces and parentheses, so split after the last ')'."""
    head, sep, rest = text.rpartition(")")
    fields = rest.split()
    if not sep or "(" not in head or len(fields) < 20:
        raise ValueError(f"not a /proc/<pid>/stat line: {text[:80]!r}")
    # rest starts at field 3 (state); field 22 (starttime) is fields[19]
    return ProcStat(fields[0], int(fields[19]))


def stat(pid: int) -> ProcStat | None:
    """The process's stat, or None if no process has that pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            return parse_stat(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return None


def start_ticks(pid: int) -> int:
    found = stat(pid)
    if found is None:
        raise ProcessLookupError(f"no process {pid}")
    return found.start_ticks


def age_s(ticks: int) -> float:
    """Seconds since a process that started at ``ticks`` (after boot) started."""
    with open("/proc/uptime", encoding="ascii") as f:
        uptime = float(f.read().split()[0])
    return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))


def is_alive(pid: int, ticks: int) -> bool:
    """True if the process ``(pid, ticks)`` still runs (or is stopped): not gone, not a
    zombie, and not a newer process that was given the same pid."""
    found = stat(pid)
    return found is not None and found.start_ticks == ticks and found.state != "Z"


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except (FileNotFoundError, ProcessLookupError):
        return []


def is_actor_of(pid: int, run_dir: str) -> bool:
    """True if ``pid`` is a live marketpipe actor started for ``run_dir`` (its spec, on its
    command line, names the run dir)."""
    args = cmdline(pid)
    found = stat(pid)
    return (
        found is not None
        and found.state != "Z"
        and "actors.runtime.launch" in args
        and any(f'"run_dir":"{run_dir}"' in arg for arg in args)
    )


class Adopted:
    """A running actor a previous coordinator started.  It is not our child, so we cannot
    waitpid it: we watch /proc for its (pid, start ticks) instead.  Its exit status is lost
    (whoever reaps it gets it), so ``returncode`` stays None after it is gone."""

    def __init__(self, pid: int, ticks: int) -> None:
        self.pid = pid
        self.ticks = ticks
        self.returncode: int | None = None
        self.gone = False

    def poll(self) -> bool | None:
        """None while it runs, True once it is gone (Popen.poll's protocol, minus the code)."""
        if not self.gone and not is_alive(self.pid, self.ticks):
            self.gone = True
        return True if self.gone else None

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"adopted pid {self.pid}", timeout)
            time.sleep(0.02)
