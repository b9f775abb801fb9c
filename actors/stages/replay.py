"""Replay actor: recordings played back into the real parsers and handler, in place of one
connection actor (same name, same raw endpoint).

Sockets:
    PUSH    binds the connection's raw endpoint; the venue's parsers connect to it
    DEALER  connects to the coordinator (hello, reports with ``info.done``; Start, Stop)
    TCP     the venue's first replay actor binds 127.0.0.1:<port of the venue's rest_url>
            and answers the handler's REST calls from the handler's recordings

It pushes every recorded batch, the ones the recording connection had to drop included (the
venue sent them), renumbered per epoch so the handler's reorder sees a clean stream; epochs,
frame sequences, frames and receive times stay as recorded.  Pushing begins on the
coordinator's Start.  With ``speed`` > 0 each batch leaves at its recorded time / speed after
the start; with 0 as soon as a parser takes it: the send waits for room (back-pressure,
nothing dropped), which is what a benchmark needs.

REST answers keep their place in the stream (``RestAnswers``): an answer is served only once
the frames recorded before it have been pushed, and frames recorded after it wait until the
answer has been delivered to the handler.  So however fast the replay runs, the handler gets
its snapshot where it got it live, and publishes the same book versions.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import zmq

from actors import recording
from actors.control import Start, ToActor
from actors.messages import RAW_ENCODER, RawBatch
from actors.runtime.actor import Actor
from actors.runtime.transport import REPLAY_HWM, configure

PARSERS_WAIT_S = 10.0
UNASKED_WAIT_S = 2.0  # the handler did not get an answer it got live: go on without it
SERVE_WAIT_S = 5.0  # an answer waits at most this long for the stream to reach it
END = 1 << 62  # the stream's position once everything is pushed


class RestAnswers:
    """The recorded REST answers, each in its place in the stream (thread-safe: the HTTP
    server's threads take answers, the actor's loop advances the stream position)."""

    def __init__(self, answers: list[recording.Rest]) -> None:
        self.queues: dict[tuple[str, str], deque[recording.Rest]] = {}
        for rest in sorted(answers, key=lambda r: r.recv_ns):
            self.queues.setdefault((rest.method, rest.target), deque()).append(rest)
        self.last: dict[tuple[str, str], recording.Rest] = {}
        self.due: dict[int, int] = {id(r): r.recv_ns for r in answers}  # not yet delivered
        self.position_ns = 0  # recorded time of the next batch to push
        self.cond = threading.Condition()
        self.served = self.not_recorded = self.skipped = 0

    def take(self, method: str, target: str) -> recording.Rest | None:
        """The next answer for this call, once the stream has reached it; after the last,
        the last again; None if it was never recorded."""
        key = (method, target)
        with self.cond:
            queue = self.queues.get(key)
            if not queue:
                last = self.last.get(key)
                if last is None:
                    self.not_recorded += 1
                return last
            rest = queue.popleft()
            self.last[key] = rest
            self.cond.wait_for(lambda: self.position_ns > rest.recv_ns, SERVE_WAIT_S)
            self.served += 1
            return rest

    def delivered(self, rest: recording.Rest) -> None:
        """The answer has been written to the handler: the stream may pass it."""
        with self.cond:
            self.due.pop(id(rest), None)
            self.cond.notify_all()

    def advance(self, recv_ns: int) -> bool:
        """The stream is about to push frames recorded at ``recv_ns``.  True if it may: every
        answer recorded before that has been delivered to the handler.  (Delivered, not just
        asked for: pushed on at once, the stream would outrun the answer to the handler.)"""
        with self.cond:
            self.position_ns = recv_ns
            self.cond.notify_all()
            return not any(due < recv_ns for due in self.due.values())

    def give_up_before(self, recv_ns: int) -> int:
        """Stop waiting for answers recorded before ``recv_ns`` that were never delivered."""
        with self.cond:
            overdue = [key for key, due in self.due.items() if due < recv_ns]
            for key in overdue:
                del self.due[key]
            self.skipped += len(overdue)
            return len(overdue)


class ReplayActor(Actor):
    kind = "replay"

    def main(self) -> None:
        push = configure(self.ctx.socket(zmq.PUSH), hwm=REPLAY_HWM)
        self.push = self.bind(push, self.spec.raw[0])
        self.control = self.open_control()
        self.started = self.done = False
        self.started_ns = self.finished_ns = 0
        self.epoch, self.batch_no = 0, 0
        frames, rest = self.sort_files()
        self.answers = RestAnswers(self.load_answers(rest))
        # Answers recorded before the first frame (contract sizes at handler start) are due
        # at once: the handler may wait for them before it does anything else.
        self.answers.advance(self.first_recv_ns(frames) - 1)
        server = self.serve_rest() if self.spec.index == 0 else None
        try:
            while not self.started and not self.stopping:
                self.service(0.1)
            self.wait_for_parsers()
            self.started_ns = time.time_ns()
            self.start = time.monotonic()
            for path in frames:
                if self.stopping:
                    break
                self.play(path)
            self.answers.advance(END)
            self.finished_ns = time.time_ns()
            self.done = not self.stopping
            self.log.info("replayed %d frames", self.counters.get("frames_out", 0))
            self.tick(self.control, time.monotonic(), force=True)
            while not self.stopping:
                self.service(0.2)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()

    def on_command(self, msg: ToActor) -> None:
        if isinstance(msg, Start):
            self.started = True
        else:
            super().on_command(msg)

    # -- files ------------------------------------------------------------------------------

    def sort_files(self) -> tuple[list[str], list[str]]:
        """Connection recordings to push, handler recordings to answer REST calls from."""
        frames, rest = [], []
        for path in self.spec.replay:
            try:
                with open(path, "rb") as stream:
                    head = recording.read_header(stream, path)
            except (OSError, recording.RecordingError) as exc:
                self.damaged(path, exc)
                continue
            (rest if head.kind == "handler" else frames).append(path)
        return frames, rest

    def load_answers(self, paths: list[str]) -> list[recording.Rest]:
        answers: list[recording.Rest] = []
        for path in paths:
            try:
                with open(path, "rb") as stream:
                    for record in recording.read(stream, path):
                        if isinstance(record, recording.Rest):
                            answers.append(record)
            except (OSError, recording.RecordingError) as exc:
                self.damaged(path, exc)  # the answers before the damage are served
        return answers

    def first_recv_ns(self, paths: list[str]) -> int:
        for path in paths:
            with contextlib.suppress(OSError, recording.RecordingError), open(path, "rb") as f:
                for record in recording.read(f, path):
                    if isinstance(record, recording.Frames) and record.batch.recv_ns:
                        return record.batch.recv_ns[0]
        return END

    def damaged(self, path: str, exc: Exception) -> None:
        self.count("damaged_files")
        detail = str(exc) if isinstance(exc, recording.RecordingError) else f"{path}: {exc}"
        self.notice(self.control, "error", "recording unreadable", detail)

    # -- pushing ----------------------------------------------------------------------------

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
                self.wait_for_answers(batch)
                if not self.send(RAW_ENCODER.encode(batch)):
                    return
                self.count("frames_out", len(batch.frames))
                self.count("batches_out")
        except (OSError, recording.RecordingError) as exc:
            # What came before the damage has been played; say what is missing and why.
            self.damaged(path, exc)

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
                self.batch_no += 1
                yield RawBatch(
                    raw.conn,
                    raw.epoch,
                    self.batch_no - 1,
                    0,
                    raw.first_seq,
                    raw.frames,
                    raw.recv_ns,
                    raw.overlap,
                )

    def pace(self, batch: RawBatch) -> None:
        """At speed x, wait until the batch's recorded time (from the origin) / x has passed."""
        if self.spec.speed <= 0 or not batch.recv_ns:
            return
        due = self.start + (batch.recv_ns[0] - self.spec.origin_ns) / 1e9 / self.spec.speed
        while not self.stopping and (left := due - time.monotonic()) > 0:
            self.service(min(left, 0.1))

    def wait_for_answers(self, batch: RawBatch) -> None:
        """Hold the stream at a REST answer's recorded place until the handler asked for it."""
        if not batch.recv_ns:
            return
        recv_ns = batch.recv_ns[0]
        deadline = time.monotonic() + UNASKED_WAIT_S
        while not self.answers.advance(recv_ns) and not self.stopping:
            if time.monotonic() >= deadline:
                self.answers.give_up_before(recv_ns)
                return
            self.service(0.002)

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

    # -- REST -------------------------------------------------------------------------------

    def serve_rest(self) -> ThreadingHTTPServer:
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def answer(self) -> None:
                rest = answers.take(self.command, self.path)
                if rest is None:
                    body = f"not in the recording: {self.command} {self.path}".encode()
                    status = 404
                else:
                    body, status = rest.body, rest.status
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                if rest is not None:
                    # Delivered once the handler has read it all and hung up (urllib closes).
                    with contextlib.suppress(OSError):
                        self.connection.settimeout(1.0)
                        self.connection.recv(1)
                    answers.delivered(rest)

            def log_message(self, *_: Any) -> None:
                pass  # the counters say it; a line per request would drown the log

        port = urlsplit(self.spec.venue.rest_url).port or 0
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        return server

    def info(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "files": len(self.spec.replay),
            "started_ns": self.started_ns,
            "finished_ns": self.finished_ns,
            "rest_served": self.answers.served,
            "rest_unasked": self.answers.skipped,
            "rest_not_recorded": self.answers.not_recorded,
        }
