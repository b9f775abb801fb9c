#!/usr/bin/env python3
"""Chaos run: the pipeline under random faults, its books checked against the truth.

    .venv/bin/python scripts/chaos.py --minutes 10             # writes docs/RELIABILITY.md
    .venv/bin/python scripts/chaos.py --seconds 40 --seed 7 --report /tmp/r.md --json /tmp/r.json

Runs `pipeline run TOPOLOGY --simulate` (a small topology it writes: Gate.io spot, and MEXC
spot with ``--mexc``) and, one fault at a time in a seeded random order, injects every kind
it has: drop, refuse (with a drop), stale socket, gap, full book, malformed, truncated,
oversized (over ``max_frame_bytes``: 1009) and big-but-allowed frames, delayed frames, slow
and failing REST snapshots (each with a gap, so a snapshot is needed), kill -9 of a
connection, parser or handler, a consumer that stops reading; and, where the pipeline has
them, a SIGSTOPped (hung) actor and a per-subscription stale. After each fault it waits for
recovery: the venue's data flowing again and its books valid (after a reset, where the fault
makes one).

A consumer follows the whole stream the whole time and counts:
- mismatches: at every truth check (market paused, each valid book brought to the paused
  id, compared level by level with the simulator's book, as tests/harness.py does);
- stale books served: a book delta for a book the consumer holds no valid snapshot for, or
  a valid book silent longer than its order-book staleness threshold (the venue's
  ``stale_after``, 5 s) plus 1 s while the market runs.

It prints and writes a report (faults by kind, recoveries, recovery time p50/p99/max,
events, mismatches, stale, RSS of every actor at start and end) and exits 1 when a book
mismatched, a stale book was served, or a fault did not recover.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shlex
import signal
import sys
import time
import urllib.error
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actors.client import LocalBook, publisher_lost  # noqa: E402
from actors.messages import EVENT_DECODER, BookDelta, BookReset, BookSnapshot  # noqa: E402
from actors.simulators.server import SimServer  # noqa: E402
from actors.venues import venue_class  # noqa: E402
from tests.harness import Pipeline  # noqa: E402

SYMBOL_PARAM = {
    "gateio_spot": "currency_pair",
    "gateio_futures": "contract",
    "mexc_spot": "symbol",
    "mexc_futures": "symbol",
}
MAX_FRAME = 262_144
RECOVERY_TIMEOUT_S = 20.0
# Faults that cost the connection its socket: for these, also the time until data flows again.
CONNECTION_LOST = ("drop", "oversized", "kill_connection")
STALE_MARGIN_S = 1.0  # past a book's staleness threshold, for the reset to reach the consumer


@dataclass
class Fault:
    kind: str
    venue: str
    at: float  # monotonic, injected
    lasts_s: float  # how long the fault itself is active
    expect_reset: bool
    symbols: list[str] | None = None  # natives it affects (None: all of the venue)
    victim: tuple[str, int] | None = None  # a signalled actor: (name, pid)
    resnapshot: bool = False  # recovered only with a fresh snapshot of each affected book
    recovered_s: float | None = None
    flowing_s: float | None = None  # a lost connection: until data flowed again
    note: str = ""


@dataclass
class Consumer:
    """Follows the public stream: local books, and what must never happen."""

    sub: zmq.Socket  # type: ignore[type-arg]
    monitor: zmq.Socket  # type: ignore[type-arg]  # lost publishers (client.watch_publishers)
    venue_of: dict[str, str] = field(default_factory=dict)  # publish endpoint -> venue
    distrusted: int = 0  # valid books invalidated because their publisher was lost
    books: dict[tuple[str, str], LocalBook] = field(default_factory=dict)
    last_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    last_event: dict[str, float] = field(default_factory=dict)  # venue -> monotonic
    resets: dict[tuple[str, str], float] = field(default_factory=dict)  # last reset time
    snapshots: dict[tuple[str, str], float] = field(default_factory=dict)  # last snapshot
    events: int = 0
    stale_deltas: list[str] = field(default_factory=list)
    stale_silent: list[str] = field(default_factory=list)
    # venue -> [(a book_reset, the first other event after it)]: when data flowed again
    flowing: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    _reset_at: dict[str, float] = field(default_factory=dict)

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self.sub.poll(int(left * 1000) + 1):
                continue
            while self.sub.poll(0):
                _topic, payload = self.sub.recv_multipart()
                self.on_event(EVENT_DECODER.decode(payload), time.monotonic())
            self.on_lost(publisher_lost(self.monitor))

    def on_lost(self, endpoints: list[str]) -> None:
        """A publisher stopped answering (killed or hung handler): its books are not
        trusted until their next snapshot, as any careful consumer would do."""
        for endpoint in endpoints:
            venue = self.venue_of.get(endpoint)
            for (v, _native), book in self.books.items():
                if v == venue and book.valid:
                    book.distrust()
                    self.distrusted += 1

    def on_event(self, event: Any, now: float) -> None:
        self.events += 1
        self.last_event[event.venue] = now
        if isinstance(event, BookReset):
            self._reset_at.setdefault(event.venue, now)
        elif event.venue in self._reset_at:
            reset_at = self._reset_at.pop(event.venue)
            self.flowing.setdefault(event.venue, []).append((reset_at, now))
        if not isinstance(event, BookSnapshot | BookDelta | BookReset):
            return
        key = (event.venue, event.native)
        book = self.books.setdefault(key, LocalBook())
        if isinstance(event, BookDelta) and not book.valid:
            self.stale_deltas.append(f"{key}: delta u={event.seq} without a valid snapshot")
        if isinstance(event, BookReset):
            self.resets[key] = now
        elif isinstance(event, BookSnapshot):
            self.snapshots[key] = now
        book.apply(event)
        self.last_seen[key] = now

    def check_silence(self, limits: dict[str, float], paused_until: float) -> None:
        """A valid book with no event for longer than its venue's staleness limit."""
        now = time.monotonic()
        for key, book in self.books.items():
            since = max(self.last_seen.get(key, now), paused_until)
            if book.valid and now - since > limits[key[0]]:
                self.stale_silent.append(f"{key}: valid but silent {now - since:.1f} s")
                self.last_seen[key] = now  # one count per silence

    def flowing_after(self, venue: str, at: float) -> float | None:
        """When the venue's data flowed again after the first reset since ``at``."""
        return next((t for r, t in self.flowing.get(venue, []) if r >= at), None)

    def valid(self, venue: str, natives: list[str]) -> bool:
        return all((b := self.books.get((venue, n))) is not None and b.valid for n in natives)


class Chaos:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.venues: dict[str, dict[str, Any]] = {
            "gateio_spot": {
                "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
                "channels": ["book_ticker", "trades", "order_book"],
                "max_frame_bytes": MAX_FRAME,
            }
        }
        if args.mexc:
            self.venues["mexc_spot"] = {
                "symbols": ["BTC/USDT", "ETH/USDT"],
                "channels": ["book_ticker", "trades", "order_book"],
                "max_frame_bytes": MAX_FRAME,
            }
        self.natives = {
            name: [venue_class(name)({}).native_symbol(s) for s in body["symbols"]]
            for name, body in self.venues.items()
        }
        # A valid book may stay silent no longer than its order-book threshold (the handler
        # resets it then, on a live or a silent socket), plus the watchdog's 0.1 s check
        # period and the time for the reset to reach us.
        self.limits = {
            name: venue_class(name)({}).stale_after["order_book"] + STALE_MARGIN_S
            for name in self.venues
        }
        self.p = Pipeline(venues=self.venues, parsers=2)
        self.consumer = Consumer(
            self.p.sub,
            self.p.publisher_monitor,
            {body["publish"]: name for name, body in self.venues.items()},
        )
        self.faults: list[Fault] = []
        self.mismatches: list[str] = []
        self.checks = Counter[str]()
        self.paused_until = 0.0
        self.rss_start: dict[str, int] = {}
        self.stuck: list[zmq.Socket] = []  # type: ignore[type-arg]
        self.resets_missed: list[str] = []  # a killed handler's reset lost on the way
        self.injection_failures: list[str] = []  # a simulator control call that failed
        self.control_retries: list[str] = []
        self.t0 = time.monotonic()

    # -- running ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        p = self.p
        started_wall = dt.datetime.now(dt.UTC)
        p.start(timeout_s=30)
        try:
            self.wait(lambda: all(self.consumer.valid(v, n) for v, n in self.natives.items()), 20)
            self.rss_start = self.rss()
            kinds = self.kinds()
            deadline = time.monotonic() + self.args.seconds
            round_: list[str] = []
            while time.monotonic() < deadline:
                if not round_:  # every kind once per round, in a seeded random order
                    round_ = list(kinds)
                    self.rng.shuffle(round_)
                kind = round_.pop()
                venue = self.rng.choice(sorted(kinds[kind]))
                try:
                    fault = self.inject(kind, venue)
                except (OSError, ValueError) as exc:  # the simulator's control, not the pipeline
                    self.injection_failures.append(f"{kind} {venue}: {exc!r}")
                    continue
                self.faults.append(fault)
                self.await_recovery(fault)
                if len(self.faults) % 5 == 0:
                    self.compare_with_truth()
                self.consumer.pump(self.rng.uniform(0.2, 0.8))
            self.compare_with_truth()
            rss_end = self.rss()
            stats = {name: p.actor(f"{name}.handler")["counters"] for name in self.venues}
        finally:
            for sock in self.stuck:
                sock.close()
            code = p.stop()
        return self.summary(started_wall, rss_end, stats, kinds, code)

    def wait(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.consumer.pump(0.05)
            self.consumer.check_silence(self.limits, self.paused_until)
            if condition():
                return True
        return False

    def rss(self) -> dict[str, int]:
        out = {}
        for actor in self.p.status()["actors"]:
            pid = actor.get("pid")
            if pid:
                try:
                    with open(f"/proc/{pid}/status") as status:
                        kb = next(int(x.split()[1]) for x in status if x.startswith("VmRSS:"))
                except (OSError, StopIteration):
                    continue
                out[actor["name"]] = kb
        return out

    # -- faults -----------------------------------------------------------------------------

    def kinds(self) -> dict[str, set[str]]:
        """Each fault kind and the venues it can hit (gated on what the pipeline has)."""
        every = set(self.venues)
        gate = {v for v in every if v.startswith("gateio")}
        kinds = {
            k: every
            for k in (
                "drop",
                "refuse",
                "stale",
                "gap",
                "malformed",
                "truncated",
                "oversized",
                "big_allowed",
                "delayed",
                "rest_slow",
                "rest_fail",
                "kill_connection",
                "kill_parser",
                "kill_handler",
                "slow_consumer",
            )
        }
        if gate:
            kinds["full"] = gate
        if self.hung_actors_detected():
            kinds["hung_actor"] = every
        if self.per_subscription_stale():
            kinds["stale_subscription"] = every
        return kinds

    def hung_actors_detected(self) -> bool:
        """The coordinator says how long an actor may stay silent before it counts as hung."""
        return "hung_after_s" in self.p.status().get("coordinator", {})

    def per_subscription_stale(self) -> bool:
        """The simulators can silence one subscription (``/_sim/stale_sub``)."""
        return hasattr(SimServer, "_sim_stale_sub")

    def sim(self, action: str, venue: str, **params: str) -> Any:
        """A simulator control call, retried twice: a reset HTTP connection to the
        simulator's control is not a pipeline fault (each retry is listed in the report)."""
        for attempt in range(3):
            try:
                return self.p.sim(action, venue, **params)
            except (ConnectionError, urllib.error.URLError, TimeoutError) as exc:
                if attempt == 2:
                    raise
                self.control_retries.append(f"{action} {venue}: {exc!r}")
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def inject(self, kind: str, venue: str) -> Fault:
        sim = self.sim
        native = self.rng.choice(self.natives[venue])
        symbol = {SYMBOL_PARAM[venue]: native}
        now = time.monotonic()
        match kind:
            case "drop":
                sim("drop", venue)
                return Fault(kind, venue, now, 0, True)
            case "refuse":
                seconds = self.rng.uniform(1, 3)
                sim("refuse", venue, seconds=f"{seconds:.1f}")
                sim("drop", venue)
                return Fault(kind, venue, now, seconds, True)
            case "stale":
                # Shorter and longer than the books' 5 s threshold: past it they are reset.
                seconds = self.rng.uniform(1, 8)
                sim("stale", venue, seconds=f"{seconds:.1f}")
                return Fault(kind, venue, now, seconds, False)
            case "gap":
                sim("gap", venue, **symbol)
                return Fault(kind, venue, now, 0, True, [native])
            case "full":
                sim("full", venue, **symbol)
                return Fault(kind, venue, now, 0, False, [native])
            case "malformed":
                sim("malformed", venue, count=str(self.rng.randint(1, 20)))
                return Fault(kind, venue, now, 0, False)
            case "truncated":
                sim("truncate", venue, count=str(self.rng.randint(1, 20)))
                return Fault(kind, venue, now, 0, False)
            case "oversized":
                sim("big", venue, bytes=str(MAX_FRAME * 2))
                return Fault(kind, venue, now, 0, True)
            case "big_allowed":
                sim("big", venue, bytes=str(MAX_FRAME // 2))
                return Fault(kind, venue, now, 0, False)
            case "delayed":
                seconds = self.rng.uniform(1, 3)
                sim("delay", venue, ms=str(self.rng.randint(100, 1500)), seconds=f"{seconds:.1f}")
                return Fault(kind, venue, now, seconds, False)
            case "rest_slow":
                ms = self.rng.randint(1000, 4000)
                sim("rest_delay", venue, ms=str(ms), match=native, count="1")
                sim("gap", venue, **symbol)
                return Fault(kind, venue, now, ms / 1000, True, [native])
            case "rest_fail":
                count = self.rng.randint(1, 4)
                sim("rest_fail", venue, status="503", match=native, count=str(count))
                sim("gap", venue, **symbol)
                return Fault(kind, venue, now, 0, True, [native])
            case "kill_connection" | "kill_parser" | "kill_handler" | "hung_actor":
                return self.signal_actor(kind, venue, now)
            case "slow_consumer":
                stuck = self.p.ctx.socket(zmq.SUB)
                stuck.setsockopt(zmq.LINGER, 0)
                stuck.setsockopt(zmq.RCVHWM, 10)
                stuck.connect(self.venues[venue]["publish"])
                stuck.setsockopt(zmq.SUBSCRIBE, b"")
                self.stuck.append(stuck)  # never read; closed at the end
                return Fault(kind, venue, now, 0, False)
            case "stale_subscription":
                # Silent until the handler's watchdog notices and renews it (the renewal
                # brings it back): recovery time includes the detection threshold.
                sim("stale_sub", venue, channel="order_book", symbol=native, seconds="60")
                return Fault(kind, venue, now, 0, True, [native])
        raise ValueError(f"unknown fault kind {kind}")

    def signal_actor(self, kind: str, venue: str, now: float) -> Fault:
        role = {"kill_connection": "connection", "kill_parser": "parser"}.get(kind, "handler")
        if kind == "hung_actor":
            role = self.rng.choice(["connection", "parser", "handler"])
        actors = [
            a
            for a in self.p.status()["actors"]
            if a["name"].startswith(f"{venue}.{role}") and a.get("pid")
        ]
        victim = self.rng.choice(actors)
        sig = signal.SIGSTOP if kind == "hung_actor" else signal.SIGKILL
        os.kill(victim["pid"], sig)
        # A parser that held no batch loses nothing: no reset is owed, only a restart.  A new
        # handler has no books: it resets them, but a consumer's SUB reconnecting to it can
        # miss that, so what it owes is a fresh snapshot of each.
        hung = kind == "hung_actor"
        reset = kind == "kill_connection" or (hung and role == "connection")
        fault = Fault(kind, venue, now, 0, reset, note=victim["name"])
        fault.resnapshot = kind == "kill_handler" or (hung and role == "handler")
        fault.victim = (victim["name"], victim["pid"])
        return fault

    def await_recovery(self, fault: Fault) -> None:
        """Recovered: the fault's own time is over, the venue's data flows again, and its
        affected books are valid -- after a reset, when the fault makes one."""
        natives = fault.symbols or self.natives[fault.venue]
        keys = [(fault.venue, n) for n in natives]
        ends = fault.at + fault.lasts_s
        reset_grace = fault.at + 10.0  # no reset by then: the fault did not need one
        polled = [0.0]

        def restarted() -> bool:
            """The signalled actor runs again (a new pid), checked at most every 0.2 s."""
            nonlocal ends
            if fault.victim is None or ends > fault.at:
                return True
            if time.monotonic() - polled[0] < 0.2:
                return False
            polled[0] = time.monotonic()
            name, pid = fault.victim
            actor = self.p.actor(name)
            if actor.get("pid") in (None, pid) or actor["state"] != "running":
                return False
            ends = time.monotonic()  # data must flow after the restart
            return True

        def recovered() -> bool:
            now = time.monotonic()
            if not restarted():
                return False
            if now < ends or self.consumer.last_event.get(fault.venue, 0) < ends:
                return False
            reset = any(self.consumer.resets.get(k, 0) >= fault.at for k in keys)
            if fault.expect_reset and not reset and now < reset_grace:
                return False
            # Any snapshot after the kill is the new handler's (the old one is dead).
            snaps = self.consumer.snapshots
            if fault.resnapshot and any(snaps.get(k, 0) < fault.at for k in keys):
                return False
            return self.consumer.valid(fault.venue, natives)

        if self.wait(recovered, RECOVERY_TIMEOUT_S + fault.lasts_s):
            fault.recovered_s = time.monotonic() - fault.at
            if fault.kind in CONNECTION_LOST:
                flowing = self.consumer.flowing_after(fault.venue, fault.at)
                fault.flowing_s = None if flowing is None else flowing - fault.at
            if not any(self.consumer.resets.get(k, 0) >= fault.at for k in keys):
                fault.note = (fault.note + " (no reset seen)").strip()
                if fault.kind == "kill_handler":
                    self.resets_missed.append(f"{fault.note} at {fault.at - self.t0:.1f} s")

    def compare_with_truth(self) -> None:
        """Pause every market, bring each valid book to the paused id, compare, resume."""
        for venue, natives in self.natives.items():
            paused = self.sim("pause", venue)
            ids = paused.get("ids") or paused.get("versions") or {}
            try:
                for native in natives:
                    key = (venue, native)
                    at = ids[native]
                    reached = self.wait(
                        lambda k=key, a=at: (
                            (b := self.consumer.books.get(k)) is not None and b.valid and b.seq == a
                        ),
                        5,
                    )
                    if not reached:
                        self.checks["skipped (not valid and quiet)"] += 1
                        continue
                    truth = self.sim("book", venue, **{SYMBOL_PARAM[venue]: native})
                    book = self.consumer.books[key]
                    bids = {float(px): float(q) for px, q in truth["bids"]}
                    asks = {float(px): float(q) for px, q in truth["asks"]}
                    self.checks["compared"] += 1
                    if book.bids != bids or book.asks != asks:
                        self.mismatches.append(f"{venue} {native} at {at}")
            finally:
                self.sim("resume", venue)
                self.paused_until = time.monotonic()
                for key in self.consumer.last_seen:
                    self.consumer.last_seen[key] = max(
                        self.consumer.last_seen[key], time.monotonic()
                    )

    # -- report -----------------------------------------------------------------------------

    def summary(
        self,
        started: dt.datetime,
        rss_end: dict[str, int],
        stats: dict[str, dict[str, int]],
        kinds: dict[str, set[str]],
        exit_code: int,
    ) -> dict[str, Any]:
        times = sorted(f.recovered_s for f in self.faults if f.recovered_s is not None)
        by_kind: dict[str, dict[str, Any]] = {}
        for f in self.faults:
            row = by_kind.setdefault(
                f.kind, {"injected": 0, "recovered": 0, "times": [], "flowing": []}
            )
            row["injected"] += 1
            if f.recovered_s is not None:
                row["recovered"] += 1
                row["times"].append(f.recovered_s)
            if f.flowing_s is not None:
                row["flowing"].append(f.flowing_s)
        dropped = sorted(by_kind.get("drop", {}).get("flowing", []))
        return {
            "started": started.isoformat(timespec="seconds"),
            "seconds": self.args.seconds,
            "seed": self.args.seed,
            "venues": {v: self.natives[v] for v in self.venues},
            "kinds_available": sorted(kinds),
            "kinds_not_available": sorted({"hung_actor", "stale_subscription"} - set(kinds)),
            "faults": by_kind,
            "injected": len(self.faults),
            "recovered": len(times),
            "unrecovered": [
                f"{f.kind} {f.venue} {f.note}" for f in self.faults if f.recovered_s is None
            ],
            "recovery_s": {
                "p50": _quantile(times, 0.5),
                "p99": _quantile(times, 0.99),
                "max": times[-1] if times else None,
            },
            "drop_flowing_s": {
                "p50": _quantile(dropped, 0.5),
                "p99": _quantile(dropped, 0.99),
                "max": dropped[-1] if dropped else None,
                "n": len(dropped),
            },
            "events": self.consumer.events,
            "distrusted": self.consumer.distrusted,
            "handler_resets_missed": self.resets_missed,
            "injection_failures": self.injection_failures,
            "control_retries": self.control_retries,
            "handler_counters": stats,
            "truth_checks": dict(self.checks),
            "mismatches": self.mismatches,
            "stale_deltas": self.consumer.stale_deltas,
            "stale_silent": self.consumer.stale_silent,
            "rss_kb": {
                name: {"start": self.rss_start.get(name), "end": kb} for name, kb in rss_end.items()
            },
            "pipeline_exit": exit_code,
            "command": "python scripts/chaos.py " + shlex.join(sys.argv[1:]),
            "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def render(r: dict[str, Any]) -> str:
    def s(x: float | None) -> str:
        return "—" if x is None else f"{x:.2f} s"

    def ms(x: float | None) -> str:
        return "—" if x is None else f"{x * 1000:.0f} ms"

    stale = len(r["stale_deltas"]) + len(r["stale_silent"])
    checks = r["truth_checks"]
    lines = [
        "# Reliability: chaos run",
        "",
        "Written by `scripts/chaos.py` (see its docstring for what each fault is and how books "
        "are checked).",
        "",
        f"- run: {r['started']}, {r['seconds']:.0f} s, seed {r['seed']}, `{r['command']}`",
        f"- machine: {r['machine']}",
        f"- venues: {', '.join(f'{v} {n}' for v, n in r['venues'].items())}",
        f"- fault kinds not available in this pipeline yet: "
        f"{', '.join(r['kinds_not_available']) or 'none'}",
        "",
        "| result | value |",
        "|---|---|",
        f"| faults injected | {r['injected']} |",
        f"| recovered | {r['recovered']} |",
        f"| recovery time p50 / p99 / max | {s(r['recovery_s']['p50'])} / "
        f"{s(r['recovery_s']['p99'])} / {s(r['recovery_s']['max'])} |",
        f"| dropped connection: data flowing again p50 / p99 / max (n={r['drop_flowing_s']['n']}) "
        f"| {ms(r['drop_flowing_s']['p50'])} / {ms(r['drop_flowing_s']['p99'])} / "
        f"{ms(r['drop_flowing_s']['max'])} |",
        f"| events published (consumed) | {r['events']} |",
        f"| valid books distrusted when their publisher was lost (killed or hung handler) | "
        f"{r['distrusted']} |",
        f"| books compared with the truth | {checks.get('compared', 0)} "
        f"(skipped, not valid and quiet: {checks.get('skipped (not valid and quiet)', 0)}) |",
        f"| **book mismatches** | **{len(r['mismatches'])}** |",
        f"| **stale books served** | **{stale}** |",
        "",
        "Recovery: from the fault until the venue's data flows again and every affected book is "
        "valid (after its reset and snapshot). Data flowing: from the fault until the first "
        "event after the venue's first reset (connection faults only).",
        "",
        "| fault | injected | recovered | recovery p50 | recovery max | data flowing p50 |",
        "|---|---|---|---|---|---|",
    ]
    for kind, row in sorted(r["faults"].items()):
        times = sorted(row["times"])
        flowing = sorted(row["flowing"])
        lines.append(
            f"| {kind} | {row['injected']} | {row['recovered']} | "
            f"{s(_quantile(times, 0.5))} | {s(times[-1] if times else None)} | "
            f"{ms(_quantile(flowing, 0.5))} |"
        )
    if r["handler_resets_missed"]:
        lines += [
            "",
            "Known gap: after a handler kill -9 the consumer saw no `book_reset` "
            f"({len(r['handler_resets_missed'])} time(s)): its SUB reconnected only after the "
            "new handler had the book live again, so the late-joiner snapshot replaced it. "
            "Between the kill and that reconnect the consumer cannot know the handler is "
            "gone; no delta reaches it in that window (detecting the publisher's disconnect "
            "needs a socket monitor in the client).",
        ]
    if r["injection_failures"] or r["control_retries"]:
        lines += ["", "Simulator control calls that failed (not pipeline faults):", ""]
        lines += [f"- retried: {x}" for x in r["control_retries"]]
        lines += [f"- injection skipped: {x}" for x in r["injection_failures"]]
    lines += ["", "| actor | RSS start | RSS end | growth |", "|---|---|---|---|"]
    for name, rss in sorted(r["rss_kb"].items()):
        start, end = rss["start"], rss["end"]
        growth = f"{(end - start) / start * 100:+.0f}%" if start else "— (restarted or new)"
        start_s = f"{start / 1024:.1f} MiB" if start else "—"
        lines.append(f"| {name} | {start_s} | {end / 1024:.1f} MiB | {growth} |")
    if r["unrecovered"] or r["mismatches"] or stale:
        lines += ["", "## Problems", ""]
        lines += [f"- unrecovered: {x}" for x in r["unrecovered"]]
        lines += [f"- mismatch: {x}" for x in r["mismatches"]]
        lines += [f"- stale: {x}" for x in r["stale_deltas"] + r["stale_silent"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mexc", action="store_true", help="add mexc_spot (2 symbols)")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "RELIABILITY.md")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    args.seconds = args.seconds or (args.minutes or 1.0) * 60
    result = Chaos(args).run()
    text = render(result)
    print(text)
    args.report.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    bad = result["mismatches"] or result["stale_deltas"] or result["stale_silent"]
    return 1 if bad or result["unrecovered"] else 0


if __name__ == "__main__":
    sys.exit(main())
