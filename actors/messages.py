"""The contract between stages and to consumers.  [pure]

Two layers live here:

* **Events**: one tagged union of msgspec Structs, the normalized stream.  Parsers produce
  them, the handler orders and publishes them as ZeroMQ multipart ``[topic, payload]`` with
  topic ``<type>.<venue>.<symbol>`` (e.g. ``book_ticker.gateio_spot.BTC/USDT``) and payload
  the msgpack encoding of the event.  Every event carries the venue's own timestamp (``ts``,
  ms; 0 when the venue sends none), and our receive time (``recv_ns``).
* **Envelopes**: what travels between stages.  ``RawBatch`` (connection -> parsers) and
  ``EventBatch`` (parsers -> handler) carry the per-connection stamps that let the handler
  restore wire order however many parsers run (design invariant 2).

Prices and sizes are floats: every decimal string a venue sends (up to 15 significant
digits) maps to one double, so books keyed by price are exact, and msgpack stays compact.
Quantities on futures are in the venue's contracts, exactly as the venue sends them;
``contract_size`` (base units per contract, 0 on spot) converts them, and trades and book
tickers also carry the base-unit quantities (``*_base``).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import Struct

Side = Literal["buy", "sell"]
Level = tuple[float, float]
"""One book level: (price, quantity).  A quantity of 0 in a delta removes the level."""


class _Event(Struct, frozen=True, kw_only=True, tag_field="type"):
    venue: str
    symbol: str  # normalized: BTC/USDT (spot), BTC/USDT:USDT (perpetual settled in USDT)
    native: str  # the venue's own name: BTC_USDT, BTCUSDT
    ts: int = 0  # venue timestamp, ms since epoch
    recv_ns: int = 0  # when our connection actor read the frame, ns since epoch


# -- market data ---------------------------------------------------------------------------


class BookTicker(_Event, tag="book_ticker"):
    bid_price: float
    bid_qty: float
    ask_price: float
    ask_qty: float
    seq: int = 0  # venue update id / book version, 0 if the venue sends none
    contract_size: float = 0.0  # futures: base units per contract; 0 on spot
    bid_qty_base: float | None = None  # futures: bid_qty * contract_size
    ask_qty_base: float | None = None


class Trade(_Event, tag="trade"):
    price: float
    qty: float
    side: Side  # the taker's side
    trade_id: str = ""
    contract_size: float = 0.0
    qty_base: float | None = None  # futures: qty * contract_size


class BookSnapshot(_Event, tag="book_snapshot"):
    """A complete book: after it, the book is valid and deltas follow."""

    bids: list[Level]  # best (highest) first
    asks: list[Level]  # best (lowest) first
    seq: int = 0  # the venue update id the book is at
    contract_size: float = 0.0  # futures: level quantities are contracts


class BookDelta(_Event, tag="book_delta"):
    """Changed levels with absolute quantities, covering venue ids first_seq..seq."""

    bids: list[Level]
    asks: list[Level]
    first_seq: int = 0
    seq: int = 0
    full: bool = False  # the venue says this push is the whole book (Gate.io `full: true`)
    contract_size: float = 0.0


class TopBook(_Event, tag="top_book"):
    """The venue's best N levels at ``seq`` (MEXC limit depth, MEXC futures depth.full): a
    partial view, complete in itself, never a whole book to apply deltas to."""

    bids: list[Level]  # best first
    asks: list[Level]
    seq: int = 0
    contract_size: float = 0.0


class BookReset(_Event, tag="book_reset"):
    """The book is no longer valid; a BookSnapshot follows once it is rebuilt."""

    reason: str


class Ticker(_Event, tag="ticker"):
    """Rolling 24 h statistics.  Futures fill mark, index and funding."""

    last: float
    bid: float | None = None
    ask: float | None = None
    high: float | None = None
    low: float | None = None
    base_volume: float | None = None
    quote_volume: float | None = None
    change_pct: float | None = None
    mark_price: float | None = None
    index_price: float | None = None
    funding_rate: float | None = None


# -- private account data -----------------------------------------------------------------


class Order(_Event, tag="order"):
    order_id: str
    side: Side
    order_type: str  # limit, market, post_only, ioc, fok ...
    status: str  # open, partially_filled, filled, cancelled
    price: float
    qty: float
    client_id: str = ""
    filled_qty: float = 0.0
    avg_price: float = 0.0
    reduce_only: bool = False


class Balance(_Event, tag="balance"):
    asset: str
    total: float
    available: float
    frozen: float = 0.0
    change: float = 0.0
    reason: str = ""


class Fill(_Event, tag="fill"):
    order_id: str
    trade_id: str
    side: Side
    price: float
    qty: float
    fee: float = 0.0
    fee_asset: str = ""
    maker: bool = False


class Position(_Event, tag="position"):
    size: float  # signed: positive long, negative short (contracts)
    entry_price: float
    leverage: float = 0.0
    liquidation_price: float = 0.0
    margin: float = 0.0
    realized_pnl: float = 0.0
    mode: str = ""


# -- protocol status (from the venue, about our requests) ---------------------------------


class SubscriptionAck(_Event, tag="subscription_ack"):
    channel: str  # the venue's channel name
    event: str = "subscribe"  # subscribe | unsubscribe


class SubscriptionError(_Event, tag="subscription_error"):
    """The venue refused a request: shown in `pipeline status` and never retried in a loop."""

    channel: str
    message: str
    code: int = 0


class Pong(_Event, tag="pong"):
    pass


Event = (
    BookTicker
    | Trade
    | BookSnapshot
    | BookDelta
    | TopBook
    | BookReset
    | Ticker
    | Order
    | Balance
    | Fill
    | Position
    | SubscriptionAck
    | SubscriptionError
    | Pong
)

PRIVATE_EVENTS: tuple[type[_Event], ...] = (Order, Balance, Fill, Position)


def topic(event: Event) -> bytes:
    """The ZeroMQ topic consumers subscribe to by prefix: ``<type>.<venue>.<symbol>``."""
    return f"{event.__struct_config__.tag}.{event.venue}.{event.symbol}".encode()


# -- envelopes between stages --------------------------------------------------------------


class RawBatch(Struct, array_like=True):
    """Frames as read from one websocket, in wire order.  connection -> parsers."""

    conn: str  # connection actor name
    epoch: int  # time_ns of the websocket connect; a new epoch is a new session
    batch: int  # per-epoch counter, from 0; a missing number is a lost batch
    dropped: int  # batches this connection could not hand on since the previous batch
    first_seq: int  # per-connection frame sequence of frames[0]
    # Text frames stay str (msgpack str), binary frames stay bytes (msgpack bin).  Typed as
    # Any because msgspec unions cannot hold two str-like types; decoding keeps the kinds.
    frames: list[Any]
    recv_ns: list[int]  # receive time of each frame
    # Two sockets of this connection overlap (a make-before-break rotation): frames may
    # repeat, and one socket's stream may run ahead of the other's.
    overlap: bool = False


class ParseError(Struct, array_like=True):
    """A frame a parser could not turn into events: what, where, why."""

    seq: int  # the frame's per-connection sequence
    reason: str
    excerpt: str  # the frame's first bytes, for the log


Published = tuple[bytes, bytes]
"""An event as it goes out: (topic, msgpack payload).  Parsers send the events the handler
only passes on (``FORWARDED``) already in this form, so the handler need not decode and
re-encode them."""

FORWARDED: tuple[type[_Event], ...] = (BookTicker, Trade, Ticker, TopBook)


class EventBatch(Struct, array_like=True):
    """The parsed form of one RawBatch.  parsers -> handler."""

    conn: str
    epoch: int
    batch: int
    dropped: int
    frames: int  # frames in the raw batch
    events: list[Event | Published]  # in wire order
    errors: list[ParseError]
    parse_ns: int  # time the parser spent on the batch
    overlap: bool = False  # copied from the RawBatch
    recv_ns: int = 0  # receive time of the batch's last frame


RAW_ENCODER = msgspec.msgpack.Encoder()
RAW_DECODER = msgspec.msgpack.Decoder(RawBatch)
EVENT_BATCH_DECODER = msgspec.msgpack.Decoder(EventBatch)
EVENT_DECODER = msgspec.msgpack.Decoder(Event)
"""Decodes one published payload; what a Python consumer uses."""
