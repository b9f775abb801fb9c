"""Handler actor: restores wire order, keeps the books, publishes the normalized stream.

Sockets:
    PULL    binds the venue's events inbox; every parser of the venue connects to it
    XPUB    binds the venue's publish endpoint; consumers SUB by topic prefix, and each new
            subscription gets a snapshot of every live book it covers (late joiners)
    PUB     binds the venue's private endpoint (ipc, owner-only): orders, fills, balances,
            positions, which never go out on the public one
    DEALER  connects to the coordinator (hello, reports, notices)
REST snapshots (and futures contract sizes) are fetched on a small thread pool, so the loop
never waits on the network.  Books whose venue sends snapshots in the stream (Gate.io obu)
recover by asking the coordinator to renew their subscription instead.

What a consumer can rely on: a book is announced invalid (``BookReset``) before anything
could make it wrong, and valid again by a ``BookSnapshot``; deltas are only published for
valid books, in the venue's sequence order.  While a connection replaces its socket, the
two overlapping streams are merged: book deltas by their sequence ids, trades by trade id,
book tickers and top books by version, so the consumer sees each once and no reset.
"""

from __future__ import annotations

import contextlib
import random
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import zmq

from actors.backoff import delays
from actors.book import BookSync
from actors.control import Refused, Resubscribe
from actors.messages import (
    EVENT_BATCH_DECODER,
    PRIVATE_EVENTS,
    RAW_ENCODER,
    BookDelta,
    BookReset,
    BookSnapshot,
    BookTicker,
    Event,
    EventBatch,
    Pong,
    SubscriptionAck,
    SubscriptionError,
    TopBook,
    Trade,
    topic,
)
from actors.ordering import Lost, NewEpoch, Reorder
from actors.runtime import http
from actors.runtime.actor import Actor
from actors.runtime.transport import bind, configure, dealer
from actors.venues import FrameError, Subscription, load_venue

DRAIN_MAX = 256


class _Fetch:
    """One symbol's recovery: at most one snapshot fetch in flight, retries backing off."""

    def __init__(self) -> None:
        self.future: Future[bytes] | None = None
        self.not_before = 0.0
        self.retry = delays(base_s=0.2, cap_s=5.0, rng=random.Random())

    def back_off(self) -> None:
        self.not_before = time.monotonic() + next(self.retry)

    def forgive(self) -> None:
        self.retry = delays(base_s=0.2, cap_s=5.0, rng=random.Random())


class _Overlap:
    """What one connection's two overlapping sockets already delivered, to pass each item
    once.  Book deltas need nothing here: BookSync skips what it has by sequence id."""

    def __init__(self) -> None:
        self.trades: set[tuple[str, str]] = set()
        self.versions: dict[tuple[str, str], int] = {}

    def first_time(self, event: Event) -> bool:
        match event:
            case Trade(trade_id=trade_id) if trade_id:
                key = (event.symbol, trade_id)
                if key in self.trades:
                    return False
                self.trades.add(key)
            case BookTicker(seq=seq) | TopBook(seq=seq) if seq:
                key = (type(event).__name__, event.symbol)
                if seq <= self.versions.get(key, 0):
                    return False
                self.versions[key] = seq
        return True


class HandlerActor(Actor):
    kind = "handler"

    def main(self) -> None:
        spec = self.spec
        self.venue = load_venue(spec.venue.name, spec.venue.options)
        self.rest_url = (spec.venue.rest_url or self.venue.rest_url).rstrip("/")
        self.pull = bind(configure(self.ctx.socket(zmq.PULL)), spec.events)
        # A consumer that stops reading loses events past the HWM; we never wait for it.
        self.pub = configure(self.ctx.socket(zmq.XPUB), hwm=spec.venue.publish_hwm)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # hear every subscribe, not just new topics
        bind(self.pub, spec.venue.publish)
        self.private = bind(
            configure(self.ctx.socket(zmq.PUB), hwm=100_000), spec.venue.private_publish
        )
        self.control = dealer(self.ctx, self.name, spec.coordinator)
        self.hello(self.control)

        self.reorder = Reorder()
        self.books: dict[str, BookSync] = {}
        self.owner: dict[str, str] = {}  # symbol -> the connection whose stream feeds its book
        self.fetches: dict[str, _Fetch] = {}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="snapshot")
        self.rejected: dict[str, str] = {}
        self.overlapping: dict[str, _Overlap] = {}  # connections replacing their socket
        self.contract_sizes: dict[str, float] = {}  # native -> base units per contract
        self.contracts: Future[bytes] | None = None
        if hasattr(self.venue, "contracts_request"):
            # Wait for the first answer, so no futures event goes out without its size.
            self.refresh_contracts()
            with contextlib.suppress(Exception):
                assert self.contracts is not None
                self.contracts.result(timeout=http.TIMEOUT_S)
            self.service_contracts()
        try:
            self.loop()
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self.pull, zmq.POLLIN)
        poller.register(self.control, zmq.POLLIN)
        poller.register(self.pub, zmq.POLLIN)
        while not self.stopping:
            busy = (
                self.reorder.pending
                or self.contracts is not None
                or any(f.future for f in self.fetches.values())
            )
            ready = dict(poller.poll(10 if busy else 200))
            if self.control in ready:
                while self.control.poll(0):
                    self.read_command(self.control.recv())
            if self.pub in ready:
                while self.pub.poll(0):
                    self.on_subscriber(self.pub.recv())
            if self.pull in ready:
                for _ in range(DRAIN_MAX):
                    try:
                        raw = self.pull.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.receive(raw)
            now_ns = time.time_ns()
            for item in self.reorder.expire(now_ns):
                self.release(item)
            self.service_fetches()
            self.service_contracts()
            self.tick(self.control, time.monotonic())

    # -- ordered input ------------------------------------------------------------------------

    def receive(self, raw: bytes) -> None:
        try:
            batch = EVENT_BATCH_DECODER.decode(raw)
        except Exception as exc:
            self.count("bad_batches")
            self.log.error("undecodable event batch (%d bytes) dropped: %s", len(raw), exc)
            return
        self.count("batches_in")
        for item in self.reorder.push(batch, time.time_ns()):
            self.release(item)

    def release(self, item: EventBatch | NewEpoch | Lost) -> None:
        if isinstance(item, NewEpoch):
            self.count("sessions_seen")
            self.reset_connection(item.conn, "new session (reconnect)")
            if self.contract_sizes:
                self.refresh_contracts()  # a reconnect may follow a listing change
        elif isinstance(item, Lost):
            self.count("lost_batches", item.batches)
            self.reset_connection(item.conn, f"{item.batches} batch(es) lost between stages")
        else:
            self.handle_batch(item)

    def handle_batch(self, batch: EventBatch) -> None:
        if batch.dropped:
            self.count("upstream_drops", batch.dropped)
            self.reset_connection(batch.conn, f"connection dropped {batch.dropped} batch(es)")
        if batch.errors:
            self.count("parse_errors", len(batch.errors))
        self.count("frames_in", batch.frames)
        self.count("events_in", len(batch.events))
        overlap = self.overlapping.get(batch.conn)
        if batch.overlap and overlap is None:
            overlap = self.overlapping[batch.conn] = _Overlap()
            self.count("overlaps")
            for sync in self.books_of(batch.conn):
                sync.overlap(True)
        for event in batch.events:
            if overlap is None or overlap.first_time(event):
                self.handle(event, batch.conn)
            else:
                self.count("overlap_duplicates")
        if overlap is not None and not batch.overlap:
            del self.overlapping[batch.conn]
            for sync in self.books_of(batch.conn):
                self.publish_all(sync.overlap(False))

    def handle(self, event: Event, conn: str) -> None:
        match event:
            case BookDelta():
                self.owner[event.symbol] = conn
                sync = self.book(event)
                if conn in self.overlapping:
                    sync.overlap(True)  # a book first seen while its socket is being replaced
                before, invalid = sync.gaps, sync.invalid
                self.publish_all(sync.on_delta(event))
                if sync.gaps != before:
                    self.count("gaps")
                    self.notice(self.control, "warning", f"gap in {event.symbol}", "resyncing")
                if sync.invalid != invalid:  # crossed, or a level no venue could mean
                    self.count("invalid_books")
                    self.notice(self.control, "warning", f"{event.symbol} invalid", "resyncing")
                self.want_snapshot(event.symbol, sync)
            case Pong():
                self.count("pongs")
            case SubscriptionError():
                self.count("subscription_errors")
                if self.rejected.get(event.channel) != event.message:
                    self.rejected[event.channel] = event.message
                    self.notice(
                        self.control,
                        "error",
                        "subscription rejected",
                        f"{event.venue} {event.channel}: {event.message} (code {event.code})",
                    )
                    self._send(self.control, Refused(event.channel, event.message, event.code))
                self.publish(event)
            case SubscriptionAck():
                self.count("subscription_acks")
                self.publish(event)
            case _:
                self.publish(event)

    # -- books --------------------------------------------------------------------------------

    def book(self, event: Event) -> BookSync:
        sync = self.books.get(event.symbol)
        if sync is None:
            sync = self.books[event.symbol] = BookSync(event.venue, event.symbol, event.native)
            # A consumer may hold this book from our predecessor: say it is not valid yet.
            self.publish_all(sync.reset("handler started"))
        return sync

    def on_subscriber(self, message: bytes) -> None:
        """A consumer subscribed (first byte 1): send it every live book its prefix covers,
        so it need not wait for a resync.  Others get a snapshot equal to their book.  A book
        being rebuilt is announced as such: a consumer that reconnects to a restarted handler
        may have missed its reset and still hold the old book as valid."""
        if not message or message[0] != 1:
            return
        prefix = message[1:]
        for sync in self.books.values():
            event = sync.snapshot() or sync.not_valid("rebuilding (announced to a new subscriber)")
            if topic(event).startswith(prefix):
                self.count("late_joiner_snapshots" if sync.live else "late_joiner_resets")
                self.publish(event)

    def books_of(self, conn: str) -> list[BookSync]:
        return [self.books[s] for s, owner in self.owner.items() if owner == conn]

    def reset_connection(self, conn: str, reason: str) -> None:
        for symbol, owner in self.owner.items():
            if owner == conn and symbol in self.books:
                self.count("resyncs")
                self.publish_all(self.books[symbol].reset(reason))

    def want_snapshot(self, symbol: str, sync: BookSync) -> None:
        fetch = self.fetches.get(symbol)
        if fetch is None:
            fetch = self.fetches[symbol] = _Fetch()
        if not sync.wants_snapshot or fetch.future is not None:
            return
        if time.monotonic() < fetch.not_before:
            return
        sync.snapshot_started()
        if self.venue.book_sync == "stream":
            # The venue sends a full book after a fresh subscribe; renewals back off so a
            # flapping book cannot turn into a subscribe storm.
            self.count("renewals_requested")
            fetch.back_off()
            renew = Resubscribe([Subscription("order_book", symbol)], f"{symbol} book broke")
            self._send(self.control, renew)
            return
        self.count("snapshot_requests")
        request = self.venue.snapshot_request(symbol)
        fetch.future = self.pool.submit(http.call, self.rest_url, request)

    def service_fetches(self) -> None:
        for symbol, fetch in self.fetches.items():
            future = fetch.future
            if future is None:
                sync = self.books.get(symbol)
                if sync is not None and sync.wants_snapshot:
                    self.want_snapshot(symbol, sync)
                continue
            if not future.done():
                continue
            fetch.future = None
            sync = self.books[symbol]
            try:
                body = future.result()
                snapshot = self.venue.parse_snapshot(body, symbol, time.time_ns())
            except (OSError, FrameError, ValueError) as exc:
                self.count("snapshot_errors")
                self.log.warning("snapshot of %s failed: %s", symbol, exc)
                fetch.back_off()
                sync.snapshot_failed()
                continue
            published = sync.on_snapshot(snapshot)
            self.publish_all(published)
            if any(isinstance(e, BookSnapshot) for e in published):
                self.count("books_synced")
                fetch.forgive()
            elif sync.wants_snapshot:
                self.count("stale_snapshots")
                fetch.back_off()

    # -- futures contract sizes ---------------------------------------------------------------

    def refresh_contracts(self) -> None:
        if self.contracts is None:
            request = self.venue.contracts_request()  # type: ignore[attr-defined]
            self.contracts = self.pool.submit(http.call, self.rest_url, request)

    def service_contracts(self) -> None:
        future = self.contracts
        if future is None or not future.done():
            return
        self.contracts = None
        try:
            sizes = self.venue.parse_contracts(future.result())  # type: ignore[attr-defined]
        except (OSError, FrameError, ValueError) as exc:
            self.count("contracts_errors")
            self.notice(self.control, "error", "contract sizes unavailable", str(exc))
            return
        self.contract_sizes = sizes
        self.count("contracts_loaded")

    # -- output -------------------------------------------------------------------------------

    def publish_all(self, events: list[Event]) -> None:
        for event in events:
            self.publish(event)

    def publish(self, event: Event) -> None:
        if self.contract_sizes:
            size = self.contract_sizes.get(event.native)
            if size is not None:
                event = self.venue.with_contract_size(event, size)  # type: ignore[attr-defined]
        if isinstance(event, PRIVATE_EVENTS):
            self.private.send_multipart((topic(event), RAW_ENCODER.encode(event)))
            self.count("private_events_out")
        else:
            self.pub.send_multipart((topic(event), RAW_ENCODER.encode(event)))
            self.count("events_out")
        if isinstance(event, BookReset):
            self.count("book_resets")
        if event.recv_ns:
            self.window("receive_to_publish").record(time.time_ns() - event.recv_ns)

    def info(self) -> dict[str, Any]:
        live = sum(1 for sync in self.books.values() if sync.live)
        return {
            "books": len(self.books),
            "books_live": live,
            "buffered_deltas": {s: b.buffered for s, b in self.books.items() if b.buffered},
            "reorder_pending": self.reorder.pending,
            "late_batches": self.reorder.late,
            "rejected": dict(self.rejected),
        }
