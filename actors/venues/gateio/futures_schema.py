"""Gate.io futures (perpetual) v4 wire payloads as msgspec Structs.  [pure]

Same conventions as ``schema.py`` (whose ``Envelope`` futures frames share): the venue's own
keys, a trailing comment saying what each means, only the fields we use, decoders built once.

Sizes are contracts.  They are JSON integers on the recorded wire and decimal strings once
``X-Gate-Size-Decimal: 1`` is sent on the handshake (USDT perpetuals, 2025-12 onwards), so
every size is ``Num`` (number or string) and ``common.amount`` converts it.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import Struct

from actors.venues.gateio.schema import AnyId, Id, Num, PriceLevel, Push, RawObu, Seconds

Size = Num
"""Contracts: an int, or a decimal string under ``X-Gate-Size-Decimal`` (trades: signed)."""


class SizeLevel(Struct):
    """``{"p": "price", "s": size}``: one level of ``futures.order_book_update`` and REST."""

    p: str  # price
    s: Size  # absolute size in contracts; 0 deletes


# -- public channels -----------------------------------------------------------------------


class BookTickerResult(Struct):
    """``futures.book_ticker``: best bid and ask."""

    t: Id  # book update time, ms
    u: Id  # order book update id (a string in the docs table, an integer on the wire)
    s: str  # contract, BTC_USDT
    b: str  # best bid price, "" when there are no bids
    B: Size  # best bid size, 0 when there are no bids
    a: str  # best ask price, "" when there are no asks
    A: Size  # best ask size


class TradeResult(Struct):
    """One element of ``futures.trades`` (the result is an array)."""

    id: Id  # trade id
    contract: str
    size: Size  # signed: positive = taker bought, negative = taker sold
    price: str
    create_time: Seconds = 0  # s
    create_time_ms: Id = 0  # ms (absent in 2021 captures)
    is_internal: bool = False  # insurance-fund / ADL takeover, not a book match


class TickerResult(Struct):
    """One element of ``futures.tickers`` (the result is an array)."""

    contract: str
    last: str  # last trade price
    change_percentage: str = ""  # 24 h change, percent
    funding_rate: str = ""  # current funding rate
    mark_price: str = ""
    index_price: str = ""
    volume_24h_base: str = ""  # 24 h volume, base currency
    volume_24h_quote: str = ""  # 24 h volume, quote currency
    high_24h: str = ""
    low_24h: str = ""


class OrderBookUpdateResult(Struct):
    """``futures.order_book_update``: changed levels covering update ids ``U..u``."""

    t: Id  # book update time, ms
    s: str  # contract
    U: Id  # first update id in this push
    u: Id  # last update id in this push
    b: list[SizeLevel] = []  # changed bids
    a: list[SizeLevel] = []  # changed asks
    full: bool = False  # true: the whole book at the subscribed level (since 2025-05)


class ObuResult(Struct):
    """``futures.obu`` (order book v2): the first push is ``full``, increments follow."""

    t: Id  # book update time, ms
    s: str  # stream name: ob.BTC_USDT.50
    u: Id  # last update id
    U: Id | None = None  # first update id (absent on full pushes)
    b: list[PriceLevel] = []  # [["price", "size"]] strings
    a: list[PriceLevel] = []
    full: bool = False


# -- the fast path: hot channels decoded in one pass (see ``schema.Push``) -------------------


class BookTickerPush(Push, tag="futures.book_ticker"):
    result: BookTickerResult


class TradesPush(Push, tag="futures.trades"):
    result: list[TradeResult]


class OrderBookUpdatePush(Push, tag="futures.order_book_update"):
    result: OrderBookUpdateResult


class ObuPush(Push, tag="futures.obu"):
    result: RawObu


# -- private channels ----------------------------------------------------------------------


class OrderResult(Struct):
    """One element of ``futures.orders``."""

    id: AnyId  # order id
    contract: str
    size: Size  # signed: positive = bid (buy), negative = ask (sell)
    status: Literal["open", "finished"]
    left: Size = 0  # size still open (same sign convention)
    price: Num = 0  # 0 = market (ioc)
    fill_price: Num = 0  # average fill price
    finish_as: str = ""  # filled | cancelled | liquidated | ioc | auto_deleveraged | ...
    tif: str = "gtc"  # gtc | ioc | poc | fok
    text: str = ""  # client order id ("t-...")
    is_reduce_only: bool = False
    create_time_ms: Id = 0
    update_time: Id = 0  # ms (despite the name)


class UserTradeResult(Struct):
    """One element of ``futures.usertrades``: one of our fills."""

    id: AnyId  # trade id (a string)
    order_id: AnyId
    contract: str
    size: Size  # signed: positive = we bought
    price: Num
    role: Literal["maker", "taker"]
    fee: Num = 0  # in the settle currency
    create_time: Seconds = 0
    create_time_ms: Id = 0


class PositionResult(Struct):
    """One element of ``futures.positions``."""

    contract: str
    size: Size  # signed: positive long, negative short (contracts)
    entry_price: Num = 0
    leverage: Num = 0  # 0 = cross margin
    liq_price: Num = 0
    margin: Num = 0
    realised_pnl: Num = 0
    mode: str = ""  # single | dual_long | dual_short
    time: Seconds = 0
    time_ms: Id = 0


class BalanceResult(Struct):
    """One element of ``futures.balances``."""

    balance: Num  # balance after the change
    change: Num = 0
    type: str = ""  # change type: fee, pnl, fund, ...
    currency: str = ""  # settle currency, lower case in the docs example ("btc")
    time: Seconds = 0
    time_ms: Id = 0


# -- REST ----------------------------------------------------------------------------------


class RestOrderBook(Struct):
    """``GET /futures/{settle}/order_book?...&with_id=true``."""

    asks: list[SizeLevel]  # low -> high
    bids: list[SizeLevel]  # high -> low
    id: Id | None = None  # book update id; only sent with with_id=true
    current: float = 0.0  # response time, **seconds** as a float (spot: ms)
    update: float = 0.0  # last book change, seconds


class Contract(Struct):
    """One element of ``GET /futures/{settle}/contracts``."""

    name: str  # BTC_USDT
    quanto_multiplier: Num  # a decimal string: base units per contract (direct contracts)
    type: str = "direct"  # direct (linear) | inverse | quanto


# -- decoders, built once ------------------------------------------------------------------

BOOK_TICKER = msgspec.json.Decoder(BookTickerResult)
TRADES = msgspec.json.Decoder(list[TradeResult])
TICKERS = msgspec.json.Decoder(list[TickerResult])
ORDER_BOOK_UPDATE = msgspec.json.Decoder(OrderBookUpdateResult)
OBU = msgspec.json.Decoder(ObuResult)
ORDERS = msgspec.json.Decoder(list[OrderResult])
USER_TRADES = msgspec.json.Decoder(list[UserTradeResult])
POSITIONS = msgspec.json.Decoder(list[PositionResult])
BALANCES = msgspec.json.Decoder(list[BalanceResult])
REST_ORDER_BOOK = msgspec.json.Decoder(RestOrderBook)
CONTRACTS = msgspec.json.Decoder(list[Contract])
PUSH = msgspec.json.Decoder(BookTickerPush | TradesPush | OrderBookUpdatePush | ObuPush)
