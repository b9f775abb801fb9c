"""Benchmark worker for marketpipe itself and for the physical limits.  [our venv]

Run by ``scripts/bench_parse.py`` as ``python scripts/bench/ours.py DATASET_DIR``; speaks the
protocol in ``harness.py``.  For every dataset it measures:

* ``parse``: ``parse_frames(venue, RawBatch)`` on batches of ``BATCH`` frames, the pure call
  the parser actor makes (venue.parse_frame per frame, errors collected);
* ``stage``: what one parser process does per batch: msgpack-decode the RawBatch, parse it,
  build the EventBatch (pass-through events as their published [topic, payload]) and
  msgpack-encode it (sockets excluded);
* ``apply`` (book channels): ``parse`` plus ``BookSync.on_delta`` for every BookDelta, after
  the REST snapshot (loaded untimed before every pass, so every delta of the pass applies);
* ``json``: bare ``msgspec.json.decode(frame)`` into untyped Python objects;
* ``typed``: ``msgspec.json.Decoder(Frame).decode(frame)`` into a minimal typed Struct (the
  fields we read, with their wire types: no conversion, no validation beyond types);
* ``pb``: bare ``PushDataV3ApiWrapper.FromString(frame)`` (MEXC spot protobuf);
* ``pb_read``: ``FromString`` plus reading every field we use (upb parses into its own
  arena and makes a Python object only when a field is read, so this is what any Python
  consumer of the push pays at least).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo, for actors

import harness

from actors.book import BookSync
from actors.messages import RAW_DECODER, RAW_ENCODER, BookDelta, EventBatch, RawBatch
from actors.stages.parser import parse_frames, published_form
from actors.venues import load_venue
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper

BATCH = 16
RECV_NS = 1_760_000_000_000_000_000

# -- minimal typed frames: the fields we read, wire types ------------------------------------

Lvl = tuple[str, str]


class GBookTicker(Struct):
    t: int
    u: int
    s: str
    b: str
    B: int | str
    a: str
    A: int | str


class GSpotTrade(Struct):
    id: int
    create_time: int
    side: str
    currency_pair: str
    amount: str
    price: str
    create_time_ms: str = ""


class GSpotUpdate(Struct):
    t: int
    s: str
    U: int
    u: int
    b: list[Lvl] = []
    a: list[Lvl] = []
    full: bool = False


class GFutTrade(Struct):
    id: int
    contract: str
    size: int | str
    price: str
    create_time: int = 0
    create_time_ms: int = 0


class GSizeLevel(Struct):
    p: str
    s: int | str


class GFutUpdate(Struct):
    t: int
    s: str
    U: int
    u: int
    b: list[GSizeLevel] = []
    a: list[GSizeLevel] = []
    full: bool = False


def _gate(result: Any) -> type:
    fields = [
        ("channel", str),
        ("event", str),
        ("time", int),
        ("result", result),
        ("time_ms", int, 0),
    ]
    return msgspec.defstruct("GateFrame", fields)


class MDepth(Struct):
    version: int
    asks: list[list[float]] = []
    bids: list[list[float]] = []


class MDeal(Struct):
    p: float
    v: float
    T: int
    t: int
    i: int | str = ""


class MTicker(Struct):
    lastPrice: float
    symbol: str = ""
    bid1: float | None = None
    ask1: float | None = None
    high24Price: float | None = None
    lower24Price: float | None = None
    volume24: float | None = None
    amount24: float | None = None
    riseFallRate: float | None = None
    fairPrice: float | None = None
    indexPrice: float | None = None
    fundingRate: float | None = None
    timestamp: int = 0


def _mexc(data: Any) -> type:
    fields = [("channel", str), ("data", data), ("symbol", str, ""), ("ts", int, 0)]
    return msgspec.defstruct("MexcFrame", fields)


TYPED: dict[tuple[str, str], type] = {
    ("gateio_spot", "book_ticker"): _gate(GBookTicker),
    ("gateio_spot", "trades"): _gate(GSpotTrade),
    ("gateio_spot", "order_book_update"): _gate(GSpotUpdate),
    ("gateio_futures", "book_ticker"): _gate(GBookTicker),
    ("gateio_futures", "trades"): _gate(list[GFutTrade]),
    ("gateio_futures", "order_book_update"): _gate(GFutUpdate),
    ("mexc_futures", "depth"): _mexc(MDepth),
    ("mexc_futures", "deal"): _mexc(list[MDeal] | MDeal),
    ("mexc_futures", "ticker"): _mexc(MTicker),
}


# -- cases -------------------------------------------------------------------------------------


def batches(frames: list[Any]) -> list[RawBatch]:
    out = []
    for i in range(0, len(frames), BATCH):
        chunk = frames[i : i + BATCH]
        out.append(RawBatch("bench", 1, i // BATCH, 0, i, chunk, [RECV_NS] * len(chunk)))
    return out


def parse_case(venue: Any, data: dict[str, Any]) -> harness.Case:
    raw = batches(data["frames"])

    def run() -> None:
        for batch in raw:
            parse_frames(venue, batch)

    return harness.Case(data["id"] + "|parse", len(data["frames"]), run)


def stage_case(venue: Any, data: dict[str, Any]) -> harness.Case:
    encoded = [RAW_ENCODER.encode(b) for b in batches(data["frames"])]
    decode, encode = RAW_DECODER.decode, RAW_ENCODER.encode
    # As the parser actor: pass-through events pre-published, except on futures venues.
    topics: dict[tuple[type, str], bytes] | None = (
        None if hasattr(venue, "contracts_request") else {}
    )

    def run() -> None:
        for raw in encoded:
            batch = decode(raw)
            events, errors = parse_frames(venue, batch)
            out = EventBatch(
                batch.conn,
                batch.epoch,
                batch.batch,
                batch.dropped,
                len(batch.frames),
                events if topics is None else published_form(events, topics),
                errors,
                0,
            )
            encode(out)

    return harness.Case(data["id"] + "|stage", len(data["frames"]), run)


class Books:
    """One BookSync per symbol, made live at the REST snapshot before every pass."""

    def __init__(self, venue: Any, data: dict[str, Any]) -> None:
        self.venue = venue
        self.snapshots = []
        for native, body in data["books"].items():
            symbol = venue.normalize_symbol(native)
            self.snapshots.append(venue.parse_snapshot(body.encode(), symbol, RECV_NS))
        self.syncs: dict[str, BookSync] = {}

    def reset(self) -> None:
        self.syncs = {}
        for snap in self.snapshots:
            sync = BookSync(snap.venue, snap.symbol, snap.native)
            sync.on_snapshot(snap)
            # An empty delta the snapshot covers makes the book live at the snapshot's id.
            sync.on_delta(
                BookDelta(
                    venue=snap.venue,
                    symbol=snap.symbol,
                    native=snap.native,
                    bids=[],
                    asks=[],
                    first_seq=snap.seq,
                    seq=snap.seq,
                )
            )
            assert sync.live
            self.syncs[snap.symbol] = sync


def apply_case(venue: Any, data: dict[str, Any]) -> tuple[harness.Case, Books]:
    raw = batches(data["frames"])
    books = Books(venue, data)

    def run() -> None:
        syncs = books.syncs
        for batch in raw:
            events, _ = parse_frames(venue, batch)
            for event in events:
                if type(event) is BookDelta:
                    syncs[event.symbol].on_delta(event)

    return harness.Case(data["id"] + "|apply", len(data["frames"]), run, books.reset), books


def json_case(data: dict[str, Any]) -> harness.Case:
    frames = data["frames"]
    decode = msgspec.json.decode

    def run() -> None:
        for frame in frames:
            decode(frame)

    return harness.Case(data["id"] + "|json", len(frames), run)


def typed_case(data: dict[str, Any]) -> harness.Case | None:
    frame_type = TYPED.get((data["venue"], data["channel"]))
    if frame_type is None:
        return None
    frames = data["frames"]
    decode = msgspec.json.Decoder(frame_type).decode

    def run() -> None:
        for frame in frames:
            decode(frame)

    return harness.Case(data["id"] + "|typed", len(frames), run)


def pb_case(data: dict[str, Any]) -> harness.Case:
    frames = data["frames"]
    parse = PushDataV3ApiWrapper.FromString

    def run() -> None:
        for frame in frames:
            parse(frame)

    return harness.Case(data["id"] + "|pb", len(frames), run)


def _read_levels(items: Any) -> None:
    for item in items:
        item.price, item.quantity  # noqa: B018


def _read_book_ticker(b: Any) -> None:
    b.bidPrice, b.bidQuantity, b.askPrice, b.askQuantity, b.version  # noqa: B018


def _read_deals(b: Any) -> None:
    for d in b.deals:
        d.price, d.quantity, d.tradeType, d.time, d.tradeId  # noqa: B018


def _read_depth(b: Any) -> None:
    _read_levels(b.asks)
    _read_levels(b.bids)
    b.fromVersion, b.toVersion  # noqa: B018


def _read_limit(b: Any) -> None:
    _read_levels(b.asks)
    _read_levels(b.bids)
    b.version  # noqa: B018


PB_READERS = {
    "publicAggreBookTicker": _read_book_ticker,
    "publicAggreDeals": _read_deals,
    "publicAggreDepths": _read_depth,
    "publicLimitDepths": _read_limit,
}


def pb_read_case(data: dict[str, Any]) -> harness.Case:
    """Bare protobuf plus reading, as Python objects, every field we use: upb's FromString
    makes no Python object for any field, so this is the real floor of any Python code that
    consumes the push."""
    frames = data["frames"]
    parse = PushDataV3ApiWrapper.FromString

    def run() -> None:
        for frame in frames:
            w = parse(frame)
            name = w.WhichOneof("body")
            w.channel, w.symbol, w.sendTime  # noqa: B018
            PB_READERS[name](getattr(w, name))

    return harness.Case(data["id"] + "|pb_read", len(frames), run)


def check_parse(venue: Any, data: dict[str, Any]) -> dict[str, Any]:
    events = errors = 0
    first_error = ""
    for batch in batches(data["frames"][: data["unique"]]):
        evs, errs = parse_frames(venue, batch)
        events += len(evs)
        errors += len(errs)
        if errs and not first_error:
            first_error = errs[0].reason
    return {
        "frames": data["unique"],
        "events": events,
        "errors": errors,
        "first_error": first_error,
    }


def check_books(case: harness.Case, books: Books) -> dict[str, Any]:
    books.reset()
    case.run()
    tops = {}
    resets = 0
    for sync in books.syncs.values():
        resets += sync.resyncs
        bids, asks = sync.book.top(1)
        tops[sync.native] = [bids[0][0] if bids else None, asks[0][0] if asks else None]
    return {"live": all(s.live for s in books.syncs.values()), "resets": resets, "top": tops}


def main() -> None:
    sets = harness.load_datasets(sys.argv[1])
    cases: list[harness.Case] = []
    status: dict[str, dict[str, Any]] = {}
    venues = {
        name: load_venue(name)
        for name in ("gateio_spot", "gateio_futures", "mexc_spot", "mexc_futures")
    }
    for data in sets:
        venue = venues[data["venue"]]
        cid = data["id"]
        check = check_parse(venue, data)
        status[cid + "|parse"] = {"status": "ok", "check": check}
        cases.append(parse_case(venue, data))
        cases.append(stage_case(venue, data))
        status[cid + "|stage"] = {"status": "ok"}
        if data["kind"] == "book":
            case, books = apply_case(venue, data)
            status[case.id] = {"status": "ok", "check": check_books(case, books)}
            cases.append(case)
        if data["binary"]:
            cases.append(pb_case(data))
            status[cid + "|pb"] = {"status": "ok"}
            cases.append(pb_read_case(data))
            status[cid + "|pb_read"] = {"status": "ok"}
        else:
            cases.append(json_case(data))
            status[cid + "|json"] = {"status": "ok"}
            typed = typed_case(data)
            if typed is not None:
                cases.append(typed)
                status[typed.id] = {"status": "ok"}
    from google.protobuf import __version__ as pb_version
    from google.protobuf.internal import api_implementation

    meta = {
        "python": platform.python_version(),
        "versions": {
            "msgspec": msgspec.__version__,
            "protobuf": f"{pb_version} ({api_implementation.Type()})",
        },
        "batch": BATCH,
    }
    harness.serve(cases, status, meta)


if __name__ == "__main__":
    main()
