"""Restores each connection's wire order after the parallel parsers.  [pure]

Rules (design invariant 2):

1. A connection numbers its batches per epoch (0, 1, 2, ...); a new epoch (a new websocket
   session) starts again at 0.  Batches are released strictly in that order.
2. A batch of an older epoch than the newest seen is late: it is discarded and counted.  Its
   session is over and its books are being rebuilt anyway.
3. A batch that does not arrive within ``timeout_ns`` of a later one, or while more than
   ``max_pending`` later ones wait, is lost (a parser died with it).  The order skips it and
   reports ``Lost``, so the handler can rebuild that connection's books.  The clock of each
   hole starts when the first batch after it arrived, so many holes (a stopped parser held
   every other batch) expire together instead of one timeout after another.
4. Time is an argument: ``push(batch, now_ns)`` and ``expire(now_ns)``.
5. A connection first seen at one of its session's first ``EARLY`` batches is taken from
   batch 0: the session has just begun and its first batches may overtake each other in the
   parsers (a replay pushing as fast as it can makes that certain).  Seen later (a restarted
   handler joining a running session), it starts where it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.messages import EventBatch


@dataclass(frozen=True, slots=True)
class NewEpoch:
    """The connection started a new session: its books must be rebuilt."""

    conn: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Lost:
    """``batches`` batches of the connection will never arrive."""

    conn: str
    batches: int


Released = EventBatch | NewEpoch | Lost


@dataclass(slots=True)
class _Stream:
    epoch: int
    next: int
    pending: dict[int, EventBatch] = field(default_factory=dict)
    arrived: dict[int, int] = field(default_factory=dict)  # pending batch -> when it came
    waiting_since: int | None = None


EARLY = 16


class Reorder:
    def __init__(self, *, timeout_ns: int = 500_000_000, max_pending: int = 1024) -> None:
        self.timeout_ns = timeout_ns
        self.max_pending = max_pending
        self._streams: dict[str, _Stream] = {}
        self.late = 0  # batches discarded as late or duplicate
        self.lost = 0  # batches skipped as never arriving

    @property
    def pending(self) -> int:
        return sum(len(s.pending) for s in self._streams.values())

    def push(self, batch: EventBatch, now_ns: int) -> list[Released]:
        stream = self._streams.get(batch.conn)
        out: list[Released] = []
        if stream is None or batch.epoch > stream.epoch:
            if stream is not None and stream.pending:
                self.lost += len(stream.pending)
            # A stream first seen mid-session (say after a handler restart) starts where it
            # is; one that has just begun starts at 0 (rule 5).
            start = batch.batch if stream is None and batch.batch >= EARLY else 0
            stream = self._streams[batch.conn] = _Stream(epoch=batch.epoch, next=start)
            out.append(NewEpoch(batch.conn, batch.epoch))
        elif batch.epoch < stream.epoch or batch.batch < stream.next:
            self.late += 1
            return out
        if batch.batch == stream.next:
            out.append(batch)
            stream.next += 1
            self._drain(stream, out, now_ns)
        else:
            stream.pending[batch.batch] = batch
            stream.arrived[batch.batch] = now_ns
            if stream.waiting_since is None:
                stream.waiting_since = now_ns
            if len(stream.pending) > self.max_pending:
                self._skip(batch.conn, stream, out, now_ns)
        return out

    def expire(self, now_ns: int) -> list[Released]:
        """Give up on batches that are overdue; call it periodically."""
        out: list[Released] = []
        for conn, stream in self._streams.items():
            while stream.waiting_since is not None and (
                now_ns - stream.waiting_since >= self.timeout_ns
            ):
                self._skip(conn, stream, out, now_ns)
        return out

    def forget(self, conn: str) -> None:
        self._streams.pop(conn, None)

    def _skip(self, conn: str, stream: _Stream, out: list[Released], now_ns: int) -> None:
        first = min(stream.pending)
        missing = first - stream.next
        self.lost += missing
        out.append(Lost(conn, missing))
        stream.next = first
        self._drain(stream, out, now_ns)

    @staticmethod
    def _drain(stream: _Stream, out: list[Released], now_ns: int) -> None:
        pending, arrived = stream.pending, stream.arrived
        while stream.next in pending:
            out.append(pending.pop(stream.next))
            arrived.pop(stream.next, None)
            stream.next += 1
        # Still waiting: for the batch before the first one that came, since that came.
        stream.waiting_since = arrived[min(pending)] if pending else None
