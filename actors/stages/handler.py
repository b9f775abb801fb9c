"""Handler actor: restores wire order, keeps the books, publishes the normalized stream.

Sockets:
    PULL    binds the venue's events inbox; every parser of the venue connects to it
    XPUB    binds the venue's publish endpoint; consumers SUB by topic prefix, and each new
            subscription gets a snapshot of every live book it covers (late joiners)
    PUB     binds the venue's private endpoint: orders, fills, balances, positions, which
            never go out on the public one; ipc in the owner-only run directory by default,
            or tcp as a CURVE server admitting only the authorized client keys
    DEALER  connects to the coordinator (hello, reports, notices)
REST snapshots (and futures contract sizes) are fetched on a small thread pool, so the loop
never waits on the network; with ``record`` in its spec, each answer also goes to a recording
(``actors/recording.py``), so a replay can rebuild the books without the venue.  Books whose
venue sends snapshots in the stream (Gate.io obu) recover by asking the coordinator to renew
their subscription instead.

Staleness (``actors/staleness.py``): every event restarts its subscription's clock; one that
stays silent past its channel's threshold while its connection still delivers is counted,
its book reset at once, and just that subscription renewed through the coordinator; the book
resyncs as soon as data flows again.  A silent socket is the connection's to replace.

What a consumer can rely on: a book is announced invalid (``BookReset``) before anything
could make it wrong, and valid again by a ``BookSnapshot``; deltas are only published for
valid books, in the venue's sequence order.  While a connection replaces its socket, the
two overlapping streams are merged: book deltas by their sequence ids, trades by trade id,
book tickers and top books by version, so the consumer sees each once and no reset.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import zmq

from actors import recording
from actors.backoff import delays
from actors.book import BookSync
from actors.control import Refused, Resubscribe, ToActor, Watch
from actors.messages import (
    EVENT_BATCH_DECODER,
    EVENT_DECODER,
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
from actors.runtime.curve import Authorizer, ServerKeys, serve_curve
from actors.runtime.recorder import for_actor
from actors.runtime.transport import DATA_HWM, configure
from actors.staleness import CHANNEL_OF, Stale, Watchdog
from actors.topology import needs_curve
from actors.venues import FrameError, RestRequest, Subscription, load_venue

DRAIN_MAX = 256
STALE_CHECK_S = 0.1  # how often the watchdog is asked
# After we bind the publish socket, consumers of a predecessor need one reconnect interval
# (ZeroMQ's default: 100 ms) to find us; no book goes live before this, so every consumer
# hears the book_reset (or is sent one as it subscribes) before the book_snapshot.
REJOIN_S = 0.5
SNDMORE = int(zmq.SNDMORE)  # a plain int: pyzmq's enum flags cost a Python call per use
# [topic, payload] as two sends of the Cython socket's own send: pyzmq's send_multipart costs
# ~5x as much per message, and zmq.Socket.send's Python wrapper (routing_id/group, keyword
# call) ~0.5 us of the ~1 us a send costs.
_send = zmq.backend.Socket.send


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
        inbox = configure(self.ctx.socket(zmq.PULL), hwm=spec.data_hwm or DATA_HWM)
        self.pull = self.bind(inbox, spec.events)
        # A consumer that stops reading loses events past the HWM; we never wait for it.
        self.pub = configure(self.ctx.socket(zmq.XPUB), hwm=spec.venue.publish_hwm)
        self.pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # hear every subscribe, not just new topics
        self.bind(self.pub, spec.venue.publish)
        self.private = configure(self.ctx.socket(zmq.PUB), hwm=100_000)
        self.authorizer: Authorizer | None = None
        if needs_curve(spec.venue.private_publish):
            assert spec.curve is not None  # the topology refuses tcp private without curve
            keys = ServerKeys.load(spec.curve)
            where = f"{self.name} private {spec.venue.private_publish}"
            self.authorizer = Authorizer(self.ctx, keys.authorized, where)
            serve_curve(self.private, keys.pair)
        self.bind(self.private, spec.venue.private_publish)
        self.control = self.open_control()
        self.rebuild_after = time.monotonic() + REJOIN_S
        self.recorder = for_actor(spec, self.rest_url)
        self.recording_failed = False
        self.last_input_ns = 0  # when the last batch was released: replay measures with it
        self.fetched = False  # a snapshot fetch has finished since service_fetches last ran

        self.reorder = Reorder()
        self.topics: dict[tuple[type, str, str], bytes] = {}  # (type, venue, symbol) -> topic
        self.routes: dict[bytes, tuple[str | None, str]] = {}  # see route()
        self.latency_window = self.window("receive_to_publish")
        self.books: dict[str, BookSync] = {}
        self.owner: dict[str, str] = {}  # symbol -> the connection whose stream feeds its book
        self.fetches: dict[str, _Fetch] = {}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="snapshot")
        self.rejected: dict[str, str] = {}
        self.overlapping: dict[str, _Overlap] = {}  # connections replacing their socket
        self.contract_sizes: dict[str, float] = {}  # native -> base units per contract
        self.contracts: Future[bytes] | None = None
        self.watchdog = Watchdog(self.venue.stale_after)
        self.next_stale_check = 0.0
        if hasattr(self.venue, "contracts_request"):
            # Wait for the first answer, so no futures event goes out without its size.
            self.refresh_contracts()
            deadline = time.monotonic() + http.TIMEOUT_S
            while not self.stopping and time.monotonic() < deadline:
                assert self.contracts is not None
                if wait([self.contracts], timeout=0.1).done:
                    break
                self.tick(self.control, time.monotonic())  # waiting is not hanging
            self.service_contracts()
        try:
            self.loop()
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
            if self.authorizer is not None:
                self.authorizer.stop()
            if self.recorder is not None:
                self.recorder.close()

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
                or time.monotonic() < self.rebuild_after
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
                    if self.fetched:
                        # A snapshot that came back goes in before the frames behind it, so
                        # it finds fewer deltas to catch up on (and replay finds it in place).
                        self.service_fetches()
                    try:
                        raw = self.pull.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.receive(raw)
                    self.tick(self.control, time.monotonic())  # a big backlog is no silence
            now_ns = time.time_ns()
            for item in self.reorder.expire(now_ns):
                self.release(item)
            self.service_fetches()
            self.service_contracts()
            now = time.monotonic()
            if now >= self.next_stale_check:
                self.next_stale_check = now + STALE_CHECK_S
                for silent in self.watchdog.silenced(now):
                    self.on_silent_socket(silent)
                for stale in self.watchdog.due(now):
                    self.on_stale(stale)
            self.tick(self.control, now)
            self.check_recorder()

    def on_command(self, msg: ToActor) -> None:
        if isinstance(msg, Watch):
            subs = [(s.channel, s.symbol) for s in msg.subscriptions]
            self.watchdog.assign(msg.conn, subs, time.monotonic())
        else:
            super().on_command(msg)

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
            self.watchdog.session(item.conn, time.monotonic())
            self.reset_connection(item.conn, "new session (reconnect)")
            if self.contract_sizes:
                self.refresh_contracts()  # a reconnect may follow a listing change
        elif isinstance(item, Lost):
            self.count("lost_batches", item.batches)
            self.reset_connection(item.conn, f"{item.batches} batch(es) lost between stages")
        else:
            self.last_input_ns = time.time_ns()
            self.handle_batch(item)

    def handle_batch(self, batch: EventBatch) -> None:
        if batch.dropped:
            self.count("upstream_drops", batch.dropped)
            self.reset_connection(batch.conn, f"connection dropped {batch.dropped} batch(es)")
        if batch.errors:
            self.count("parse_errors", len(batch.errors))
        self.count("frames_in", batch.frames)
        self.count("events_in", len(batch.events))
        now = time.monotonic()
        watchdog = self.watchdog
        watchdog.alive(batch.conn, now)
        overlap = self.overlapping.get(batch.conn)
        if batch.overlap and overlap is None:
            overlap = self.overlapping[batch.conn] = _Overlap()
            self.count("overlaps")
            for sync in self.books_of(batch.conn):
                sync.overlap(True)
        pub, routes, forwarded = self.pub, self.routes, 0
        for item in batch.events:
            if type(item) is tuple:
                name, payload = item
                if overlap is None:
                    # Passed on as the parser encoded it: nothing here needs its fields.
                    route = routes.get(name) or self.route(name, payload)
                    if route[0] is not None and watchdog.seen(route[0], route[1], now):
                        self.count("stale_recovered")
                    _send(pub, name, SNDMORE)
                    _send(pub, payload)
                    forwarded += 1
                    continue
                event: Event = EVENT_DECODER.decode(payload)  # overlap: dedupe by its ids
            else:
                event = item
            channel = CHANNEL_OF.get(type(event))
            if channel is not None and watchdog.seen(channel, event.symbol, now):
                self.count("stale_recovered")
            if overlap is None or overlap.first_time(event):
                self.handle(event, batch.conn)
            else:
                self.count("overlap_duplicates")
        if forwarded:
            self.count("events_out", forwarded)
        # One sample per batch, its last frame (the one that waited longest): a clock read
        # per event cost ~7% of the handler at 30k events/s.
        if batch.recv_ns:
            self.latency_window.record(time.time_ns() - batch.recv_ns)
        if overlap is not None and not batch.overlap:
            del self.overlapping[batch.conn]
            for sync in self.books_of(batch.conn):
                self.publish_all(sync.overlap(False))

    def route(self, name: bytes, payload: bytes) -> tuple[str | None, str]:
        """(staleness channel, symbol) of a topic, learnt from its first payload."""
        event = EVENT_DECODER.decode(payload)
        route = self.routes[name] = (CHANNEL_OF.get(type(event)), event.symbol)
        return route

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

    # -- staleness ----------------------------------------------------------------------------

    def on_stale(self, stale: Stale) -> None:
        """A subscription went silent on a live connection: its book is no longer trusted
        (reset first, before anything else goes out), then just it is renewed.  The book
        resyncs when its data flows again.  A renewal that brought nothing is retried with
        backoff (the watchdog paces it) and counted apart."""
        what = f"{stale.channel}:{stale.symbol}"
        silent = f"silent for {stale.silent_s:.1f} s"
        if stale.attempt == 1:
            self.count("stale_subscriptions")
            self.notice(self.control, "warning", "stale subscription", f"{what} {silent}")
        else:
            self.count("stale_retries")
        sync = self.books.get(stale.symbol) if stale.channel == "order_book" else None
        if sync is not None and (sync.live or stale.attempt == 1):
            self.count("resyncs")
            self.publish_all(sync.reset(f"stale: no update for {stale.silent_s:.1f} s"))
        self.count("stale_renewals")
        sub = Subscription(stale.channel, stale.symbol)
        self._send(self.control, Resubscribe([sub], f"{what} {silent}"))

    def on_silent_socket(self, silent: Stale) -> None:
        """The whole connection went quiet for longer than this book may: the book is not
        trusted any more (the connection replaces the socket later; renewing on it is
        pointless).  It resyncs when data flows again."""
        sync = self.books.get(silent.symbol) if silent.channel == "order_book" else None
        if sync is None or not sync.live:
            return
        self.count("silent_socket_resets")
        self.count("resyncs")
        self.publish_all(sync.reset(f"silent socket: no update for {silent.silent_s:.1f} s"))

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
        self.count("subscriptions_heard")  # replay --wait-for-subscribers waits on this
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
        if time.monotonic() < max(fetch.not_before, self.rebuild_after):
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
        fetch.future = self.pool.submit(self.call, request)
        fetch.future.add_done_callback(self.on_fetched)

    def on_fetched(self, _future: Future[bytes]) -> None:
        self.fetched = True  # from a pool thread: only a flag for the loop to look at

    def service_fetches(self) -> None:
        self.fetched = False
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
            self.contracts = self.pool.submit(self.call, request)

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

    def call(self, request: RestRequest) -> bytes:
        """One REST call (on the pool), recorded with its answer when we record."""
        if self.recorder is None:
            return http.call(self.rest_url, request)
        target = http.target(request)
        try:
            body = http.call(self.rest_url, request)
        except http.HttpError as exc:
            rest = recording.Rest(time.time_ns(), request.method, target, exc.status, b"")
            self.recorder.add(recording.encode(rest))
            raise
        rest = recording.Rest(time.time_ns(), request.method, target, 200, body)
        self.recorder.add(recording.encode(rest))
        return body

    def check_recorder(self) -> None:
        recorder = self.recorder
        if recorder is not None and recorder.failure and not self.recording_failed:
            self.recording_failed = True
            self.notice(self.control, "error", "recording failed", recorder.failure)

    # -- output -------------------------------------------------------------------------------

    def publish_all(self, events: list[Event]) -> None:
        for event in events:
            self.publish(event)

    def publish(self, event: Event) -> None:
        if self.contract_sizes:
            size = self.contract_sizes.get(event.native)
            if size is not None:
                event = self.venue.with_contract_size(event, size)  # type: ignore[attr-defined]
        kind = type(event)
        key = (kind, event.venue, event.symbol)
        name = self.topics.get(key)
        if name is None:
            name = self.topics[key] = topic(event)
        private = kind in PRIVATE_EVENTS
        sock = self.private if private else self.pub
        _send(sock, name, SNDMORE)
        _send(sock, RAW_ENCODER.encode(event))
        self.count("private_events_out" if private else "events_out")
        if kind is BookReset:
            self.count("book_resets")

    def info(self) -> dict[str, Any]:
        live = sum(1 for sync in self.books.values() if sync.live)
        return {
            "books": len(self.books),
            "books_live": live,
            "buffered_deltas": {s: b.buffered for s, b in self.books.items() if b.buffered},
            "reorder_pending": self.reorder.pending,
            "late_batches": self.reorder.late,
            "last_input_ns": self.last_input_ns,
            "rejected": dict(self.rejected),
            "private_refused_clients": self.authorizer.denied if self.authorizer else 0,
            "watched": self.watchdog.watched(),
            "stale": [f"{channel}:{symbol}" for channel, symbol in self.watchdog.stale()],
        }
