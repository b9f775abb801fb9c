"""MEXC spot v3: channel strings, JSON acks, protobuf pushes and REST depth snapshots.  [pure]

Wire facts (``shared/protocols/protocols.md`` §1):

* The client sends JSON text (``SUBSCRIPTION`` / ``UNSUBSCRIPTION`` / ``PING``); the server
  answers with JSON text acks and sends every push as a binary ``PushDataV3ApiWrapper``
  protobuf whose ``oneof body`` (fields 301-315) says what it carries.
* A failed subscription is also acked with ``code: 0``: success is only an ack whose ``msg``
  echoes channel strings; ``Not Subscribed successfully! [...].  Reason<U+FF1A> Blocked! ``
  (a full-width colon and a trailing space) lists the refused channels.
* Order books: the ``aggre.depth`` diff stream carries ``fromVersion``/``toVersion`` and is
  aligned with ``GET /api/v3/depth`` (``lastUpdateId``); ``limit.depth`` pushes whole top-N
  books.
* At most 30 channel strings per connection; keep-alive is ``{"method":"PING"}``.

Symbols: MEXC writes ``BTCUSDT`` with no separator, so ``normalize_symbol`` can split a name
only at a known quote asset (longest suffix wins).  A pair quoted in an asset outside
``QUOTE_ASSETS`` needs the ``quote_assets`` option, otherwise its name is rejected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import msgspec
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from actors.messages import (
    Balance,
    BookDelta,
    BookSnapshot,
    BookTicker,
    Event,
    Fill,
    Level,
    Order,
    Pong,
    Side,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    TopBook,
    Trade,
)
from actors.staleness import periodic
from actors.venues.base import BookSync, FrameError, RestRequest, Subscription, Venue
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper
from actors.venues.mexc.signing import user_data_stream_request

QUOTE_ASSETS: tuple[str, ...] = ("USDT", "USDC", "USDE", "BTC", "ETH", "MX", "EUR", "BRL", "TRY")
INTERVALS = ("100ms", "10ms")
TOP_DEPTHS = (5, 10, 20)
MAX_BOOK_DEPTH = 5000
TICKER_TIME_ZONES = (
    "24H", "UTC-10", "UTC-8", "UTC-7", "UTC-6", "UTC-5", "UTC-4", "UTC-3", "UTC+0", "UTC+1",
    "UTC+2", "UTC+3", "UTC+4", "UTC+4:30", "UTC+5", "UTC+5:30", "UTC+6", "UTC+7", "UTC+8",
    "UTC+9", "UTC+10", "UTC+11", "UTC+12", "UTC+12:45", "UTC+13",
)  # fmt: skip

LISTEN_KEY_KEEPALIVE_S = 30 * 60.0  # keys live 60 min; the docs say renew every 30

PRIVATE_CHANNELS: dict[str, str] = {
    "orders": "spot@private.orders.v3.api.pb",
    "balances": "spot@private.account.v3.api.pb",
    "fills": "spot@private.deals.v3.api.pb",
}

_SIDES: dict[int, Side] = {1: "buy", 2: "sell"}
_ORDER_TYPES = {1: "limit", 2: "post_only", 3: "ioc", 4: "fok", 5: "market", 100: "stop"}
_ORDER_STATUS = {
    1: "open",
    2: "filled",
    3: "partially_filled",
    4: "cancelled",
    5: "partially_cancelled",
}
# Bodies we know but do not publish: klines, the all-symbol tickers, the batch book ticker,
# and the legacy bodies the docs no longer list.
_UNPUBLISHED = frozenset(
    {
        "publicSpotKline",
        "publicMiniTickers",
        "publicBookTickerBatch",
        "publicDeals",
        "publicIncreaseDepths",
        "publicBookTicker",
        "publicIncreaseDepthsBatch",
    }
)

_SYMBOL = re.compile(r"[A-Z0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTERVAL_PART = re.compile(r"[0-9]+ms")
_REJECTION = re.compile(
    r"Not [A-Za-z ]*successfully!?\s*\[(?P<channels>[^\]]*)\]\.?\s*Reason\s*[：:]\s*(?P<reason>.*)",
    re.DOTALL,
)
_ALL_SYMBOL_STREAMS = frozenset({"public.miniTickers.v3.api.pb"})
_CACHE_LIMIT = 4096


class _Ack(msgspec.Struct):
    """A JSON text frame: ack, PONG or error (``{"id":0,"code":0,"msg":"…"}``)."""

    id: int | str | None = None  # echoed from the request, if we sent one
    code: int = 0
    msg: str = ""


_RestLevel = tuple[str | float, str | float]


class _Depth(msgspec.Struct, rename="camel"):
    """``GET /api/v3/depth`` body, or the venue's ``{"code":…,"msg":…}`` refusal."""

    last_update_id: int | None = None
    bids: list[_RestLevel] = []
    asks: list[_RestLevel] = []
    timestamp: int = 0
    code: int | str | None = None
    msg: str = ""


_ACK_DECODER = msgspec.json.Decoder(_Ack)
_JSON_NUMBER = msgspec.json.Decoder(float)
_DEPTH_DECODER = msgspec.json.Decoder(_Depth)
_JSON_ENCODER = msgspec.json.Encoder()


# -- field conversions: each names the field in its error ---------------------------------


def _num(text: str, field: str) -> float:
    try:
        value = _JSON_NUMBER.decode(text)  # native: several times faster than regex + float()
    except ValueError:  # msgspec's errors are ValueErrors
        pass
    else:
        # Unpadded and not negative (so not "-0", which msgspec reads as 0.0), a JSON number
        # matches _DECIMAL and reads as float() reads it; the rest goes the exact way below.
        if text[0].isdigit() and text[-1].isdigit():
            return value
    if not _DECIMAL.fullmatch(text):
        raise FrameError(f"{field}: not a decimal number: {text[:40]!r}")
    value = float(text)
    if math.isinf(value):
        raise FrameError(f"{field}: number out of range: {text[:40]!r}")
    return value


def _num_or_zero(text: str, field: str) -> float:
    """For fields the venue leaves empty when there is nothing (an empty book side)."""
    return _num(text, field) if text else 0.0


def _version(text: str, field: str) -> int:
    # int64 on the venue side: at most 19 digits (also keeps int() clear of its digit limit).
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise FrameError(f"{field}: not a version number: {text[:40]!r}")
    return int(text)


def _side(trade_type: int, field: str) -> Side:
    try:
        return _SIDES[trade_type]
    except KeyError:
        raise FrameError(f"{field}: unknown tradeType {trade_type} (1 buy, 2 sell)") from None


def _levels(items: Sequence[Any], field: str) -> list[Level]:
    price, quantity = f"{field}.price", f"{field}.quantity"
    return [(_num(item.price, price), _num(item.quantity, quantity)) for item in items]


def _percent(ratio: str, field: str) -> float | None:
    """``"0.0123"`` -> 1.23, exactly (Decimal avoids 0.0069 * 100 = 0.6900000000000001)."""
    if not ratio:
        return None
    _num(ratio, field)
    pct = float(Decimal(ratio).scaleb(2))
    if not math.isfinite(pct):
        raise FrameError(f"{field}: ratio out of range: {ratio[:40]!r}")
    return pct


def _wrapper_ts(wrapper: PushDataV3ApiWrapper) -> int:
    if wrapper.HasField("sendTime"):
        return wrapper.sendTime
    return wrapper.createTime if wrapper.HasField("createTime") else 0


def _channel_native(channel: str) -> str:
    """The native symbol a channel string names, or "" (private and all-symbol streams)."""
    parts = channel.split("@")
    if len(parts) < 3 or not parts[1].startswith("public.") or parts[1] in _ALL_SYMBOL_STREAMS:
        return ""
    params = [p for p in parts[2:] if not _INTERVAL_PART.fullmatch(p)]
    return params[0] if params else ""


class MexcSpot(Venue):
    """MEXC spot v3.  Options (topology): ``interval`` ("100ms" | "10ms") of the aggre
    streams, ``top_depth`` (5 | 10 | 20) of ``top_book``, ``ticker_tz`` of ``tickers``,
    ``book_depth`` (REST snapshot levels, 1..5000) and ``quote_assets`` (extra quote assets
    for symbol normalization)."""

    name: ClassVar[str] = "mexc_spot"
    ws_url: ClassVar[str] = "wss://wbs-api.mexc.com/ws"
    rest_url: ClassVar[str] = "https://api.mexc.com"
    channels: ClassVar[frozenset[str]] = frozenset(
        {"book_ticker", "trades", "order_book", "top_book", "tickers"}
    )
    private_channels: ClassVar[frozenset[str]] = frozenset(PRIVATE_CHANNELS)
    book_sync: ClassVar[BookSync] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 20.0
    max_subscriptions_per_connection: ClassVar[int | None] = 30
    max_session_s: ClassVar[float | None] = 24 * 3600.0
    # Docs (protocols.md 1.4): aggre.depth aggregated over 100 ms or 10 ms, miniTicker every
    # 3 s.  limit.depth has no documented period; aggre.deals and aggre.bookTicker push only
    # when a trade or a best-price change happened in the window.
    STALE_AFTER: ClassVar[Mapping[str, float | None]] = {
        "order_book": periodic(0.1),
        "tickers": periodic(3.0),
        "top_book": None,
        "book_ticker": None,
        "trades": None,
    }

    OPTIONS: ClassVar[frozenset[str]] = frozenset(
        {"interval", "top_depth", "ticker_tz", "book_depth", "quote_assets", "stale_after"}
    )

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(options, credentials=credentials)
        opts = dict(self.options)
        unknown = sorted(set(opts) - self.OPTIONS)
        if unknown:
            raise ValueError(f"mexc_spot: unknown options {unknown}; known: {sorted(self.OPTIONS)}")
        self.interval: str = _choice(opts, "interval", INTERVALS, "100ms")
        self.top_depth: int = _choice(opts, "top_depth", TOP_DEPTHS, 20)
        self.ticker_tz: str = _choice(opts, "ticker_tz", TICKER_TIME_ZONES, "24H")
        self.book_depth: int = _book_depth(opts.get("book_depth", MAX_BOOK_DEPTH))
        extra = _quote_assets(opts.get("quote_assets", ()))
        # Longest first, so USDT wins over a shorter quote that is also a suffix.
        self.quote_assets: tuple[str, ...] = tuple(
            sorted(set(QUOTE_ASSETS) | set(extra), key=len, reverse=True)
        )
        self._normalized: dict[str, str] = {}
        self._bodies: dict[str, Callable[[PushDataV3ApiWrapper, Any, int], list[Event]]] = {
            "publicAggreBookTicker": self._book_ticker,
            "publicAggreDeals": self._trades,
            "publicAggreDepths": self._book_delta,
            "publicLimitDepths": self._top_book,
            "publicMiniTicker": self._ticker,
            "privateAccount": self._balance,
            "privateOrders": self._order,
            "privateDeals": self._fill,
        }

    # -- symbols ----------------------------------------------------------------------------

    def native_symbol(self, symbol: str) -> str:
        base, slash, quote = symbol.partition("/")
        if not slash or not _SYMBOL.fullmatch(base) or not _SYMBOL.fullmatch(quote):
            raise ValueError(f"mexc_spot: symbol {symbol!r} is not BASE/QUOTE in upper case")
        if quote not in self.quote_assets:
            raise ValueError(
                f"mexc_spot: quote asset {quote!r} of {symbol!r} is not known, so pushes for it "
                f"could not be normalized; add it to the quote_assets option"
            )
        return base + quote

    def normalize_symbol(self, native: str) -> str:
        cached = self._normalized.get(native)
        if cached is not None:
            return cached
        if not _SYMBOL.fullmatch(native):
            raise ValueError(f"mexc_spot: {native[:40]!r} is not a MEXC spot symbol")
        for quote in self.quote_assets:
            if native.endswith(quote) and len(native) > len(quote):
                symbol = f"{native[: -len(quote)]}/{quote}"
                break
        else:
            raise ValueError(
                f"mexc_spot: {native!r} ends in no known quote asset; "
                "add its quote to the quote_assets option"
            )
        if len(self._normalized) >= _CACHE_LIMIT:
            self._normalized.clear()
        self._normalized[native] = symbol
        return symbol

    # -- requests we send -------------------------------------------------------------------

    # -- sessions: account streams ride a listenKey socket ------------------------------

    def connection_group(self, channel: str) -> str:
        return "account" if channel in PRIVATE_CHANNELS else "market"

    def connection_limit(self, group: str) -> int | None:
        # The account streams are per account, not per symbol: one socket carries all three.
        return None if group == "account" else self.max_subscriptions_per_connection

    def session_open(self, group: str, *, now_ms: int) -> RestRequest | None:
        if group != "account":
            return None
        key, secret = self._require_credentials()
        return user_data_stream_request("POST", api_key=key, secret=secret, timestamp_ms=now_ms)

    def session_url(self, ws_url: str, group: str, opened: bytes | None) -> str:
        if group != "account":
            return ws_url
        return f"{ws_url}?listenKey={self._listen_key(opened)}"

    def session_keepalive(
        self, group: str, opened: bytes, *, now_ms: int
    ) -> tuple[float, RestRequest] | None:
        if group != "account":
            return None
        key, secret = self._require_credentials()
        request = user_data_stream_request(
            "PUT",
            api_key=key,
            secret=secret,
            timestamp_ms=now_ms,
            listen_key=self._listen_key(opened),
        )
        return LISTEN_KEY_KEEPALIVE_S, request

    def _listen_key(self, opened: bytes | None) -> str:
        try:
            listen_key = msgspec.json.decode(opened or b"")["listenKey"]
        except (msgspec.DecodeError, KeyError, TypeError):
            text = (opened or b"")[:200].decode(errors="replace")
            raise FrameError(f"userDataStream: no listenKey in the answer: {text}") from None
        if not isinstance(listen_key, str) or not listen_key.isalnum():
            raise FrameError("userDataStream: the listenKey is not a plain token")
        return listen_key

    def _require_credentials(self) -> tuple[str, str]:
        if self._credentials is None:
            raise ValueError("mexc_spot account streams need an api key and secret")
        return self._credentials

    def refused(
        self, channel: str, code: int, message: str, subs: Iterable[Subscription]
    ) -> list[Subscription]:
        """A rejection names the exact channel string it refuses ("Blocked!")."""
        return [s for s in subs if self.channel_name(s) == channel]

    def channel_name(self, sub: Subscription) -> str:
        """The venue's channel string; each counts against the 30 per connection."""
        if sub.channel in PRIVATE_CHANNELS:
            return PRIVATE_CHANNELS[sub.channel]  # per account: the symbol does not apply
        native = self.native_symbol(sub.symbol)
        match sub.channel:
            case "book_ticker":
                return f"spot@public.aggre.bookTicker.v3.api.pb@{self.interval}@{native}"
            case "trades":
                return f"spot@public.aggre.deals.v3.api.pb@{self.interval}@{native}"
            case "order_book":
                return f"spot@public.aggre.depth.v3.api.pb@{self.interval}@{native}"
            case "top_book":
                return f"spot@public.limit.depth.v3.api.pb@{native}@{self.top_depth}"
            case "tickers":
                return f"spot@public.miniTicker.v3.api.pb@{native}@{self.ticker_tz}"
        known = sorted(self.channels | self.private_channels)
        raise ValueError(f"mexc_spot: unknown channel {sub.channel!r} (known: {known})")

    def subscribe_messages(self, subs: Sequence[Subscription], *, now_s: int) -> list[str | bytes]:
        return self._requests("SUBSCRIPTION", subs)

    def unsubscribe_messages(
        self, subs: Sequence[Subscription], *, now_s: int
    ) -> list[str | bytes]:
        return self._requests("UNSUBSCRIPTION", subs)

    def _requests(self, method: str, subs: Sequence[Subscription]) -> list[str | bytes]:
        # One message per 30 channels: a connection never holds more, and the ack echoes
        # the whole list (or names the refused ones).
        names = list(dict.fromkeys(self.channel_name(sub) for sub in subs))
        size = self.max_subscriptions_per_connection or len(names) or 1
        return [
            _JSON_ENCODER.encode({"method": method, "params": names[i : i + size]}).decode()
            for i in range(0, len(names), size)
        ]

    def ping_message(self, *, now_s: int) -> str | bytes | None:
        return '{"method":"PING"}'

    # -- frames we receive ------------------------------------------------------------------

    def parse_frame(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        if not frame:
            raise FrameError("empty frame")
        # A protobuf wrapper starts with 0x0A (field 1), never with "{": bytes that do are JSON
        # text delivered as binary.
        if isinstance(frame, str) or frame[:1] == b"{":
            return self._parse_text(frame, recv_ns)
        return self._parse_push(frame, recv_ns)

    def _parse_text(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        try:
            ack = _ACK_DECODER.decode(frame)
        except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
            raise FrameError(f"text frame is not a MEXC JSON ack: {exc}") from None
        msg = ack.msg.strip()
        if ack.code != 0:
            channels = [c for c in msg.split(",") if c.startswith("spot@")] or [""]
            return [
                self._sub_error(c, msg or f"code {ack.code}", ack.code, recv_ns) for c in channels
            ]
        if not msg:
            raise FrameError(f"JSON ack without msg: {_excerpt(frame)}")
        if msg == "PONG":
            return [Pong(venue=self.name, symbol="", native="", recv_ns=recv_ns)]
        rejected = _REJECTION.search(msg)
        if rejected:
            reason = rejected["reason"].strip() or msg
            channels = [c.strip() for c in rejected["channels"].split(",") if c.strip()] or [""]
            return [self._sub_error(c, reason, 0, recv_ns) for c in channels]
        channels = [c.strip() for c in msg.split(",")]
        if all(c.startswith("spot@") for c in channels):
            return [self._sub_ack(c, recv_ns) for c in channels]
        # Not an echo of a channel: the venue refused something without saying which.
        return [self._sub_error("", msg, 0, recv_ns)]

    def _parse_push(self, frame: bytes, recv_ns: int) -> list[Event]:
        try:
            wrapper = PushDataV3ApiWrapper.FromString(frame)
        except DecodeError as exc:
            raise FrameError(f"binary frame is not a PushDataV3ApiWrapper: {exc}") from None
        body_name = wrapper.WhichOneof("body")
        if body_name is None:
            unknown = sorted({f.field_number for f in UnknownFieldSet(wrapper)})
            raise FrameError(
                f"push on {wrapper.channel[:80]!r} has no known body "
                f"(unknown field numbers: {unknown or 'none'})"
            )
        if body_name in _UNPUBLISHED:
            return []
        parse = self._bodies[body_name]
        return parse(wrapper, getattr(wrapper, body_name), recv_ns)

    # -- one function per body: (wrapper, body, recv_ns) -> events --------------------------

    def _book_ticker(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        return [
            BookTicker(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=_wrapper_ts(w),
                recv_ns=recv_ns,
                bid_price=_num_or_zero(b.bidPrice, "publicAggreBookTicker.bidPrice"),
                bid_qty=_num_or_zero(b.bidQuantity, "publicAggreBookTicker.bidQuantity"),
                ask_price=_num_or_zero(b.askPrice, "publicAggreBookTicker.askPrice"),
                ask_qty=_num_or_zero(b.askQuantity, "publicAggreBookTicker.askQuantity"),
                seq=_version(b.version, "publicAggreBookTicker.version") if b.version else 0,
            )
        ]

    def _trades(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        return [
            Trade(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=deal.time,
                recv_ns=recv_ns,
                price=_num(deal.price, "publicAggreDeals.deals.price"),
                qty=_num(deal.quantity, "publicAggreDeals.deals.quantity"),
                side=_side(deal.tradeType, "publicAggreDeals.deals.tradeType"),
                trade_id=deal.tradeId,
            )
            for deal in b.deals
        ]

    def _book_delta(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        first = _version(b.fromVersion, "publicAggreDepths.fromVersion")
        last = _version(b.toVersion, "publicAggreDepths.toVersion")
        if first > last:
            raise FrameError(f"publicAggreDepths: fromVersion {first} > toVersion {last}")
        return [
            BookDelta(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=_wrapper_ts(w),
                recv_ns=recv_ns,
                bids=_levels(b.bids, "publicAggreDepths.bids"),
                asks=_levels(b.asks, "publicAggreDepths.asks"),
                first_seq=first,
                seq=last,
            )
        ]

    def _top_book(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        return [
            TopBook(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=_wrapper_ts(w),
                recv_ns=recv_ns,
                bids=_levels(b.bids, "publicLimitDepths.bids"),
                asks=_levels(b.asks, "publicLimitDepths.asks"),
                seq=_version(b.version, "publicLimitDepths.version"),
            )
        ]

    def _ticker(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        f = "publicMiniTicker"
        # zonedRate is the change over the subscribed window (ticker_tz), the same window as
        # high/low/volume; rate (the UTC+8 day) is the fallback.
        ratio, ratio_field = (b.zonedRate, "zonedRate") if b.zonedRate else (b.rate, "rate")
        return [
            Ticker(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=_wrapper_ts(w),
                recv_ns=recv_ns,
                last=_num(b.price, f"{f}.price"),
                high=_num(b.high, f"{f}.high") if b.high else None,
                low=_num(b.low, f"{f}.low") if b.low else None,
                base_volume=_num(b.quantity, f"{f}.quantity") if b.quantity else None,
                quote_volume=_num(b.volume, f"{f}.volume") if b.volume else None,
                change_pct=_percent(ratio, f"{f}.{ratio_field}"),
            )
        ]

    def _balance(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        f = "privateAccount"
        if not b.vcoinName:
            raise FrameError(f"{f}: no vcoinName")
        available = _num(b.balanceAmount, f"{f}.balanceAmount")
        frozen = _num_or_zero(b.frozenAmount, f"{f}.frozenAmount")
        return [
            Balance(
                venue=self.name,
                symbol=b.vcoinName,
                native=b.vcoinName,
                ts=b.time or _wrapper_ts(w),
                recv_ns=recv_ns,
                asset=b.vcoinName,
                total=available + frozen,
                available=available,
                frozen=frozen,
                # The change in the total, as on Gate.io: MEXC reports the available and the
                # frozen parts apart (placing an order moves funds between them, total 0).
                change=_num_or_zero(b.balanceAmountChange, f"{f}.balanceAmountChange")
                + _num_or_zero(b.frozenAmountChange, f"{f}.frozenAmountChange"),
                reason=b.type,
            )
        ]

    def _order(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        f = "privateOrders"
        return [
            Order(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=_wrapper_ts(w) or b.createTime,
                recv_ns=recv_ns,
                order_id=b.id,
                side=_side(b.tradeType, f"{f}.tradeType"),
                # Unknown codes stay visible instead of dropping the update.
                order_type=_ORDER_TYPES.get(b.orderType, f"unknown:{b.orderType}"),
                status=_ORDER_STATUS.get(b.status, f"unknown:{b.status}"),
                # Market orders leave price (or quantity) empty.
                price=_num_or_zero(b.price, f"{f}.price"),
                qty=_num_or_zero(b.quantity, f"{f}.quantity"),
                client_id=b.clientId,
                filled_qty=_num_or_zero(b.cumulativeQuantity, f"{f}.cumulativeQuantity"),
                avg_price=_num_or_zero(b.avgPrice, f"{f}.avgPrice"),
            )
        ]

    def _fill(self, w: PushDataV3ApiWrapper, b: Any, recv_ns: int) -> list[Event]:
        symbol, native = self._market_symbol(w)
        f = "privateDeals"
        return [
            Fill(
                venue=self.name,
                symbol=symbol,
                native=native,
                ts=b.time or _wrapper_ts(w),
                recv_ns=recv_ns,
                order_id=b.orderId,
                trade_id=b.tradeId,
                side=_side(b.tradeType, f"{f}.tradeType"),
                price=_num(b.price, f"{f}.price"),
                qty=_num(b.quantity, f"{f}.quantity"),
                fee=_num_or_zero(b.feeAmount, f"{f}.feeAmount"),
                fee_asset=b.feeCurrency,
                maker=b.isMaker,
            )
        ]

    # -- helpers ----------------------------------------------------------------------------

    def _market_symbol(self, w: PushDataV3ApiWrapper) -> tuple[str, str]:
        """(normalized, native) from the wrapper's symbol, else from its channel string."""
        native = w.symbol or _channel_native(w.channel)
        if not native:
            raise FrameError(f"push on {w.channel[:80]!r} names no symbol")
        try:
            return self.normalize_symbol(native), native
        except ValueError as exc:
            raise FrameError(str(exc)) from None

    def _lenient_symbol(self, channel: str) -> tuple[str, str]:
        """For acks: a symbol if the channel names one we can normalize, else the native."""
        native = _channel_native(channel)
        try:
            return (self.normalize_symbol(native) if native else ""), native
        except ValueError:
            return native, native

    def _sub_ack(self, channel: str, recv_ns: int) -> SubscriptionAck:
        symbol, native = self._lenient_symbol(channel)
        return SubscriptionAck(
            venue=self.name, symbol=symbol, native=native, recv_ns=recv_ns, channel=channel
        )

    def _sub_error(self, channel: str, message: str, code: int, recv_ns: int) -> SubscriptionError:
        symbol, native = self._lenient_symbol(channel)
        return SubscriptionError(
            venue=self.name,
            symbol=symbol,
            native=native,
            recv_ns=recv_ns,
            channel=channel,
            message=message,
            code=code,
        )

    # -- order book snapshots ---------------------------------------------------------------

    def snapshot_request(self, symbol: str) -> RestRequest:
        params = {"symbol": self.native_symbol(symbol), "limit": str(self.book_depth)}
        return RestRequest("GET", "/api/v3/depth", params)

    def parse_snapshot(self, body: bytes, symbol: str, recv_ns: int) -> BookSnapshot:
        try:
            depth = _DEPTH_DECODER.decode(body)
        except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
            raise FrameError(f"/api/v3/depth body for {symbol} is malformed: {exc}") from None
        if depth.last_update_id is None:
            raise FrameError(
                f"/api/v3/depth for {symbol} has no lastUpdateId: code {depth.code} {depth.msg!r}"
            )
        return BookSnapshot(
            venue=self.name,
            symbol=symbol,
            native=self.native_symbol(symbol),
            ts=depth.timestamp,
            recv_ns=recv_ns,
            bids=_rest_levels(depth.bids, "bids"),
            asks=_rest_levels(depth.asks, "asks"),
            seq=depth.last_update_id,
        )


def _rest_levels(rows: list[_RestLevel], field: str) -> list[Level]:
    return [
        (_rest_num(price, f"depth.{field}.price"), _rest_num(qty, f"depth.{field}.quantity"))
        for price, qty in rows
    ]


def _rest_num(value: str | float, field: str) -> float:
    return _num(value if isinstance(value, str) else repr(value), field)


def _excerpt(frame: str | bytes) -> str:
    text = frame if isinstance(frame, str) else frame.decode(errors="replace")
    return repr(text[:120])


# -- option validation ----------------------------------------------------------------------


def _choice(opts: Mapping[str, Any], key: str, allowed: tuple[Any, ...], default: Any) -> Any:
    value = opts.get(key, default)
    # Exact type: `top_depth: 20.0` or `true` must not slip through as 20 or 1.
    if type(value) is not type(default) or value not in allowed:
        raise ValueError(f"mexc_spot: option {key}={value!r} must be one of {list(allowed)}")
    return value


def _book_depth(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BOOK_DEPTH:
        raise ValueError(
            f"mexc_spot: option book_depth={value!r} must be an int in 1..{MAX_BOOK_DEPTH}"
        )
    return value


def _quote_assets(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"mexc_spot: option quote_assets={value!r} must be a list of assets")
    bad = [v for v in value if not isinstance(v, str) or not _SYMBOL.fullmatch(v)]
    if bad:
        raise ValueError(f"mexc_spot: quote_assets entries must be upper-case assets, got {bad}")
    return tuple(value)
