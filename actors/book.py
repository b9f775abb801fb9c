"""Local L2 order books and the per-symbol state machine that keeps them exact.  [pure]

The handler actor owns one ``BookSync`` per symbol, feeds it the venue's deltas and REST
snapshots in wire order, performs the REST fetches it asks for, and publishes the events it
returns.  This module does no I/O and reads no clock.

Sequence rules (Gate.io ``spot.order_book_update`` / ``futures.order_book_update``; MEXC's
``fromVersion``/``toVersion`` chain is the same rule).  A delta covers venue update ids
``first_seq..seq`` (Gate ``U..u``); a snapshot is the book at id ``seq`` (Gate's REST ``id``,
called baseID below).

Rule 1: while no valid book exists, buffer every delta, and ask for a REST snapshot once at
        least one delta is buffered (a snapshot fetched later can be checked against it).
Rule 2: given a snapshot, drop the buffered deltas with ``seq < baseID + 1``: the snapshot
        already contains them.
Rule 3: if the first remaining delta has ``first_seq > baseID + 1``, the snapshot is behind
        the stream: it is stale; fetch again.
Rule 4: otherwise that delta has ``first_seq <= baseID + 1 <= seq``: load the snapshot, apply
        it and every later buffered delta; the book is live at the last applied ``seq``.
        If rule 2 dropped every buffered delta, the stream is at or before baseID and, being
        contiguous, will chain onto it: the book is live at baseID now (quiet markets would
        otherwise wait for their next change).  If no delta was buffered at all, keep the
        snapshot pending and let the next delta decide by rules 2 to 4.
Rule 5: once live, every delta needs ``first_seq <= local + 1 <= seq`` (normally
        ``first_seq == local + 1``).  ``seq <= local`` is a duplicate and is ignored;
        ``first_seq > local + 1`` is a gap: updates were lost, so the book is reset and
        rebuilt from rule 1.  Amounts are absolute, so re-applying an overlap is harmless.
Rule 6: a delta with ``full=True`` is the whole book, in any state: replace the book, set
        local = its ``seq``, drop the buffer and any pending snapshot.
Rule 8: a book is never valid while it is crossed (best bid >= best ask) or holds a level
        that is not a finite positive price with a finite, non-negative quantity: no venue
        publishes such a book, so ours is out of step (or the input is garbage).  A live book
        that gets there is reset and rebuilt; a snapshot that would make one is stale.
Rule 7: the buffer is bounded; on overflow it is dropped (and counted), and rule 1 restarts.
        While buffering, a delta that does not chain onto the previous one makes the older
        ones useless: the buffer restarts from it (a gap, counted).

What the consumer sees: ``BookReset`` when a valid book stops being valid (always before it
could be trusted wrongly), then one ``BookSnapshot`` when the book is live again, then the
deltas that were applied.  Nothing is published while the book is being rebuilt.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from actors.messages import BookDelta, BookReset, BookSnapshot, Event, Level

__all__ = ["BookSync", "OrderBook"]


class OrderBook:
    """Price -> quantity on each side.  Quantities are absolute; 0 deletes a level."""

    __slots__ = ("asks", "bids")
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def load(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Replace the whole book."""
        self.clear()
        self.apply(bids, asks)

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        _apply_side(self.bids, bids)
        _apply_side(self.asks, asks)

    def top(self, n: int | None = None) -> tuple[list[Level], list[Level]]:
        """(bids best-first, asks best-first), at most ``n`` levels each (all if None)."""
        if n is None:
            bids = sorted(self.bids.items(), reverse=True)
            asks = sorted(self.asks.items())
        else:
            bids = heapq.nlargest(n, self.bids.items())
            asks = heapq.nsmallest(n, self.asks.items())
        return bids, asks

    def levels(self) -> tuple[list[Level], list[Level]]:
        """The whole book as comparable values: (bids best-first, asks best-first)."""
        return self.top()

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderBook):
            return NotImplemented
        return self.bids == other.bids and self.asks == other.asks

    def __repr__(self) -> str:
        bids, asks = self.top(1)
        return f"OrderBook({len(self.bids)} bids, {len(self.asks)} asks, top {bids} / {asks})"


INF = float("inf")
NAN = float("nan")


def bad_level(levels: Iterable[Level]) -> Level | None:
    """The first level that no venue could mean (NaN, infinite, price <= 0, qty < 0)."""
    for level in levels:
        price, qty = level
        if not (0.0 < price < INF and 0.0 <= qty < INF):  # NaN fails every comparison
            return level
    return None


def crossing(book: OrderBook) -> str | None:
    """Why ``book`` is crossed, or None (an O(n) check, for whole books)."""
    if book.bids and book.asks:
        bid, ask = max(book.bids), min(book.asks)
        if bid >= ask:
            return f"crossed: best bid {bid} >= best ask {ask}"
    return None


def _apply_bids(side: dict[float, float], levels: Iterable[Level]) -> float:
    """Apply bid levels; the highest price added (-inf if none), NaN at an impossible level
    (the book is then dropped whole, so what was applied before it does not matter)."""
    top = -INF
    for price, qty in levels:
        if qty:
            if not (0.0 < price < INF and 0.0 < qty < INF):  # NaN fails every comparison
                return NAN
            side[price] = qty
            if price > top:
                top = price
        elif 0.0 < price < INF:
            side.pop(price, None)
        else:
            return NAN
    return top


def _apply_asks(side: dict[float, float], levels: Iterable[Level]) -> float:
    """As ``_apply_bids``; the lowest price added (inf if none)."""
    low = INF
    for price, qty in levels:
        if qty:
            if not (0.0 < price < INF and 0.0 < qty < INF):
                return NAN
            side[price] = qty
            if price < low:
                low = price
        elif 0.0 < price < INF:
            side.pop(price, None)
        else:
            return NAN
    return low


def _apply_side(side: dict[float, float], levels: Iterable[Level]) -> None:
    for price, qty in levels:
        if qty:
            side[price] = qty
        else:
            side.pop(price, None)


class BookSync:
    """One symbol's book and its sequence state (see the rules in the module docstring).

    Each ``on_*`` method returns the events the handler must publish, in order.  The handler
    starts a REST fetch when ``wants_snapshot`` is True, calls ``snapshot_started()`` as it
    does, and passes the result to ``on_snapshot`` (or calls ``snapshot_failed()``).
    """

    def __init__(self, venue: str, symbol: str, native: str, max_buffer: int = 10_000) -> None:
        if max_buffer < 1:
            raise ValueError(f"max_buffer must be at least 1, got {max_buffer}")
        self.venue = venue
        self.symbol = symbol
        self.native = native
        self.max_buffer = max_buffer
        self._book = OrderBook()
        self._seq = 0
        self._live = False
        self._buffer: list[BookDelta] = []  # contiguous chain of deltas, oldest first
        self._pending: BookSnapshot | None = None  # a snapshot waiting for its first delta
        self._fetching = False  # a REST fetch is under way
        self._refetch = False  # the last snapshot was stale: fetch again
        self._overlap = False  # two sockets of one connection feed us (a rotation)
        self._ahead: dict[int, BookDelta] = {}  # deltas past a hole the other socket may fill
        # Bounds on the live book's best prices (see _apply_live): rule 8 then costs
        # O(levels in the delta), not O(book).  INF / -INF: unknown, look at the book.
        self._bid_ceiling = INF
        self._ask_floor = -INF
        self.gaps = 0  # sequence breaks (live or while buffering)
        self.resyncs = 0  # BookReset events emitted
        self.stale_snapshots = 0  # snapshots behind the stream, fetched again
        self.overflows = 0  # buffer overflows (buffer dropped)
        self.invalid = 0  # books found crossed or holding impossible levels (rule 8)

    # -- state ------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True while the book is valid and deltas are published."""
        return self._live

    @property
    def wants_snapshot(self) -> bool:
        """True when the handler should start a REST fetch now."""
        if self._live or self._fetching or self._pending is not None:
            return False
        return bool(self._buffer) or self._refetch

    @property
    def book(self) -> OrderBook:
        return self._book

    @property
    def seq(self) -> int:
        """The venue update id the book is at (0 when there is no book)."""
        return self._seq

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    # -- inputs -----------------------------------------------------------------------------

    def snapshot_started(self) -> None:
        self._fetching = True
        self._refetch = False

    def snapshot_failed(self) -> None:
        """The fetch failed (network, FrameError): ask again on the next occasion."""
        self._fetching = False
        self._refetch = True

    def on_delta(self, delta: BookDelta) -> list[Event]:
        if delta.symbol != self.symbol:  # checked inline: this is the per-delta hot path
            self._check_symbol(delta.symbol)
        if delta.full:
            return self._replace(delta)
        if self._live:
            return self._on_live_delta(delta)
        if self._pending is not None:
            return self._on_pending_delta(delta)
        self._buffer_delta(delta)
        return []

    def on_snapshot(self, snap: BookSnapshot) -> list[Event]:
        self._check_symbol(snap.symbol)
        self._fetching = False
        if self._live:
            return []  # a full push made the book live meanwhile; it is newer
        if not self._buffer:
            self._pending = snap  # rule 4: the next delta decides
            return []
        base = snap.seq
        buffer = [d for d in self._buffer if d.seq > base]  # rule 2
        if buffer and buffer[0].first_seq > base + 1:
            self._buffer = buffer
            return self._stale()  # rule 3
        return self._go_live(snap, buffer, snap.ts, snap.recv_ns)

    def overlap(self, on: bool) -> list[Event]:
        """A connection is replacing its socket: for a while two streams of the same book
        interleave.  Duplicates are already ignored; while ``on``, a delta that runs ahead
        waits for the other socket to fill the hole instead of counting as a gap.  Turning
        it off settles: a hole nobody filled is a gap after all."""
        self._overlap = on
        if on or not self._ahead:
            return []
        first = min(self._ahead)
        self._ahead.clear()
        if not self._live:
            return []
        self.gaps += 1
        expected = self._seq + 1
        self._drop()
        return [self._reset_event(f"gap: expected U={expected}, got U={first}", 0, 0)]

    def snapshot(self) -> BookSnapshot | None:
        """The live book as a snapshot (for a consumer that just attached), else None."""
        return self._snapshot_event(0, 0) if self._live else None

    def not_valid(self, reason: str) -> BookReset:
        """A BookReset saying the book is not valid now, changing nothing (for a consumer
        that may not have seen the reset that made it so)."""
        return BookReset(
            venue=self.venue, symbol=self.symbol, native=self.native, ts=0, recv_ns=0, reason=reason
        )

    def reset(self, reason: str) -> list[Event]:
        """Drop everything and rebuild; a fetch under way is forgotten (its result is still
        aligned by the rules if it arrives)."""
        self._drop()
        self._fetching = False
        return [self._reset_event(reason, 0, 0)]

    # -- transitions ------------------------------------------------------------------------

    def _on_live_delta(self, delta: BookDelta) -> list[Event]:
        expected = self._seq + 1
        if delta.seq < expected:
            return []  # duplicate: already in the book
        if delta.first_seq > expected:
            if self._overlap and len(self._ahead) < self.max_buffer:
                self._ahead[delta.first_seq] = delta
                return []
            self.gaps += 1
            self._drop()
            self._buffer = [delta]
            reason = f"gap: expected U={expected}, got U={delta.first_seq}"
            return [self._reset_event(reason, delta.ts, delta.recv_ns)]
        broken = self._apply_live(delta)
        if broken:
            return self._broken(broken, delta)
        self._seq = delta.seq
        return [delta, *self._catch_up()] if self._ahead else [delta]

    def _apply_live(self, delta: BookDelta) -> str | None:
        """Apply a delta to the live book; why the book is no longer valid (rule 8), or None.

        Before the delta the book was not crossed, and deleting a level cannot cross it:
        only an added bid at or above the best ask (or an added ask at or below the best
        bid) can.  ``_ask_floor`` <= the best ask and ``_bid_ceiling`` >= the best bid
        (deletions leave them as bounds), so the O(book) min/max runs only when an added
        level reaches a bound -- rarely, since bids sit below asks."""
        book = self._book
        added_bid = _apply_bids(book.bids, delta.bids)
        added_ask = _apply_asks(book.asks, delta.asks)
        if added_bid != added_bid or added_ask != added_ask:  # NaN: an impossible level
            bad = bad_level(delta.bids) or bad_level(delta.asks)
            return f"invalid level {bad} in update U={delta.first_seq} u={delta.seq}"
        ceiling = max(self._bid_ceiling, added_bid)
        floor = min(self._ask_floor, added_ask)
        if added_bid >= floor:
            floor = min(book.asks, default=INF)
            if added_bid >= floor:
                return f"crossed: bid {added_bid} >= best ask {floor} after u={delta.seq}"
        if added_ask <= ceiling:
            ceiling = max(book.bids, default=-INF)
            if added_ask <= ceiling:
                return f"crossed: ask {added_ask} <= best bid {ceiling} after u={delta.seq}"
        self._bid_ceiling, self._ask_floor = ceiling, floor
        return None

    def _broken(self, reason: str, delta: BookDelta) -> list[Event]:
        """Rule 8 on a live book: reset, and fetch a fresh snapshot."""
        self.invalid += 1
        self._drop()
        self._refetch = True
        return [self._reset_event(reason, delta.ts, delta.recv_ns)]

    def _catch_up(self) -> list[BookDelta]:
        """Apply held deltas that now chain on, in order; drop the ones already covered."""
        applied: list[BookDelta] = []
        while self._ahead:
            first = min(self._ahead)
            delta = self._ahead[first]
            if delta.seq <= self._seq:
                del self._ahead[first]
            elif first <= self._seq + 1:
                del self._ahead[first]
                if self._apply_live(delta) is not None:
                    break  # the next live delta's checks see the book; rare (a rotation)
                self._seq = delta.seq
                applied.append(delta)
            else:
                break
        return applied

    def _on_pending_delta(self, delta: BookDelta) -> list[Event]:
        snap = self._pending
        assert snap is not None
        self._pending = None
        deltas: list[BookDelta]
        if delta.seq <= snap.seq:
            deltas = []  # rule 2: covered, and proof that the stream is not ahead
        elif delta.first_seq > snap.seq + 1:
            self._buffer = [delta]
            return self._stale()  # rule 3
        else:
            deltas = [delta]
        return self._go_live(snap, deltas, delta.ts, delta.recv_ns)

    def _buffer_delta(self, delta: BookDelta) -> None:
        buffer = self._buffer
        if buffer:
            last = buffer[-1].seq
            if delta.seq <= last:
                return  # duplicate
            if delta.first_seq > last + 1:
                self.gaps += 1  # rule 7: the older deltas can never be used
                buffer.clear()
        buffer.append(delta)
        if len(buffer) > self.max_buffer:
            self.overflows += 1
            buffer.clear()

    def _replace(self, delta: BookDelta) -> list[Event]:
        """Rule 6: a full push is the whole book (unless rule 8 refuses it)."""
        was_live = self._live
        self._drop()
        bad = bad_level(delta.bids) or bad_level(delta.asks)
        self._book.load(delta.bids, delta.asks)
        broken = f"invalid level {bad} in full book u={delta.seq}" if bad else crossing(self._book)
        if broken:
            self.invalid += 1
            self._drop()
            self._refetch = True
            return [self._reset_event(broken, delta.ts, delta.recv_ns)] if was_live else []
        self._seq = delta.seq
        self._bid_ceiling = max(self._book.bids, default=-INF)
        self._ask_floor = min(self._book.asks, default=INF)
        self._live = True
        return [self._snapshot_event(delta.ts, delta.recv_ns)]

    def _go_live(
        self, snap: BookSnapshot, deltas: list[BookDelta], ts: int, recv_ns: int
    ) -> list[Event]:
        """Rule 4: the snapshot plus the chained deltas that follow it (rule 8 checked)."""
        self._buffer = []
        book = self._book
        book.load(snap.bids, snap.asks)
        self._seq = snap.seq
        bad = bad_level(snap.bids) or bad_level(snap.asks)
        for delta in deltas:  # a contiguous chain (rule 7 keeps the buffer so)
            bad = bad or bad_level(delta.bids) or bad_level(delta.asks)
            book.apply(delta.bids, delta.asks)
            self._seq = delta.seq
        if bad is not None or crossing(book) is not None:
            self.invalid += 1
            self._drop()
            return self._stale()  # fetch again: the next snapshot and stream may agree
        self._bid_ceiling = max(book.bids, default=-INF)
        self._ask_floor = min(book.asks, default=INF)
        self._live = True
        return [self._snapshot_event(ts, recv_ns)]

    def _stale(self) -> list[Event]:
        self.stale_snapshots += 1
        self._refetch = True
        return []

    def _drop(self) -> None:
        self._bid_ceiling, self._ask_floor = INF, -INF
        self._ahead.clear()
        self._book.clear()
        self._seq = 0
        self._live = False
        self._buffer = []
        self._pending = None
        self._refetch = False

    # -- events -----------------------------------------------------------------------------

    def _snapshot_event(self, ts: int, recv_ns: int) -> BookSnapshot:
        bids, asks = self._book.top()
        return BookSnapshot(
            venue=self.venue,
            symbol=self.symbol,
            native=self.native,
            ts=ts,
            recv_ns=recv_ns,
            bids=bids,
            asks=asks,
            seq=self._seq,
        )

    def _reset_event(self, reason: str, ts: int, recv_ns: int) -> BookReset:
        self.resyncs += 1
        return BookReset(
            venue=self.venue,
            symbol=self.symbol,
            native=self.native,
            ts=ts,
            recv_ns=recv_ns,
            reason=reason,
        )

    def _check_symbol(self, symbol: str) -> None:
        if symbol != self.symbol:
            raise ValueError(f"BookSync({self.symbol}) was given an event for {symbol}")

    def __repr__(self) -> str:
        state = "live" if self._live else "pending" if self._pending else "awaiting"
        return f"BookSync({self.venue} {self.symbol} {state} seq={self._seq})"
