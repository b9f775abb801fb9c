"""Gate.io futures (perpetual) WebSocket v4: subscriptions, parsing, REST books, contracts.  [pure]

Role: the ``gateio_futures`` venue (see ``actors/venues/base.py``).  One instance serves one
settle currency, as the venue does: ``wss://fx-ws.gateio.ws/v4/ws/usdt`` (USDT-margined,
``BTC/USDT:USDT`` <-> ``BTC_USDT``) or ``.../btc`` (BTC-margined inverse, ``BTC/USD:BTC`` <->
``BTC_USD``).  Wire facts: ``../shared/protocols/protocols.md`` section 4.  It shares the
envelope, signing and number helpers with spot (``common.py``) and owns no socket or clock.

Order book, two modes (option ``book_mode``):

* ``update`` (default): ``futures.order_book_update`` ``[contract, interval, level]`` plus a
  REST snapshot with ``limit`` = the same level (the docs: different depths make the book
  drift).  ``actors/book.py`` enforces ``U``/``u``.
* ``obu``: ``futures.obu`` ``["ob.<CONTRACT>.<400|50>"]``; the first push is ``full`` (the
  snapshot arrives in the stream), so ``book_sync`` is ``"stream"``.

Sizes are contracts, published as the venue sends them (int or, with ``size_decimal``, a
decimal string).  Parsers stay stateless: the handler looks up the contract size
(``contracts_request``/``parse_contracts``) and calls ``with_contract_size`` to fill
``contract_size`` and the ``*_base`` quantities.

Trades flagged ``is_internal`` (insurance-fund or ADL takeovers, not book matches, priced off
the book) are published, not dropped, with ``trade_id`` = ``"<id>-internal"``: a consumer can
tell them apart by that suffix, and none is silently lost.

Private channels (``orders``, ``positions``, ``balances``, ``fills`` -> ``futures.orders``,
``futures.positions``, ``futures.balances``, ``futures.usertrades``) need ``credentials``
and the ``user_id`` option (the payload names the user); ``Subscription(c, "!all")`` asks
for every contract.

``parse_frame`` raises only ``FrameError``, whatever the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import msgspec
import msgspec.structs

from actors.messages import (
    Balance,
    BookDelta,
    BookSnapshot,
    BookTicker,
    Event,
    Fill,
    Level,
    Order,
    Position,
    Side,
    Ticker,
    Trade,
)
from actors.staleness import periodic
from actors.venues.base import BookSync as BookSyncKind
from actors.venues.base import FrameError, RestRequest, Subscription
from actors.venues.contracts import with_contract_size
from actors.venues.gateio import futures_schema as fs
from actors.venues.gateio.common import (
    ALL,
    OBU_LEVELS,
    GateioVenue,
    Parser,
    amount,
    check_level,
    decode_envelope,
    envelope_ms,
    fast_number,
    fast_obu,
    need_credentials,
    number,
    obu_stream,
    optional_number,
    order_status,
    order_type,
    parse_envelope,
    parse_obu,
    plain,
    request,
    side_price,
    signed_request,
    why,
)
from actors.venues.gateio.schema import INT64_MAX, Envelope, Num

NAME = "gateio_futures"
REST_URL = "https://api.gateio.ws/api/v4"
WS_URLS: dict[str, str] = {
    "usdt": "wss://fx-ws.gateio.ws/v4/ws/usdt",
    "btc": "wss://fx-ws.gateio.ws/v4/ws/btc",
}
# settle option -> (quote currency of its perpetuals, settle asset)
SETTLES: dict[str, tuple[str, str]] = {"usdt": ("USDT", "USDT"), "btc": ("USD", "BTC")}
SIZE_DECIMAL_HEADER = "X-Gate-Size-Decimal"

# normalized channel -> Gate.io channel ("order_book" is futures.obu in obu mode)
WIRE_CHANNELS: dict[str, str] = {
    "book_ticker": "futures.book_ticker",
    "trades": "futures.trades",
    "tickers": "futures.tickers",
    "order_book": "futures.order_book_update",
}
PRIVATE_CHANNELS: dict[str, str] = {
    "orders": "futures.orders",
    "positions": "futures.positions",
    "balances": "futures.balances",  # per account: payload [user_id]
    "fills": "futures.usertrades",
}

# Channels we understand but do not publish: their updates parse to no events.
IGNORED_CHANNELS: frozenset[str] = frozenset(
    {
        "futures.candlesticks",
        "futures.order_book",  # legacy (event "all" + per-order "update"); not recommended
        "futures.public_liquidates",
        "futures.contract_stats",
        "futures.ping",
    }
)

# book_interval -> REST/WS levels order_book_update allows (first = default); 20ms only 20
UPDATE_LEVELS: dict[str, tuple[int, ...]] = {"100ms": (100, 50, 20), "20ms": (20,)}
BOOK_MODES = ("update", "obu")
OPTIONS: frozenset[str] = frozenset(
    {
        "settle",
        "book_mode",
        "book_interval",
        "book_depth",
        "size_decimal",
        "user_id",
        "stale_after",
    }
)

_SYMBOL = re.compile(r"([A-Z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)")
_SPOT_SYMBOL = re.compile(r"[A-Z0-9]+/[A-Z0-9]+")
_NATIVE = re.compile(r"([A-Z0-9]+)_([A-Z0-9]+)")
_DELIVERY = re.compile(r"[A-Z0-9]+_[A-Z0-9]+_[0-9]{8}")


# -- symbols -------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def to_native(symbol: str, settle: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC_USDT`` for a venue with ``settle``; ValueError says why not."""
    quote, asset = SETTLES[settle]
    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        hint = " (that is a spot symbol)" if _SPOT_SYMBOL.fullmatch(symbol) else ""
        raise ValueError(
            f"bad symbol {symbol[:40]!r}{hint}: a Gate.io perpetual is BASE/QUOTE:SETTLE in "
            f"uppercase letters and digits, e.g. BTC/{quote}:{asset}"
        )
    base, sym_quote, sym_settle = match[1], match[2], match[3]
    if sym_settle != asset:
        raise ValueError(
            f"symbol {symbol!r} settles in {sym_settle}, but this {NAME} venue has settle "
            f"{settle!r}: its perpetuals settle in {asset}, e.g. BTC/{quote}:{asset}"
        )
    if sym_quote != quote:
        raise ValueError(
            f"symbol {symbol!r}: {settle}-settled perpetuals are quoted in {quote}, "
            f"not {sym_quote}, e.g. BTC/{quote}:{asset}"
        )
    return f"{base}_{quote}"


@lru_cache(maxsize=8192)
def to_symbol(native: str, settle: str) -> str:
    """``BTC_USDT`` -> ``BTC/USDT:USDT`` for a venue with ``settle``."""
    quote, asset = SETTLES[settle]
    if _DELIVERY.fullmatch(native):
        raise ValueError(
            f"contract {native!r} is a delivery contract; only perpetuals are supported"
        )
    match = _NATIVE.fullmatch(native)
    if match is None:
        raise ValueError(
            f"bad contract {native[:40]!r}: expected BASE_{quote} in uppercase letters and "
            f"digits, e.g. BTC_{quote}"
        )
    if match[2] != quote:
        raise ValueError(
            f"contract {native!r} is not a {settle}-settled perpetual (those end in _{quote})"
        )
    return f"{match[1]}/{quote}:{asset}"


# -- options -------------------------------------------------------------------------------


def _choice(options: Mapping[str, Any], key: str, allowed: Sequence[str], default: str) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{NAME}: {key} {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def book_options(options: Mapping[str, Any]) -> tuple[str, str, int]:
    """Validated (book_mode, book_interval, book_depth).

    ``update``: 100ms streams 100, 50 or 20 levels (default 100), 20ms only 20; the REST
    snapshot limit is the same depth.  ``obu``: 100ms is ``ob.<C>.400``, 20ms ``ob.<C>.50``.
    As on spot, a depth that does not fit the interval is refused rather than corrected."""
    mode = _choice(options, "book_mode", BOOK_MODES, "update")
    interval = _choice(options, "book_interval", tuple(UPDATE_LEVELS), "100ms")
    allowed = UPDATE_LEVELS[interval] if mode == "update" else (OBU_LEVELS[interval],)
    depth = options.get("book_depth", allowed[0])
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise ValueError(f"{NAME}: book_depth must be an integer, got {depth!r}")
    if depth not in allowed:
        levels_text = " or ".join(map(str, allowed))
        raise ValueError(
            f"{NAME}: book_depth {depth} does not fit book_mode {mode!r} with book_interval "
            f"{interval!r}, which streams {levels_text} levels"
        )
    return mode, interval, depth


def _user_id(value: Any) -> str | None:
    """The account's numeric user id, which private payloads name; a YAML int is accepted."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise ValueError(f"{NAME}: user_id must be the account's numeric user id, got {value!r}")


# -- contract sizes ------------------------------------------------------------------------


# -- frame helpers -------------------------------------------------------------------------


def size(value: Num, what: str) -> float:
    """An absolute size (book levels, book ticker): >= 0."""
    qty = amount(value, what)
    if qty < 0:
        raise FrameError(f"{what}: negative size {value!r}")
    return qty


def signed(value: Num, what: str) -> tuple[Side, float]:
    """A signed size -> (side, absolute size): positive buys, negative sells."""
    qty = amount(value, what)
    if qty == 0:
        raise FrameError(f"{what}: size is 0, so the side is unknown")
    return ("buy" if qty > 0 else "sell"), abs(qty)


def size_levels(raw: list[fs.SizeLevel], what: str) -> list[Level]:
    """``[{"p": "price", "s": size}, ...]`` -> levels."""
    out: list[Level] = []
    for level in raw:
        price = number(level.p, what)
        qty = amount(level.s, what)
        check_level(price, qty, what)
        out.append((price, qty))
    return out


def fast_size(value: Num) -> float:
    """The fast path's :func:`size`: raises for the exact path instead of naming the field."""
    qty = fast_number(value) if isinstance(value, str) else value  # a JSON number is finite
    if qty < 0:
        raise ValueError("negative size")
    return qty


def fast_size_levels(raw: list[fs.SizeLevel]) -> list[Level]:
    """The fast path's :func:`size_levels`."""
    out: list[Level] = []
    for level in raw:
        price = fast_number(level.p)
        if price <= 0:
            raise ValueError("bad level")
        out.append((price, fast_size(level.s)))
    return out


def seconds_ms(value: float, what: str) -> int:
    """REST futures times are float seconds (``1684930166.384``) -> ms."""
    if not 0.0 <= value < INT64_MAX / 1000:  # also rejects nan and inf
        raise FrameError(f"{what}: bad time {value!r}")
    return round(value * 1000)


def _ms(ms: int, seconds: int, env: Envelope) -> int:
    """The best timestamp a record has: its ms, its s, else the envelope's."""
    return ms or seconds * 1000 or envelope_ms(env)


# -- the venue -----------------------------------------------------------------------------


class GateioFutures(GateioVenue):
    """Gate.io perpetual futures v4, one settle currency per instance.

    Options: ``settle`` ("usdt" | "btc"), ``book_mode`` ("update" | "obu"),
    ``book_interval`` ("100ms" | "20ms"), ``book_depth`` (update: 100/50/20, 20ms only 20;
    obu: 400 at 100ms, 50 at 20ms), ``size_decimal`` (bool, default true: send
    ``X-Gate-Size-Decimal: 1`` and accept decimal sizes) and ``user_id`` (needed by the
    private channels)."""

    name: ClassVar[str] = NAME
    # Class default; each instance sets its settle's URL in __init__.
    ping_channel: ClassVar[str] = "futures.ping"
    private_wire: ClassVar[Mapping[str, str]] = PRIVATE_CHANNELS
    ws_url: ClassVar[str] = WS_URLS["usdt"]
    rest_url: ClassVar[str] = REST_URL
    channels: ClassVar[frozenset[str]] = frozenset(WIRE_CHANNELS)
    private_channels: ClassVar[frozenset[str]] = frozenset(PRIVATE_CHANNELS)
    book_sync: ClassVar[BookSyncKind] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 10.0
    # Docs (protocols.md 4.3): order_book_update every 100 ms or 20 ms, obu likewise.  The
    # futures docs give futures.tickers no period (spot's is 1 s): an explicit long 60 s.
    # book_ticker and trades push only on a change.
    STALE_AFTER: ClassVar[Mapping[str, float | None]] = {
        "order_book": periodic(0.1),
        "tickers": 60.0,
        "book_ticker": None,
        "trades": None,
    }

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(options, credentials=credentials)
        opts = dict(self.options)
        unknown = sorted(set(opts) - OPTIONS, key=str)
        if unknown:
            raise ValueError(f"{NAME}: unknown options {unknown}; known: {sorted(OPTIONS)}")
        self.settle = _choice(opts, "settle", tuple(SETTLES), "usdt")
        self.quote, self.settle_asset = SETTLES[self.settle]
        self.book_mode, self.book_interval, self.book_depth = book_options(opts)
        size_decimal = opts.get("size_decimal", True)
        if not isinstance(size_decimal, bool):
            raise ValueError(f"{NAME}: size_decimal must be true or false, got {size_decimal!r}")
        self.size_decimal: bool = size_decimal
        self.user_id = _user_id(opts.get("user_id"))
        # Instance attributes shadow the class defaults (ClassVar in the base interface).
        self.ws_url = WS_URLS[self.settle]  # type: ignore[misc]
        obu = self.book_mode == "obu"
        self.book_sync = "stream" if obu else "rest_snapshot"  # type: ignore[misc]
        self._wire = {
            **WIRE_CHANNELS,
            "order_book": "futures.obu" if obu else WIRE_CHANNELS["order_book"],
        }
        # Both book channels parse in either mode: parsing never depends on what we asked.
        self._parsers: dict[str, Parser] = {
            "futures.book_ticker": self._book_ticker,
            "futures.trades": self._trades,
            "futures.tickers": self._tickers,
            "futures.order_book_update": self._order_book_update,
            "futures.obu": self._obu,
            "futures.orders": self._orders,
            "futures.usertrades": self._user_trades,
            "futures.positions": self._positions,
            "futures.balances": self._balances,
        }

    def handshake_headers(self) -> dict[str, str]:
        return {SIZE_DECIMAL_HEADER: "1"} if self.size_decimal else {}

    # -- symbols ----------------------------------------------------------------------------

    def native_symbol(self, symbol: str) -> str:
        return to_native(symbol, self.settle)

    def normalize_symbol(self, native: str) -> str:
        return to_symbol(native, self.settle)

    def _contract(self, native: str, what: str) -> tuple[str, str]:
        """(normalized, native) for a contract named in a frame."""
        try:
            return to_symbol(native, self.settle), native
        except ValueError as exc:
            raise FrameError(f"{what}: {exc}") from None

    # -- requests we send -------------------------------------------------------------------

    def _requests(self, subs: Sequence[Subscription], event: str, now_s: int) -> list[str | bytes]:
        """Public tickers/trades/book_ticker: one request per channel with all contracts.
        Books and private channels: one request per contract (their payloads name a single
        contract), or one ``!all`` request.  First-appearance order, duplicates dropped."""
        by_channel: dict[str, dict[str, None]] = {}
        for sub in subs:
            wire = self._wire.get(sub.channel) or PRIVATE_CHANNELS.get(sub.channel)
            if wire is None:
                known = ", ".join(sorted(self.channels | self.private_channels))
                raise ValueError(f"{NAME}: unsupported channel {sub.channel!r} ({known})")
            if sub.channel in PRIVATE_CHANNELS:
                need_credentials(NAME, sub.channel, self.private_channels, self._credentials)
                if self.user_id is None:
                    raise ValueError(
                        f"{NAME}: private channel {sub.channel!r} needs the user_id option "
                        "(the account's numeric user id, which the payload names)"
                    )
                native = ALL if sub.symbol == ALL else self.native_symbol(sub.symbol)
            else:
                native = self.native_symbol(sub.symbol)
            by_channel.setdefault(wire, {})[native] = None
        out: list[str | bytes] = []
        for wire, contracts in by_channel.items():
            if wire == "futures.order_book_update":
                level = str(self.book_depth)
                out.extend(
                    request(now_s, wire, event, [c, self.book_interval, level]) for c in contracts
                )
            elif wire == "futures.obu":
                out.extend(
                    request(now_s, wire, event, [obu_stream(c, self.book_depth)]) for c in contracts
                )
            elif wire in PRIVATE_CHANNELS.values():
                out.extend(self._private_requests(wire, event, now_s, list(contracts)))
            else:
                out.append(request(now_s, wire, event, list(contracts)))
        return out

    def _private_requests(
        self, wire: str, event: str, now_s: int, contracts: list[str]
    ) -> list[str | bytes]:
        assert self._credentials is not None and self.user_id is not None  # checked above
        if wire == "futures.balances":
            payloads = [[self.user_id]]
        elif ALL in contracts:
            payloads = [[self.user_id, ALL]]
        else:
            payloads = [[self.user_id, c] for c in contracts]
        return [signed_request(now_s, wire, event, p, self._credentials) for p in payloads]

    # -- frames we receive ------------------------------------------------------------------

    def parse_frame(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        try:
            return self._fast_push(frame, recv_ns)
        except ValueError:  # FrameError and msgspec's errors too
            pass  # the exact path decides
        return parse_envelope(
            decode_envelope(frame),
            recv_ns,
            venue=NAME,
            pong="futures.pong",
            parsers=self._parsers,
            ignored=IGNORED_CHANNELS,
            credentials=self._credentials,
            eventless=frozenset({"futures.obu"}),
        )

    def _fast_push(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        """The fast path, as ``spot.fast_push``: the hot channels in one typed decode
        (``futures_schema.PUSH``); anything else or doubtful raises ValueError for the exact
        path, which decides every event and every error message."""
        push = fs.PUSH.decode(frame)
        if isinstance(push, fs.ObuPush):  # obu pushes may carry no event
            if push.event not in ("update", "") or not plain(frame):
                raise ValueError("for the exact path")
            return fast_obu(push.result, recv_ns, venue=NAME, name=self.normalize_symbol)
        if push.event != "update":
            raise ValueError("not an update")
        if isinstance(push, fs.OrderBookUpdatePush):
            u = push.result
            if u.u < u.U:
                raise ValueError("U after u")
            return [
                BookDelta(
                    venue=NAME,
                    symbol=to_symbol(u.s, self.settle),
                    native=u.s,
                    ts=u.t,
                    recv_ns=recv_ns,
                    bids=fast_size_levels(u.b),
                    asks=fast_size_levels(u.a),
                    first_seq=u.U,
                    seq=u.u,
                    full=u.full,
                )
            ]
        if isinstance(push, fs.BookTickerPush):
            b = push.result
            return [
                BookTicker(
                    venue=NAME,
                    symbol=to_symbol(b.s, self.settle),
                    native=b.s,
                    ts=b.t,
                    recv_ns=recv_ns,
                    bid_price=fast_number(b.b) if b.b else 0.0,
                    bid_qty=fast_size(b.B),
                    ask_price=fast_number(b.a) if b.a else 0.0,
                    ask_qty=fast_size(b.A),
                    seq=b.u,
                )
            ]
        out: list[Event] = []
        for r in push.result:
            qty = fast_number(r.size) if isinstance(r.size, str) else r.size
            if not qty:
                raise ValueError("size 0")
            out.append(
                Trade(
                    venue=NAME,
                    symbol=to_symbol(r.contract, self.settle),
                    native=r.contract,
                    ts=r.create_time_ms or r.create_time * 1000 or envelope_ms(push),
                    recv_ns=recv_ns,
                    price=fast_number(r.price),
                    qty=abs(qty),
                    side="buy" if qty > 0 else "sell",
                    trade_id=f"{r.id}-internal" if r.is_internal else str(r.id),
                )
            )
        return out

    def _book_ticker(self, env: Envelope, recv_ns: int) -> list[Event]:
        r = fs.BOOK_TICKER.decode(env.result)
        symbol, native = self._contract(r.s, "futures.book_ticker")
        what = f"futures.book_ticker {native}"
        return [
            BookTicker(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=r.t,
                recv_ns=recv_ns,
                bid_price=side_price(r.b, what),
                bid_qty=size(r.B, what),
                ask_price=side_price(r.a, what),
                ask_qty=size(r.A, what),
                seq=r.u,
            )
        ]

    def _trades(self, env: Envelope, recv_ns: int) -> list[Event]:
        out: list[Event] = []
        for r in fs.TRADES.decode(env.result):
            symbol, native = self._contract(r.contract, "futures.trades")
            what = f"futures.trades {native}"
            side, qty = signed(r.size, what)
            out.append(
                Trade(
                    venue=NAME,
                    symbol=symbol,
                    native=native,
                    ts=_ms(r.create_time_ms, r.create_time, env),
                    recv_ns=recv_ns,
                    price=number(r.price, what),
                    qty=qty,
                    side=side,
                    trade_id=f"{r.id}-internal" if r.is_internal else str(r.id),
                )
            )
        return out

    def _tickers(self, env: Envelope, recv_ns: int) -> list[Event]:
        out: list[Event] = []
        ts = envelope_ms(env)
        for r in fs.TICKERS.decode(env.result):
            symbol, native = self._contract(r.contract, "futures.tickers")
            what = f"futures.tickers {native}"
            out.append(
                Ticker(
                    venue=NAME,
                    symbol=symbol,
                    native=native,
                    ts=ts,
                    recv_ns=recv_ns,
                    last=number(r.last, what),
                    high=optional_number(r.high_24h, what),
                    low=optional_number(r.low_24h, what),
                    base_volume=optional_number(r.volume_24h_base, what),
                    quote_volume=optional_number(r.volume_24h_quote, what),
                    change_pct=optional_number(r.change_percentage, what),
                    mark_price=optional_number(r.mark_price, what),
                    index_price=optional_number(r.index_price, what),
                    funding_rate=optional_number(r.funding_rate, what),
                )
            )
        return out

    def _order_book_update(self, env: Envelope, recv_ns: int) -> list[Event]:
        r = fs.ORDER_BOOK_UPDATE.decode(env.result)
        symbol, native = self._contract(r.s, "futures.order_book_update")
        what = f"futures.order_book_update {native}"
        if r.u < r.U:
            raise FrameError(f"{what}: first update id U={r.U} is after last u={r.u}")
        return [
            BookDelta(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=r.t,
                recv_ns=recv_ns,
                bids=size_levels(r.b, what),
                asks=size_levels(r.a, what),
                first_seq=r.U,
                seq=r.u,
                full=r.full,
            )
        ]

    def _obu(self, env: Envelope, recv_ns: int) -> list[Event]:
        return parse_obu(env, recv_ns, venue=NAME, name=self._contract)

    def _orders(self, env: Envelope, recv_ns: int) -> list[Event]:
        """Side from the sign of ``size`` (of ``left`` if size is 0); ``qty`` = |size|,
        ``filled_qty`` = |size| - |left|; price 0 is a market order."""
        out: list[Event] = []
        for r in fs.ORDERS.decode(env.result):
            symbol, native = self._contract(r.contract, "futures.orders")
            what = f"futures.orders {native}"
            total, left = amount(r.size, what), amount(r.left, what)
            side, _ = signed(total or left, what)
            price = amount(r.price, what)
            filled = abs(total) - abs(left)
            out.append(
                Order(
                    venue=NAME,
                    symbol=symbol,
                    native=native,
                    ts=r.update_time or r.create_time_ms or envelope_ms(env),
                    recv_ns=recv_ns,
                    order_id=str(r.id),
                    side=side,
                    order_type="market" if price == 0 else order_type("limit", r.tif),
                    status=order_status(r.status == "finished", r.finish_as, filled, abs(left)),
                    price=price,
                    qty=abs(total),
                    client_id=r.text,
                    filled_qty=max(filled, 0.0),
                    avg_price=amount(r.fill_price, what),
                    reduce_only=r.is_reduce_only,
                )
            )
        return out

    def _user_trades(self, env: Envelope, recv_ns: int) -> list[Event]:
        """Our fills; the fee is in the settle currency."""
        out: list[Event] = []
        for r in fs.USER_TRADES.decode(env.result):
            symbol, native = self._contract(r.contract, "futures.usertrades")
            what = f"futures.usertrades {native}"
            side, qty = signed(r.size, what)
            out.append(
                Fill(
                    venue=NAME,
                    symbol=symbol,
                    native=native,
                    ts=_ms(r.create_time_ms, r.create_time, env),
                    recv_ns=recv_ns,
                    order_id=str(r.order_id),
                    trade_id=str(r.id),
                    side=side,
                    price=amount(r.price, what),
                    qty=qty,
                    fee=amount(r.fee, what),
                    fee_asset=self.settle_asset,
                    maker=r.role == "maker",
                )
            )
        return out

    def _positions(self, env: Envelope, recv_ns: int) -> list[Event]:
        out: list[Event] = []
        for r in fs.POSITIONS.decode(env.result):
            symbol, native = self._contract(r.contract, "futures.positions")
            what = f"futures.positions {native}"
            out.append(
                Position(
                    venue=NAME,
                    symbol=symbol,
                    native=native,
                    ts=_ms(r.time_ms, r.time, env),
                    recv_ns=recv_ns,
                    size=amount(r.size, what),
                    entry_price=amount(r.entry_price, what),
                    leverage=amount(r.leverage, what),
                    liquidation_price=amount(r.liq_price, what),
                    margin=amount(r.margin, what),
                    realized_pnl=amount(r.realised_pnl, what),
                    mode=r.mode,
                )
            )
        return out

    def _balances(self, env: Envelope, recv_ns: int) -> list[Event]:
        """The futures account in the settle currency.  The channel carries only the balance
        after the change, so ``total`` and ``available`` both hold it (Gate pushes no
        available margin here); ``reason`` is the change ``type`` (fee, pnl, fund ...)."""
        out: list[Event] = []
        for r in fs.BALANCES.decode(env.result):
            native = r.currency or self.settle
            asset = native.upper()
            what = f"futures.balances {asset[:20]}"
            total = amount(r.balance, what)
            out.append(
                Balance(
                    venue=NAME,
                    symbol=asset,
                    native=native,
                    ts=_ms(r.time_ms, r.time, env),
                    recv_ns=recv_ns,
                    asset=asset,
                    total=total,
                    available=total,
                    change=amount(r.change, what),
                    reason=r.type,
                )
            )
        return out

    # -- order book snapshots ---------------------------------------------------------------

    def snapshot_request(self, symbol: str) -> RestRequest:
        """The REST book at the stream's depth; with ``size_decimal`` the same header as the
        handshake, so REST and stream sizes agree."""
        if self.book_mode == "obu":
            raise ValueError(f"{NAME}: book_mode 'obu' takes its snapshots from the stream")
        params = {
            "contract": self.native_symbol(symbol),
            "limit": str(self.book_depth),
            "with_id": "true",
        }
        return RestRequest(
            "GET",
            f"/futures/{self.settle}/order_book",
            params=params,
            headers=self.handshake_headers(),
        )

    def parse_snapshot(self, body: bytes, symbol: str, recv_ns: int) -> BookSnapshot:
        native = self.native_symbol(symbol)
        what = f"futures order book snapshot {native}"
        try:
            raw = fs.REST_ORDER_BOOK.decode(body)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"{what}: {why(exc)}") from None
        if raw.id is None:
            raise FrameError(f"{what}: missing field 'id' (request it with with_id=true)")
        return BookSnapshot(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=seconds_ms(raw.current, what),
            recv_ns=recv_ns,
            bids=sorted(size_levels(raw.bids, what), reverse=True),
            asks=sorted(size_levels(raw.asks, what)),
            seq=raw.id,
        )

    # -- contracts ----------------------------------------------------------------------------

    def contracts_request(self) -> RestRequest:
        return RestRequest("GET", f"/futures/{self.settle}/contracts")

    def parse_contracts(self, body: bytes) -> dict[str, float]:
        """native contract -> base units per contract (``contract_size``).

        For ``direct`` (linear, USDT-settled) contracts that is ``quanto_multiplier``:
        ``BTC_USDT`` "0.0001" means one contract is 0.0001 BTC.  For BTC-settled
        ``inverse`` contracts (``BTC_USD``) one contract is a fixed face value in USD, so
        its base amount changes with the price and no constant exists; and for ``quanto``
        contracts the multiplier converts price x size into the settle currency, not into
        base units.  Both get 0.0 ("no fixed base size"; ``with_contract_size`` then leaves
        the ``*_base`` fields None) whatever the venue's ``quanto_multiplier`` says (it is
        reported as "0" for BTC_USD by third parties)."""
        what = f"futures/{self.settle}/contracts"
        try:
            contracts = fs.CONTRACTS.decode(body)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"{what}: {why(exc)}") from None
        out: dict[str, float] = {}
        for c in contracts:
            if not c.name:
                raise FrameError(f"{what}: a contract has an empty name")
            if c.type != "direct":
                out[c.name] = 0.0
                continue
            multiplier = amount(c.quanto_multiplier, f"{what} {c.name[:40]}")
            if multiplier < 0:
                raise FrameError(f"{what} {c.name[:40]}: negative quanto_multiplier")
            out[c.name] = multiplier
        return out

    with_contract_size = staticmethod(with_contract_size)
