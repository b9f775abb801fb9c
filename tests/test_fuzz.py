"""Fuzz the parser stage and the books with mutated real frames (``tests/fuzzing.py``).

What must hold, for every venue and channel in the corpus, under bit flips, truncation,
splices, invalid UTF-8, JSON field deletion, type swaps, huge numbers and wrong nesting, and
protobuf garbage (MEXC spot):

- ``parse_frames`` never raises; a frame it rejects is a ParseError at that frame's sequence
  with a reason that is the venue parser's own (never the ``internal`` safety net), and the
  frames around it parse exactly as they would alone;
- what parses can be published (msgpack round trip);
- a BookSync fed parseable-but-fuzzed deltas never publishes a book that is crossed or holds
  a level that is not a finite positive price with a finite positive quantity.
"""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.book import BookSync, OrderBook
from actors.messages import EVENT_DECODER, BookDelta, BookReset, BookSnapshot, Event, RawBatch
from actors.stages.parser import parse_frames
from actors.venues import FrameError, Venue, load_venue
from tests.fuzzing import Seed, mutate, seeds, simulated_sets

SEEDS = seeds()
VENUES: dict[str, Venue] = {name: load_venue(name) for name in sorted({s.venue for s in SEEDS})}
FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


class DrawPick:
    """``Pick`` from hypothesis draws, so failures shrink."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def bytes(self, n: int) -> bytes:
        return self.data.draw(st.binary(min_size=n, max_size=n))


def test_the_corpus_covers_every_venue_and_its_book_channel() -> None:
    venues = {s.venue for s in SEEDS}
    assert venues == {"gateio_spot", "gateio_futures", "mexc_spot", "mexc_futures"}
    for venue in venues:
        channels = {s.channel for s in SEEDS if s.venue == venue}
        assert len(channels) >= 3, (venue, channels)
    books = {(d["venue"], d["channel"]) for d in simulated_sets()}
    assert {v for v, _ in books} == venues


def parse_alone(venue: Venue, frame: str | bytes) -> list[Event] | None:
    try:
        return venue.parse_frame(frame, 7)
    except FrameError:
        return None


@FUZZ
@given(data=st.data())
def test_parse_frames_rejects_mutations_with_a_named_error_and_nothing_else_changes(
    data: st.DataObject,
) -> None:
    seed: Seed = data.draw(st.sampled_from(SEEDS))
    venue = VENUES[seed.venue]
    pick = DrawPick(data)
    frame = seed.frame
    for _ in range(data.draw(st.integers(1, 3))):
        frame = mutate(frame, pick)
    neighbour = data.draw(st.sampled_from([s for s in SEEDS if s.venue == seed.venue])).frame
    batch = RawBatch("fuzz.connection.0", 1, 0, 0, 100, [neighbour, frame, neighbour], [7] * 3)
    events, errors = parse_frames(venue, batch)

    alone = parse_alone(venue, frame)
    expected = venue.parse_frame(neighbour, 7) * 2 + (alone or [])
    assert sorted(map(repr, events)) == sorted(map(repr, expected))
    if alone is None:
        (error,) = errors
        assert error.seq == 101  # where: the mutated frame's sequence
        assert error.reason and not error.reason.startswith("internal"), error.reason
        assert error.excerpt or not frame
    else:
        assert errors == []
    for event in events:  # whatever parses can be published
        assert EVENT_DECODER.decode(msgspec.msgpack.encode(event)) == event


# -- books ---------------------------------------------------------------------------------------

BOOK_SETS = simulated_sets()


def assert_publishable_book(book: OrderBook, where: str) -> None:
    for side in (book.bids, book.asks):
        for price, qty in side.items():
            assert math.isfinite(price) and price > 0, f"{where}: bad price {price}"
            assert math.isfinite(qty) and qty > 0, f"{where}: bad quantity {qty} at {price}"
    if book.bids and book.asks:
        assert max(book.bids) < min(book.asks), f"{where}: crossed book published as valid"


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_fuzzed_deltas_never_make_a_crossed_or_invalid_book_valid(data: st.DataObject) -> None:
    dataset = BOOK_SETS[data.draw(st.integers(0, len(BOOK_SETS) - 1), label="dataset")]
    venue = load_venue(dataset["venue"])
    frames = dataset["frames"]
    broken = set(data.draw(st.lists(st.integers(0, len(frames) - 1), min_size=1, max_size=6)))
    pick = DrawPick(data)
    # The venue's true books, from the clean stream: what a REST snapshot returns "now".
    truth: dict[str, OrderBook] = {}
    truth_seq: dict[str, int] = {}
    for native, body in dataset["books"].items():
        snap = venue.parse_snapshot(body.encode(), venue.normalize_symbol(native), 0)
        truth[snap.symbol] = OrderBook()
        truth[snap.symbol].load(snap.bids, snap.asks)
        truth_seq[snap.symbol] = snap.seq
    syncs: dict[str, BookSync] = {}
    consumer: dict[str, OrderBook | None] = {}

    def publish(symbol: str, events: list[Event]) -> None:
        for event in events:
            match event:
                case BookSnapshot():
                    book = consumer[symbol] = OrderBook()
                    book.load(event.bids, event.asks)
                case BookDelta():
                    book = consumer.get(symbol)
                    assert book is not None, f"{symbol}: delta published for an invalid book"
                    book.apply(event.bids, event.asks)
                case BookReset():
                    consumer[symbol] = None
                    continue
            assert_publishable_book(book, f"{dataset['id']} {symbol} after {event}")

    for i, frame in enumerate(frames):
        clean = [e for e in venue.parse_frame(frame, 7) if isinstance(e, BookDelta)]
        for delta in clean:
            truth[delta.symbol].apply(delta.bids, delta.asks)
            truth_seq[delta.symbol] = delta.seq
        if i in broken:
            frame = mutate(frame, pick)
        parsed = parse_alone(venue, frame) or []
        for delta in (e for e in parsed if isinstance(e, BookDelta)):
            if delta.symbol not in truth:
                continue  # a mutated symbol: the handler keeps a book for it, alone
            sync = syncs.setdefault(delta.symbol, BookSync(venue.name, delta.symbol, delta.native))
            publish(delta.symbol, sync.on_delta(delta))
            if sync.wants_snapshot:  # the REST snapshot: the venue's book as of now
                sync.snapshot_started()
                bids, asks = truth[delta.symbol].top()
                snap = BookSnapshot(
                    venue=venue.name,
                    symbol=delta.symbol,
                    native=delta.native,
                    ts=0,
                    recv_ns=0,
                    bids=bids,
                    asks=asks,
                    seq=truth_seq[delta.symbol],
                )
                publish(delta.symbol, sync.on_snapshot(snap))
    if not broken & set(range(len(frames))):
        pytest.fail("nothing was mutated")
