"""OrderBook and BookSync: synthetic edge cases, then the real recorded Gate.io sessions.

Synthetic deltas and snapshots are built by ``delta()`` / ``snapshot()`` below (SYNTHETIC, ids
and prices made up).  The recorded sessions (``../shared/frames/gateio``) are replayed through
BookSync the way the handler actor will drive it.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.book import BookSync, OrderBook
from actors.messages import BookDelta, BookReset, BookSnapshot, Event, Level
from actors.venues.gateio.spot import GateioSpot
from tests.conftest import read_cryptofeed_http, read_cryptofeed_ws

VENUE, SYMBOL, NATIVE = "test_venue", "BTC/USDT", "BTC_USDT"


def delta(
    first: int,
    last: int,
    bids: Sequence[Level] = (),
    asks: Sequence[Level] = (),
    *,
    full: bool = False,
    ts: int = 0,
) -> BookDelta:
    """SYNTHETIC delta covering ids first..last."""
    return BookDelta(
        venue=VENUE,
        symbol=SYMBOL,
        native=NATIVE,
        ts=ts or last,
        recv_ns=last * 1000,
        bids=list(bids),
        asks=list(asks),
        first_seq=first,
        seq=last,
        full=full,
    )


def snapshot(
    seq: int, bids: Sequence[Level] = ((100.0, 1.0),), asks: Sequence[Level] = ((101.0, 1.0),)
) -> BookSnapshot:
    """SYNTHETIC REST snapshot at id ``seq``."""
    return BookSnapshot(
        venue=VENUE,
        symbol=SYMBOL,
        native=NATIVE,
        ts=seq,
        recv_ns=seq * 1000,
        bids=list(bids),
        asks=list(asks),
        seq=seq,
    )


# -- OrderBook -----------------------------------------------------------------------------


def test_order_book_load_apply_delete() -> None:
    book = OrderBook()
    book.load([(100.0, 1.0), (99.0, 2.0), (98.0, 0.0)], [(101.0, 1.0), (102.0, 3.0)])
    assert book.levels() == ([(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 3.0)])
    book.apply([(100.0, 0.0), (97.5, 4.0), (96.0, 0.0)], [(101.0, 5.0)])
    assert book.levels() == ([(99.0, 2.0), (97.5, 4.0)], [(101.0, 5.0), (102.0, 3.0)])
    assert book.top(1) == ([(99.0, 2.0)], [(101.0, 5.0)])
    assert book.top(0) == ([], [])
    assert len(book) == 4
    book.load([(1.0, 1.0)], [])
    assert book.levels() == ([(1.0, 1.0)], [])


def test_order_book_equality() -> None:
    a, b = OrderBook(), OrderBook()
    a.load([(1.0, 2.0)], [(3.0, 4.0)])
    b.apply([(1.0, 2.0)], [(3.0, 4.0), (5.0, 0.0)])
    assert a == b
    b.apply([], [(3.0, 1.0)])
    assert a != b
    assert a != "a book"


# -- BookSync: synthetic table -------------------------------------------------------------


def summary(events: list[Event]) -> list[str]:
    out = []
    for event in events:
        match event:
            case BookSnapshot(seq=seq):
                out.append(f"snapshot@{seq}")
            case BookDelta(first_seq=first, seq=last):
                out.append(f"delta@{first}-{last}")
            case BookReset(reason=reason):
                out.append(f"reset: {reason}")
            case _:
                out.append(type(event).__name__)
    return out


def run(sync: BookSync, step: tuple[str, Any]) -> list[str]:
    op, arg = step
    match op:
        case "delta":
            return summary(sync.on_delta(arg))
        case "snapshot":
            return summary(sync.on_snapshot(arg))
        case "reset":
            return summary(sync.reset(arg))
        case "started":
            sync.snapshot_started()
        case "failed":
            sync.snapshot_failed()
        case "overlap":
            return summary(sync.overlap(arg))
    return []


def live_at_12() -> list[tuple[tuple[str, Any], list[str]]]:
    return [
        (("delta", delta(11, 12)), []),
        (("started", None), []),
        (("snapshot", snapshot(11)), ["snapshot@12"]),
    ]


# name -> (max_buffer, [(step, expected events)], expected final state)
CASES: dict[str, tuple[int, list[tuple[tuple[str, Any], list[str]]], dict[str, Any]]] = {
    "align snapshot with buffer": (
        100,
        [
            (("delta", delta(8, 9)), []),
            (("delta", delta(10, 12)), []),
            (("delta", delta(13, 13)), []),
            (("started", None), []),
            (("snapshot", snapshot(10)), ["snapshot@13"]),
            (("delta", delta(14, 15)), ["delta@14-15"]),
        ],
        {"live": True, "seq": 15, "wants": False, "buffered": 0},
    ),
    "snapshot before any delta": (
        100,
        [
            (("snapshot", snapshot(10)), []),
            (("delta", delta(11, 12)), ["snapshot@12"]),
            (("delta", delta(13, 13)), ["delta@13-13"]),
        ],
        {"live": True, "seq": 13, "wants": False, "stale": 0},
    ),
    "snapshot before any delta, covered delta": (
        100,
        [
            (("snapshot", snapshot(10)), []),
            (("delta", delta(9, 10)), ["snapshot@10"]),
            (("delta", delta(11, 11)), ["delta@11-11"]),
        ],
        {"live": True, "seq": 11},
    ),
    "snapshot before any delta, stale": (
        100,
        [
            (("snapshot", snapshot(10)), []),
            (("delta", delta(15, 16)), []),
        ],
        {"live": False, "seq": 0, "wants": True, "stale": 1, "buffered": 1},
    ),
    "stale snapshot then fresh": (
        100,
        [
            (("delta", delta(20, 21)), []),
            (("started", None), []),
            (("snapshot", snapshot(10)), []),
            (("started", None), []),
            (("delta", delta(22, 22)), []),
            (("snapshot", snapshot(21)), ["snapshot@22"]),
        ],
        {"live": True, "seq": 22, "wants": False, "stale": 1, "gaps": 0},
    ),
    "snapshot ahead of every buffered delta": (
        100,
        [
            (("delta", delta(5, 7)), []),
            (("snapshot", snapshot(9)), ["snapshot@9"]),
            (("delta", delta(8, 9)), []),
            (("delta", delta(10, 10)), ["delta@10-10"]),
        ],
        {"live": True, "seq": 10, "gaps": 0, "stale": 0},
    ),
    "gap": (
        100,
        [
            *live_at_12(),
            (("delta", delta(14, 15)), ["reset: gap: expected U=13, got U=14"]),
            (("started", None), []),
            (("snapshot", snapshot(14)), ["snapshot@15"]),
        ],
        {"live": True, "seq": 15, "gaps": 1, "resyncs": 1, "stale": 0},
    ),
    "gap leaves the book awaiting": (
        100,
        [*live_at_12(), (("delta", delta(20, 21)), ["reset: gap: expected U=13, got U=20"])],
        {"live": False, "seq": 0, "wants": True, "gaps": 1, "resyncs": 1, "buffered": 1},
    ),
    "duplicate and overlap": (
        100,
        [
            *live_at_12(),
            (("delta", delta(11, 12)), []),
            (("delta", delta(5, 8)), []),
            (("delta", delta(12, 14)), ["delta@12-14"]),
            (("delta", delta(15, 15)), ["delta@15-15"]),
        ],
        {"live": True, "seq": 15, "gaps": 0},
    ),
    "full while awaiting": (
        100,
        [
            (("delta", delta(5, 6)), []),
            (("started", None), []),
            (("delta", delta(7, 9, [(1.0, 1.0)], full=True)), ["snapshot@9"]),
            (("snapshot", snapshot(6)), []),  # the fetch returns late: ignored
            (("delta", delta(10, 10)), ["delta@10-10"]),
        ],
        {"live": True, "seq": 10, "wants": False, "buffered": 0, "stale": 0},
    ),
    "full while live": (
        100,
        [*live_at_12(), (("delta", delta(100, 100, full=True)), ["snapshot@100"])],
        {"live": True, "seq": 100, "gaps": 0, "resyncs": 0},
    ),
    "full while pending": (
        100,
        [
            (("snapshot", snapshot(10)), []),
            (("delta", delta(50, 60, full=True)), ["snapshot@60"]),
        ],
        {"live": True, "seq": 60, "stale": 0},
    ),
    "reset live": (
        100,
        [*live_at_12(), (("reset", "reconnect"), ["reset: reconnect"])],
        {"live": False, "seq": 0, "wants": False, "resyncs": 1, "gaps": 0},
    ),
    "reset while awaiting": (
        100,
        [
            (("delta", delta(5, 6)), []),
            (("started", None), []),
            (("reset", "reconnect"), ["reset: reconnect"]),
            (("delta", delta(30, 30)), []),
        ],
        {"live": False, "wants": True, "resyncs": 1, "buffered": 1},
    ),
    "buffer overflow": (
        3,
        [
            (("delta", delta(1, 1)), []),
            (("delta", delta(2, 2)), []),
            (("delta", delta(3, 3)), []),
            (("delta", delta(4, 4)), []),
        ],
        {"live": False, "wants": False, "overflows": 1, "buffered": 0},
    ),
    "buffer overflow, then snapshot aligns on the next delta": (
        2,
        [
            (("delta", delta(1, 1)), []),
            (("started", None), []),
            (("delta", delta(2, 2)), []),
            (("delta", delta(3, 3)), []),
            (("snapshot", snapshot(3)), []),
            (("delta", delta(4, 4)), ["snapshot@4"]),
        ],
        {"live": True, "seq": 4, "overflows": 1},
    ),
    "gap while buffering restarts the buffer": (
        100,
        [
            (("delta", delta(5, 6)), []),
            (("delta", delta(9, 9)), []),
            (("snapshot", snapshot(8)), ["snapshot@9"]),
        ],
        {"live": True, "seq": 9, "gaps": 1, "buffered": 0},
    ),
    "duplicate while buffering": (
        100,
        [(("delta", delta(5, 6)), []), (("delta", delta(5, 6)), [])],
        {"live": False, "buffered": 1, "gaps": 0},
    ),
    "fetch under way": (
        100,
        [(("delta", delta(5, 6)), []), (("started", None), []), (("delta", delta(7, 7)), [])],
        {"live": False, "wants": False, "buffered": 2},
    ),
    "failed fetch asks again": (
        100,
        [(("delta", delta(5, 6)), []), (("started", None), []), (("failed", None), [])],
        {"live": False, "wants": True},
    ),
    "snapshot while live is ignored": (
        100,
        [*live_at_12(), (("snapshot", snapshot(20)), [])],
        {"live": True, "seq": 12, "stale": 0},
    ),
    # A socket rotation: the new socket's stream runs ahead of the old one's, both repeat.
    "overlap holds a delta until the other socket fills the hole": (
        100,
        [
            *live_at_12(),
            (("overlap", True), []),
            (("delta", delta(16, 18)), []),  # new socket, ahead
            (("delta", delta(13, 15)), ["delta@13-15", "delta@16-18"]),  # old socket catches up
            (("delta", delta(16, 18)), []),  # old socket repeats what the new one sent
            (("delta", delta(19, 19)), ["delta@19-19"]),
            (("overlap", False), []),
        ],
        {"live": True, "seq": 19, "gaps": 0, "resyncs": 0},
    ),
    "overlap that ends with a hole is a gap": (
        100,
        [
            *live_at_12(),
            (("overlap", True), []),
            (("delta", delta(16, 18)), []),
            (("overlap", False), ["reset: gap: expected U=13, got U=16"]),
        ],
        {"live": False, "gaps": 1, "resyncs": 1},
    ),
    "without overlap a hole is a gap at once": (
        100,
        [*live_at_12(), (("delta", delta(16, 18)), ["reset: gap: expected U=13, got U=16"])],
        {"live": False, "gaps": 1},
    ),
}

STATE = {
    "live": lambda s: s.live,
    "seq": lambda s: s.seq,
    "wants": lambda s: s.wants_snapshot,
    "buffered": lambda s: s.buffered,
    "gaps": lambda s: s.gaps,
    "resyncs": lambda s: s.resyncs,
    "stale": lambda s: s.stale_snapshots,
    "overflows": lambda s: s.overflows,
}


@pytest.mark.parametrize("name", CASES)
def test_book_sync_cases(name: str) -> None:
    max_buffer, steps, final = CASES[name]
    sync = BookSync(VENUE, SYMBOL, NATIVE, max_buffer=max_buffer)
    for index, (step, expected) in enumerate(steps):
        assert run(sync, step) == expected, f"step {index}: {step[0]}"
    state = {key: STATE[key](sync) for key in final}
    assert state == final


def test_wants_snapshot_once_a_delta_is_buffered() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    assert not sync.wants_snapshot
    sync.on_delta(delta(5, 6))
    assert sync.wants_snapshot
    sync.snapshot_started()
    assert not sync.wants_snapshot


def test_aligned_book_is_snapshot_plus_deltas() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(9, 10, [(100.0, 7.0)]))  # covered by the snapshot: dropped
    sync.on_delta(delta(11, 11, [(100.0, 0.0), (98.0, 5.0)], [(101.0, 3.0)]))
    sync.on_delta(delta(12, 12, [], [(102.0, 1.0)]))
    snap = snapshot(10, bids=[(100.0, 1.0), (99.0, 2.0)], asks=[(101.0, 1.0)])
    assert sync.on_snapshot(snap) == [
        BookSnapshot(
            venue=VENUE,
            symbol=SYMBOL,
            native=NATIVE,
            ts=snap.ts,
            recv_ns=snap.recv_ns,
            bids=[(99.0, 2.0), (98.0, 5.0)],
            asks=[(101.0, 3.0), (102.0, 1.0)],
            seq=12,
        )
    ]
    assert sync.book.levels() == ([(99.0, 2.0), (98.0, 5.0)], [(101.0, 3.0), (102.0, 1.0)])


def test_full_push_replaces_the_book() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(11, 11))
    sync.on_snapshot(snapshot(10, bids=[(100.0, 1.0), (99.0, 1.0)], asks=[(101.0, 1.0)]))
    push = delta(12, 20, [(98.0, 4.0)], [(103.0, 2.0), (104.0, 0.0)], full=True, ts=777)
    (event,) = sync.on_delta(push)
    assert event == BookSnapshot(
        venue=VENUE,
        symbol=SYMBOL,
        native=NATIVE,
        ts=777,
        recv_ns=push.recv_ns,
        bids=[(98.0, 4.0)],
        asks=[(103.0, 2.0)],
        seq=20,
    )


def test_reset_events_carry_identity_and_trigger_time() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(11, 11))
    sync.on_snapshot(snapshot(10))
    trigger = delta(14, 14, ts=1234)
    assert sync.on_delta(trigger) == [
        BookReset(
            venue=VENUE,
            symbol=SYMBOL,
            native=NATIVE,
            ts=1234,
            recv_ns=trigger.recv_ns,
            reason="gap: expected U=12, got U=14",
        )
    ]
    assert sync.reset("operator") == [
        BookReset(venue=VENUE, symbol=SYMBOL, native=NATIVE, reason="operator")
    ]
    assert len(sync.book) == 0


def test_wrong_symbol_is_a_bug() -> None:
    sync = BookSync(VENUE, "ETH/USDT", "ETH_USDT")
    with pytest.raises(ValueError, match="ETH/USDT"):
        sync.on_delta(delta(1, 1))


def test_live_deltas_apply_as_order_book_apply() -> None:
    """The live path applies levels in order, as OrderBook.apply does: a price listed twice
    ends as its last entry says, and 0 (or -0.0) deletes."""
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(10, 10))
    sync.on_snapshot(snapshot(10, bids=[(100.0, 1.0), (99.0, 1.0)], asks=[(101.0, 1.0)]))
    assert sync.live
    live = delta(
        11,
        11,
        bids=[(100.0, 0.0), (100.0, 3.0), (99.0, 5.0), (99.0, -0.0), (98.0, 0.0)],
        asks=[(101.0, 2.0), (102.0, 4.0), (101.0, 0.0)],
    )
    assert sync.on_delta(live) == [live]
    expected = OrderBook()
    expected.load([(100.0, 1.0), (99.0, 1.0)], [(101.0, 1.0)])
    expected.apply(live.bids, live.asks)
    assert sync.book == expected
    assert sync.book.levels() == ([(100.0, 3.0)], [(102.0, 4.0)])
    assert sync.seq == 11


# -- the recorded sessions -----------------------------------------------------------------


class Handler:
    """The handler actor's use of BookSync, minus the I/O: one BookSync per symbol, a fetch
    started whenever one is wanted, every returned event kept as 'published'."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.syncs: dict[str, BookSync] = {}
        self.published: dict[str, list[Event]] = collections.defaultdict(list)
        self.fetches: collections.Counter[str] = collections.Counter()

    def feed(self, event: BookDelta | BookSnapshot) -> None:
        sync = self.syncs.get(event.symbol)
        if sync is None:
            sync = self.syncs[event.symbol] = BookSync(self.venue, event.symbol, event.native)
        if isinstance(event, BookDelta):
            self.published[event.symbol] += sync.on_delta(event)
        else:
            self.published[event.symbol] += sync.on_snapshot(event)
        if sync.wants_snapshot:
            sync.snapshot_started()
            self.fetches[event.symbol] += 1


def consumer_book(events: list[Event]) -> OrderBook:
    """What a consumer rebuilds from the published stream alone."""
    book = OrderBook()
    for event in events:
        match event:
            case BookSnapshot(bids=bids, asks=asks):
                book.load(bids, asks)
            case BookDelta(bids=bids, asks=asks):
                book.apply(bids, asks)
            case BookReset():
                book.clear()
    return book


def ns(stamp: float) -> int:
    return round(stamp * 1_000_000_000)


def spot_timeline(frames: Path) -> list[tuple[float, int, BookDelta | BookSnapshot]]:
    """Deltas and REST snapshots of the recorded spot session, in recorded receive order."""
    spot = GateioSpot()
    received, _ = read_cryptofeed_ws(frames / "cryptofeed_GATEIO.ws.1.0")
    timeline: list[tuple[float, int, BookDelta | BookSnapshot]] = []
    for stamp, text in received:
        for event in spot.parse_frame(text, ns(stamp)):
            if isinstance(event, BookDelta):
                timeline.append((stamp, 0, event))
    for url, stamp, body in read_cryptofeed_http(frames / "cryptofeed_GATEIO.http.0.0"):
        native = url.partition("currency_pair=")[2].partition("&")[0]
        snap = spot.parse_snapshot(body.encode(), spot.normalize_symbol(native), ns(stamp))
        timeline.append((stamp, 1, snap))
    timeline.sort(key=lambda item: item[:2])
    return timeline


# pair -> (venue id the book ends at, deltas published after the snapshot)
SPOT_BOOKS: dict[str, tuple[int, int]] = {
    "HAI/ETH": (2691456, 5),
    "QTUM3S/USDT": (69527041, 16),
    "FAST/USDT": (1138143, 20),
    "OMG/USDT": (59231950, 50),
    "ZKS/ETH": (11077674, 11),
    "NEO/BTC": (31244121, 36),
    "INK/USDT": (2509482, 0),  # one push, covered by the snapshot
    "DIS/USDT": (1750488, 16),
    "BTC/USDC": (13035634, 0),  # both pushes covered by the snapshot
    "NANO/USDT": (8008166, 4),
}


def check_rebuilt(handler: Handler, expected: dict[str, tuple[int, int]]) -> None:
    assert set(handler.syncs) == set(expected)
    for symbol, (seq, deltas) in expected.items():
        sync = handler.syncs[symbol]
        counters = (sync.gaps, sync.stale_snapshots, sync.resyncs, sync.overflows)
        assert counters == (0, 0, 0, 0), symbol
        assert sync.live, symbol
        assert sync.seq == seq, symbol
        kinds = [type(e).__name__ for e in handler.published[symbol]]
        assert kinds == ["BookSnapshot"] + ["BookDelta"] * deltas, symbol
        assert handler.fetches[symbol] == 1, symbol
        assert consumer_book(handler.published[symbol]) == sync.book, symbol
        (best_bid, _), (best_ask, _) = sync.book.top(1)[0][0], sync.book.top(1)[1][0]
        assert best_bid < best_ask, f"{symbol} crossed: {best_bid} >= {best_ask}"


def test_rebuild_recorded_spot_books(gateio_frames: Path) -> None:
    timeline = spot_timeline(gateio_frames)
    assert sum(isinstance(e, BookDelta) for *_, e in timeline) == 172
    handler = Handler("gateio_spot")
    for *_, event in timeline:
        handler.feed(event)
    check_rebuilt(handler, SPOT_BOOKS)
    # the last recorded push of each pair is where its book ends
    last = {e.symbol: e.seq for *_, e in timeline if isinstance(e, BookDelta)}
    assert last == {symbol: seq for symbol, (seq, _) in SPOT_BOOKS.items()}


def test_recorded_spot_gap_is_detected(gateio_frames: Path) -> None:
    """Drop one recorded OMG_USDT push in mid-stream: the gap resets that book alone."""
    timeline = spot_timeline(gateio_frames)
    omg = [i for i, (*_, e) in enumerate(timeline) if e.symbol == "OMG/USDT"]
    lost = timeline.pop(omg[len(omg) // 2])[2]
    handler = Handler("gateio_spot")
    for *_, event in timeline:
        handler.feed(event)
    sync = handler.syncs["OMG/USDT"]
    assert (sync.gaps, sync.resyncs, sync.live) == (1, 1, False)
    resets = [e for e in handler.published["OMG/USDT"] if isinstance(e, BookReset)]
    assert [r.reason for r in resets] == [f"gap: expected U={lost.first_seq}, got U={lost.seq + 1}"]
    others = {s: v for s, v in SPOT_BOOKS.items() if s != "OMG/USDT"}
    handler.syncs.pop("OMG/USDT")
    check_rebuilt(handler, others)


# -- USDT futures: the same rule on another stream -----------------------------------------


def futures_levels(side: list[dict[str, Any]]) -> list[Level]:
    """Futures levels are {"p": "price", "s": contracts}."""
    return [(float(level["p"]), float(level["s"])) for level in side]


def futures_symbol(contract: str) -> str:
    base, _, quote = contract.partition("_")
    return f"{base}/{quote}:{quote}"


def futures_timeline(frames: Path) -> list[tuple[float, int, BookDelta | BookSnapshot]]:
    """The recorded futures session converted by hand (no futures venue parser yet)."""
    timeline: list[tuple[float, int, BookDelta | BookSnapshot]] = []
    received, _ = read_cryptofeed_ws(frames / "cryptofeed_GATEIO_FUTURES.ws.1.0")
    for stamp, text in received:
        frame = orjson.loads(text)
        if frame["channel"] != "futures.order_book_update" or frame["event"] != "update":
            continue
        r = frame["result"]
        event = BookDelta(
            venue="gateio_futures",
            symbol=futures_symbol(r["s"]),
            native=r["s"],
            ts=r["t"],
            recv_ns=ns(stamp),
            bids=futures_levels(r["b"]),
            asks=futures_levels(r["a"]),
            first_seq=r["U"],
            seq=r["u"],
            full=r.get("full", False),
        )
        timeline.append((stamp, 0, event))
    for url, stamp, body in read_cryptofeed_http(frames / "cryptofeed_GATEIO_FUTURES.http.0.0"):
        native = url.partition("contract=")[2].partition("&")[0]
        book = orjson.loads(body)
        snap = BookSnapshot(
            venue="gateio_futures",
            symbol=futures_symbol(native),
            native=native,
            ts=round(book["current"] * 1000),  # futures REST times are float seconds
            recv_ns=ns(stamp),
            bids=futures_levels(book["bids"]),
            asks=futures_levels(book["asks"]),
            seq=book["id"],
        )
        timeline.append((stamp, 1, snap))
    timeline.sort(key=lambda item: item[:2])
    return timeline


FUTURES_BOOKS: dict[str, tuple[int, int]] = {
    "RDNT/USDT:USDT": (203083479, 61),  # REST id 203083287 was ahead of the stream
    "OMG/USDT:USDT": (3132789386, 101),
    "PHB/USDT:USDT": (6160440, 69),
    "FRONT/USDT:USDT": (244770089, 5),
    "QUICK/USDT:USDT": (124930286, 13),
    "WOO/USDT:USDT": (536376123, 57),
    "ZRX/USDT:USDT": (571312382, 1),
    "SFP/USDT:USDT": (489455956, 7),
    "DIA/USDT:USDT": (58251407, 0),
    "LIT/USDT:USDT": (943784239, 2),
}


def test_rebuild_recorded_futures_books(gateio_frames: Path) -> None:
    timeline = futures_timeline(gateio_frames)
    assert sum(isinstance(e, BookDelta) for *_, e in timeline) == 352
    handler = Handler("gateio_futures")
    for *_, event in timeline:
        handler.feed(event)
    check_rebuilt(handler, FUTURES_BOOKS)
    last = {e.symbol: e.seq for *_, e in timeline if isinstance(e, BookDelta)}
    assert last == {symbol: seq for symbol, (seq, _) in FUTURES_BOOKS.items()}


# -- rule 8: never valid while crossed or holding impossible levels -------------------------


def test_a_delta_that_crosses_the_book_resets_it_and_asks_for_a_snapshot() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(11, 12))
    sync.snapshot_started()
    assert summary(sync.on_snapshot(snapshot(10))) == ["snapshot@12"]
    assert summary(sync.on_delta(delta(13, 13, bids=[(100.5, 1.0)]))) == ["delta@13-13"]
    out = summary(sync.on_delta(delta(14, 14, bids=[(101.0, 2.0)])))
    assert out == ["reset: crossed: bid 101.0 >= best ask 101.0 after u=14"]
    assert (sync.live, sync.wants_snapshot, sync.invalid) == (False, True, 1)


def test_the_best_price_is_tracked_through_deletions() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(11, 11))
    sync.snapshot_started()
    sync.on_snapshot(snapshot(10, asks=[(101.0, 1.0), (103.0, 1.0)]))
    sync.on_delta(delta(12, 12, asks=[(101.0, 0.0)]))  # the best ask goes: 103 is best now
    assert summary(sync.on_delta(delta(13, 13, bids=[(102.0, 1.0)]))) == ["delta@13-13"]
    out = summary(sync.on_delta(delta(14, 14, asks=[(101.5, 1.0)])))
    assert out == ["reset: crossed: ask 101.5 <= best bid 102.0 after u=14"]


@pytest.mark.parametrize(
    "level", [(float("nan"), 1.0), (float("inf"), 1.0), (-1.0, 1.0), (0.0, 1.0), (99.0, -1.0)]
)
def test_a_delta_with_an_impossible_level_resets_the_book(level: Level) -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(11, 11))
    sync.snapshot_started()
    sync.on_snapshot(snapshot(10))
    (reset,) = sync.on_delta(delta(12, 12, bids=[level]))
    assert isinstance(reset, BookReset) and reset.reason.startswith("invalid level")
    assert not sync.live and sync.book.bids == {}


def test_a_crossed_snapshot_is_stale_and_fetched_again() -> None:
    sync = BookSync(VENUE, SYMBOL, NATIVE)
    sync.on_delta(delta(11, 11))
    sync.snapshot_started()
    assert sync.on_snapshot(snapshot(10, bids=[(102.0, 1.0)])) == []
    assert (sync.live, sync.wants_snapshot, sync.stale_snapshots) == (False, True, 1)
    assert sync.on_delta(delta(12, 12, full=True, bids=[(100.0, 1.0)], asks=[(99.0, 1.0)])) == []
    assert not sync.live
