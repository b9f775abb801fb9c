"""The actor base: lifecycle, control channel, reports, and the rules every process keeps.

Every actor process:
* says hello to the coordinator on start and reports counters every second (DEALER);
* stops on SIGTERM or a Stop command, ignores SIGINT (Ctrl-C reaches the whole process group;
  the coordinator decides the order of shutdown);
* exits by itself when its parent coordinator dies, so a kill -9 of the coordinator leaves
  no orphans.
Subclasses implement ``main()`` and poll their control socket wherever suits their loop.
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

from actors.control import ENCODER, TO_ACTOR, ActorSpec, Hello, Notice, Report, ToActor
from actors.stats import LatencyWindow

REPORT_EVERY_S = 1.0


class Actor:
    kind: ClassVar[str]

    def __init__(self, spec: ActorSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.log = logging.getLogger(spec.name)
        self.counters: dict[str, int] = {}
        self.latency: dict[str, LatencyWindow] = {}
        self.stopping = False
        self._parent = os.getppid()
        self._next_report = 0.0
        self.ctx = zmq.Context()
        self.control: zmq.Socket[Any] | None = None

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
        return 0

    def main(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping = True

    def _on_sigterm(self, *_: object) -> None:
        self.stop()

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
        """Periodic duties: report, and exit if our coordinator is gone."""
        if now < self._next_report:
            return
        self._next_report = now + REPORT_EVERY_S
        if os.getppid() != self._parent:
            self.log.warning("coordinator is gone; stopping")
            self.stop()
            return
        self._send(sock, self.report())

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
