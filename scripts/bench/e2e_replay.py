"""End-to-end replay benchmark: a recording -> replay actor -> parsers -> handler -> SUB.

Role: record a session once (``pipeline record`` of a gateio_spot simulator whose
``/_sim/rate`` is turned up, so the recording is large), then play it with ``pipeline replay
--as-fast-as-possible`` into the real parsers and handler, N parsers at a time, while a SUB
consumer in this process counts every published message.  Unlike the simulator steps of
``e2e.run_config`` a replay is finite and paced only by the pipeline, so it is one run, not
rate steps: events/s is measured at the consumer from its first to its last event.

Zero loss means: consumer events == events the handler published == the same count on
every run; handler frames == frames pushed == frames in the recording; and no gap, resync,
lost batch or parse error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zmq
from bench.e2e import ROOT, Pipeline, SimulatorSource, cpu_s, free_port

from actors import recording  # importable: bench.e2e put the source tree on sys.path
from actors.client import request
from actors.control import Command

CHANNELS = ["book_ticker", "order_book", "trades", "tickers"]
LOSS_KEYS = ("parse_errors", "gaps", "resyncs", "lost_batches")


class Recording:
    """Frames recorded from a gateio_spot simulator: ``files`` are the ``.mprec.zst``."""

    def __init__(self, files: list[Path], description: str) -> None:
        self.files = files
        self.description = description
        self.frames = self.events = 0

    @classmethod
    def make(
        cls,
        out: Path,
        *,
        seconds: float = 12.0,
        rate: float = 20_000,
        log: Any = print,
    ) -> Recording:
        """``pipeline record`` for ``seconds`` while the simulator offers ``rate`` extra
        book-ticker frames/s on top of its normal market (trades, deltas, tickers)."""
        out.mkdir(parents=True, exist_ok=True)
        source = SimulatorSource(symbols=("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"))
        source.start()
        venue, body = source.venue()
        body = dict(body, channels=CHANNELS)
        pipeline = Pipeline(venue, body, 1)
        try:
            pipeline.start(["record", str(pipeline.topology), "--out", str(out)])
            time.sleep(1.5)  # subscriptions and snapshots first, so the books go live
            source.offer(rate)
            time.sleep(seconds)
            source.offer(-1)
            time.sleep(1.0)
        finally:
            pipeline.stop()  # SIGTERM: every recorder finishes its file
            source.stop()
        files = sorted(out.glob(f"*{recording.SUFFIX}"))
        rec = cls(
            files,
            f"`pipeline record` of a gateio_spot simulator, {len(source.symbols)} pairs, "
            f"channels {' + '.join(CHANNELS)}, {seconds:.0f} s with {rate:,.0f} extra "
            "book_ticker frames/s offered",
        )
        rec.count()
        log(f"recorded {rec.frames:,} frames ({rec.events:,} parsed events) into {out}")
        return rec

    @classmethod
    def load(cls, directory: Path) -> Recording:
        rec = cls(sorted(directory.glob(f"*{recording.SUFFIX}")), f"recording in {directory}")
        rec.count()
        return rec

    def count(self) -> None:
        """Frames in the recording, and the events the venue's parser makes of them (what
        the parsers must hand the handler, whatever their number)."""
        from actors.stages.parser import parse_frames
        from actors.venues import load_venue

        self.frames = self.events = 0
        for path in self.files:
            with open(path, "rb") as stream:
                records = recording.read(stream, str(path))
                head = next(records)
                assert isinstance(head, recording.Header)
                if head.kind != "connection":
                    continue
                venue = load_venue(head.venue.name, head.venue.options)
                for record in records:
                    if isinstance(record, recording.Frames):
                        events, _ = parse_frames(venue, record.batch)
                        self.frames += len(record.batch.frames)
                        self.events += len(events)


def run_replay(
    rec: Recording, parsers: int | str, *, root: Path = ROOT, timeout_s: float = 120.0
) -> dict[str, Any]:
    """One ``pipeline replay --as-fast-as-possible`` of ``rec`` with a SUB consumer here."""
    run_dir = Path(tempfile.mkdtemp(prefix="mp-replay-", dir="/tmp"))
    publish = f"tcp://127.0.0.1:{free_port()}"
    n = 0 if parsers == "auto" else int(parsers)
    argv = [sys.executable, "-m", "actors.cli", "replay", *map(str, rec.files)]
    argv += ["--as-fast-as-possible", "--json", "--parsers", str(n), "--publish", publish]
    argv += ["--run-dir", str(run_dir / "run"), "--wait-for-subscribers", "1"]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 0)  # never drop here: loss must be the pipeline's
    sub.setsockopt(zmq.RCVBUF, 4 << 20)
    sub.connect(publish)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    env = {**os.environ, "PYTHONPATH": str(root)}
    log_path = run_dir / "replay.log"
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(
            argv, cwd=root, stdout=subprocess.PIPE, stderr=err, env=env, start_new_session=True
        )
    control = f"ipc://{run_dir}/run/control"
    by_topic: dict[bytes, int] = {}
    events = 0
    first = last = 0.0
    pids: dict[str, int] = {}
    cpu0: dict[str, float] = {}
    cpu1: dict[str, float] = {}
    sampled = 0.0
    deadline = time.monotonic() + timeout_s
    noblock = int(zmq.NOBLOCK)
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if not pids:
                pids = _pids(control)
                if pids:
                    pids["coordinator"] = proc.pid
                    cpu0 = {name: cpu_s(pid) for name, pid in pids.items()}
            if not sub.poll(50):
                continue
            if not first:
                first = time.monotonic()
                cpu0 = {name: cpu_s(pid) for name, pid in pids.items()}
            while True:
                try:
                    name = sub.recv(noblock)
                except zmq.Again:
                    break
                sub.recv()
                by_topic[name] = by_topic.get(name, 0) + 1
                events += 1
            last = time.monotonic()
            if pids and last - sampled > 0.1:  # the actors exit with the replay: sample now
                cpu1, sampled = {name: cpu_s(pid) for name, pid in pids.items()}, last
        # The last messages may still be in flight when replay exits: drain until quiet.
        while sub.poll(300):
            while True:
                try:
                    name = sub.recv(noblock)
                except zmq.Again:
                    break
                sub.recv()
                by_topic[name] = by_topic.get(name, 0) + 1
                events += 1
            last = time.monotonic()
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.close()
        ctx.term()
    cpu_total = {name: cpu1.get(name, 0.0) - cpu0.get(name, 0.0) for name in pids}
    summary = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    venue = next(iter(summary.get("venues", {}).values()), {})
    elapsed = max(last - first, 1e-9)
    by_kind: dict[str, int] = {}
    for name, count in by_topic.items():
        kind = name.split(b".", 1)[0].decode()
        by_kind[kind] = by_kind.get(kind, 0) + count
    loss = {k: venue.get(k, 0) for k in LOSS_KEYS if venue.get(k, 0)}
    published = summary.get("events_published", -1)
    result = {
        "parsers": parsers,
        "events": events,
        "events_ps": events / elapsed,
        "frames_ps": venue.get("frames_handled", 0) / elapsed,
        "seconds": elapsed,
        "replay_seconds": summary.get("seconds", 0.0),
        "published": published,
        "events_handled": venue.get("events_handled", 0),
        "events_recorded": rec.events,
        "frames_pushed": venue.get("frames_pushed", 0),
        "frames_handled": venue.get("frames_handled", 0),
        "frames_recorded": rec.frames,
        "by_kind": by_kind,
        "loss": loss,
        "lossless": (
            events == published
            and venue.get("frames_pushed") == venue.get("frames_handled") == rec.frames
            and venue.get("events_handled", rec.events) == rec.events  # (older trees: absent)
            and not loss
        ),
        # CPU seconds per process up to the last sample (<= 0.1 s before the last event), and
        # as % of one core over the consumer's first-to-last-event window.
        "cpu_s": {k: round(v, 2) for k, v in cpu_total.items()},
        "cpu_pct": {k: round(100 * v / elapsed, 1) for k, v in cpu_total.items()},
        "log": str(log_path),
    }
    return result


def _pids(control: str) -> dict[str, int]:
    """Every actor of the replay (and the consumer, this process) once all are up."""
    try:
        reply = request(control, Command("status"), timeout_s=0.5)
    except Exception:
        return {}
    actors = reply.data.get("actors", []) if reply.ok else []
    if not actors or not all(a.get("pid") for a in actors):
        return {}
    pids = {a["name"].split(".", 1)[1]: a["pid"] for a in actors}
    pids["consumer"] = os.getpid()
    return pids
