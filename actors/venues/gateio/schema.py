"""Gate.io v4 wire payloads as msgspec Structs: the shared envelope and the spot channels.  [pure]

Field names are the venue's own keys (``U``, ``u``, ``b``, ``a`` ...) so each Struct reads like
the docs table, with a trailing comment saying what the key means.  Only the fields we use are
declared; msgspec skips the rest without building them.  A frame is decoded in two passes: the
envelope first, keeping ``result`` as raw bytes, then ``result`` with its channel's decoder.
That is the exact path; the hot channels are first tried in one pass (``Push``, ``PUSH``).
Every decoder is built once, here, never per frame.  Futures payloads are in
``futures_schema.py``.

Integers are bounded to what msgpack (and our int64 consumers) can carry, so a hostile frame
fails here with a clear message instead of later in the encoder.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Raw, Struct

INT64_MAX = 2**63 - 1

Id = Annotated[int, Meta(ge=0, le=INT64_MAX)]
"""An update id, trade id or millisecond timestamp."""
Seconds = Annotated[int, Meta(ge=0, le=INT64_MAX // 1000)]
"""Epoch seconds small enough to scale to milliseconds in int64."""
Code = Annotated[int, Meta(ge=-INT64_MAX, le=INT64_MAX)]

PriceLevel = tuple[str, str]
"""``[price, amount]`` as decimal strings; amounts are absolute and ``"0"`` deletes."""
Num = float | str
"""A number the venue sends as a JSON number or as a decimal string: private fields differ
between spot (strings) and futures (numbers), and futures sizes turn into strings under
``X-Gate-Size-Decimal``.  ``common.amount`` converts and checks it."""
AnyId = Id | str
"""An order or trade id: an integer on some channels, a string on others; published as str."""


# -- envelope ------------------------------------------------------------------------------


class GateError(Struct, frozen=True):
    code: Code = 0  # 1 bad body, 2 bad argument, 3 server error, 4 auth failed
    message: str = ""  # e.g. "unknown currency pair GIBBERISH_USD"


class Envelope(Struct):
    """Every frame the server sends: acks, errors, pongs and channel updates."""

    channel: str = ""  # spot.order_book_update, spot.trades, spot.pong ...
    event: str = ""  # subscribe | unsubscribe | update ("" or absent on spot.pong)
    time: Seconds = 0  # server time, s
    time_ms: Id = 0  # server time, ms (absent before 2022)
    error: GateError | None = None  # null unless the server rejected a request
    result: Raw = Raw()  # channel-specific; decoded by the decoders below


# -- channel results -----------------------------------------------------------------------


class BookTickerResult(Struct):
    """``spot.book_ticker``: best bid and ask, every 10 ms."""

    t: Id  # book update time, ms
    u: Id  # order book update id
    s: str  # currency pair, BTC_USDT
    b: str  # best bid price ("" if the side is empty)
    B: str  # best bid amount
    a: str  # best ask price ("" if the side is empty)
    A: str  # best ask amount


class TradeResult(Struct):
    """``spot.trades``: one public trade, taker side only."""

    id: Id  # global trade id
    create_time: Seconds  # trade time, s
    side: Literal["buy", "sell"]  # the taker's side
    currency_pair: str  # BTC_USDT
    amount: str  # base amount
    price: str  # quote per base
    create_time_ms: str = ""  # ms with a sub-ms fraction, "1619093543708.2642"


class TickerResult(Struct):
    """``spot.tickers``: rolling 24 h statistics, every 1000 ms."""

    currency_pair: str  # BTC_USDT
    last: str  # last trade price
    lowest_ask: str = ""  # best ask
    highest_bid: str = ""  # best bid
    change_percentage: str = ""  # 24 h change, percent
    base_volume: str = ""  # 24 h volume, base currency
    quote_volume: str = ""  # 24 h volume, quote currency
    high_24h: str = ""  # 24 h high
    low_24h: str = ""  # 24 h low


class OrderBookUpdateResult(Struct):
    """``spot.order_book_update``: changed levels covering update ids ``U..u``."""

    t: Id  # book update time, ms
    s: str  # currency pair
    U: Id  # first update id in this push
    u: Id  # last update id in this push
    b: list[PriceLevel] = []  # changed bids
    a: list[PriceLevel] = []  # changed asks
    full: bool = False  # true: the push is the whole book (sent only when true, since 2025)


# -- the fast path: hot channels decoded in one pass -----------------------------------------


class Push(Struct, tag_field="channel", kw_only=True):
    """A whole channel update, tagged on ``channel``, with the ``Envelope`` field types: the
    fast path for the hot channels.  The two passes above stay the exact path, which every
    other frame takes (an ``error`` here fails the decode and goes there too)."""

    event: str = ""
    time: Seconds = 0
    time_ms: Id = 0
    error: None = None


class RawOrderBookUpdate(Struct):
    """``OrderBookUpdateResult`` with the levels raw, for ``common.decimal_levels``."""

    t: Id
    s: str
    U: Id
    u: Id
    b: Raw = Raw()
    a: Raw = Raw()
    full: bool = False


class RawObu(Struct):
    """``futures_schema.ObuResult`` (spot's and futures' obu alike) with the levels raw."""

    t: Id
    s: str
    u: Id
    U: Id | None = None
    b: Raw = Raw()
    a: Raw = Raw()
    full: bool = False


class BookTickerPush(Push, tag="spot.book_ticker"):
    result: BookTickerResult


class TradePush(Push, tag="spot.trades"):
    result: TradeResult


class OrderBookUpdatePush(Push, tag="spot.order_book_update"):
    result: RawOrderBookUpdate


class ObuPush(Push, tag="spot.obu"):
    result: RawObu


# -- private channels (spot) ---------------------------------------------------------------


class SpotOrderResult(Struct):
    """One element of ``spot.orders`` (the result is an array; several pairs per push)."""

    id: AnyId  # order id
    currency_pair: str  # BTC_USDT
    event: Literal["put", "update", "finish"]  # created | filled partly | closed
    side: Literal["buy", "sell"]
    amount: Num  # order amount (base; quote for market buys)
    type: str = "limit"  # limit | market | unified-account variants (limit_repay ...)
    price: Num = "0"  # limit price ("0" for market orders)
    time_in_force: str = "gtc"  # gtc | ioc | poc | fok
    left: Num = "0"  # amount still open
    filled_amount: Num = "0"  # filled, base
    avg_deal_price: Num = ""  # average fill price ("" or "0" before any fill)
    finish_as: str = ""  # open | filled | cancelled | ioc | stp | poc | fok | ... | -
    text: str = ""  # client order id ("t-..."), or "api"/"web"
    create_time_ms: str = ""  # ms, string
    update_time_ms: str = ""  # ms, string


class SpotBalanceResult(Struct):
    """One element of ``spot.balances``."""

    currency: str  # USDT
    total: Num  # balance after the change
    available: Num  # of which free
    freeze: Num = "0"  # of which frozen in orders
    change: Num = "0"  # the change that caused this push
    change_type: str = ""  # withdraw | deposit | trade-fee-deduct | order-create | ...
    timestamp_ms: str = ""  # ms, string
    timestamp: str = ""  # s, string


class SpotUserTradeResult(Struct):
    """One element of ``spot.usertrades``: one of our fills."""

    id: AnyId  # trade id
    order_id: AnyId
    currency_pair: str
    side: Literal["buy", "sell"]  # our side
    amount: Num  # base
    price: Num
    role: Literal["maker", "taker"]
    fee: Num = "0"
    fee_currency: str = ""
    create_time: Seconds = 0  # s
    create_time_ms: str = ""  # ms with a sub-ms fraction


# -- REST ----------------------------------------------------------------------------------


class RestOrderBook(Struct):
    """``GET /spot/order_book?...&with_id=true``."""

    asks: list[PriceLevel]  # low -> high
    bids: list[PriceLevel]  # high -> low
    id: Id | None = None  # book update id; only sent with with_id=true
    current: Id = 0  # response time, ms (absent in the 2021 recording)
    update: Id = 0  # last book change, ms


# -- decoders, built once ------------------------------------------------------------------

ENVELOPE = msgspec.json.Decoder(Envelope)
BOOK_TICKER = msgspec.json.Decoder(BookTickerResult)
TRADE = msgspec.json.Decoder(TradeResult)
TICKER = msgspec.json.Decoder(TickerResult)
ORDER_BOOK_UPDATE = msgspec.json.Decoder(OrderBookUpdateResult)
REST_ORDER_BOOK = msgspec.json.Decoder(RestOrderBook)
SPOT_ORDERS = msgspec.json.Decoder(list[SpotOrderResult])
SPOT_BALANCES = msgspec.json.Decoder(list[SpotBalanceResult])
SPOT_USER_TRADES = msgspec.json.Decoder(list[SpotUserTradeResult])
PUSH = msgspec.json.Decoder(BookTickerPush | TradePush | OrderBookUpdatePush | ObuPush)
