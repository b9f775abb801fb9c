"""Replay actors: a recording played back into the real parsers and handler.

``ReplayActor`` stands in for one connection actor (same name, same raw endpoint):
    PUSH    binds the connection's raw endpoint; the venue's parsers connect to it
    DEALER  connects to the coordinator (hello, reports; ``info.done`` once all is pushed)
It pushes every recorded batch, the ones the recording connection had to drop included (the
venue sent them), renumbered per epoch so the handler's reorder sees a clean stream; epochs,
frame sequences, frames and receive times stay as recorded.  With ``speed`` > 0 each batch
leaves at its recorded time / speed after the start; with 0 as soon as a parser takes it:
the send waits for room (back-pressure, nothing dropped), which is what a benchmark needs.

``RestReplayActor`` stands in for the venue's REST API (the handler's rest_url points at it):
    TCP     binds 127.0.0.1:<port of its rest_url>; answers the recorded REST calls
    DEALER  connects to the coordinator (hello, reports)
Each request gets the next recorded answer for the same method and target, in recorded
order, and the last one again once they run out; a call that was never recorded is a 404
that says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import zmq

from actors import recording
from actors.messages import RAW_ENCODER, RawBatch
from actors.runtime.actor import Actor
from actors.runtime.transport import bind, configure, dealer

PARSERS_WAIT_S = 10.0


class ReplayActor(Actor):
    kind = "replay"

    def main(self) -> None:
        self.push = bind(configure(self.ctx.socket(zmq.PUSH)), self.spec.raw[0])
        self.control = dealer(self.ctx, self.name, self.spec.coordinator)
        self.hello(self.control)
        self.done = False
        self.started_ns = self.finished_ns = 0
        self.epoch, self.batch_no = 0, 0
        self.wait_for_parsers()
        self.started_ns = time.time_ns()
        self.start = time.monotonic()
        for path in self.spec.replay:
            if self.stopping:
                break
            self.play(path)
        self.finished_ns = time.time_ns()
        self.done = not self.stopping
        self.log.info("replayed %d frames", self.counters.get("frames_out", 0))
        self.tick(self.control, time.monotonic(), force=True)
        while not self.stopping:
            self.service(0.2)

    def wait_for_parsers(self) -> None:
        """A PUSH socket is writable only once a parser is connected."""
        deadline = time.monotonic() + PARSERS_WAIT_S
        while not self.stopping and time.monotonic() < deadline:
            if self.push.poll(0, zmq.POLLOUT):
                return
            self.service(0.01)

    def play(self, path: str) -> None:
        try:
            for batch in self.batches(path):
                self.pace(batch)
                if not self.send(RAW_ENCODER.encode(batch)):
                    return
                self.count("frames_out", len(batch.frames))
                self.count("batches_out")
        except OSError as exc:
            self.count("unreadable_files")
            self.notice(self.control, "error", "recording unreadable", f"{path}: {exc}")
        except recording.RecordingError as exc:
            # What came before the damage has been played; say what is missing and why.
            self.count("damaged_files")
            self.notice(self.control, "error", "recording damaged", str(exc))

    def batches(self, path: str) -> Iterator[RawBatch]:
        with open(path, "rb") as stream:
            for record in recording.read(stream, path):
                if not isinstance(record, recording.Frames):
                    continue
                if not record.sent:
                    self.count("recorded_drops")  # the venue sent it: we replay it
                raw = record.batch
                if raw.epoch != self.epoch:
                    self.epoch, self.batch_no = raw.epoch, 0
                batch = RawBatch(
                    raw.conn,
                    raw.epoch,
                    self.batch_no,
                    0,
                    raw.first_seq,
                    raw.frames,
                    raw.recv_ns,
                    raw.overlap,
                )
                self.batch_no += 1
                yield batch

    def pace(self, batch: RawBatch) -> None:
        """At speed x, wait until the batch's recorded time (from the origin) / x has passed."""
        if self.spec.speed <= 0 or not batch.recv_ns:
            return
        due = self.start + (batch.recv_ns[0] - self.spec.origin_ns) / 1e9 / self.spec.speed
        while not self.stopping and (left := due - time.monotonic()) > 0:
            self.service(min(left, 0.1))

    def send(self, payload: bytes) -> bool:
        """Wait for a parser to take it (never drop); False if we are told to stop."""
        while not self.stopping:
            if self.push.poll(100, zmq.POLLOUT):
                self.push.send(payload, zmq.NOBLOCK)
                self.service(0)
                return True
            self.service(0)
        return False

    def service(self, wait_s: float) -> None:
        if wait_s > 0:
            self.control.poll(int(wait_s * 1000))
        while self.control.poll(0):
            self.read_command(self.control.recv())
        self.tick(self.control, time.monotonic())

    def tick(self, sock: Any, now: float, *, force: bool = False) -> None:
        if force:
            self._next_report = 0.0
        super().tick(sock, now)

    def info(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "files": len(self.spec.replay),
            "started_ns": self.started_ns,
            "finished_ns": self.finished_ns,
        }


class RestReplayActor(Actor):
    kind = "rest_replay"

    def main(self) -> None:
        control = dealer(self.ctx, self.name, self.spec.coordinator)
        self.hello(control)
        self.answers, problems = load_answers(self.spec.replay)
        for problem in problems:
            # The answers before the damage are served; the rest will be 404s.
            self.count("damaged_files")
            self.notice(control, "error", "recording damaged", problem)
        served: dict[tuple[str, str], int] = {}
        lock = threading.Lock()
        actor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def answer(self) -> None:
                key = (self.command, self.path)
                with lock:
                    answers = actor.answers.get(key)
                    if answers:
                        i = served.get(key, 0)
                        served[key] = i + 1
                        rest = answers[min(i, len(answers) - 1)]
                        actor.count("answered")
                    else:
                        actor.count("not_recorded")
                if not answers:
                    body = f"not in the recording: {self.command} {self.path}".encode()
                    status = 404
                else:
                    body, status = rest.body, rest.status
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass  # the counters say it; a line per request would drown the log

        port = urlsplit(self.spec.venue.rest_url).port or 0
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
        thread.start()
        try:
            while not self.stopping:
                if control.poll(200):
                    while control.poll(0):
                        self.read_command(control.recv())
                with lock:
                    self.tick(control, time.monotonic())
        finally:
            server.shutdown()
            server.server_close()

    def info(self) -> dict[str, Any]:
        return {"recorded_calls": sum(len(a) for a in self.answers.values())}


def load_answers(
    paths: list[str],
) -> tuple[dict[tuple[str, str], list[recording.Rest]], list[str]]:
    """Recorded REST answers by (method, target), in recorded order, and what was wrong."""
    answers: dict[tuple[str, str], list[recording.Rest]] = {}
    problems: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as stream:
                for record in recording.read(stream, path):
                    if isinstance(record, recording.Rest):
                        answers.setdefault((record.method, record.target), []).append(record)
        except (OSError, recording.RecordingError) as exc:
            problems.append(
                str(exc) if isinstance(exc, recording.RecordingError) else f"{path}: {exc}"
            )
    return answers, problems
