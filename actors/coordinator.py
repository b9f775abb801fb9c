"""Coordinator: starts the topology's actors, supervises them, and steers subscriptions.

Sockets:
    ROUTER  binds ipc://<run_dir>/actors   the actors' DEALERs: hello, reports, notices in;
                                           SetSubscriptions and Stop out
    ROUTER  binds the topology's control   `pipeline status|subscribe|unsubscribe` (JSON);
                                           ipc://<run_dir>/control by default, or tcp as a
                                           CURVE server admitting only authorized client keys
Processes: one child per actor (``python -m actors.runtime.launch SPEC``); under --simulate a
simulator per venue first, and the venue URLs point at it.  ``record_dir`` makes connections
and handlers record what they read; a replay (``pipeline replay``) runs the same parsers and
handlers, with a replay actor in each connection's place (the first also answers the handler's
REST calls), and stops by itself once every recording is pushed and the handlers have drained.

Supervision: a child that exits (crash, kill -9) is restarted by RestartPolicy: at once the
first time, backing off while it keeps crashing.  A child whose reports stop (stopped,
spinning, blocked) is hung by actors/liveness.py: counted, killed with SIGKILL and restarted
the same way.  A restarted connection actor gets the registry's current share of
subscriptions; the handler sees its new epoch and resyncs the books it fed.
SIGINT/SIGTERM stop every child within 2 s, then remove our ipc files.

Restarts of the coordinator itself: we hold <run_dir>/coordinator.lock and keep
<run_dir>/coordinator.state (actors/runstate.py) current.  After a kill -9 the actors stream
on for the topology's coordinator_grace_s; a coordinator started for the same topology in
that time adopts every actor still running (checked against /proc), restarts the ones that
died meanwhile, and watches the adopted ones by polling /proc, since it cannot waitpid them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
import zmq

from actors import registry, runstate
from actors.backoff import RestartPolicy
from actors.control import (
    COMMAND_DECODER,
    ENCODER,
    FROM_ACTOR,
    SESSION,
    ActorSpec,
    Command,
    Hello,
    Notice,
    Refused,
    Reply,
    Report,
    Resubscribe,
    SetSources,
    SetSubscriptions,
    Start,
    Watch,
)
from actors.liveness import Liveness, Thresholds, liveness
from actors.recording import VenueReplay
from actors.runtime import procs, rundir
from actors.runtime.curve import Authorizer, ServerKeys, serve_curve
from actors.runtime.procs import Adopted
from actors.runtime.transport import REPLAY_HWM, bind, configure, ipc_file
from actors.simulators import simulator_urls
from actors.stats import Rate
from actors.topology import Topology, VenueSpec, needs_curve
from actors.venues import Subscription, venue_class

log = logging.getLogger("coordinator")

STOP_GRACE_S = 1.5
KILL_REAP_S = 5.0
MAX_COMMAND_BYTES = 64 * 1024  # a peer sending more is disconnected by ZeroMQ, unread
VENUE_STAND_INS = ("simulator", "replay")  # started first; the others wait for their port
SUMMARY_COUNTERS = ("parse_errors", "gaps", "resyncs", "lost_batches", "books_synced")
RATE_KEYS = ("frames_in", "events_out", "batches_in")


class AdoptionRefused(RuntimeError):
    pass


@dataclass
class Child:
    spec: ActorSpec
    proc: subprocess.Popen[bytes] | Adopted | None = None
    ticks: int = 0  # the process's start time in /proc: (pid, ticks) names it for good
    started: float = 0.0  # monotonic, when the process started (adopted: computed)
    restarts: int = 0
    hung: int = 0  # times it stopped reporting and was killed for it
    killing: str = ""  # why we killed it (hung), until it is gone
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    restart_at: float | None = None
    report: Report | None = None
    heard_at: float | None = None  # its last report (or our adopting it), monotonic
    rates: dict[str, Rate] = field(default_factory=dict)
    last_exit: str = ""


class Coordinator:
    def __init__(
        self,
        topology: Topology,
        *,
        source: str = "",
        simulate: bool = False,
        log_level: str = "INFO",
        record_dir: str = "",
        stop_after_s: float = 0.0,
        replay: dict[str, VenueReplay] | None = None,
        speed: float = 0.0,
        wait_subscribers: int = 0,
        issued_credentials: dict[str, str] | None = None,
    ) -> None:
        self.topology = topology
        self.source = source
        self.simulate = simulate
        self.log_level = log_level
        self.record_dir = record_dir
        self.stop_after_s = stop_after_s
        self.replay = replay or {}
        self.speed = speed
        self.wait_subscribers = wait_subscribers  # replay starts once each handler heard these
        self.summary: dict[str, Any] | None = None  # a finished replay's numbers
        self.quiet_since: float | None = None
        self.handler_input: tuple[int, ...] = ()
        self.run_dir = topology.run_dir
        self.actors_endpoint = f"ipc://{self.run_dir}/actors"
        self.venues: dict[str, VenueSpec] = {}
        self.shares: dict[str, list[frozenset[Subscription]]] = {}
        self.refused: dict[str, dict[Subscription, str]] = {}  # venue -> sub -> venue's reason
        self.groups: dict[str, list[str]] = {}  # venue -> each connection's group, by index
        self.children: dict[str, Child] = {}
        self.notices: deque[dict[str, Any]] = deque(maxlen=50)
        self.stopping = False
        self.started = time.monotonic()
        self.authorizer: Authorizer | None = None
        self.thresholds = Thresholds(hung_after_missed=topology.hung_after_reports)
        self.adopted_from: int | None = None  # the pid of the coordinator we took over from
        self.issued_credentials = dict(issued_credentials or {})
        self.dirty = False  # the state file is behind
        self.strays: set[int] = set()  # pids of actors we found running but do not run

    # -- building the actor set ---------------------------------------------------------------

    def plan(self) -> list[ActorSpec]:
        """Every actor of the topology, simulators first, then in data-flow reverse order."""
        specs: list[ActorSpec] = []
        for venue in self.topology.venues:
            if venue.name in self.replay:
                specs.extend(self.plan_replay(venue, self.replay[venue.name]))
                continue
            if self.simulate:
                ws_url, rest_url = simulator_urls(venue.name, free_port(), venue.options)
                venue = msgspec.structs.replace(venue, ws_url=ws_url, rest_url=rest_url)
                specs.append(self._spec(f"{venue.name}.simulator", "simulator", venue))
            self.venues[venue.name] = venue
            self.refused[venue.name] = {}
            self.groups[venue.name] = list(venue.groups)
            empty = [frozenset[Subscription]() for _ in venue.groups]
            self.shares[venue.name] = self.assign(venue.name, empty, set(venue.subscriptions()))
            specs.append(self._spec(f"{venue.name}.handler", "handler", venue))
            specs.extend(
                self._spec(f"{venue.name}.parser.{i}", "parser", venue, i)
                for i in range(venue.parsers)
            )
            specs.extend(
                self._spec(f"{venue.name}.connection.{i}", "connection", venue, i)
                for i in range(len(venue.groups))
            )
        return specs

    def plan_replay(self, venue: VenueSpec, replay: VenueReplay) -> list[ActorSpec]:
        """A venue played back: handler, parsers, and one replay actor per recorded
        connection, named as that connection so everything else stays the same; the first
        one also serves the handler's recorded REST answers on the venue's rest_url."""
        port = free_port()
        venue = msgspec.structs.replace(
            venue, ws_url="", rest_url=f"http://127.0.0.1:{port}", groups=replay.groups
        )
        self.venues[venue.name] = venue
        self.refused[venue.name] = {}
        self.groups[venue.name] = list(venue.groups)
        self.shares[venue.name] = [frozenset() for _ in venue.groups]
        specs = [self._spec(f"{venue.name}.handler", "handler", venue)]
        specs.extend(
            self._spec(f"{venue.name}.parser.{i}", "parser", venue, i) for i in range(venue.parsers)
        )
        specs = [msgspec.structs.replace(s, data_hwm=REPLAY_HWM) for s in specs]
        for i, files in enumerate(replay.connections):
            spec = self._spec(f"{venue.name}.connection.{i}", "connection", venue, i)
            specs.append(
                msgspec.structs.replace(
                    spec,
                    kind="replay",
                    replay=[*files, *replay.rest] if i == 0 else list(files),
                    speed=self.speed,
                    origin_ns=replay.origin_ns,
                )
            )
        return specs

    def _raw(self, venue: VenueSpec) -> list[str]:
        return [f"ipc://{self.run_dir}/{venue.name}.conn{i}.raw" for i in range(len(venue.groups))]

    def _spec(self, name: str, kind: str, venue: VenueSpec, index: int = 0) -> ActorSpec:
        raw = self._raw(venue)
        subs: list[Subscription] = []
        if kind == "connection":
            raw = [raw[index]]
            subs = sorted(self.shares[venue.name][index])
        group = self.groups[venue.name][index] if kind == "connection" else ""
        return ActorSpec(
            name=name,
            kind=kind,
            venue=venue,
            index=index,
            group=group,
            run_dir=self.run_dir,
            coordinator=self.actors_endpoint,
            raw=raw,
            events=f"ipc://{self.run_dir}/{venue.name}.events",
            subscriptions=subs,
            log_level=self.log_level,
            curve=self.topology.curve if kind == "handler" else None,
            record=self.record_dir if kind in ("connection", "handler") else "",
            coordinator_grace_s=self.topology.coordinator_grace_s,
        )

    # -- main loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Raises CurveKeyError for unusable key files, ControlBindError when the control
        endpoint is taken, rundir.CoordinatorRunning or AdoptionRefused, before any actor
        starts or is adopted."""
        keys = ServerKeys.load(self.topology.curve) if self._curve_needed() else None
        lock = rundir.acquire_lock(self.run_dir)
        try:
            state = self.previous_run()
            ctx = zmq.Context()
            try:
                # Control first: if a tcp control endpoint is taken, another pipeline may run
                # there, and binding our actors endpoint would take over an ipc file.
                self.control = self.bind_control(ctx, keys)
                self.actors = bind(
                    configure(ctx.socket(zmq.ROUTER), hwm=10_000), self.actors_endpoint
                )
            except BaseException:
                if self.authorizer is not None:
                    self.authorizer.stop()
                ctx.destroy(linger=0)
                raise
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self._on_signal)
            try:
                if state is not None:
                    self.adopt(state)
                else:
                    self.start_all()
                log.info(
                    "running %d actors; control %s; publishing on %s",
                    len(self.children),
                    self.topology.control,
                    ", ".join(v.publish for v in self.venues.values()),
                )
                self.save_state()
                self.loop()
            finally:
                self.shutdown()
                if self.authorizer is not None:
                    self.authorizer.stop()
                ctx.destroy(linger=0)
                self.remove_ipc_files()
        finally:
            rundir.release_lock(lock, self.run_dir)
        return 0

    def start_all(self) -> None:
        specs = self.plan()
        # Stand-ins for venues first, all at once; the actors that talk to them once they
        # listen.
        simulators = [s for s in specs if s.kind in VENUE_STAND_INS]
        for spec in [*simulators, *(s for s in specs if s.kind not in VENUE_STAND_INS)]:
            self.children[spec.name] = child = Child(spec)
            self.start(child)
            if simulators and spec is simulators[-1]:
                for sim in simulators:
                    if sim.kind == "simulator":
                        wait_for_port(urlsplit(sim.venue.ws_url).port or 0, timeout_s=10)
                    elif sim.index == 0:  # a replay of REST answers
                        wait_for_port(urlsplit(sim.venue.rest_url).port or 0, timeout_s=10)

    def _curve_needed(self) -> bool:
        endpoints = [self.topology.control, *(v.private_publish for v in self.topology.venues)]
        return self.topology.curve is not None and any(needs_curve(e) for e in endpoints)

    def bind_control(self, ctx: zmq.Context, keys: ServerKeys | None) -> zmq.Socket:  # type: ignore[type-arg]
        endpoint = self.topology.control
        sock = configure(ctx.socket(zmq.ROUTER))
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_COMMAND_BYTES)
        if needs_curve(endpoint):
            assert keys is not None  # the topology refuses tcp control without curve
            self.authorizer = Authorizer(ctx, keys.authorized, f"control {endpoint}")
            serve_curve(sock, keys.pair)
        try:
            return bind(sock, endpoint)
        except zmq.ZMQError as exc:
            sock.close()
            raise ControlBindError(
                f"control: cannot bind {endpoint}: {exc.strerror} "
                "(is another pipeline running there?)"
            ) from None

    # -- taking over from a coordinator that died ---------------------------------------------

    def previous_run(self) -> runstate.RunState | None:
        """The state of a pipeline still running here without a coordinator, if any."""
        data = rundir.read_state(self.run_dir)
        if data is None:
            return None
        where = os.path.join(self.run_dir, rundir.STATE_FILE)
        try:
            state = runstate.decode(data, where)
        except runstate.RunStateError as exc:
            # Its actors (if any) leave within their grace period; until then the ones that
            # bind the same addresses as ours will make our new ones restart.
            log.error("%s; starting afresh", exc)
            return None
        alive = [r for r in state.actors if r.pid and procs.is_alive(r.pid, r.start_ticks)]
        if not alive:
            log.info("the previous coordinator's actors are all gone; starting afresh")
            return None
        why = runstate.mismatch(state, self.topology, self.simulate)
        if why:
            pids = " ".join(str(r.pid) for r in alive)
            raise AdoptionRefused(
                f"{self.run_dir}: {why}, and {len(alive)} of its actors still run (pids "
                f"{pids}); they exit by themselves within "
                f"{state.topology.coordinator_grace_s:.0f} s of losing their coordinator "
                "(or stop them with kill), then start again"
            )
        return state

    def adopt(self, state: runstate.RunState) -> None:
        """Supervise the running actors as they are: no restart, no new subscriptions."""
        now = time.monotonic()
        self.adopted_from = state.coordinator_pid
        self.venues = dict(state.venues)
        self.groups = {venue: list(groups) for venue, groups in state.groups.items()}
        self.shares = {
            venue: [frozenset(share) for share in shares] for venue, shares in state.shares.items()
        }
        self.refused = {venue: dict(pairs) for venue, pairs in state.refused.items()}
        # Restarted connections must sign as the running simulators expect.
        self.issued_credentials.update(state.issued_credentials)
        os.environ.update(state.issued_credentials)
        adopted = 0
        for record in state.actors:
            name = record.spec.name
            child = Child(record.spec, restarts=record.restarts, hung=record.hung)
            self.children[name] = child
            if record.pid and procs.is_alive(record.pid, record.start_ticks):
                child.proc, child.ticks = (
                    Adopted(record.pid, record.start_ticks),
                    record.start_ticks,
                )
                child.started = now - procs.age_s(record.start_ticks)
                child.heard_at = now  # silent from here on for too long: hung
                adopted += 1
            else:
                child.restart_at = now
                child.last_exit = "gone while no coordinator watched"
                self.record_notice(name, "error", "actor died", f"{child.last_exit}; restarting")
        self.record_notice(
            "coordinator",
            "info",
            "adopted a running pipeline",
            f"{adopted} of {len(state.actors)} actors of coordinator pid "
            f"{state.coordinator_pid}; no restart, no reset",
        )

    def save_state(self) -> None:
        """Write what a successor needs to adopt us (after every start and registry change)."""
        self.dirty = False
        actors = []
        for child in self.children.values():
            running = child.proc is not None
            actors.append(
                runstate.ActorRecord(
                    spec=child.spec,
                    pid=child.proc.pid if child.proc is not None else 0,
                    start_ticks=child.ticks if running else 0,
                    restarts=child.restarts,
                    hung=child.hung,
                )
            )
        state = runstate.RunState(
            topology=self.topology,
            simulate=self.simulate,
            coordinator_pid=os.getpid(),
            venues=self.venues,
            groups=self.groups,
            shares={venue: [sorted(share) for share in s] for venue, s in self.shares.items()},
            refused={venue: sorted(r.items()) for venue, r in self.refused.items()},
            actors=actors,
            issued_credentials=self.issued_credentials if self.simulate else {},
        )
        rundir.write_state(self.run_dir, runstate.encode(state))

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            log.info("received %s; stopping", signal.Signals(signum).name)
        self.stopping = True

    def loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self.actors, zmq.POLLIN)
        poller.register(self.control, zmq.POLLIN)
        while not self.stopping:
            ready = dict(poller.poll(100))
            if self.actors in ready:
                while self.actors.poll(0):
                    self.on_actor_message(*self.actors.recv_multipart())
            if self.control in ready:
                while self.control.poll(0):
                    self.on_control(self.control.recv_multipart())
            now = time.monotonic()
            self.supervise(now)
            if self.dirty:
                self.save_state()
            if self.stop_after_s and now - self.started >= self.stop_after_s:
                log.info("stopping after %.1f s as asked", self.stop_after_s)
                self.stopping = True
            if self.replay and self.wait_subscribers:
                self.start_when_subscribed()
            if self.replay and self.replay_finished(now):
                self.stopping = True

    def start_when_subscribed(self) -> None:
        """Replay actors wait for Start until every handler has heard ``wait_subscribers``
        subscriptions, so consumers that connected first miss nothing (no slow joiners)."""
        for venue in self.replay:
            report = self.children[f"{venue}.handler"].report
            heard = report.counters.get("subscriptions_heard", 0) if report else 0
            if heard < self.wait_subscribers:
                return
        log.info("replay: every handler has its subscribers; starting")
        self.wait_subscribers = 0
        for child in self.children.values():
            if child.spec.kind == "replay":  # one not connected yet gets Start at its hello
                self.send(child.spec.name, Start())

    def replay_finished(self, now: float, quiet_s: float = 5.0) -> bool:
        """Every replay actor pushed all it had, and each handler took in as many frames as
        were pushed to its venue.  Frames lost on the way (a parser died with them) must not
        make replay wait forever: once the handlers' input stops growing for ``quiet_s``,
        replay ends all the same (and the summary shows the shortfall)."""
        replays = [c for c in self.children.values() if c.spec.kind == "replay"]
        if self.wait_subscribers or not all(
            c.report and c.report.info.get("done") for c in replays
        ):
            return False
        pushed = dict.fromkeys(self.replay, 0)
        for child in replays:
            assert child.report is not None
            pushed[child.spec.venue.name] += child.report.counters.get("frames_out", 0)
        handlers = {v: self.children[f"{v}.handler"].report for v in self.replay}
        drained = all(
            report is not None
            and report.counters.get("frames_in", 0) >= pushed[v]
            and not report.info.get("reorder_pending")
            for v, report in handlers.items()
        )
        if not drained:
            seen = tuple(r.counters.get("frames_in", 0) if r else -1 for r in handlers.values())
            if seen != self.handler_input:
                self.handler_input, self.quiet_since = seen, now
                return False
            if self.quiet_since is None or now - self.quiet_since < quiet_s:
                return False
            log.warning("replay: handlers took in fewer frames than were pushed; stopping")
        self.summary = self.replay_summary(replays, pushed)
        return True

    def replay_summary(self, replays: list[Child], pushed: dict[str, int]) -> dict[str, Any]:
        venues: dict[str, Any] = {}
        starts = [c.report.info["started_ns"] for c in replays if c.report]
        ends: list[int] = []
        for name, frames in pushed.items():
            handler = self.children[f"{name}.handler"].report
            counters = handler.counters if handler else {}
            end = handler.info.get("last_input_ns", 0) if handler else 0
            ends.append(end)
            venues[name] = {
                "frames_pushed": frames,
                "frames_handled": counters.get("frames_in", 0),
                "events_handled": counters.get("events_in", 0),
                "events_published": counters.get("events_out", 0)
                + counters.get("private_events_out", 0),
                **{k: counters.get(k, 0) for k in SUMMARY_COUNTERS},
            }
        seconds = max(0.0, (max(ends, default=0) - min(starts, default=0)) / 1e9)
        frames = sum(pushed.values())
        damaged = sum(c.report.counters.get("damaged_files", 0) for c in replays if c.report)
        return {
            "venues": venues,
            "damaged_files": damaged,
            "frames": frames,
            "events_published": sum(v["events_published"] for v in venues.values()),
            "seconds": round(seconds, 3),
            "frames_per_s": round(frames / seconds) if seconds > 0 else 0,
        }

    # -- supervision --------------------------------------------------------------------------

    def start(self, child: Child) -> None:
        spec = child.spec
        if spec.kind == "connection":
            share = self.shares[spec.venue.name][spec.index]
            spec = child.spec = msgspec.structs.replace(spec, subscriptions=sorted(share))
        proc = child.proc = subprocess.Popen(
            [sys.executable, "-m", "actors.runtime.launch", msgspec.json.encode(spec).decode()],
            stdin=subprocess.DEVNULL,
            env=self.child_env(spec.kind),
        )
        child.ticks = procs.start_ticks(proc.pid)  # unreaped, it is in /proc even if it died
        child.started = time.monotonic()
        child.restart_at = None
        child.report, child.heard_at, child.killing = None, None, ""
        self.save_state()  # at once: a successor must know every process we started
        log.debug("started %s (pid %d)", spec.name, proc.pid)

    def child_env(self, kind: str) -> dict[str, str]:
        """Only the processes that sign (connections) or check signatures (simulators) get
        the credential variables; every other actor runs without them."""
        env = dict(os.environ)
        if kind not in ("connection", "simulator"):
            for venue in self.topology.venues:
                if venue.credentials:
                    env.pop(venue.credentials.key_env, None)
                    env.pop(venue.credentials.secret_env, None)
        return env

    def supervise(self, now: float) -> None:
        for child in self.children.values():
            proc = child.proc
            if proc is not None and proc.poll() is not None:
                why = child.killing or _exit_reason(proc)
                uptime = now - child.started
                delay = child.policy.on_exit(uptime)
                child.proc, child.restart_at, child.last_exit = None, now + delay, why
                child.report, child.killing = None, ""
                self.dirty = True
                self.record_notice(
                    child.spec.name, "error", "actor died", f"{why}; restarting in {delay:.1f} s"
                )
            elif proc is not None and not child.killing:
                verdict = liveness(now, child.started, child.heard_at, self.thresholds)
                if verdict is Liveness.HUNG:
                    self.kill_hung(child, proc, now)
            if child.proc is None and child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self.start(child)

    def kill_hung(self, child: Child, proc: subprocess.Popen[bytes] | Adopted, now: float) -> None:
        """No report for too long: the actor is stopped, spinning or blocked.  Kill it like
        a crash (SIGKILL works on a stopped process too); the restart follows its exit."""
        child.hung += 1
        t = self.thresholds
        if child.heard_at is None:
            why = f"no first report {now - child.started:.1f} s after start"
            limit = f"limit {t.start_within_s:.1f} s"
        else:
            why = f"no report for {now - child.heard_at:.1f} s"
            limit = f"limit {t.hung_after_s:.1f} s: {t.hung_after_missed} missed reports"
        child.killing = f"hung ({why}); killed with SIGKILL"
        self.dirty = True
        self.record_notice(
            child.spec.name, "error", "actor hung", f"{why} ({limit}); killing it with SIGKILL"
        )
        with _ignore_gone():
            proc.kill()

    def shutdown(self) -> None:
        """SIGTERM everyone, give them STOP_GRACE_S, then SIGKILL: done within 2 s."""
        procs = [c.proc for c in self.children.values() if c.proc and c.proc.poll() is None]
        for proc in procs:
            with _ignore_gone():
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with _ignore_gone():
                    proc.kill()
                try:
                    # SIGKILL cannot be ignored, but a loaded machine may take a while to
                    # schedule the exit; a slow reap must not abort the rest of the shutdown.
                    proc.wait(timeout=KILL_REAP_S)
                except subprocess.TimeoutExpired:
                    log.error("pid %d has not exited %.0f s after SIGKILL", proc.pid, KILL_REAP_S)
        for child in self.children.values():
            child.proc = None

    def remove_ipc_files(self) -> None:
        rundir.remove_state(self.run_dir)  # a clean stop: nothing left to adopt
        endpoints = [self.actors_endpoint, self.topology.control]
        for child in self.children.values():
            venue = child.spec.venue
            endpoints += [*child.spec.raw, child.spec.events, venue.publish, venue.private_publish]
        for endpoint in set(endpoints):
            path = ipc_file(endpoint)
            if path and os.path.exists(path):
                os.unlink(path)
        with contextlib.suppress(OSError):  # not empty: something else lives there
            os.rmdir(self.run_dir)

    # -- messages from actors -----------------------------------------------------------------

    def on_actor_message(self, identity: bytes, payload: bytes) -> None:
        # Identities are "<name>#<pid>": one per process, so a restarted actor never finds
        # its name still held on our ROUTER by its dead (or stray) predecessor.
        name, _, pid_text = identity.decode(errors="replace").rpartition("#")
        try:
            msg = FROM_ACTOR.decode(payload)
            pid = int(pid_text)
        except (msgspec.DecodeError, ValueError) as exc:
            log.error("malformed message from %r ignored: %s", identity, exc)
            return
        child = self.children.get(name)
        if child is None or child.proc is None or pid != child.proc.pid:
            self.stop_stray(name, pid)  # or a late message of a process that is gone
            return
        match msg:
            case Hello():
                venue = child.spec.venue.name
                if child.spec.kind == "connection":
                    share = self.shares[venue][child.spec.index]
                    self.send(name, SetSubscriptions(sorted(share)))
                elif child.spec.kind == "handler":
                    for index in range(len(self.shares[venue])):
                        self.watch(venue, index)
                elif child.spec.kind == "replay" and not self.wait_subscribers:
                    self.send(name, Start())
            case Report():
                now = time.monotonic()
                child.report, child.heard_at = msg, now
                for key in RATE_KEYS:
                    if key in msg.counters:
                        child.rates.setdefault(key, Rate()).update(msg.counters[key], now)
            case Notice():
                self.record_notice(msg.name, msg.level, msg.what, msg.detail)
            case Resubscribe():
                self.route_resubscribe(child.spec.venue.name, msg)
            case Refused() if msg.channel == SESSION and child.spec.kind == "connection":
                share = self.shares[child.spec.venue.name][child.spec.index]
                self.refuse(child.spec.venue.name, sorted(share), msg)
            case Refused():
                self.take_out_refused(child.spec.venue.name, msg)

    def stop_stray(self, name: str, pid: int) -> None:
        """An actor of this run dir that we do not run (say its coordinator died between
        starting it and writing the state file) must not stream on unsupervised, or hold its
        name on our socket: SIGTERM it.  Stale messages of a dead process need nothing."""
        ours = {c.proc.pid for c in self.children.values() if c.proc is not None}
        if pid in ours or pid in self.strays or not procs.is_actor_of(pid, self.run_dir):
            return
        self.strays.add(pid)
        self.record_notice(name, "warning", "stray actor", f"pid {pid} is not ours; stopping it")
        with _ignore_gone():
            os.kill(pid, signal.SIGTERM)

    def take_out_refused(self, venue: str, msg: Refused) -> None:
        """Refused subscriptions leave the connections' shares, so no reconnect retries them;
        `pipeline subscribe` puts them back for one more try."""
        spec = self.venues[venue]
        everything = set().union(*self.shares[venue])
        protocol = venue_class(venue)(spec.options)
        self.refuse(venue, protocol.refused(msg.channel, msg.code, msg.message, everything), msg)

    def refuse(self, venue: str, refused: list[Subscription], msg: Refused) -> None:
        spec = self.venues[venue]
        cls = venue_class(venue)
        shares = self.shares[venue]
        if not refused:
            return
        self.dirty = True
        for sub in refused:
            self.refused[venue][sub] = f"{msg.message} (code {msg.code})"
        names = ", ".join(f"{s.channel}:{s.symbol}" for s in sorted(refused))
        detail = f"{names}: {msg.message} (code {msg.code}); not retried until subscribed again"
        if spec.credentials and any(s.channel in cls.private_channels for s in refused):
            detail += (
                f"; credentials from ${spec.credentials.key_env}/${spec.credentials.secret_env}"
            )
        self.record_notice(f"{venue}.coordinator", "error", "subscriptions refused", detail)
        for index, share in enumerate(shares):
            mine = [s for s in refused if s in share]
            if mine:
                shares[index] = share - set(mine)
                self.send(
                    f"{venue}.connection.{index}", SetSubscriptions(sorted(shares[index]), mine)
                )
                self.watch(venue, index)

    def route_resubscribe(self, venue: str, msg: Resubscribe) -> None:
        """Hand each subscription to the connection that carries it."""
        for index, share in enumerate(self.shares[venue]):
            mine = [s for s in msg.subscriptions if s in share]
            if mine:
                self.send(f"{venue}.connection.{index}", Resubscribe(mine, msg.reason))

    def watch(self, venue: str, index: int) -> None:
        """Tell the venue's handler what connection ``index`` now carries."""
        share = self.shares[venue][index]
        self.send(f"{venue}.handler", Watch(f"{venue}.connection.{index}", sorted(share)))

    def send(self, name: str, msg: object) -> None:
        """To the running process of actor ``name``; dropped if it is not running."""
        child = self.children.get(name)
        if child is None or child.proc is None:
            return
        identity = f"{name}#{child.proc.pid}".encode()
        try:
            self.actors.send_multipart((identity, ENCODER.encode(msg)), zmq.NOBLOCK)
        except zmq.Again:
            log.warning("could not reach %s", name)

    def record_notice(self, name: str, level: str, what: str, detail: str) -> None:
        getattr(log, level if level in ("info", "warning", "error") else "info")(
            "%s: %s %s", name, what, detail
        )
        self.notices.append(
            {"time": time.time(), "actor": name, "level": level, "what": what, "detail": detail}
        )

    # -- commands from the CLI ----------------------------------------------------------------

    def on_control(self, frames: list[bytes]) -> None:
        """One command per message: a JSON frame after the envelope (REQ's empty delimiter,
        or none from a DEALER).  Anything else gets an error reply; nothing a client sends
        can stop us serving the next one."""
        identity, rest = frames[0], frames[1:]
        envelope = [identity, b""] if rest[:1] == [b""] else [identity]
        body = rest[len(envelope) - 1 :]
        try:
            if len(body) != 1:
                raise ValueError(f"a command is one JSON frame; got {len(body)} frames")
            reply = self.execute(COMMAND_DECODER.decode(body[0]))
        except msgspec.DecodeError as exc:
            reply = Reply(ok=False, error=f"malformed command: {exc}")
        except (KeyError, ValueError) as exc:
            reply = Reply(ok=False, error=str(exc.args[0] if exc.args else exc))
        except Exception as exc:  # a bug must not take control down: say so, keep serving
            log.exception("control command failed")
            reply = Reply(ok=False, error=f"internal error: {type(exc).__name__}")
        try:
            self.control.send_multipart([*envelope, msgspec.json.encode(reply)], zmq.NOBLOCK)
        except zmq.Again:
            log.warning("control reply dropped: the client is not reading")

    def execute(self, command: Command) -> Reply:
        match command.cmd:
            case "status":
                return Reply(ok=True, data=self.status())
            case "subscribe" | "unsubscribe":
                return Reply(ok=True, data=self.change_subscriptions(command))
            case "stop":
                self.stopping = True
                return Reply(ok=True, data="stopping")
            case other:
                raise ValueError(
                    f"unknown command {other!r} (status, subscribe, unsubscribe, stop)"
                )

    def change_subscriptions(self, command: Command) -> dict[str, Any]:
        venue = self.venues.get(command.venue)
        if venue is None:
            raise KeyError(
                f"venue {command.venue!r} is not running (running: {', '.join(self.venues)})"
            )
        cls = venue_class(venue.name)
        probe = cls(venue.options)
        if not command.symbols:
            raise ValueError("name at least one symbol")
        for symbol in command.symbols:
            try:
                probe.native_symbol(symbol)
            except ValueError as exc:
                raise ValueError(f"{symbol!r} is not a symbol for {venue.name}: {exc}") from None
        channels = command.channels or list(venue.channels)
        for channel in channels:
            if channel not in cls.channels | cls.private_channels:
                raise ValueError(f"unknown channel {channel!r} for {venue.name}")
        current = self.shares[venue.name]
        wanted = set().union(*current)
        changed = {Subscription(c, s) for s in command.symbols for c in channels}
        for sub in changed:
            self.refused[venue.name].pop(sub, None)  # asked again: one more try
        wanted = wanted | changed if command.cmd == "subscribe" else wanted - changed
        shares = self.assign(venue.name, current, wanted)
        self.shares[venue.name] = shares
        self.dirty = True
        if len(shares) > len(current):
            self.grow(venue.name)
        for index, new in enumerate(shares):
            old = current[index] if index < len(current) else frozenset()
            if old != new and index < len(current):
                self.send(f"{venue.name}.connection.{index}", SetSubscriptions(sorted(new)))
            if old != new:
                self.watch(venue.name, index)
        return {
            "venue": venue.name,
            "subscriptions": sum(len(s) for s in shares),
            "connections": len(shares),
        }

    def assign(
        self, venue: str, current: list[frozenset[Subscription]], wanted: set[Subscription]
    ) -> list[frozenset[Subscription]]:
        """Shares per connection, group by group; a group that outgrew its connections gets
        more (appended, so existing indices and their streams stay as they are)."""
        spec = self.venues[venue]
        cls = venue_class(venue)
        protocol = cls(spec.options)
        groups = self.groups[venue]
        by_group: dict[str, set[Subscription]] = {}
        for sub in wanted:
            by_group.setdefault(protocol.connection_group(sub.channel), set()).add(sub)
        shares = list(current)
        for group, subs in sorted(by_group.items()):
            indices = [i for i, g in enumerate(groups) if g == group]
            limit = protocol.connection_limit(group)
            needed = math.ceil(len(subs) / limit) if limit else 1
            while len(indices) < needed:
                groups.append(group)
                shares.append(frozenset())
                indices.append(len(groups) - 1)
            assigned = registry.assign([shares[i] for i in indices], subs, limit)
            for i, share in zip(indices, assigned, strict=True):
                shares[i] = share
        for i, group in enumerate(groups):
            if group not in by_group:
                shares[i] = frozenset()
        return shares

    def grow(self, venue_name: str) -> None:
        """More connection actors for a venue whose subscriptions outgrew the ones it has."""
        venue = self.venues[venue_name] = msgspec.structs.replace(
            self.venues[venue_name], groups=tuple(self.groups[venue_name])
        )
        for child in self.children.values():
            if child.spec.venue.name == venue_name:
                raw = child.spec.raw if child.spec.kind == "connection" else self._raw(venue)
                child.spec = msgspec.structs.replace(child.spec, venue=venue, raw=raw)
        for index in range(len(venue.groups)):
            name = f"{venue_name}.connection.{index}"
            if name not in self.children:
                self.children[name] = child = Child(self._spec(name, "connection", venue, index))
                self.start(child)
                log.info("%s: started %s for the new subscriptions", venue_name, name)
        for child in self.children.values():
            if child.spec.venue.name == venue_name and child.spec.kind == "parser":
                self.send(child.spec.name, SetSources(self._raw(venue)))

    def staleness(self, venue: str) -> dict[str, Any]:
        """The venue's stale subscriptions, as its handler last reported them."""
        handler = self.children.get(f"{venue}.handler")
        report = handler.report if handler else None
        return {
            "stale_subscriptions": report.counters.get("stale_subscriptions", 0) if report else 0,
            "stale_now": report.info.get("stale", []) if report else [],
        }

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        actors = []
        for child in self.children.values():
            report = child.report
            actors.append(
                {
                    "name": child.spec.name,
                    "kind": child.spec.kind,
                    "venue": child.spec.venue.name,
                    "pid": child.proc.pid if child.proc else None,
                    "state": self._state(child, now),
                    "adopted": isinstance(child.proc, Adopted),
                    "uptime_s": round(now - child.started, 1) if child.proc else 0.0,
                    "restarts": child.restarts,
                    "hung": child.hung,
                    "last_exit": child.last_exit,
                    "report_age_s": (
                        round(now - child.heard_at, 1) if child.heard_at is not None else None
                    ),
                    "counters": report.counters if report else {},
                    "rates": {k: round(r.value, 1) for k, r in child.rates.items()},
                    "latency_us": report.latency_us if report else {},
                    "info": report.info if report else {},
                }
            )
        venues = {
            name: {
                "publish": spec.publish,
                "ws_url": spec.ws_url,
                "subscriptions": [
                    [f"{s.channel}:{s.symbol}" for s in sorted(share)]
                    for share in self.shares[name]
                ],
                "refused": {
                    f"{s.channel}:{s.symbol}": reason for s, reason in self.refused[name].items()
                },
                **self.staleness(name),
            }
            for name, spec in self.venues.items()
        }
        t = self.thresholds
        return {
            "topology": self.source,
            "run_dir": self.run_dir,
            "control": {
                "endpoint": self.topology.control,
                "curve": needs_curve(self.topology.control),
                "refused_clients": self.authorizer.denied if self.authorizer else 0,
            },
            "simulate": self.simulate,
            "coordinator": {
                "pid": os.getpid(),
                "adopted_from": self.adopted_from,
                "report_every_s": t.report_every_s,
                "hung_after_s": t.hung_after_s,
                "start_within_s": t.start_within_s,
                "coordinator_grace_s": self.topology.coordinator_grace_s,
            },
            "uptime_s": round(now - self.started, 1),
            "venues": venues,
            "actors": actors,
            "notices": list(self.notices)[-20:],
        }

    def _state(self, child: Child, now: float) -> str:
        if child.proc is None:
            return "restarting" if child.restart_at is not None else "stopped"
        if child.killing:
            return "hung"
        return liveness(now, child.started, child.heard_at, self.thresholds).value


class ControlBindError(RuntimeError):
    """The control endpoint cannot be bound (in use, bad address)."""


def _exit_reason(proc: subprocess.Popen[bytes] | Adopted) -> str:
    if isinstance(proc, Adopted):
        return "gone (adopted, not our child: its exit status went to its reaper)"
    code = proc.returncode
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


class _ignore_gone:
    """Signalling a process that just exited is fine."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> bool:
        return exc_type is ProcessLookupError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"simulator did not open port {port} within {timeout_s} s")
