"""MEXC spot v3 simulator: protobuf pushes, JSON acks and the REST calls we use.  [I/O shell]

Role: stands in for ``wss://wbs-api.mexc.com/ws`` and ``https://api.mexc.com`` in offline runs
(``pipeline run topology.yaml --simulate``), tests and benchmarks, speaking the venue's own
protocol (``../shared/protocols/protocols.md`` section 1, field numbers in
``mexc-proto-fields.md``) from one true market and one account, so that our client code cannot
tell it from MEXC.  Pushes are built with our generated protobuf classes
(``actors/venues/mexc/_pb``), whose field numbers follow the official schema.

Sockets: one TCP listener on ``host:port`` (``port=0`` picks a free port) routing by path:

- ``/ws`` WebSocket.  Text requests ``{"method": "SUBSCRIPTION"|"UNSUBSCRIPTION", "params":
  [...], "id"?}`` and ``{"method": "PING"}``; text acks ``{"id", "code": 0, "msg"}``; every
  push a binary ``PushDataV3ApiWrapper``:

  ``spot@public.aggre.depth.v3.api.pb@(100ms|10ms)@SYM``  net level changes per interval,
  ``fromVersion``/``toVersion`` continuous; ``spot@public.limit.depth.v3.api.pb@SYM@(5|10|20)``
  the top N every 100 ms when the book changed; ``spot@public.aggre.deals.v3.api.pb@(100ms|
  10ms)@SYM`` the trades of each interval; ``spot@public.aggre.bookTicker.v3.api.pb@(100ms|
  10ms)@SYM`` the best levels when they changed; ``spot@public.miniTicker.v3.api.pb@SYM@TZ``
  every ``mini_ticker_ms`` (3 s).  ``/ws?listenKey=K`` also takes ``spot@private.account.v3.
  api.pb``, ``spot@private.orders.v3.api.pb`` and ``spot@private.deals.v3.api.pb``.
- ``/api/v3/*`` REST: ``depth``, ``exchangeInfo``, ``ping``, ``time`` and the signed
  ``userDataStream`` (POST creates a listen key, PUT extends, DELETE closes, GET lists).
- ``/_sim/*`` control: ``mexc_common.py``'s and ``server.py``'s, ``expire_listen_key``, and
  ``order?symbol=&side=BUY|SELL&type=LIMIT|MARKET|LIMIT_MAKER|IMMEDIATE_OR_CANCEL&quantity=
  [&price=][&quoteOrderQty=][&newClientOrderId=]`` (a MARKET BUY spends ``quoteOrderQty``, a
  MARKET SELL sells ``quantity``), ``cancel?order_id=`` (``C02__<n>`` or ``<n>``), ``account``.

Choices where the docs are silent (each marked "ours" below): the Not-Subscribed reasons
other than ``Blocked!``; the texts of malformed-request replies; the listenKey-refused
upgrade (HTTP 401) and every close reason; the REST codes for an unknown key (10072 "Api key
info invalid", confirmed by third-party reports) and for an unknown listenKey (730002).

Pure parts: :func:`split_symbol`, :func:`parse_channel`, :func:`parse_request`,
:func:`rejection`, :func:`check_signed`, :class:`ListenKeys` and the ``*_body`` / ``*_record``
frame builders take values and return values; the class only moves bytes and keeps time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import random
import time
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qs

import orjson
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError, Message
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from actors.simulators.account import (
    AccountEvent,
    BalanceChange,
    Fill,
    Order,
    OrderError,
    OrderEvent,
    Outcome,
    SpotAccount,
    dec_str,
)
from actors.simulators.market import (
    DEFAULT_PRICES,
    DiffPush,
    DiffStream,
    Market,
    StepResult,
    Top,
    Trade,
    units_to_str,
)
from actors.simulators.mexc_common import ConnState, MexcSimulator, VenueError, listen_key_of
from actors.simulators.server import Conn, http_response, now_ms, serve_until_signalled
from actors.venues.mexc._pb.PrivateAccountV3Api_pb2 import PrivateAccountV3Api
from actors.venues.mexc._pb.PrivateDealsV3Api_pb2 import PrivateDealsV3Api
from actors.venues.mexc._pb.PrivateOrdersV3Api_pb2 import PrivateOrdersV3Api
from actors.venues.mexc._pb.PublicAggreBookTickerV3Api_pb2 import PublicAggreBookTickerV3Api
from actors.venues.mexc._pb.PublicAggreDealsV3Api_pb2 import (
    PublicAggreDealsV3Api,
    PublicAggreDealsV3ApiItem,
)
from actors.venues.mexc._pb.PublicAggreDepthsV3Api_pb2 import (
    PublicAggreDepthsV3Api,
    PublicAggreDepthV3ApiItem,
)
from actors.venues.mexc._pb.PublicLimitDepthsV3Api_pb2 import (
    PublicLimitDepthsV3Api,
    PublicLimitDepthV3ApiItem,
)
from actors.venues.mexc._pb.PublicMiniTickerV3Api_pb2 import PublicMiniTickerV3Api
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper

QUOTE_ASSETS: Final = ("USDT", "USDC", "USDE", "BTC", "ETH", "MX", "EUR", "BRL", "TRY")
INTERVALS: Final = {"100ms": 100, "10ms": 10}
LIMIT_LEVELS: Final = ("5", "10", "20")
LIMIT_DEPTH_MS: Final = 100  # ours: the docs give no cadence for limit.depth
TIME_ZONES: Final = frozenset((
    "24H", "UTC-10", "UTC-8", "UTC-7", "UTC-6", "UTC-5", "UTC-4", "UTC-3", "UTC+0", "UTC+1",
    "UTC+2", "UTC+3", "UTC+4", "UTC+4:30", "UTC+5", "UTC+5:30", "UTC+6", "UTC+7", "UTC+8",
    "UTC+9", "UTC+10", "UTC+11", "UTC+12", "UTC+12:45", "UTC+13",
))  # fmt: skip

DEPTH: Final = "spot@public.aggre.depth.v3.api.pb"
DEALS: Final = "spot@public.aggre.deals.v3.api.pb"
BOOK_TICKER: Final = "spot@public.aggre.bookTicker.v3.api.pb"
LIMIT_DEPTH: Final = "spot@public.limit.depth.v3.api.pb"
MINI_TICKER: Final = "spot@public.miniTicker.v3.api.pb"
ACCOUNT: Final = "spot@private.account.v3.api.pb"
ORDERS: Final = "spot@private.orders.v3.api.pb"
PRIVATE_DEALS: Final = "spot@private.deals.v3.api.pb"
PRIVATE: Final = frozenset({ACCOUNT, ORDERS, PRIVATE_DEALS})
# Real .pb channels this simulator does not serve: refused with NOT_SIMULATED, not Blocked.
UNSIMULATED: Final = frozenset(
    {
        "spot@public.kline.v3.api.pb",
        "spot@public.miniTickers.v3.api.pb",
        "spot@public.bookTicker.batch.v3.api.pb",
    }
)

BLOCKED: Final = "Blocked! "  # the venue's words (observed)
OVER_LIMIT: Final = "Over the limit of {n} subscriptions per connection! "  # ours
NOT_SIMULATED: Final = "Not simulated! "  # ours
BAD_REQUEST: Final = "Invalid request: {why}"  # ours: the docs show no such reply

API_KEY_HEADER: Final = "X-MEXC-APIKEY"
DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60_000
FUTURE_SLACK_MS: Final = 1000  # a timestamp may run this far ahead of server time
DEFAULT_QUOTE_BALANCE: Final = Decimal(100_000)
DEFAULT_BASE_VALUE: Final = Decimal(20_000)
ORDER_ID_PREFIX: Final = "C02__"

# Close reasons (ours: the docs name the limits, not the close frames).
CLOSE_NO_SUBSCRIPTION: Final = "no subscription"
CLOSE_NO_TRAFFIC: Final = "no traffic"
CLOSE_MAX_AGE: Final = "maximum connection age"
CLOSE_LISTEN_KEY: Final = "listenKey expired"


# -- symbols and channels (pure) ----------------------------------------------------------------


def split_symbol(native: str, quotes: Sequence[str] = QUOTE_ASSETS) -> tuple[str, str]:
    """``BTCUSDT`` -> ``("BTC", "USDT")``: the longest known quote asset that ends it."""
    for quote in sorted(quotes, key=len, reverse=True):
        if native.endswith(quote) and len(native) > len(quote):
            return native[: -len(quote)], quote
    raise ValueError(f"{native!r} ends in no known quote asset ({', '.join(quotes)})")


class ChannelSpec(NamedTuple):
    """A channel we serve: its base name, symbol ("" when private) and parameter (interval,
    level or time zone)."""

    base: str
    symbol: str
    param: str


def parse_channel(channel: str, symbols: Container[str]) -> ChannelSpec | str:
    """The spec of a channel we serve, else the Not-Subscribed reason.  Interval channels put
    the interval before the symbol, limit depth and mini ticker put their parameter after it;
    anything else, a non-.pb name or a missing interval, is ``Blocked!`` as on the venue."""
    if channel in PRIVATE:
        return ChannelSpec(channel, "", "")
    parts = channel.split("@")
    base = "@".join(parts[:2])
    if base in UNSIMULATED:
        return NOT_SIMULATED
    if len(parts) != 4:
        return BLOCKED
    first, second = parts[2], parts[3]
    if base in (DEPTH, DEALS, BOOK_TICKER):
        symbol, param, ok = second, first, first in INTERVALS
    elif base == LIMIT_DEPTH:
        symbol, param, ok = first, second, second in LIMIT_LEVELS
    elif base == MINI_TICKER:
        symbol, param, ok = first, second, second in TIME_ZONES
    else:
        return BLOCKED
    if not ok or symbol not in symbols:
        return BLOCKED
    return ChannelSpec(base, symbol, param)


def rejection(channels: Iterable[str], reason: str) -> str:
    """The venue's refusal text: full-width colon, two spaces before Reason."""
    return f"Not Subscribed successfully! [{','.join(channels)}].  Reason\uff1a {reason}"


class RequestError(Exception):
    """A client frame we cannot act on, with the ``id`` to echo."""

    def __init__(self, message: str, req_id: Any = 0) -> None:
        super().__init__(message)
        self.message, self.req_id = message, req_id


@dataclass(frozen=True, slots=True)
class SpotRequest:
    method: str  # SUBSCRIPTION | UNSUBSCRIPTION | PING
    params: list[str]
    id: Any


def parse_request(raw: str | bytes) -> SpotRequest:
    """A checked client request; RequestError (with a reply text) otherwise."""
    if isinstance(raw, bytes):
        raise RequestError(BAD_REQUEST.format(why="binary frames are not accepted"))
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(BAD_REQUEST.format(why="not JSON")) from None
    if not isinstance(body, dict):
        raise RequestError(BAD_REQUEST.format(why="not a JSON object"))
    req_id = body.get("id", 0)
    if isinstance(req_id, dict | list):
        req_id = 0
    method = body.get("method")
    if method == "PING":
        return SpotRequest("PING", [], req_id)
    if method not in ("SUBSCRIPTION", "UNSUBSCRIPTION"):
        why = f"unknown method {str(method)[:40]!r}"
        raise RequestError(BAD_REQUEST.format(why=why), req_id)
    params = body.get("params")
    if not isinstance(params, list) or not params or not all(isinstance(p, str) for p in params):
        why = "params must be a non-empty list of channel strings"
        raise RequestError(BAD_REQUEST.format(why=why), req_id)
    return SpotRequest(method, list(dict.fromkeys(params)), req_id)


def reply_frame(req_id: Any, msg: str) -> bytes:
    return orjson.dumps({"id": req_id, "code": 0, "msg": msg})


# -- signed REST (pure) -------------------------------------------------------------------------


class RestError(Exception):
    """A refused REST call: HTTP status and MEXC's ``{"code", "msg"}``."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def signature(secret: str, total_params: str) -> str:
    """Lowercase hex HMAC-SHA256 of query string + body (written here, not imported from our
    client's ``signing.py``, so the simulator checks the client instead of agreeing with it
    by construction)."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def check_signed(
    api_key: str | None,
    raw_query: str,
    body: str,
    credentials: Mapping[str, str],
    now: int,
) -> str:
    """A SIGNED call's key, checked; RestError unless the key is known, ``timestamp`` lies in
    ``[now - recvWindow, now + 1000)`` and ``signature`` is the HMAC of the query (as sent,
    without the signature parameter) concatenated with the body."""
    if not api_key:
        raise RestError(400, 400, "api key required")
    secret = credentials.get(api_key)
    if secret is None:
        raise RestError(400, 10072, "Api key info invalid")  # (observed)
    parts = raw_query.split("&") if raw_query else []
    signed = "&".join(p for p in parts if not p.startswith("signature="))
    params = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    window_text = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
    if not window_text.isdigit() or int(window_text) > MAX_RECV_WINDOW_MS:
        raise RestError(400, 700005, "recvWindow must less than 60000")
    stamp = params.get("timestamp", "")
    if not stamp.isdigit() or not now - int(window_text) <= int(stamp) < now + FUTURE_SLACK_MS:
        raise RestError(400, 700003, "Timestamp for this request is outside of the recvWindow.")
    expected = signature(secret, signed + body)
    if not hmac.compare_digest(expected.encode(), params.get("signature", "").encode()):
        raise RestError(400, 700002, "Signature for this request is not valid.")
    return api_key


class ListenKeys:
    """The account's listen keys and when each expires (ms); times are arguments."""

    def __init__(self, ttl_ms: int, rng: random.Random) -> None:
        self.ttl_ms = ttl_ms
        self._rng = rng
        self._until: dict[str, int] = {}

    def create(self, now: int) -> str:
        key = f"{self._rng.getrandbits(256):064x}"
        self._until[key] = now + self.ttl_ms
        return key

    def valid(self, key: str, now: int) -> bool:
        until = self._until.get(key)
        return until is not None and now < until

    def extend(self, key: str, now: int) -> bool:
        if not self.valid(key, now):
            return False
        self._until[key] = now + self.ttl_ms
        return True

    def delete(self, key: str) -> bool:
        return self._until.pop(key, None) is not None

    def live(self, now: int) -> list[str]:
        return [key for key, until in self._until.items() if now < until]

    def sweep(self, now: int) -> list[str]:
        """Forget the expired keys; returns them."""
        gone = [key for key, until in self._until.items() if now >= until]
        for key in gone:
            del self._until[key]
        return gone


# -- public frames (pure) -----------------------------------------------------------------------


def push_frame(
    channel: str, symbol: str, t_ms: int, body: str, message: Message, *, create: bool = False
) -> PushDataV3ApiWrapper:
    """The wrapper of one push (``create``: also ``createTime``, as account pushes)."""
    wrapper = PushDataV3ApiWrapper(channel=channel, sendTime=t_ms, **{body: message})
    if symbol:
        wrapper.symbol = symbol
    if create:
        wrapper.createTime = t_ms
    return wrapper


def encoded(wrapper: PushDataV3ApiWrapper) -> bytearray:
    """A binary frame (``server.py`` sends ``bytearray`` as binary, ``bytes`` as text)."""
    return bytearray(wrapper.SerializeToString())


def public_trade_id(trade_id: int) -> str:
    """Shaped like the captured ``731901896985399296X0_731901896985399297X0``."""
    return f"{2 * trade_id}X0_{2 * trade_id + 1}X0"


def depth_body(push: DiffPush, interval: str, last_order_ms: int) -> PublicAggreDepthsV3Api:
    item = PublicAggreDepthV3ApiItem
    return PublicAggreDepthsV3Api(
        asks=[item(price=p, quantity=q) for p, q in push.asks],
        bids=[item(price=p, quantity=q) for p, q in push.bids],
        eventType=f"{DEPTH}@{interval}",
        fromVersion=str(push.first_id),
        toVersion=str(push.last_id),
        lastOrderCreateTime=last_order_ms,
    )


def deals_body(trades: Iterable[Trade], interval: str) -> PublicAggreDealsV3Api:
    return PublicAggreDealsV3Api(
        deals=[
            PublicAggreDealsV3ApiItem(
                price=t.price,
                quantity=t.amount,
                tradeType=1 if t.side == "buy" else 2,
                time=t.time_ms,
                tradeId=public_trade_id(t.id),
            )
            for t in trades
        ],
        eventType=f"{DEALS}@{interval}",
    )


def book_ticker_body(top: Top, version: int, last_order_ms: int) -> PublicAggreBookTickerV3Api:
    return PublicAggreBookTickerV3Api(
        bidPrice=top.bid,
        bidQuantity=top.bid_size,
        askPrice=top.ask,
        askQuantity=top.ask_size,
        version=str(version),
        lastOrderCreateTime=last_order_ms,
    )


def limit_depth_body(
    bids: list[list[str]], asks: list[list[str]], version: int, last_order_ms: int
) -> PublicLimitDepthsV3Api:
    item = PublicLimitDepthV3ApiItem
    return PublicLimitDepthsV3Api(
        asks=[item(price=p, quantity=q) for p, q in asks],
        bids=[item(price=p, quantity=q) for p, q in bids],
        eventType=LIMIT_DEPTH,
        version=str(version),
        lastOrderCreateTime=last_order_ms,
    )


def mini_ticker_body(symbol: str, ticker: Mapping[str, str]) -> PublicMiniTickerV3Api:
    """From the market's rolling 24 h ticker.  One window serves every time zone (ours), so
    ``rate``, ``zonedRate`` and the ``lastClose*`` fields repeat it."""
    rate = dec_str(Decimal(ticker["change_percentage"]) / 100)
    return PublicMiniTickerV3Api(
        symbol=symbol,
        price=ticker["last"],
        rate=rate,
        zonedRate=rate,
        high=ticker["high_24h"],
        low=ticker["low_24h"],
        volume=ticker["quote_volume"],  # turnover, in the quote asset
        quantity=ticker["base_volume"],
        lastCloseRate=rate,
        lastCloseZonedRate=rate,
        lastCloseHigh=ticker["high_24h"],
        lastCloseLow=ticker["low_24h"],
    )


# -- private frames (pure) ----------------------------------------------------------------------

# The account's change reasons -> MEXC's change types.
ACCOUNT_TYPES: Final = {"order-create": "ENTRUST_PLACE", "order-match": "ENTRUST"}
# (kind, time in force) -> MEXC orderType
ORDER_TYPES: Final = {
    ("limit", "gtc"): 1,
    ("limit", "poc"): 2,
    ("limit", "ioc"): 3,
    ("market", "ioc"): 5,
}
# /_sim/order type -> (kind, time in force)
SIM_ORDER_TYPES: Final = {
    "LIMIT": ("limit", "gtc"),
    "LIMIT_MAKER": ("limit", "poc"),
    "IMMEDIATE_OR_CANCEL": ("limit", "ioc"),
    "MARKET": ("market", "ioc"),
}


def order_id_text(order_id: int) -> str:
    return f"{ORDER_ID_PREFIX}{order_id}"


def account_type(reason: str, finish_as: str) -> str:
    """A balance change's MEXC ``type``; a release after a cancel is ENTRUST_CANCEL."""
    if reason == "order-update":
        return "ENTRUST_CANCEL" if finish_as == "cancelled" else "ENTRUST_UNFROZEN"
    return ACCOUNT_TYPES.get(reason, reason.upper())


def account_record(change: BalanceChange, kind: str) -> PrivateAccountV3Api:
    """``balanceAmount`` is what is available after the change, ``frozenAmount`` what is
    frozen; each with its change."""
    return PrivateAccountV3Api(
        vcoinName=change.asset,
        coinId=hashlib.md5(change.asset.encode()).hexdigest(),  # a stable 32-hex id
        balanceAmount=dec_str(change.available),
        balanceAmountChange=dec_str(change.change - change.freeze_change),
        frozenAmount=dec_str(change.frozen),
        frozenAmountChange=dec_str(change.freeze_change),
        type=kind,
        time=change.time_ms,
    )


def order_status(order: Order) -> int:
    """1 new, 2 filled, 3 partially filled, 4 cancelled, 5 partially cancelled."""
    if not order.finished:
        return 3 if order.filled else 1
    if order.finish_as == "filled":
        return 2
    return 5 if order.filled else 4


def order_record(order: Order, market: Market, last_fill: Fill | None) -> PrivateOrdersV3Api:
    spec = market.spec(order.symbol)
    quote = spec.price_decimals + spec.amount_decimals  # ticks x lots
    price = market.price_str(order.symbol, order.tick) if order.tick else ""
    if order.budget_total:  # a market buy: it spends quote, its quantity is open
        quantity, amount = "", units_to_str(order.budget_total, quote)
        remain_qty, remain_amount = "", units_to_str(order.budget, quote)
    else:
        quantity = market.amount_str(order.symbol, order.lots)
        remain_qty = market.amount_str(order.symbol, order.left)
        amount = units_to_str(order.tick * order.lots, quote) if order.tick else ""
        remain_amount = units_to_str(order.tick * order.left, quote) if order.tick else ""
    avg = "0"
    if order.filled:
        ticks = Decimal(order.filled_value) / order.filled
        avg = dec_str(ticks.scaleb(-spec.price_decimals).quantize(Decimal(10) ** -12))
    record = PrivateOrdersV3Api(
        id=order_id_text(order.id),
        clientId=order.text,
        price=price,
        quantity=quantity,
        amount=amount,
        avgPrice=avg,
        orderType=ORDER_TYPES[(order.kind, order.tif)],
        tradeType=1 if order.side == "buy" else 2,
        isMaker=last_fill is not None and last_fill.role == "maker",
        remainAmount=remain_amount,
        remainQuantity=remain_qty,
        cumulativeQuantity=market.amount_str(order.symbol, order.filled),
        cumulativeAmount=units_to_str(order.filled_value, quote),
        status=order_status(order),
        createTime=order.create_ms,
    )
    if last_fill is not None:
        record.lastDealQuantity = last_fill.amount
    return record


def deal_record(fill: Fill, market: Market) -> PrivateDealsV3Api:
    spec = market.spec(fill.symbol)
    return PrivateDealsV3Api(
        price=fill.price,
        quantity=fill.amount,
        amount=units_to_str(fill.tick * fill.lots, spec.price_decimals + spec.amount_decimals),
        tradeType=1 if fill.side == "buy" else 2,
        isMaker=fill.role == "maker",
        isSelfTrade=False,
        tradeId=f"{2 * fill.id}X1",  # the number before X is the public trade's first id
        clientOrderId=fill.text,
        orderId=order_id_text(fill.order_id),
        feeAmount=dec_str(fill.fee),
        feeCurrency=fill.fee_asset,
        time=fill.time_ms,
    )


def default_balances(market: Market) -> dict[str, Decimal]:
    """100000 of each quote asset, and each base asset worth 20000 of its quote."""
    balances: dict[str, Decimal] = {}
    for symbol in market.symbols:
        spec = market.spec(symbol)
        balances.setdefault(spec.quote, DEFAULT_QUOTE_BALANCE)
        if spec.base not in balances:
            price = Decimal(market.best(symbol).bid)
            amount = (DEFAULT_BASE_VALUE / price).quantize(Decimal(10) ** -spec.amount_decimals)
            balances[spec.base] = amount
    return balances


# -- the server ---------------------------------------------------------------------------------


class SpotMarket(Market):
    """A :class:`Market` of symbols written without a separator (``BTCUSDT``): ``assets``
    names each one's base and quote, which ``Market`` would otherwise split at ``_``."""

    def __init__(
        self,
        symbols: Sequence[str],
        seed: int,
        depth: int,
        start_prices: Mapping[str, float] | None,
        assets: Mapping[str, tuple[str, str]],
    ) -> None:
        self._assets = dict(assets)
        prices = {s: DEFAULT_PRICES[b] for s, (b, _) in self._assets.items() if b in DEFAULT_PRICES}
        prices.update(start_prices or {})
        super().__init__(symbols, seed, depth, prices)

    def _new_symbol(self, symbol: str, *args: Any, **kwargs: Any) -> Any:
        made = super()._new_symbol(symbol, *args, **kwargs)
        base, quote = self._assets[symbol]
        made.spec = dataclasses.replace(made.spec, base=base, quote=quote)
        return made


@dataclass(slots=True)
class Stream:
    """One interval channel, shared by its subscribers: what it has pending, when it is due,
    what it pushed last (book ticker top, limit depth version)."""

    channel: str
    spec: ChannelSpec
    interval_ms: int
    due_ms: int
    diff: DiffStream | None = None
    trades: list[Trade] = field(default_factory=list)
    last: Any = None


class MexcSpotSimulator(MexcSimulator):
    """A MEXC spot venue on ``host:port``; see the module docstring for the endpoints.

    ``symbols`` are native (``"BTCUSDT"``), split at the known ``quote_assets``; ``seed``
    fixes the market, which steps every ``tick_ms`` with ``depth`` levels a side.
    ``credentials`` (api key -> secret) may sign the listenKey calls, all for the one account
    of ``user_id``, which starts with ``balances`` (default: :func:`default_balances`).
    Limits: ``max_subscriptions`` per connection; a connection is closed after
    ``idle_timeout_s`` without a subscription, ``traffic_timeout_s`` without a client message
    (PING keeps it), and at ``max_age_s``; listen keys live ``listen_key_ttl_s``.
    """

    venue: Final = "mexc_spot"
    name = "mexc-spot-sim"
    STALE_ALIASES = {
        "order_book": (DEPTH,),
        "top_book": (LIMIT_DEPTH,),
        "trades": (DEALS,),
        "book_ticker": (BOOK_TICKER,),
        "tickers": (MINI_TICKER,),
    }
    UNKNOWN_SYMBOL = (-1121, "Invalid symbol.")

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        tick_ms: int = 10,
        depth: int = 30,
        start_prices: dict[str, float] | None = None,
        compression: bool = False,
        max_queue: int = 250_000,
        credentials: Mapping[str, str] | None = None,
        user_id: str = "10001",
        balances: Mapping[str, Decimal | int | str] | None = None,
        quote_assets: Sequence[str] = QUOTE_ASSETS,
        max_subscriptions: int = 30,
        idle_timeout_s: float = 30.0,
        traffic_timeout_s: float = 60.0,
        max_age_s: float = 86_400.0,
        listen_key_ttl_s: float = 3600.0,
        mini_ticker_ms: int = 3000,
        fee_rate: Decimal = Decimal("0.0005"),
    ) -> None:
        assets = {s: split_symbol(s, quote_assets) for s in symbols}
        market = SpotMarket(symbols, seed, depth, start_prices, assets)
        account = SpotAccount(market, balances or default_balances(market), fee_rate=fee_rate)
        super().__init__(
            symbols,
            market,
            account,
            credentials=credentials,
            user_id=user_id,
            host=host,
            port=port,
            seed=seed,
            tick_ms=tick_ms,
            compression=compression,
            max_queue=max_queue,
        )
        self.spot_account = account
        self.max_subscriptions = max_subscriptions
        self.idle_timeout_s = idle_timeout_s
        self.traffic_timeout_s = traffic_timeout_s
        self.max_age_s = max_age_s
        self.mini_ticker_ms = mini_ticker_ms
        self.listen_keys = ListenKeys(round(listen_key_ttl_s * 1000), random.Random(f"{seed}/lk"))
        self._subs: dict[str, set[Conn]] = {}
        self._streams: dict[str, Stream] = {}
        self._by_symbol: dict[str, list[Stream]] = {s: [] for s in self.symbols}
        self._rejected: Counter[str] = Counter()

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _is_ws_path(self, path: str) -> bool:
        return path.rstrip("/") == "/ws"

    # -- connections --------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """A ``listenKey`` upgrade needs a live key: otherwise HTTP 401 (ours; the docs do not
        say how the venue refuses one)."""
        response = super()._process_request(connection, request)
        if response is not None:
            return response
        key = listen_key_of(request)
        if key is not None and not self.listen_keys.valid(key, now_ms()):
            self._auth_failures += 1
            return http_response(401, {"code": 401, "msg": "listenKey is invalid or expired"})
        return None

    def _forget(self, conn: Conn) -> None:
        super()._forget(conn)
        for channel in list(conn.keys):
            self._unsubscribe(conn, channel)

    def _expired(self, conn: Conn, state: ConnState, now: float) -> str:
        if now - state.opened >= self.max_age_s:
            return CLOSE_MAX_AGE
        if state.idle_since is not None and now - state.idle_since >= self.idle_timeout_s:
            return CLOSE_NO_SUBSCRIPTION
        if now - state.last_seen >= self.traffic_timeout_s:
            return CLOSE_NO_TRAFFIC
        key = state.listen_key
        if key is not None and not self.listen_keys.valid(key, now_ms()):
            return CLOSE_LISTEN_KEY
        return ""

    def _housekeep(self, t_ms: int) -> None:
        self.listen_keys.sweep(t_ms)

    def _close_key(self, key: str) -> int:
        conns = [conn for conn in self._conns if self._state(conn).listen_key == key]
        for conn in conns:
            self._close(conn, CLOSE_LISTEN_KEY)
        return len(conns)

    # -- requests -----------------------------------------------------------------------------

    def _on_message(self, conn: Conn, message: str | bytes) -> None:
        state = self._state(conn)
        state.last_seen = time.monotonic()
        try:
            req = parse_request(message)
        except RequestError as err:
            self._reply(conn, err.req_id, err.message)
            return
        if req.method == "PING":
            self._reply(conn, req.id, "PONG")
            return
        if req.method == "UNSUBSCRIPTION":
            for channel in req.params:
                self._unsubscribe(conn, channel)
            self._reply(conn, req.id, ",".join(req.params))
        else:
            self._subscribe_all(conn, req)
        state.idle_since = None if conn.keys else state.idle_since or time.monotonic()

    def _subscribe_all(self, conn: Conn, req: SpotRequest) -> None:
        """Accepted channels are acked in one echo, refused ones in one refusal per reason
        (ours: the docs do not say how a partly refused request is answered)."""
        accepted: list[str] = []
        refused: dict[str, list[str]] = {}
        private_ok = self._state(conn).listen_key is not None
        t_ms = now_ms()
        for channel in req.params:
            spec = parse_channel(channel, self.market)
            if isinstance(spec, ChannelSpec) and not spec.symbol and not private_ok:
                spec = BLOCKED  # account channels only on a listenKey connection
            if isinstance(spec, str):
                refused.setdefault(spec, []).append(channel)
            elif channel in conn.keys:
                accepted.append(channel)  # already held: echoed, not counted twice
            elif len(conn.keys) >= self.max_subscriptions:
                reason = OVER_LIMIT.format(n=self.max_subscriptions)
                refused.setdefault(reason, []).append(channel)
            else:
                self._subscribe(conn, channel, spec, t_ms)
                accepted.append(channel)
        if accepted:
            self._reply(conn, req.id, ",".join(accepted))
        for reason, channels in refused.items():
            self._rejected[reason.strip()] += len(channels)
            self._reply(conn, req.id, rejection(channels, reason))

    def _reply(self, conn: Conn, req_id: Any, msg: str) -> None:
        if self.stale:
            self._dropped_stale += 1
            return
        conn.push(reply_frame(req_id, msg))

    def _subscribe(self, conn: Conn, channel: str, spec: ChannelSpec, t_ms: int) -> None:
        if spec.symbol and channel not in self._streams:
            # One stream per channel string, shared by its subscribers.
            if spec.base == MINI_TICKER:
                interval = self.mini_ticker_ms
            elif spec.base == LIMIT_DEPTH:
                interval = LIMIT_DEPTH_MS
            else:
                interval = INTERVALS[spec.param]
            stream = Stream(channel, spec, interval, t_ms + interval)
            if spec.base == DEPTH:
                stream.diff = DiffStream(self.market, spec.symbol, self.market.depth)
            self._streams[channel] = stream
            self._by_symbol[spec.symbol].append(stream)
        self._subs.setdefault(channel, set()).add(conn)
        conn.keys.add(channel)

    def _sub_parts(self, key: str) -> tuple[str, str]:
        spec = parse_channel(key, self.market)
        return (spec.base, spec.symbol) if isinstance(spec, ChannelSpec) else (key, "")

    def _unsubscribe(self, conn: Conn, channel: str) -> None:
        conn.keys.discard(channel)
        subs = self._subs.get(channel)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._subs[channel]
            stream = self._streams.pop(channel, None)
            if stream is not None:
                self._by_symbol[stream.spec.symbol].remove(stream)

    # -- streams ------------------------------------------------------------------------------

    def _publish_step(self, step: StepResult, t_ms: int) -> None:
        for stream in self._by_symbol[step.symbol]:
            if stream.diff is not None:
                stream.diff.add(step)
            elif stream.spec.base == DEALS:
                stream.trades.extend(c.trade for c in step.changes if c.trade is not None)

    def _flush_due(self, t_ms: int) -> None:
        for stream in self._streams.values():
            if t_ms >= stream.due_ms:
                stream.due_ms += stream.interval_ms
                if stream.due_ms <= t_ms:  # fell behind: realign instead of bursting
                    stream.due_ms = t_ms + stream.interval_ms
                self._push(stream, t_ms)

    def _flush_symbol(self, symbol: str, t_ms: int) -> None:
        for stream in self._by_symbol[symbol]:
            if stream.spec.base != MINI_TICKER:
                self._push(stream, t_ms)

    def _push(self, stream: Stream, t_ms: int) -> None:
        subs = self._subs.get(stream.channel)
        wrapper = self._render(stream, t_ms)
        if wrapper is not None and subs:
            self._send(subs, stream.spec.base, encoded(wrapper))

    def _render(self, stream: Stream, t_ms: int) -> PushDataV3ApiWrapper | None:
        """The stream's next push, or None when it has nothing new."""
        channel, (base, symbol, param) = stream.channel, stream.spec
        market, last_ms = self.market, self._last_change_ms[symbol]
        if base == DEPTH:
            assert stream.diff is not None
            push = stream.diff.flush()
            if push is None:
                return None
            body: Message = depth_body(push, param, last_ms)
            return push_frame(channel, symbol, t_ms, "publicAggreDepths", body)
        if base == DEALS:
            if not stream.trades:
                return None
            body = deals_body(stream.trades, param)
            stream.trades.clear()
            return push_frame(channel, symbol, t_ms, "publicAggreDeals", body)
        version = market.book_id(symbol)
        if base == BOOK_TICKER:
            top = market.best(symbol)
            if top[1:] == stream.last:
                return None
            stream.last = top[1:]
            body = book_ticker_body(top, version, last_ms)
            return push_frame(channel, symbol, t_ms, "publicAggreBookTicker", body)
        if base == LIMIT_DEPTH:
            if version == stream.last:
                return None
            stream.last = version
            snap = market.snapshot(symbol, int(param))
            body = limit_depth_body(snap.bids, snap.asks, version, last_ms)
            return push_frame(channel, symbol, t_ms, "publicLimitDepths", body)
        body = mini_ticker_body(symbol, market.ticker(symbol, t_ms))
        return push_frame(channel, symbol, t_ms, "publicMiniTicker", body)

    # -- the account --------------------------------------------------------------------------

    def _deliver(self, events: list[AccountEvent], t_ms: int) -> list[dict[str, Any]]:
        """One push per event, to the live listenKey connections subscribed to its channel."""
        shown: list[dict[str, Any]] = []
        last_fill: dict[int, Fill] = {}
        finish_as = ""
        for event in events:
            match event:
                case OrderEvent(_, order):
                    body: Message = order_record(order, self.market, last_fill.get(order.id))
                    wrapper = push_frame(ORDERS, order.symbol, t_ms, "privateOrders", body)
                    finish_as = order.finish_as
                case Fill():
                    last_fill[event.order_id] = event
                    body = deal_record(event, self.market)
                    wrapper = push_frame(PRIVATE_DEALS, event.symbol, t_ms, "privateDeals", body)
                case BalanceChange():
                    body = account_record(event, account_type(event.reason, finish_as))
                    wrapper = push_frame(ACCOUNT, "", t_ms, "privateAccount", body, create=True)
                case _:
                    continue
            subs = self._private_subs(wrapper.channel, t_ms)
            if subs:
                self._send(subs, wrapper.channel, encoded(wrapper))
            shown.append(MessageToDict(wrapper))
        self._account_pushes += len(shown)
        return shown

    def _private_subs(self, channel: str, t_ms: int) -> list[Conn]:
        subs = self._subs.get(channel, ())
        return [c for c in subs if self.listen_keys.valid(self._state(c).listen_key or "", t_ms)]

    def _place(self, params: dict[str, str], t_ms: int) -> Outcome:
        symbol = self._symbol(params)
        side = params.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise self._error(400, 700008, "side must be BUY or SELL")
        type_ = params.get("type", "LIMIT").upper()
        if type_ not in SIM_ORDER_TYPES:
            raise self._error(400, 700008, f"type must be one of {', '.join(SIM_ORDER_TYPES)}")
        kind, tif = SIM_ORDER_TYPES[type_]
        if kind == "market" and side == "BUY":
            amount = params.get("quoteOrderQty", "")  # the account spends quote
            if not amount:
                raise self._error(400, 700008, "a MARKET BUY takes quoteOrderQty here")
        else:
            amount = params.get("quantity", "")
        return self.spot_account.place(
            symbol,
            side.lower(),
            kind,
            amount,
            params.get("price") if kind == "limit" else None,
            t_ms,
            tif=tif,
            text=params.get("newClientOrderId", ""),
        )

    def _order_id(self, params: dict[str, str]) -> int:
        raw = (params.get("order_id") or params.get("orderId") or "").removeprefix(ORDER_ID_PREFIX)
        if not raw.isdigit():
            raise self._error(400, 700008, "order_id must be an order id (C02__<n> or <n>)")
        return int(raw)

    def _order_reply(self, outcome: Outcome, pushes: list[dict[str, Any]]) -> dict[str, Any]:
        order = outcome.order
        assert order is not None
        return {
            "orderId": order_id_text(order.id),
            "status": order_status(order),
            "finish_as": order.finish_as,
            "versions": [step.last_id for step in outcome.steps],
            "pushes": pushes,
        }

    def _order_error(self, err: OrderError) -> VenueError:
        code = {"BALANCE_NOT_ENOUGH": 10101, "ORDER_NOT_FOUND": -2011}.get(err.label, 700008)
        return self._error(404 if code == -2011 else 400, code, err.message)

    def _account_view(self) -> dict[str, Any]:
        account = self.spot_account
        balances = {}
        for asset in sorted(account.assets):
            total, available, frozen = account.balance(asset)
            balances[asset] = {
                "free": dec_str(available),
                "locked": dec_str(frozen),
                "total": dec_str(total),
            }
        orders = [
            MessageToDict(order_record(o, self.market, None)) for o in account.orders.values()
        ]
        return {"balances": balances, "orders": orders, "positions": []}

    # -- controls -----------------------------------------------------------------------------

    def _error(self, status: int, code: int, message: str) -> VenueError:
        return VenueError(status, code, message, {"code": code, "msg": message})

    def _sim_expire_listen_key(self, params: dict[str, str], t_ms: int) -> Any:
        """``listen_key=K`` (or every key): expire it now and close its connections."""
        wanted = params.get("listen_key")
        keys = [wanted] if wanted else self.listen_keys.live(t_ms)
        closed = 0
        for key in keys:
            if not self.listen_keys.delete(key):
                raise self._error(400, 730002, "Your input param is invalid: no such listenKey")
            closed += self._close_key(key)
        self._faults["expire_listen_key"] += len(keys)
        return {"expired": len(keys), "closed_connections": closed}

    def _malformed(self, count: int, t_ms: int) -> Iterable[bytes | bytearray]:
        """Cycling: a protobuf cut short, random bytes, a wrapper without a body, and a JSON
        ack cut short (a text frame)."""
        symbol = self.symbols[0]
        body = book_ticker_body(self.market.best(symbol), self.market.book_id(symbol), t_ms)
        channel = f"{BOOK_TICKER}@100ms@{symbol}"
        whole = push_frame(channel, symbol, t_ms, "publicAggreBookTicker", body).SerializeToString()
        cut = _undecodable_prefix(whole)
        bodiless = PushDataV3ApiWrapper(channel=channel, symbol=symbol, sendTime=t_ms)
        kinds: list[Callable[[], bytes | bytearray]] = [
            lambda: bytearray(cut),
            lambda: bytearray(self._rng.randbytes(24)),
            lambda: encoded(bodiless),
            lambda: reply_frame(0, "PONG")[:9],
        ]
        return [kinds[i % len(kinds)]() for i in range(count)]

    def _extra_stats(self) -> dict[str, Any]:
        subs: Counter[str] = Counter()
        for channel, conns in self._subs.items():
            subs[channel.split("@")[1]] += len(conns)
        return {
            **self._common_stats(),
            "subscriptions": dict(subs),
            "rejected_channels": dict(self._rejected),
            "listen_keys": len(self.listen_keys.live(now_ms())),
        }

    # -- REST ---------------------------------------------------------------------------------

    def _rest(self, path: str, params: dict[str, str], request: Request) -> Any:
        t_ms = now_ms()
        route = path.rstrip("/")
        if route == "/api/v3/userDataStream":
            return self._user_data_stream(request, params, t_ms)
        if request.method == "GET":
            if route == "/api/v3/depth":
                return self._rest_depth(params, t_ms)
            if route == "/api/v3/exchangeInfo":
                wanted = [self._symbol(params)] if "symbol" in params else self.symbols
                return self._exchange_info(wanted, t_ms)
            if route == "/api/v3/ping":
                return {}
            if route == "/api/v3/time":
                return {"serverTime": t_ms}
        raise self._error(404, 404, f"Not Found: {request.method} {route}")

    def _rest_depth(self, params: dict[str, str], t_ms: int) -> dict[str, Any]:
        symbol = self._symbol(params)
        raw = params.get("limit", "100")
        if not raw.isdigit() or int(raw) < 1:
            raise self._error(400, 700008, "Illegal characters found in parameter 'limit'.")
        snap = self.market.snapshot(symbol, min(int(raw), 5000))
        return {"lastUpdateId": snap.id, "bids": snap.bids, "asks": snap.asks, "timestamp": t_ms}

    def _exchange_info(self, symbols: list[str], t_ms: int) -> dict[str, Any]:
        out = []
        for symbol in symbols:
            spec = self.market.spec(symbol)
            out.append(
                {
                    "symbol": symbol,
                    "status": "1",
                    "baseAsset": spec.base,
                    "baseAssetPrecision": spec.amount_decimals,
                    "quoteAsset": spec.quote,
                    "quotePrecision": spec.price_decimals,
                    "quoteAssetPrecision": spec.price_decimals,
                    "baseCommissionPrecision": spec.amount_decimals,
                    "quoteCommissionPrecision": spec.price_decimals,
                    "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "permissions": ["SPOT"],
                    "baseSizePrecision": self.market.amount_str(symbol, 1),
                    "maxQuoteAmount": "2000000",
                    "makerCommission": dec_str(self.spot_account.maker_fee),
                    "takerCommission": dec_str(self.spot_account.taker_fee),
                    "quoteAmountPrecision": "1",
                    "tradeSideType": "1",
                }
            )
        return {
            "timezone": "CST",
            "serverTime": t_ms,
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": out,
        }

    def _user_data_stream(self, request: Request, params: dict[str, str], t_ms: int) -> Any:
        """The signed listenKey calls (body-less, as websockets' HTTP takes no bodies)."""
        raw_query = request.path.partition("?")[2]
        try:
            check_signed(
                request.headers.get(API_KEY_HEADER), raw_query, "", self._credentials, t_ms
            )
        except RestError as err:
            self._auth_failures += 1
            raise self._error(err.status, err.code, err.msg) from None
        keys = self.listen_keys
        if request.method == "POST":
            return {"listenKey": keys.create(t_ms)}
        if request.method == "GET":
            return {"listenKey": keys.live(t_ms)}
        if request.method in ("PUT", "DELETE"):
            key = params.get("listenKey", "")
            ok = keys.extend(key, t_ms) if request.method == "PUT" else keys.delete(key)
            if not ok:  # ours: the docs list no code for an unknown listenKey
                raise self._error(400, 730002, "Your input param is invalid: no such listenKey")
            if request.method == "DELETE":
                self._close_key(key)
            return {"listenKey": key}
        raise self._error(404, 404, f"Not Found: {request.method} /api/v3/userDataStream")


def _undecodable_prefix(whole: bytes) -> bytes:
    """The longest prefix of ``whole`` (at most half) that no longer decodes."""
    cut = whole[: len(whole) // 2]
    while cut:
        try:
            PushDataV3ApiWrapper.FromString(cut)
        except DecodeError:
            return cut
        cut = cut[:-1]
    return b"\x0a\xff"  # a length running past the end


def run(
    symbols: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    **options: Any,
) -> None:
    """Blocking entry for ``pipeline simulate mexc_spot``: serve until SIGINT/SIGTERM."""
    sim = MexcSpotSimulator(symbols, host=host, port=port, seed=seed, **options)
    serve_until_signalled(sim, "mexc_spot")
