"""The actor base: lifecycle, control channel, reports, and the rules every process keeps.

Every actor process:
* says hello to the coordinator on start and reports counters every second (DEALER), from
  the loop that does its work: the coordinator takes missing reports for a hung actor
  (actors/liveness.py), so a stage calls ``tick`` between units of work, however busy;
* stops on SIGTERM or a Stop command, ignores SIGINT (Ctrl-C reaches the whole process group;
  the coordinator decides the order of shutdown);
* outlives its coordinator: when the control socket loses the coordinator it streams on and
  waits ``coordinator_grace_s`` for a new one, says hello again when the socket reconnects
  (the new coordinator adopts it), and exits by itself if none comes, so a kill -9 of the
  coordinator leaves no orphans;
* removes the ipc files it bound when it exits (only if they are still its own), and after a
  coordinator that never came back, that coordinator's files too (actors/runtime/rundir.py).
Subclasses implement ``main()``, open their control socket with ``open_control`` and poll it
wherever suits their loop.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import time
from typing import Any, ClassVar

import zmq
from zmq.utils.monitor import recv_monitor_message

from actors.control import ENCODER, TO_ACTOR, ActorSpec, Hello, Notice, Report, ToActor
from actors.liveness import DEFAULT as LIVENESS
from actors.runtime import rundir, transport
from actors.stats import LatencyWindow

REPORT_EVERY_S = LIVENESS.report_every_s


class Actor:
    kind: ClassVar[str]

    def __init__(self, spec: ActorSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.log = logging.getLogger(spec.name)
        self.counters: dict[str, int] = {}
        self.latency: dict[str, LatencyWindow] = {}
        self.stopping = False
        self._next_report = 0.0
        self.ctx = zmq.Context()
        self.control: zmq.Socket[Any] | None = None
        self._monitor: zmq.Socket[Any] | None = None
        self._ever_connected = False
        # Since when no coordinator is connected: from the start until the first connect.
        self._coordinator_lost_at: float | None = now_s()
        self.orphaned = False  # we left because no coordinator came back
        self._bound: list[tuple[str, int]] = []  # (ipc path, inode) of what we bound

    # -- lifecycle ----------------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        # Imports made ~100k long-lived objects; frozen, a full collection no longer scans
        # them (tens of ms that would land on some frame's latency).
        gc.freeze()
        try:
            self.main()
        except Exception:
            self.log.exception("crashed")
            return 1
        finally:
            self.ctx.destroy(linger=0)
            self._remove_bound_files()
            if self.orphaned:
                rundir.clean_after_coordinator(self.spec.run_dir)
        return 0

    def main(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping = True

    def _on_sigterm(self, *_: object) -> None:
        self.stop()

    # -- sockets ------------------------------------------------------------------------------

    def open_control(self) -> zmq.Socket[Any]:
        """Our DEALER to the coordinator, watched (connect/disconnect events) so we know
        whether a coordinator is there; says hello."""
        identity = f"{self.name}#{os.getpid()}"  # the coordinator tells processes apart
        sock, self._monitor = transport.watched_dealer(self.ctx, identity, self.spec.coordinator)
        self.control = sock
        self.hello(sock)
        return sock

    def bind(self, sock: transport.S, endpoint: str) -> transport.S:
        """Bind, remembering an ipc file's inode: at exit we remove it only if it is still
        ours (a successor may have bound the same address since)."""
        transport.bind(sock, endpoint)
        path = transport.ipc_file(endpoint)
        if path:
            self._bound.append((path, os.stat(path).st_ino))
        return sock

    def _remove_bound_files(self) -> None:
        for path, inode in self._bound:
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:
                    os.unlink(path)

    # -- control ------------------------------------------------------------------------------

    def hello(self, sock: Any) -> None:
        self._send(sock, Hello(self.name, self.kind, os.getpid()))

    def on_command(self, msg: ToActor) -> None:
        """Stop is handled for everyone; stages override for their own commands."""
        from actors.control import Stop

        if isinstance(msg, Stop):
            self.stop()

    def read_command(self, raw: bytes) -> None:
        try:
            msg = TO_ACTOR.decode(raw)
        except Exception as exc:  # a bad command must never take an actor down
            self.log.error("malformed control message ignored: %s", exc)
            return
        self.on_command(msg)

    def tick(self, sock: Any, now: float) -> None:
        """Periodic duties: report, and watch for our coordinator.  Cheap when not due:
        stages call it between units of work."""
        if now < self._next_report:
            return
        self._next_report = now + REPORT_EVERY_S
        self._watch_coordinator(sock, now)
        self._send(sock, self.report())

    def _watch_coordinator(self, sock: Any, now: float) -> None:
        """Follow the control socket's connection: a new coordinator gets a hello (it adopts
        us); none for ``coordinator_grace_s`` and we leave."""
        monitor = self._monitor
        while monitor is not None and monitor.poll(0):
            event = recv_monitor_message(monitor)["event"]
            if event == zmq.EVENT_CONNECTED:
                if self._ever_connected:
                    self.log.info("a coordinator is back; saying hello")
                    self.hello(sock)
                self._ever_connected = True
                self._coordinator_lost_at = None
            elif event == zmq.EVENT_DISCONNECTED and self._coordinator_lost_at is None:
                self._coordinator_lost_at = now
                self.log.warning(
                    "coordinator is gone; streaming on, leaving in %.0f s unless one comes back",
                    self.spec.coordinator_grace_s,
                )
        lost_at = self._coordinator_lost_at
        if lost_at is not None and now - lost_at >= self.spec.coordinator_grace_s:
            self.log.warning(
                "no coordinator for %.1f s (grace %.0f s); stopping",
                now - lost_at,
                self.spec.coordinator_grace_s,
            )
            self.orphaned = True
            self.stop()

    def report(self) -> Report:
        latency = {}
        for key, window in self.latency.items():
            p50, p99 = window.percentiles(50, 99)
            latency[f"{key}_p50"] = p50
            latency[f"{key}_p99"] = p99
        return Report(self.name, os.getpid(), dict(self.counters), latency, self.info())

    def info(self) -> dict[str, Any]:
        return {}

    def notice(self, sock: Any, level: str, what: str, detail: str = "") -> None:
        getattr(self.log, level if level != "info" else "info")("%s %s", what, detail)
        self._send(sock, Notice(self.name, level, what, detail))

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def window(self, key: str) -> LatencyWindow:
        window = self.latency.get(key)
        if window is None:
            window = self.latency[key] = LatencyWindow()
        return window

    @staticmethod
    def _send(sock: Any, msg: object) -> None:
        # The coordinator may be away; reports are periodic, the next one will do.
        with contextlib.suppress(zmq.Again):
            sock.send(ENCODER.encode(msg), zmq.NOBLOCK)


def now_s() -> float:
    return time.monotonic()
