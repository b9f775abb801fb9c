"""Parser actor: raw frame batches -> normalized event batches.

Sockets:
    PULL    connects to every connection actor's raw endpoint of its venue (fair-queued)
    PUSH    connects to the venue handler's inbox
    DEALER  connects to the coordinator (hello, reports, commands)

N of these run per venue.  They keep no state between batches, so any of them can parse any
batch; the handler restores each connection's order from the batch stamps.
"""

from __future__ import annotations

import time

import zmq

from actors.control import SetSources, ToActor
from actors.messages import (
    FORWARDED,
    RAW_DECODER,
    RAW_ENCODER,
    Event,
    EventBatch,
    ParseError,
    Published,
    RawBatch,
    topic,
)
from actors.runtime.actor import Actor
from actors.runtime.transport import DATA_HWM, configure
from actors.venues import FrameError, Venue, load_venue

DRAIN_MAX = 64  # batches handled per poll wake-up before looking at control again
EXCERPT = 120


class ParserActor(Actor):
    kind = "parser"

    def main(self) -> None:
        self.venue = load_venue(self.spec.venue.name, self.spec.venue.options)
        # Futures events get their contract size in the handler, so they travel decoded there.
        self.topics: dict[tuple[type, str], bytes] | None = (
            None if hasattr(self.venue, "contracts_request") else {}
        )
        hwm = self.spec.data_hwm or DATA_HWM
        self.pull = pull = configure(self.ctx.socket(zmq.PULL), hwm=hwm)
        self.sources: set[str] = set()
        self.set_sources(self.spec.raw)
        push = configure(self.ctx.socket(zmq.PUSH), hwm=hwm)
        push.setsockopt(zmq.SNDTIMEO, 100)
        push.connect(self.spec.events)
        control = self.open_control()

        poller = zmq.Poller()
        poller.register(pull, zmq.POLLIN)
        poller.register(control, zmq.POLLIN)
        while not self.stopping:
            ready = dict(poller.poll(200))
            if control in ready:
                self.read_commands(control)
            if pull in ready:
                for _ in range(DRAIN_MAX):
                    try:
                        raw = pull.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    out = self.parse(raw)
                    if out is not None:
                        self.forward(push, out)
                    self.tick(control, time.monotonic())  # a big backlog is no silence
            self.tick(control, time.monotonic())

    def read_commands(self, control: zmq.Socket) -> None:  # type: ignore[type-arg]
        while control.poll(0):
            self.read_command(control.recv())

    def on_command(self, msg: ToActor) -> None:
        if isinstance(msg, SetSources):
            self.set_sources(msg.endpoints)
        else:
            super().on_command(msg)

    def set_sources(self, endpoints: list[str]) -> None:
        """Connect to new connection actors (a venue grew), leave removed ones."""
        wanted = set(endpoints)
        for endpoint in wanted - self.sources:
            self.pull.connect(endpoint)
        for endpoint in self.sources - wanted:
            self.pull.disconnect(endpoint)
        self.sources = wanted

    def parse(self, raw: bytes) -> bytes | None:
        started = time.perf_counter_ns()
        try:
            batch = RAW_DECODER.decode(raw)
        except Exception as exc:  # the handler will see the batch number missing and resync
            self.count("bad_batches")
            self.log.error("undecodable raw batch (%d bytes) dropped: %s", len(raw), exc)
            return None
        events, errors = parse_frames(self.venue, batch)
        elapsed = time.perf_counter_ns() - started
        frames = len(batch.frames)
        self.count("batches_in")
        self.count("frames_in", frames)
        self.count("events_out", len(events))
        if errors:
            self.count("parse_errors", len(errors))
            for err in errors[:3]:
                self.log.warning(
                    "parse error: %s frame #%d: %s | %s",
                    batch.conn,
                    err.seq,
                    err.reason,
                    err.excerpt,
                )
        if frames:
            self.window("parse_per_frame").record(elapsed // frames)
        out = EventBatch(
            batch.conn,
            batch.epoch,
            batch.batch,
            batch.dropped,
            frames,
            events if self.topics is None else published_form(events, self.topics),
            errors,
            elapsed,
            batch.overlap,
            batch.recv_ns[-1] if batch.recv_ns else 0,
        )
        return RAW_ENCODER.encode(out)

    def forward(self, push: zmq.Socket, payload: bytes) -> None:  # type: ignore[type-arg]
        # Blocking with a timeout: the handler's back-pressure stalls us, which fills our
        # inbox, which makes the connection actor drop and count -- never grow memory.
        # Stalled is not hung: we go on reporting and obeying commands while we wait.
        while not self.stopping:
            try:
                push.send(payload)
                return
            except zmq.Again:
                self.count("send_waits")
                assert self.control is not None
                self.read_commands(self.control)
                self.tick(self.control, time.monotonic())


def parse_frames(venue: Venue, batch: RawBatch) -> tuple[list[Event], list[ParseError]]:
    """Parse every frame of a batch; a bad frame becomes a ParseError and the rest go on."""
    events: list[Event] = []
    errors: list[ParseError] = []
    parse = venue.parse_frame
    seq = batch.first_seq
    for frame, recv_ns in zip(batch.frames, batch.recv_ns, strict=True):
        try:
            events.extend(parse(frame, recv_ns))
        except FrameError as exc:
            errors.append(ParseError(seq, str(exc), _excerpt(frame)))
        except Exception as exc:  # a parser bug must cost one frame, not the process
            errors.append(ParseError(seq, f"internal {type(exc).__name__}: {exc}", _excerpt(frame)))
        seq += 1
    return events, errors


def published_form(
    events: list[Event], topics: dict[tuple[type, str], bytes]
) -> list[Event | Published]:
    """The events the handler only passes on, as the (topic, payload) it publishes; the rest
    as they are.  ``topics`` caches topics by (type, symbol) for one venue."""
    out: list[Event | Published] = []
    encode = RAW_ENCODER.encode
    for event in events:
        kind = type(event)
        if kind in FORWARDED:
            name = topics.get((kind, event.symbol))
            if name is None:
                name = topics[kind, event.symbol] = topic(event)
            out.append((name, encode(event)))
        else:
            out.append(event)
    return out


def _excerpt(frame: str | bytes) -> str:
    if isinstance(frame, bytes):
        return frame[:EXCERPT].hex()
    return frame[:EXCERPT]
