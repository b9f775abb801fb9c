"""Supervision of our own side: hung actors, and the coordinator itself dying.

The pure parts (liveness verdicts, /proc parsing, the state file) are table-tested; the rest
runs the whole pipeline against the Gate.io simulator and freezes (SIGSTOP) or kills actors
and the coordinator like an operator's worst day would.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from actors import runstate
from actors.control import ActorSpec
from actors.liveness import Liveness, Thresholds, liveness
from actors.messages import BookReset, BookSnapshot, Event
from actors.runtime import procs
from actors.topology import TopologyError, parse
from actors.venues import Subscription
from tests.harness import ROOT, Pipeline, running_pipeline, wait_until
from tests.test_pipeline import NATIVE, SYMBOLS, assert_books_match_truth, assert_wire_order

H = Liveness.HUNG


# -- liveness: pure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "started", "last_report", "verdict"),
    [
        (0.5, 0.0, None, Liveness.STARTING),  # importing its modules
        (14.9, 0.0, None, Liveness.STARTING),
        (15.0, 0.0, None, H),  # never reported within start_within_s
        (10.0, 0.0, 10.0, Liveness.ALIVE),
        (10.0, 0.0, 8.6, Liveness.ALIVE),  # a report 0.4 s overdue is jitter
        (10.0, 0.0, 8.5, Liveness.LATE),  # one report missing
        (10.0, 0.0, 6.6, Liveness.LATE),  # two and a half
        (10.0, 0.0, 6.5, H),  # the third missing report half an interval overdue
        (100.0, 0.0, 0.0, H),
        (100.0, 99.0, 99.5, Liveness.ALIVE),  # adopted at 99: heard then
    ],
)
def test_liveness_verdicts_with_default_thresholds(
    now: float, started: float, last_report: float | None, verdict: Liveness
) -> None:
    assert liveness(now, started, last_report) is verdict


def test_liveness_thresholds_scale_with_the_report_interval() -> None:
    t = Thresholds(report_every_s=0.2, hung_after_missed=5, start_within_s=2.0)
    assert t.hung_after_s == pytest.approx(1.1)
    assert liveness(10.0, 0.0, 9.0, t) is Liveness.LATE
    assert liveness(10.0, 0.0, 8.8, t) is H
    assert liveness(1.9, 0.0, None, t) is Liveness.STARTING
    assert liveness(2.0, 0.0, None, t) is H


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"report_every_s": 0.0}, "report_every_s must be > 0, got 0.0"),
        ({"hung_after_missed": 0}, "hung_after_missed must be >= 1, got 0"),
        ({"start_within_s": 0.5}, "start_within_s (0.5) must exceed report_every_s (1.0)"),
    ],
)
def test_bad_thresholds_are_refused_by_name(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Thresholds(**kwargs)  # type: ignore[arg-type]


# -- /proc, the state file, the topology key -----------------------------------------------


def test_proc_stat_parsing_survives_odd_command_names() -> None:
    tail = " ".join(str(n) for n in range(4, 23))  # fields 4..22: starttime is 22
    assert procs.parse_stat(f"42 (a) b (c)) T {tail}\n") == ("T", 22)
    assert procs.parse_stat(f"7 (python3) Z {tail}") == ("Z", 22)
    with pytest.raises(ValueError, match="not a /proc/<pid>/stat line"):
        procs.parse_stat("garbage")
    me = procs.stat(os.getpid())
    assert me is not None and me.state in "RS"
    assert procs.is_alive(os.getpid(), me.start_ticks)
    assert not procs.is_alive(os.getpid(), me.start_ticks + 1)  # a pid reused by another


def test_an_exited_unreaped_process_is_not_alive() -> None:
    child = subprocess.Popen(["sleep", "30"])
    ticks = procs.start_ticks(child.pid)
    assert procs.is_alive(child.pid, ticks)
    child.kill()
    wait_until(lambda: not procs.is_alive(child.pid, ticks), 5, "zombie seen as dead")
    assert procs.stat(child.pid) is not None  # still a zombie: nobody reaped it yet
    child.wait()
    assert procs.stat(child.pid) is None or not procs.is_alive(child.pid, ticks)


def _state(topology_text: str) -> tuple[runstate.RunState, object]:
    topology = parse(topology_text, cores=2, environ={})
    venue = topology.venues[0]
    spec = ActorSpec(
        name="gateio_spot.parser.0",
        kind="parser",
        venue=venue,
        run_dir=topology.run_dir,
        coordinator=f"ipc://{topology.run_dir}/actors",
    )
    sub = Subscription("trades", "BTC/USDT")
    state = runstate.RunState(
        topology=topology,
        simulate=True,
        coordinator_pid=123,
        venues={venue.name: venue},
        groups={venue.name: list(venue.groups)},
        shares={venue.name: [[sub]]},
        refused={venue.name: [(Subscription("trades", "ETH/USDT"), "Blocked! (code 1)")]},
        actors=[runstate.ActorRecord(spec=spec, pid=456, start_ticks=789)],
    )
    return state, topology


TOPOLOGY = """
run_dir: /tmp/mp-state-test
venues:
  gateio_spot:
    symbols: [BTC/USDT]
    channels: [trades]
    publish: tcp://127.0.0.1:5999
"""


def test_state_file_round_trips_and_says_what_is_wrong() -> None:
    state, topology = _state(TOPOLOGY)
    back = runstate.decode(runstate.encode(state), "x.state")
    assert back == state
    assert runstate.mismatch(back, topology, simulate=True) == ""  # type: ignore[arg-type]
    assert "without --simulate" not in runstate.mismatch(back, topology, False)  # type: ignore[arg-type]
    assert "with --simulate" in runstate.mismatch(back, topology, False)  # type: ignore[arg-type]
    other = parse(TOPOLOGY.replace("BTC/USDT", "ETH/USDT"), cores=2, environ={})
    assert "different topology" in runstate.mismatch(back, other, True)
    with pytest.raises(runstate.RunStateError, match=r"/run/x\.state: not a coordinator state"):
        runstate.decode(b"{not json", "/run/x.state")
    old = runstate.encode(state).replace(b'"version":1', b'"version":0')
    with pytest.raises(runstate.RunStateError, match="state version 0, this coordinator reads 1"):
        runstate.decode(old, "x.state")


def test_the_hung_threshold_is_a_topology_key_with_a_floor() -> None:
    assert parse(TOPOLOGY, cores=2, environ={}).hung_after_reports == 3
    ten = parse("hung_after_reports: 10\n" + TOPOLOGY, cores=2, environ={})
    assert ten.hung_after_reports == 10
    with pytest.raises(TopologyError, match=r"hung_after_reports: 1 must be a whole number >= 2"):
        parse("hung_after_reports: 1\n" + TOPOLOGY, cores=2, environ={})
    with pytest.raises(TopologyError, match=r"hung_after_reports: 2\.5 must be a whole number"):
        parse("hung_after_reports: 2.5\n" + TOPOLOGY, cores=2, environ={})


def test_coordinator_grace_is_a_topology_key_with_a_floor() -> None:
    assert parse(TOPOLOGY, cores=2, environ={}).coordinator_grace_s == 10.0
    five = parse("coordinator_grace_s: 5\n" + TOPOLOGY, cores=2, environ={})
    assert five.coordinator_grace_s == 5.0
    with pytest.raises(TopologyError, match=r"coordinator_grace_s: 0\.5 must be at least 1"):
        parse("coordinator_grace_s: 0.5\n" + TOPOLOGY, cores=2, environ={})
    with pytest.raises(TopologyError, match="coordinator_grace_s: 'soon' must be a number"):
        parse("coordinator_grace_s: soon\n" + TOPOLOGY, cores=2, environ={})


# -- hung actors: the whole pipeline -------------------------------------------------------


def _gone(pid: int) -> bool:
    found = procs.stat(pid)
    return found is None or found.state == "Z"


def _freeze_until_restarted(p: Pipeline, name: str) -> float:
    """SIGSTOP ``name``; return the seconds until the coordinator killed and replaced it."""
    pid = p.actor(name)["pid"]
    ticks = procs.start_ticks(pid)
    stopped = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(
            lambda: (a := p.actor(name))["hung"] == 1 and a["pid"] not in (None, pid),
            15,
            f"{name} found hung and restarted",
            p,
        )
    finally:
        if procs.is_alive(pid, ticks):
            os.kill(pid, signal.SIGKILL)  # the test failed: leave nothing frozen
    detected = time.monotonic() - stopped
    print(f"{name}: SIGSTOP -> killed and restarted in {detected:.2f} s")
    assert _gone(pid)
    return detected


@pytest.mark.slow
def test_a_parser_stalled_by_its_handler_keeps_reporting(tmp_path: Path) -> None:
    """Back-pressure is not a hang: a parser whose handler reads nothing blocks in its
    send, and must go on reporting from there (else a slow handler gets its parsers
    killed).  A real parser process, with this test as its coordinator and neighbours."""
    import zmq

    from actors.control import FROM_ACTOR, Report
    from actors.messages import RAW_ENCODER, RawBatch

    run = str(tmp_path / "run")
    os.makedirs(run, mode=0o700)
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.bind(f"ipc://{run}/actors")
    raw = ctx.socket(zmq.PUSH)
    raw.bind(f"ipc://{run}/c.raw")
    inbox = ctx.socket(zmq.PULL)  # the handler's, never read
    inbox.setsockopt(zmq.RCVHWM, 1)
    inbox.bind(f"ipc://{run}/e.events")
    venue = parse(TOPOLOGY.replace("/tmp/mp-state-test", run), cores=1, environ={}).venues[0]
    spec = ActorSpec(
        name="gateio_spot.parser.0",
        kind="parser",
        venue=venue,
        run_dir=run,
        coordinator=f"ipc://{run}/actors",
        raw=[f"ipc://{run}/c.raw"],
        events=f"ipc://{run}/e.events",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.runtime.launch", msgspec.json.encode(spec).decode()],
        cwd=ROOT,
    )
    try:
        assert router.poll(20_000), "the parser never said hello"
        frame = "x" * 20_000  # a parse error each, forwarded like any batch
        sent, deadline = 0, time.monotonic() + 20
        while time.monotonic() < deadline:  # until the parser cannot take any more
            try:
                raw.send(
                    RAW_ENCODER.encode(RawBatch("c", 1, sent, 0, 0, [frame], [0])), zmq.NOBLOCK
                )
                sent += 1
            except zmq.Again:
                if raw.poll(2000, zmq.POLLOUT) == 0:
                    break
        while router.poll(0):  # what it said before it stalled does not count
            router.recv_multipart()
        reports: list[Report] = []
        until = time.monotonic() + 5  # longer than the hung limit
        while (left := until - time.monotonic()) > 0:
            if router.poll(int(left * 1000) + 1):
                msg = FROM_ACTOR.decode(router.recv_multipart()[-1])
                if isinstance(msg, Report):
                    reports.append(msg)
        print(f"parser stalled after {sent} batches; {len(reports)} reports in 5 s")
        assert sent > 1000, sent  # it really took batches, and then really stalled
        assert len(reports) >= 4, len(reports)
        assert reports[-1].counters.get("send_waits", 0) > reports[0].counters.get("send_waits", 0)
    finally:
        proc.kill()
        proc.wait()
        ctx.destroy(linger=0)


@pytest.mark.slow
def test_a_stopped_parser_is_found_hung_killed_and_restarted_with_exact_books() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        detected = _freeze_until_restarted(p, "gateio_spot.parser.0")
        assert 2.4 <= detected < 8.0, detected  # 3.5 s after its last report (<= 1 s before)
        status = p.status()
        parser = next(a for a in status["actors"] if a["name"] == "gateio_spot.parser.0")
        assert parser["restarts"] == 1 and "hung" in parser["last_exit"]
        assert any(n["what"] == "actor hung" for n in status["notices"])
        others = [a for a in status["actors"] if a["name"] != "gateio_spot.parser.0"]
        assert all(a["hung"] == 0 and a["restarts"] == 0 for a in others), others
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books resynced")
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


@pytest.mark.slow
def test_a_stopped_connection_is_replaced_and_its_subscriptions_restored() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        mark = len(p.events)
        _freeze_until_restarted(p, "gateio_spot.connection.0")
        wait_until(
            lambda: (
                p.actor("gateio_spot.connection.0")["info"].get("subscriptions") == len(SYMBOLS) * 4
            ),
            5,
            "the new connection carrying the whole share",
            p,
        )
        p.pump_until(
            lambda: (
                {e.native for e in p.events[mark:] if isinstance(e, BookSnapshot)} == set(NATIVE)
                and all(p.valid(n) for n in NATIVE)
            ),
            15,
            "books reset and resynced on the new session",
        )
        assert {e.native for e in p.events[mark:] if isinstance(e, BookReset)} == set(NATIVE)
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


@pytest.mark.slow
def test_a_stopped_handler_is_restarted_and_consumers_see_reset_then_snapshot() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        mark = len(p.events)
        _freeze_until_restarted(p, "gateio_spot.handler")

        def resynced() -> bool:
            snapshots = {e.native for e in p.events[mark:] if isinstance(e, BookSnapshot)}
            return snapshots == set(NATIVE) and all(p.valid(n) for n in NATIVE)

        p.pump_until(resynced, 15, "books reset and resynced by the new handler")
        after = p.events[mark:]
        for native in NATIVE:
            mine = [
                e for e in after if e.native == native and isinstance(e, BookReset | BookSnapshot)
            ]
            assert mine and isinstance(mine[0], BookReset), (native, mine[:3])
            assert any(isinstance(e, BookSnapshot) for e in mine), native
        # While the handler was frozen the parsers waited on it: stalled, not hung.
        actors = p.status()["actors"]
        assert all(a["hung"] == 0 for a in actors if a["name"] != "gateio_spot.handler"), actors
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


# -- the coordinator dies ------------------------------------------------------------------


def _actor_pids(p: Pipeline) -> dict[str, int]:
    return {a["name"]: a["pid"] for a in p.status()["actors"]}


def _largest_gap_s(events: list[Event]) -> float:
    stamps = sorted(e.recv_ns for e in events if e.recv_ns)
    return max((b - a for a, b in itertools.pairwise(stamps)), default=0) / 1e9


@pytest.mark.slow
def test_a_new_coordinator_adopts_the_running_actors_without_a_reset() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        before = _actor_pids(p)
        old = p.proc
        assert old is not None
        mark = len(p.events)
        old.kill()  # kill -9: no chance to stop its children
        old.wait()
        p.pump(2.0)  # the data plane keeps flowing with no coordinator at all
        orphaned = p.events[mark:]
        assert len(orphaned) > 20, len(orphaned)

        p.proc = p.spawn_coordinator()
        spawned = time.monotonic()
        wait_until(lambda: p._all_running(), 10, "the new coordinator answers", p)
        print(f"new coordinator answering {time.monotonic() - spawned:.2f} s after its start")
        status = p.status()
        assert status["coordinator"]["adopted_from"] == old.pid
        assert _actor_pids(p) == before  # the very same processes: nothing restarted
        assert all(a["adopted"] and a["restarts"] == 0 for a in status["actors"])
        p.pump(2.0)
        after = p.events[mark:]
        assert not any(isinstance(e, BookReset) for e in after)
        print(f"largest gap between events across the restart {_largest_gap_s(after):.3f} s")
        assert _largest_gap_s(after) < 1.0, _largest_gap_s(after)
        assert_wire_order(p.events)  # no delta missing or repeated across the restart

        cli = subprocess.run(
            [sys.executable, "-m", "actors.cli", "status", "-t", str(p.topology)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=20,
        )
        assert cli.returncode == 0, cli.stderr
        assert "gateio_spot.parser.1" in cli.stdout and "running" in cli.stdout

        # An adopted actor is no child of ours: its death is found through /proc.
        victim = before["gateio_spot.parser.0"]
        os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda: (
                (a := p.actor("gateio_spot.parser.0"))["restarts"] == 1
                and a["pid"] not in (None, victim)
                and not a["adopted"]
            ),
            10,
            "the adopted parser restarted",
            p,
        )
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books resynced")
        assert_books_match_truth(p, NATIVE)

        assert p.stop() == 0
        assert p.stop_seconds < 4.0, p.stop_seconds
        procs_left, files = p.leftovers()
        assert procs_left == [] and files == [], (procs_left, files)
        assert all(_gone(pid) for pid in before.values())


@pytest.mark.slow
def test_after_adoption_a_restarted_connection_signs_as_the_simulator_expects() -> None:
    """Under --simulate the credentials are made up per run: the adopting coordinator must
    hand a restarted connection the ones the running simulator accepts."""
    spot = {
        "symbols": ["BTC/USDT"],
        "channels": ["trades", "orders", "fills", "balances"],
        "credentials": {"key": "MPT_SUP_KEY", "secret": "MPT_SUP_SECRET"},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPT_SUP_")}
    with running_pipeline(venues={"gateio_spot": spot}, parsers=1, env=env) as p:
        p.pump_until(lambda: any(type(e).__name__ == "Fill" for e in p.private), 15, "fills")
        assert p.proc is not None
        p.proc.kill()
        p.proc.wait()
        p.proc = p.spawn_coordinator()
        wait_until(lambda: p._all_running(), 10, "the new coordinator answers", p)
        victim = p.actor("gateio_spot.connection.0")["pid"]
        os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda: (
                (a := p.actor("gateio_spot.connection.0"))["restarts"] == 1
                and a["pid"] not in (None, victim)
            ),
            10,
            "the adopted connection restarted",
            p,
        )
        mark = len(p.private)
        p.pump_until(
            lambda: any(type(e).__name__ == "Fill" for e in p.private[mark:]),
            15,
            "fills on the restarted connection",
        )
        assert p.status()["venues"]["gateio_spot"]["refused"] == {}


@pytest.mark.slow
def test_a_coordinator_without_the_state_stops_the_strays_and_converges() -> None:
    """Say the coordinator died before it wrote its state: the next one starts afresh, and
    the old actors, which reconnect to it, must not stream on beside the new ones."""
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        before = _actor_pids(p)
        run_dir = str(Path(p.run_dir, "run"))
        assert all(procs.is_actor_of(pid, run_dir) for pid in before.values())
        assert not procs.is_actor_of(os.getpid(), run_dir)
        assert p.proc is not None
        p.proc.kill()
        p.proc.wait()
        Path(run_dir, "coordinator.state").unlink()
        p.proc = p.spawn_coordinator()
        wait_until(lambda: all(_gone(pid) for pid in before.values()), 15, "strays stopped", p)
        wait_until(p._all_running, 20, "the new pipeline running", p)
        status = p.status()
        assert status["coordinator"]["adopted_from"] is None
        assert any(n["what"] == "stray actor" for n in status["notices"]) or "stray actor" in (
            p.output()
        )
        mark = len(p.events)
        p.pump_until(
            lambda: (
                {e.native for e in p.events[mark:] if isinstance(e, BookSnapshot)} >= set(NATIVE)
                and all(p.valid(n) for n in NATIVE)
            ),
            15,
            "books from the new pipeline",
        )
        assert_books_match_truth(p, NATIVE)


@pytest.mark.slow
def test_a_coordinator_for_another_topology_is_refused_and_the_old_actors_still_leave() -> None:
    grace = 3.0
    with running_pipeline(symbols=SYMBOLS[:1], parsers=1, top={"coordinator_grace_s": grace}) as p:
        p.pump_until(lambda: p.valid("BTC_USDT"), 10, "book")
        pids = _actor_pids(p)
        assert p.proc is not None
        p.proc.kill()
        p.proc.wait()
        other = Path(p.run_dir, "other.yaml")
        other.write_text(p.topology.read_text().replace("BTC/USDT", "ETH/USDT"))
        refused = subprocess.run(
            [sys.executable, "-m", "actors.cli", "run", str(other), "--simulate"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )
        assert refused.returncode == 1
        assert "started from a different topology" in refused.stderr, refused.stderr
        assert str(pids["gateio_spot.handler"]) in refused.stderr
        assert not any(_gone(pid) for pid in pids.values())  # nothing of theirs was touched
        wait_until(lambda: p.leftovers()[0] == [], grace + 5, "every actor to leave", p)
        wait_until(lambda: not Path(p.run_dir, "run").exists(), 3, "the run dir removed", p)


@pytest.mark.slow
def test_actors_leave_by_themselves_when_no_coordinator_comes_back() -> None:
    grace = 3.0
    with running_pipeline(symbols=SYMBOLS[:1], parsers=2, top={"coordinator_grace_s": grace}) as p:
        p.pump_until(lambda: p.valid("BTC_USDT"), 10, "book")
        assert p.proc is not None
        p.proc.kill()
        p.proc.wait()
        killed = time.monotonic()
        mark = len(p.events)
        p.pump(grace / 2)
        assert len(p.events) > mark  # streaming on while waiting for a coordinator
        wait_until(lambda: p.leftovers()[0] == [], grace + 5, "every actor to leave", p)
        gone_s = time.monotonic() - killed
        print(f"all actors gone {gone_s:.2f} s after the coordinator (grace {grace} s)")
        assert gone_s >= grace - 0.5, gone_s
        wait_until(lambda: not Path(p.run_dir, "run").exists(), 3, "the run dir removed", p)
