"""End-to-end benchmark pieces: a frame source, the real pipeline, a SUB consumer.

Role: drive ``pipeline run`` (every actor its own process, as in production) from a source
offering frames at fixed rates, and measure at a SUB consumer what comes out: events/s, loss,
latency from frame receipt (``recv_ns``, stamped by the connection actor) to consumer
receipt, and each actor's RSS.  Also the physical limits of the same frames: bare msgspec
decode and a bare PUSH/PULL hop of RawBatch payloads.

A source is anything with the :class:`Source` shape.  :class:`SimulatorSource` runs a venue
simulator in its own process and steers its ``/_sim/rate`` control; a replay source (a
recording played into the parsers) plugs into :func:`run_config` the same way.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec
import yaml
import zmq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from actors.client import request  # noqa: E402
from actors.control import Command  # noqa: E402
from actors.messages import RAW_ENCODER, RawBatch  # noqa: E402

FLAT_OUT = 0  # offered rate meaning "as fast as the source can"
NOBLOCK = int(zmq.NOBLOCK)


class Stamp(msgspec.Struct):
    """The fields of a published event the consumer needs; msgspec skips the rest."""

    type: str
    recv_ns: int = 0


STAMP_DECODER = msgspec.msgpack.Decoder(Stamp)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# -- sources -------------------------------------------------------------------------------


class Source(Protocol):
    """Where frames come from.  ``venue()`` is the topology's venue entry pointing the
    pipeline at the source; ``offer(rate)`` sets frames/s (FLAT_OUT: as fast as it can, a
    negative rate: quiet); ``offered()`` counts frames offered so far (the loss reference);
    ``quiesce()`` stops offering and returns once everything offered is on its way;
    ``command(topology)`` is the ``pipeline`` subcommand that runs the topology against it
    (``run`` for a venue or simulator; a replay source names its own, e.g. ``replay``).

    Loss is checked against the connection actors' ``frames_in``: a source that feeds the
    parsers without a connection actor reports its own read count there."""

    name: str
    description: str

    def start(self) -> None: ...
    def venue(self) -> tuple[str, dict[str, Any]]: ...
    def command(self, topology: Path) -> list[str]: ...
    def offer(self, rate: float) -> None: ...
    def offered(self) -> int: ...
    def quiesce(self) -> None: ...
    def resume(self) -> None: ...
    def pids(self) -> dict[str, int]: ...
    def stop(self) -> None: ...


class SimulatorSource:
    """A Gate.io spot simulator in its own process: the normal market ticks (trades, book
    deltas every 100 ms, tickers) and ``/_sim/rate`` adds top-of-book changes, each one a
    ``spot.book_ticker`` push (and a level in the next ``order_book_update``), so the books
    stay exact at any rate."""

    def __init__(self, symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT"), seed: int = 7):
        self.symbols = symbols
        self.seed = seed
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.name = "simulator"
        self.description = (
            f"gateio_spot simulator (own process), {len(symbols)} pairs, channels book_ticker + "
            "order_book; offered rate = extra top-of-book changes, one book_ticker frame each"
        )

    def start(self) -> None:
        natives = ",".join(self.symbols)
        argv = [sys.executable, "-m", "actors.cli", "simulate", "gateio_spot"]
        argv += ["--port", str(self.port), "--seed", str(self.seed), "--symbols", natives]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.control("stats")
                return
            time.sleep(0.05)
        raise RuntimeError("simulator did not start")

    def control(self, action: str, **params: Any) -> Any:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"http://127.0.0.1:{self.port}/_sim/{action}" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())

    def venue(self) -> tuple[str, dict[str, Any]]:
        return "gateio_spot", {
            "symbols": list(self.symbols),
            "channels": ["book_ticker", "order_book"],
            "ws_url": f"ws://127.0.0.1:{self.port}/ws/v4/",
            "rest_url": f"http://127.0.0.1:{self.port}/api/v4",
        }

    def command(self, topology: Path) -> list[str]:
        return ["run", str(topology)]

    def offer(self, rate: float) -> None:
        pairs = ",".join(s.replace("/", "_") for s in self.symbols)
        fps = 1e9 if rate == FLAT_OUT else max(rate, 0)
        self.control("rate", frames_per_s=fps, currency_pair=pairs)

    def offered(self) -> int:
        return int(sum(self.control("stats")["pushes"].values()))

    def quiesce(self) -> None:
        self.offer(-1)
        self.control("pause")  # delivers what is pending, then the market stands still

    def resume(self) -> None:
        self.control("resume")

    def pids(self) -> dict[str, int]:
        return {"simulator": self.proc.pid} if self.proc else {}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# -- the pipeline --------------------------------------------------------------------------


class Pipeline:
    """``pipeline run`` on a one-venue topology, in a private run directory."""

    def __init__(
        self, venue: str, body: dict[str, Any], parsers: int | str, root: Path = ROOT
    ) -> None:
        self.root = root  # the source tree whose actors run (a baseline checkout for A/B)
        self.dir = Path(tempfile.mkdtemp(prefix="mp-e2e-", dir="/tmp"))
        self.publish = f"tcp://127.0.0.1:{free_port()}"
        body = dict(body, publish=self.publish, parsers=parsers)
        doc = {"run_dir": str(self.dir / "run"), "parsers": parsers, "venues": {venue: body}}
        self.topology = self.dir / "topology.yaml"
        self.topology.write_text(yaml.safe_dump(doc, sort_keys=False))
        self.control = f"ipc://{self.dir}/run/control"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, command: list[str] | None = None, timeout_s: float = 20.0) -> None:
        """Run ``pipeline <command>`` (default ``run TOPOLOGY``) until every actor runs."""
        command = command or ["run", str(self.topology)]
        argv = [sys.executable, "-m", "actors.cli", *command]
        with open(self.dir / "pipeline.log", "wb") as log:
            env = {**os.environ, "PYTHONPATH": str(self.root)}
            self.proc = subprocess.Popen(
                argv, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                actors = self.status()["actors"]
                if actors and all(a["state"] == "running" for a in actors):
                    return
            time.sleep(0.1)
        raise RuntimeError(f"pipeline did not start; see {self.dir / 'pipeline.log'}")

    def status(self) -> dict[str, Any]:
        reply = request(self.control, Command("status"), timeout_s=2)
        assert reply.ok, reply.error
        data: dict[str, Any] = reply.data
        return data

    def pids(self) -> dict[str, int]:
        pids = {a["name"]: a["pid"] for a in self.status()["actors"] if a["pid"]}
        if self.proc is not None:
            pids["coordinator"] = self.proc.pid
        return pids

    def counters(self) -> dict[str, dict[str, int]]:
        return {a["name"]: a["counters"] for a in self.status()["actors"]}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


LOSS_COUNTERS = (
    "dropped_frames",
    "dropped_batches",
    "bad_batches",
    "parse_errors",
    "lost_batches",
    "upstream_drops",
    "gaps",
    "resyncs",
    "stale_sessions",
    "reconnects",
)


def loss_counts(counters: dict[str, dict[str, int]]) -> dict[str, int]:
    """Every loss-shaped counter summed over the actors (the handler and parsers see some of
    the same losses; each is named for what it counts)."""
    out: dict[str, int] = {}
    for actor, values in counters.items():
        for key in LOSS_COUNTERS:
            if values.get(key):
                out[f"{actor.rsplit('.', 2)[-2]}.{key}"] = (
                    out.get(f"{actor.rsplit('.', 2)[-2]}.{key}", 0) + values[key]
                )
    return out


# -- the consumer --------------------------------------------------------------------------


class Consumer:
    """A SUB socket on the public stream; counts events, and records receipt latency of
    events that came from frames (recv_ns set) while ``recording``."""

    def __init__(self, endpoint: str, prefixes: tuple[bytes, ...] = (b"",)) -> None:
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 0)  # never drop here: loss must be the pipeline's
        self.sub.connect(endpoint)
        for prefix in prefixes:
            self.sub.setsockopt(zmq.SUBSCRIBE, prefix)
        self.events = 0
        self.by_type: dict[str, int] = {}
        self.latency_ns = array("q")
        self.recording = False

    def pump(self, seconds: float) -> None:
        sub, decode, now = self.sub, STAMP_DECODER.decode, time.time_ns
        deadline = time.monotonic() + seconds
        by_type, lat = self.by_type, self.latency_ns
        while time.monotonic() < deadline:
            if not sub.poll(20):
                continue
            for _ in range(10_000):
                try:
                    sub.recv(NOBLOCK)  # the topic; two recvs cost a third of recv_multipart
                except zmq.Again:
                    break
                payload = sub.recv()
                t = now()
                stamp = decode(payload)
                self.events += 1
                by_type[stamp.type] = by_type.get(stamp.type, 0) + 1
                if self.recording and stamp.recv_ns:
                    lat.append(t - stamp.recv_ns)

    def close(self) -> None:
        self.sub.close()
        self.ctx.term()


def percentiles_us(samples: array[int], qs: tuple[float, ...] = (50, 99, 99.9)) -> list[float]:
    if not samples:
        return [0.0 for _ in qs]
    ordered = sorted(samples)
    n = len(ordered)
    return [ordered[min(n - 1, int(q / 100 * n))] / 1000 for q in qs]


# -- one configuration ---------------------------------------------------------------------


@dataclass
class Step:
    rate: float  # offered frames/s (FLAT_OUT: as fast as the source can)
    offered_fps: float = 0.0  # what the source actually offered
    events_ps: float = 0.0  # at the consumer
    frames_in_ps: float = 0.0  # at the connection actor
    batch_frames: float = 0.0  # mean frames per RawBatch
    p50_us: float = 0.0
    p99_us: float = 0.0
    p999_us: float = 0.0
    samples: int = 0
    loss: dict[str, int] = field(default_factory=dict)
    missing: int = 0  # frames offered but not turned into a consumer event (book tickers)
    cpu_pct: dict[str, float] = field(default_factory=dict)  # of one core, per process
    handler_p50_us: float = 0.0  # receive -> publish, as the handler reports it
    handler_p99_us: float = 0.0
    rss_start_kb: dict[str, int] = field(default_factory=dict)
    rss_end_kb: dict[str, int] = field(default_factory=dict)


def _connection_counts(counters: dict[str, dict[str, int]]) -> tuple[int, int]:
    frames = batches = 0
    for name, values in counters.items():
        if ".connection." in name:
            frames += values.get("frames_in", 0)
            batches += values.get("batches_out", 0)
    return frames, batches


def run_config(
    source: Source,
    parsers: int | str,
    rates: list[float],
    *,
    warmup_s: float = 1.0,
    window_s: float = 3.0,
    root: Path = ROOT,
    log: Any = print,
) -> dict[str, Any]:
    """One pipeline over ``source`` with ``parsers`` parser actors, one step per rate:
    warm up at the rate, then measure for ``window_s``.  After each step the source goes
    quiet and the frames offered during the step are checked against the book-ticker
    events the consumer got (every offered rate frame becomes exactly one)."""
    venue, body = source.venue()
    pipeline = Pipeline(venue, body, parsers, root)
    consumer = Consumer(pipeline.publish)
    result: dict[str, Any] = {"parsers": parsers, "steps": []}
    try:
        pipeline.start(source.command(pipeline.topology))
        consumer.pump(2.0)  # subscriptions, snapshots, books live
        pids = {**pipeline.pids(), **source.pids(), "consumer": os.getpid()}
        result["actors"] = sorted(pids)
        result["rss_idle_kb"] = {name: rss_kb(pid) for name, pid in pids.items()}
        source.quiesce()
        quiet = _drain(source, pipeline, consumer)
        for rate in rates:
            step = Step(rate)
            source.resume()
            source.offer(rate)
            consumer.pump(warmup_s)
            before = pipeline.counters()
            offered0, events0 = source.offered(), consumer.events
            step.rss_start_kb = {name: rss_kb(pid) for name, pid in pids.items()}
            cpu0 = {name: cpu_s(pid) for name, pid in pids.items()}
            consumer.recording = True
            consumer.latency_ns = array("q")
            t0 = time.monotonic()
            consumer.pump(window_s)
            elapsed = time.monotonic() - t0
            consumer.recording = False
            offered1, events1 = source.offered(), consumer.events
            after = pipeline.counters()
            step.rss_end_kb = {name: rss_kb(pid) for name, pid in pids.items()}
            step.cpu_pct = {
                name: round(100 * (cpu_s(pid) - cpu0[name]) / elapsed, 1)
                for name, pid in pids.items()
            }
            handler = next(a for a in pipeline.status()["actors"] if a["kind"] == "handler")
            step.handler_p50_us = handler["latency_us"].get("receive_to_publish_p50", 0.0)
            step.handler_p99_us = handler["latency_us"].get("receive_to_publish_p99", 0.0)
            step.offered_fps = (offered1 - offered0) / elapsed
            step.events_ps = (events1 - events0) / elapsed
            f0, b0 = _connection_counts(before)
            f1, b1 = _connection_counts(after)
            step.frames_in_ps = (f1 - f0) / elapsed
            step.batch_frames = (f1 - f0) / max(b1 - b0, 1)
            step.p50_us, step.p99_us, step.p999_us = percentiles_us(consumer.latency_ns)
            step.samples = len(consumer.latency_ns)
            # Quiet again: everything offered since the last quiet point must have been read
            # by the connection and handled by the handler, and no loss counter moved.
            source.quiesce()
            now = _drain(source, pipeline, consumer)
            offered, read, handled = (b - a for a, b in zip(quiet[:3], now[:3], strict=True))
            step.missing = max(offered - read, 0) + max(read - handled, 0)
            step.loss = {
                k: v - quiet[3].get(k, 0) for k, v in now[3].items() if v > quiet[3].get(k, 0)
            }
            quiet = now
            result["steps"].append(step.__dict__)
            log(
                f"  parsers={parsers} rate={'max' if rate == FLAT_OUT else int(rate)}: "
                f"offered {step.offered_fps:,.0f} f/s, consumer {step.events_ps:,.0f} ev/s, "
                f"p50 {step.p50_us:.0f} us p99 {step.p99_us:.0f} us p99.9 {step.p999_us:.0f} us, "
                f"batch {step.batch_frames:.1f}, missing {step.missing}, loss {step.loss}\n"
                f"    handler p50 {step.handler_p50_us:.0f} us p99 {step.handler_p99_us:.0f} us; "
                f"cpu% {step.cpu_pct}"
            )
        result["counters"] = pipeline.counters()
    finally:
        consumer.close()
        pipeline.stop()
        source.resume()
        source.offer(-1)
    return result


def _drain(
    source: Source, pipeline: Pipeline, consumer: Consumer, timeout_s: float = 30.0
) -> tuple[int, int, int, dict[str, int]]:
    """With the source quiet, wait until the connection reads nothing more and the handler
    has every frame it read; return (offered, read, handled, loss counters), cumulative."""
    offered = source.offered()
    deadline = time.monotonic() + timeout_s
    last = -1
    while True:
        consumer.pump(1.1)  # actors report their counters once a second
        counters = pipeline.counters()
        read = _connection_counts(counters)[0]
        handled = sum(v.get("frames_in", 0) for n, v in counters.items() if n.endswith(".handler"))
        if (read == last and handled >= read) or time.monotonic() > deadline:
            return offered, read, handled, loss_counts(counters)
        last = read


# -- physical limits -----------------------------------------------------------------------


def capture_frames(source: SimulatorSource, count: int, rate: float = 20_000) -> list[bytes]:
    """``count`` frames exactly as the simulator sends them to a subscribed client."""
    from websockets.sync.client import connect

    from actors.venues import Subscription, load_venue

    venue = load_venue("gateio_spot", {})
    subs = [Subscription("book_ticker", s) for s in source.symbols]
    frames: list[bytes] = []
    with connect(f"ws://127.0.0.1:{source.port}/ws/v4/", max_size=2**24) as ws:
        for message in venue.subscribe_messages(subs, now_s=int(time.time())):
            ws.send(message)
        source.resume()
        source.offer(rate)
        while len(frames) < count:
            frame = ws.recv()
            frames.append(frame.encode() if isinstance(frame, str) else frame)
        source.offer(-1)
    return [f for f in frames if b'"update"' in f] or frames


def bare_decode(frames: list[bytes], seconds: float = 0.5) -> float:
    """Frames/s of ``msgspec.json.decode`` alone over the frames."""
    decode = msgspec.json.decode
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for frame in frames:
            decode(frame)
        n += len(frames)
    return n / (time.perf_counter() - t0)


def _hop_receiver(endpoint: str, count: int, out: Any) -> None:
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind(endpoint)
    out.put("ready")
    lat = array("q")
    for _ in range(count):
        payload = pull.recv()
        lat.append(time.time_ns() - int.from_bytes(payload[:8], "little"))
    out.put(list(lat))
    pull.close()
    ctx.term()


def bare_hop(frames: list[bytes], batch: int, seconds: float = 0.5) -> dict[str, float]:
    """One PUSH/PULL hop over ipc between two processes, with RawBatch payloads of ``batch``
    of the frames: frames/s flat out, and one-way latency p50/p99 at a light pace."""
    payloads = []
    for i in range(0, max(len(frames) - batch, 1), batch):
        chunk = frames[i : i + batch]
        payloads.append(RAW_ENCODER.encode(RawBatch("c", 1, i, 0, i, chunk, [0] * len(chunk))))
    result: dict[str, float] = {"payload_bytes": statistics.mean(len(p) for p in payloads)}
    ctx = zmq.Context()
    mp_ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("throughput", "latency"):
            endpoint = f"ipc://{tmp}/{mode}"
            count = 2000 if mode == "latency" else max(int(200_000 / batch), 2000)
            queue = mp_ctx.Queue()
            proc = mp_ctx.Process(target=_hop_receiver, args=(endpoint, count, queue))
            proc.start()
            queue.get(timeout=20)
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 0)
            push.connect(endpoint)
            time.sleep(0.2)
            t0 = time.perf_counter()
            for i in range(count):
                stamp = time.time_ns().to_bytes(8, "little")
                push.send(stamp + payloads[i % len(payloads)][8:])
                if mode == "latency":
                    time.sleep(0.0005)
            lat = queue.get(timeout=60)
            elapsed = time.perf_counter() - t0
            proc.join(5)
            push.close()
            if mode == "throughput":
                result["frames_ps"] = count * batch / elapsed
                result["msgs_ps"] = count / elapsed
            else:
                p50, p99, _ = percentiles_us(array("q", lat))
                result["p50_us"], result["p99_us"] = p50, p99
    ctx.term()
    return result


def machine() -> dict[str, Any]:
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load": os.getloadavg(),
    }


# -- parser scaling ------------------------------------------------------------------------


def parser_scaling(
    venue: str,
    frames: list[Any],
    counts: tuple[int, ...] = (1, 2),
    *,
    batch: int = 16,
    seconds: float = 3.0,
) -> dict[int, float]:
    """Frames/s through ``n`` real parser actors (``actors.runtime.launch``) fed flat out from
    one PUSH (standing in for the connection's raw endpoint) into one PULL (standing in for
    the handler's inbox): whether parsing itself scales over processes, with the rest of the
    pipeline out of the way."""
    from actors.control import ActorSpec
    from actors.topology import VenueSpec

    payloads = []
    for i in range(0, len(frames) - batch + 1, batch):
        chunk = frames[i : i + batch]
        payloads.append(RAW_ENCODER.encode(RawBatch("bench", 1, 0, 0, i, chunk, [1] * batch)))
    spec_venue = VenueSpec(
        name=venue,
        symbols=(),
        channels=(),
        publish="",
        private_publish="",
        parsers=1,
        groups=("main",),
    )
    out: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            ctx = zmq.Context()
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 0)
            push.setsockopt(zmq.SNDHWM, 64)
            push.bind(f"ipc://{tmp}/raw{n}")
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.LINGER, 0)
            pull.bind(f"ipc://{tmp}/events{n}")
            procs = []
            for i in range(n):
                spec = ActorSpec(
                    name=f"{venue}.parser.{i}",
                    kind="parser",
                    venue=spec_venue,
                    index=i,
                    run_dir=tmp,
                    coordinator=f"ipc://{tmp}/nobody",
                    raw=[f"ipc://{tmp}/raw{n}"],
                    events=f"ipc://{tmp}/events{n}",
                    log_level="WARNING",
                )
                argv = [sys.executable, "-m", "actors.runtime.launch", msgspec.json.encode(spec)]
                procs.append(
                    subprocess.Popen(
                        [a if isinstance(a, str) else a.decode() for a in argv], cwd=ROOT
                    )
                )
            poller = zmq.Poller()
            poller.register(pull, zmq.POLLIN)
            poller.register(push, zmq.POLLOUT)
            sent = done = 0
            t0 = counted_from = time.monotonic()
            warm = True
            while True:
                now = time.monotonic()
                if warm and now - t0 > 1.0:  # let every parser connect and settle
                    warm, counted_from, done = False, now, 0
                if not warm and now - counted_from > seconds:
                    break
                ready = dict(poller.poll(100))
                if push in ready:
                    for _ in range(32):
                        try:
                            push.send(payloads[sent % len(payloads)], NOBLOCK)
                        except zmq.Again:
                            break
                        sent += 1
                if pull in ready:
                    while True:
                        try:
                            pull.recv(NOBLOCK)
                        except zmq.Again:
                            break
                        done += batch
            out[n] = done / (time.monotonic() - counted_from)
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            push.close()
            pull.close()
            ctx.term()
    return out
