"""Gate.io spot WebSocket v4: subscriptions, pings, frame parsing and REST book snapshots.  [pure]

Role: the ``gateio_spot`` venue (see ``actors/venues/base.py``).  It turns Gate.io's JSON
frames into normalized events and spells the requests we send; it owns no socket and no clock.
Wire facts: ``../shared/protocols/protocols.md`` section 3.  The book sequence rules are
enforced by ``actors/book.py``; this module only reports ``U``/``u``/``full`` faithfully.
What spot shares with futures (envelope dispatch, signing, number helpers, the obu parser)
is in ``common.py``.

Order book, two modes (option ``book_mode``):

* ``update`` (default): ``spot.order_book_update`` ``[pair, interval]`` plus a REST snapshot
  with ``limit`` = the interval's depth (100ms: 100 levels, 20ms: 20).
* ``obu``: ``spot.obu`` ``["ob.<PAIR>.<400|50>"]`` (400 levels every 100 ms, 50 every 20 ms);
  the first push after subscribing is ``full`` (the snapshot arrives in the stream), so
  ``book_sync`` is ``"stream"`` and a gap is repaired by subscribing again.

Private channels (``orders`` -> ``spot.orders``, ``balances`` -> ``spot.balances``,
``fills`` -> ``spot.usertrades``) need ``credentials``; each request is signed with its own
``time`` (``signing.py``).  ``Subscription("orders", "!all")`` asks for every pair.

``parse_frame`` raises only ``FrameError``, whatever the bytes: msgspec validation errors are
rewritten to say which field is wrong and why.  It tries ``fast_push`` first (the hot
channels in one typed decode) and falls back to the exact two-pass path, which alone defines
events and errors; the fast path only returns what the exact one would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import msgspec

from actors.messages import (
    Balance,
    BookDelta,
    BookSnapshot,
    BookTicker,
    Event,
    Fill,
    Order,
    Ticker,
    Trade,
)
from actors.staleness import periodic
from actors.venues.base import BookSync as BookSyncKind
from actors.venues.base import FrameError, RestRequest, Subscription
from actors.venues.gateio import schema
from actors.venues.gateio.common import (
    ALL,
    OBU_LEVELS,
    GateioVenue,
    Parser,
    amount,
    decimal_levels,
    decode_envelope,
    envelope_ms,
    fast_ms,
    fast_number,
    fast_obu,
    levels,
    ms_text,
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
from actors.venues.gateio.schema import Envelope

NAME = "gateio_spot"

# normalized channel -> Gate.io channel ("order_book" is spot.obu in obu mode)
WIRE_CHANNELS: dict[str, str] = {
    "book_ticker": "spot.book_ticker",
    "trades": "spot.trades",
    "tickers": "spot.tickers",
    "order_book": "spot.order_book_update",
}
PRIVATE_CHANNELS: dict[str, str] = {
    "orders": "spot.orders",
    "balances": "spot.balances",  # per account: takes no payload
    "fills": "spot.usertrades",
}

# Channels we understand but do not publish: their updates parse to no events.
IGNORED_CHANNELS: frozenset[str] = frozenset(
    {
        "spot.candlesticks",
        "spot.order_book",  # top-N snapshots; we build books from order_book_update
        "spot.trades_v2",  # deprecated duplicate of spot.trades
        "spot.ping",
    }
)

# book_interval -> levels order_book_update maintains, which the REST limit must match
BOOK_LEVELS: dict[str, int] = {"100ms": 100, "20ms": 20}
BOOK_MODES = ("update", "obu")
OBU = "spot.obu"

_SYMBOL = re.compile(r"([A-Z0-9]+)/([A-Z0-9]+)")
_NATIVE = re.compile(r"([A-Z0-9]+)_([A-Z0-9]+)")


# -- symbols -------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def to_native(symbol: str) -> str:
    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        raise ValueError(
            f"bad symbol {symbol[:40]!r}: a Gate.io spot symbol is BASE/QUOTE in uppercase "
            "letters and digits, e.g. BTC/USDT"
        )
    return f"{match[1]}_{match[2]}"


@lru_cache(maxsize=8192)
def to_symbol(native: str) -> str:
    match = _NATIVE.fullmatch(native)
    if match is None:
        raise ValueError(
            f"bad currency pair {native[:40]!r}: expected BASE_QUOTE in uppercase letters and "
            "digits, e.g. BTC_USDT"
        )
    return f"{match[1]}/{match[2]}"


# -- options -------------------------------------------------------------------------------


def _choice(options: Mapping[str, Any], key: str, allowed: Sequence[str], default: str) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{NAME}: {key} {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def book_options(options: Mapping[str, Any]) -> tuple[str, str, int]:
    """Validated (book_mode, book_interval, book_depth).

    ``update``: the depth defaults to the interval's levels and must equal them: the docs tie
    20ms to 20 levels and 100ms to 100, and a REST limit that differs from the stream's depth
    leaves levels that no push maintains (a drifting book).  ``obu``: 100ms is
    ``ob.<PAIR>.400``, 20ms ``ob.<PAIR>.50``.  A depth that does not fit is refused rather
    than corrected."""
    mode = _choice(options, "book_mode", BOOK_MODES, "update")
    interval = _choice(options, "book_interval", tuple(BOOK_LEVELS), "100ms")
    levels = BOOK_LEVELS[interval] if mode == "update" else OBU_LEVELS[interval]
    depth = options.get("book_depth", levels)
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise ValueError(f"{NAME}: book_depth must be an integer, got {depth!r}")
    if depth != levels and mode == "update":
        raise ValueError(
            f"{NAME}: book_depth {depth} does not fit book_interval {interval!r}, which "
            f"streams {levels} levels; the REST snapshot limit must be {levels}"
        )
    if depth != levels:
        raise ValueError(
            f"{NAME}: book_depth {depth} does not fit book_mode {mode!r} with book_interval "
            f"{interval!r}, which streams {levels} levels"
        )
    return mode, interval, depth


# -- frame helpers -------------------------------------------------------------------------


def pair(native: str, what: str) -> tuple[str, str]:
    """(normalized, native) for a currency pair named in a frame."""
    try:
        return to_symbol(native), native
    except ValueError as exc:
        raise FrameError(f"{what}: {exc}") from None


def trade_ms(result: schema.TradeResult) -> int:
    """``create_time_ms`` is a string with a sub-ms fraction; older frames lack it."""
    if not result.create_time_ms:
        return result.create_time * 1000
    return ms_text(result.create_time_ms, "spot.trades", "create_time_ms")


# -- channel parsers: (envelope, recv_ns) -> events ------------------------------------------


def parse_book_ticker(env: Envelope, recv_ns: int) -> list[Event]:
    r = schema.BOOK_TICKER.decode(env.result)
    symbol, native = pair(r.s, "spot.book_ticker")
    what = f"spot.book_ticker {native}"
    return [
        BookTicker(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=r.t,
            recv_ns=recv_ns,
            bid_price=side_price(r.b, what),
            bid_qty=number(r.B, what),
            ask_price=side_price(r.a, what),
            ask_qty=number(r.A, what),
            seq=r.u,
        )
    ]


def parse_trade(env: Envelope, recv_ns: int) -> list[Event]:
    r = schema.TRADE.decode(env.result)
    symbol, native = pair(r.currency_pair, "spot.trades")
    what = f"spot.trades {native}"
    return [
        Trade(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=trade_ms(r),
            recv_ns=recv_ns,
            price=number(r.price, what),
            qty=number(r.amount, what),
            side=r.side,
            trade_id=str(r.id),
        )
    ]


def parse_ticker(env: Envelope, recv_ns: int) -> list[Event]:
    r = schema.TICKER.decode(env.result)
    symbol, native = pair(r.currency_pair, "spot.tickers")
    what = f"spot.tickers {native}"
    return [
        Ticker(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=envelope_ms(env),
            recv_ns=recv_ns,
            last=number(r.last, what),
            bid=optional_number(r.highest_bid, what),
            ask=optional_number(r.lowest_ask, what),
            high=optional_number(r.high_24h, what),
            low=optional_number(r.low_24h, what),
            base_volume=optional_number(r.base_volume, what),
            quote_volume=optional_number(r.quote_volume, what),
            change_pct=optional_number(r.change_percentage, what),
        )
    ]


def parse_order_book_update(env: Envelope, recv_ns: int) -> list[Event]:
    r = schema.ORDER_BOOK_UPDATE.decode(env.result)
    symbol, native = pair(r.s, "spot.order_book_update")
    what = f"spot.order_book_update {native}"
    if r.u < r.U:  # (written this way round for ruff's Yoda check on `U`)
        raise FrameError(f"{what}: first update id U={r.U} is after last u={r.u}")
    return [
        BookDelta(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=r.t,
            recv_ns=recv_ns,
            bids=levels(r.b, what),
            asks=levels(r.a, what),
            first_seq=r.U,
            seq=r.u,
            full=r.full,
        )
    ]


def parse_obu_push(env: Envelope, recv_ns: int) -> list[Event]:
    """``spot.obu`` (order book v2): ``common.parse_obu`` with spot's pair names."""
    return parse_obu(env, recv_ns, venue=NAME, name=pair)


def _private_ms(text: str, env: Envelope, what: str, field: str) -> int:
    return ms_text(text, what, field) if text else envelope_ms(env)


def parse_orders(env: Envelope, recv_ns: int) -> list[Event]:
    """``spot.orders``: one Order per element.  ``qty`` is ``amount`` as the venue sends it
    (quote currency for market buys); ``client_id`` is ``text`` verbatim."""
    out: list[Event] = []
    for r in schema.SPOT_ORDERS.decode(env.result):
        symbol, native = pair(r.currency_pair, "spot.orders")
        what = f"spot.orders {native}"
        filled = amount(r.filled_amount, what)
        avg = amount(r.avg_deal_price, what) if r.avg_deal_price != "" else 0.0
        out.append(
            Order(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=_private_ms(r.update_time_ms or r.create_time_ms, env, what, "update_time_ms"),
                recv_ns=recv_ns,
                order_id=str(r.id),
                side=r.side,
                order_type=order_type(r.type, r.time_in_force),
                status=order_status(r.event == "finish", r.finish_as, filled, amount(r.left, what)),
                price=amount(r.price, what),
                qty=amount(r.amount, what),
                client_id=r.text,
                filled_qty=filled,
                avg_price=avg,
            )
        )
    return out


def parse_balances(env: Envelope, recv_ns: int) -> list[Event]:
    """``spot.balances``: one Balance per currency; the symbol is the asset itself."""
    out: list[Event] = []
    for r in schema.SPOT_BALANCES.decode(env.result):
        what = f"spot.balances {r.currency[:20]}"
        if not r.currency:
            raise FrameError("spot.balances: empty currency")
        out.append(
            Balance(
                venue=NAME,
                symbol=r.currency,
                native=r.currency,
                ts=_private_ms(r.timestamp_ms, env, what, "timestamp_ms"),
                recv_ns=recv_ns,
                asset=r.currency,
                total=amount(r.total, what),
                available=amount(r.available, what),
                frozen=amount(r.freeze, what),
                change=amount(r.change, what),
                reason=r.change_type,
            )
        )
    return out


def parse_user_trades(env: Envelope, recv_ns: int) -> list[Event]:
    """``spot.usertrades``: one Fill per element."""
    out: list[Event] = []
    for r in schema.SPOT_USER_TRADES.decode(env.result):
        symbol, native = pair(r.currency_pair, "spot.usertrades")
        what = f"spot.usertrades {native}"
        ts = (
            ms_text(r.create_time_ms, what, "create_time_ms")
            if r.create_time_ms
            else r.create_time * 1000 or envelope_ms(env)
        )
        out.append(
            Fill(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=ts,
                recv_ns=recv_ns,
                order_id=str(r.order_id),
                trade_id=str(r.id),
                side=r.side,
                price=amount(r.price, what),
                qty=amount(r.amount, what),
                fee=amount(r.fee, what),
                fee_asset=r.fee_currency,
                maker=r.role == "maker",
            )
        )
    return out


def fast_push(frame: str | bytes, recv_ns: int) -> list[Event]:
    """The fast path: a hot channel's update in one typed decode (``schema.PUSH``), numbers
    read natively, no error texts built.  Anything else or doubtful raises ValueError (a
    msgspec error or FrameError too) and ``parse_frame`` takes the exact path, which decides
    every event and every error message."""
    push = schema.PUSH.decode(frame)
    if isinstance(push, schema.ObuPush):  # obu pushes may carry no event
        if push.event not in ("update", "") or not plain(frame):
            raise ValueError("for the exact path")
        return fast_obu(push.result, recv_ns, venue=NAME, name=to_symbol)
    if push.event != "update":
        raise ValueError("not an update")
    if isinstance(push, schema.OrderBookUpdatePush):
        u = push.result
        if u.u < u.U or not plain(frame):
            raise ValueError("for the exact path")
        return [
            BookDelta(
                venue=NAME,
                symbol=to_symbol(u.s),
                native=u.s,
                ts=u.t,
                recv_ns=recv_ns,
                bids=decimal_levels(u.b),
                asks=decimal_levels(u.a),
                first_seq=u.U,
                seq=u.u,
                full=u.full,
            )
        ]
    if isinstance(push, schema.BookTickerPush):
        b = push.result
        return [
            BookTicker(
                venue=NAME,
                symbol=to_symbol(b.s),
                native=b.s,
                ts=b.t,
                recv_ns=recv_ns,
                bid_price=fast_number(b.b) if b.b else 0.0,
                bid_qty=fast_number(b.B),
                ask_price=fast_number(b.a) if b.a else 0.0,
                ask_qty=fast_number(b.A),
                seq=b.u,
            )
        ]
    r = push.result
    return [
        Trade(
            venue=NAME,
            symbol=to_symbol(r.currency_pair),
            native=r.currency_pair,
            ts=fast_ms(r.create_time_ms) if r.create_time_ms else r.create_time * 1000,
            recv_ns=recv_ns,
            price=fast_number(r.price),
            qty=fast_number(r.amount),
            side=r.side,
            trade_id=str(r.id),
        )
    ]


PARSERS: dict[str, Parser] = {
    "spot.book_ticker": parse_book_ticker,
    "spot.trades": parse_trade,
    "spot.tickers": parse_ticker,
    "spot.order_book_update": parse_order_book_update,
    OBU: parse_obu_push,  # parsed in either book mode: parsing never depends on what we asked
    "spot.orders": parse_orders,
    "spot.balances": parse_balances,
    "spot.usertrades": parse_user_trades,
}


# -- the venue -----------------------------------------------------------------------------


class GateioSpot(GateioVenue):
    """Gate.io spot v4 market data and account streams.  Options: ``book_mode`` ("update" |
    "obu"), ``book_interval`` ("100ms" | "20ms") and ``book_depth`` (update: the REST snapshot
    limit, 100 at 100ms, 20 at 20ms; obu: 400 at 100ms, 50 at 20ms).  Private channels need
    ``credentials=(api key, secret)``."""

    name: ClassVar[str] = NAME
    ws_url: ClassVar[str] = "wss://api.gateio.ws/ws/v4/"
    rest_url: ClassVar[str] = "https://api.gateio.ws/api/v4"
    channels: ClassVar[frozenset[str]] = frozenset(WIRE_CHANNELS)
    private_channels: ClassVar[frozenset[str]] = frozenset(PRIVATE_CHANNELS)
    book_sync: ClassVar[BookSyncKind] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 10.0
    ping_channel: ClassVar[str] = "spot.ping"
    private_wire: ClassVar[Mapping[str, str]] = PRIVATE_CHANNELS
    # Docs (protocols.md 3.3): order_book_update every 100 ms or 20 ms, obu every 100 ms or
    # 20 ms, tickers every 1000 ms.  book_ticker and trades push only on a change.
    STALE_AFTER: ClassVar[Mapping[str, float | None]] = {
        "order_book": periodic(0.1),
        "tickers": periodic(1.0),
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
        self.book_mode, self.book_interval, self.book_depth = book_options(self.options)
        obu = self.book_mode == "obu"
        # Instance attribute shadows the class default (ClassVar in the base interface).
        self.book_sync = "stream" if obu else "rest_snapshot"  # type: ignore[misc]
        self._wire = {**WIRE_CHANNELS, "order_book": OBU if obu else WIRE_CHANNELS["order_book"]}

    # -- symbols ----------------------------------------------------------------------------

    def native_symbol(self, symbol: str) -> str:
        return to_native(symbol)

    def normalize_symbol(self, native: str) -> str:
        return to_symbol(native)

    # -- requests we send -------------------------------------------------------------------

    def _requests(self, subs: Sequence[Subscription], event: str, now_s: int) -> list[str | bytes]:
        """One request per channel carrying all its pairs; order_book takes one pair (obu: one
        stream) per request.  Channels and pairs keep their order of first appearance
        (duplicates dropped), so the same input always gives the same bytes.  Private
        requests are signed; ``!all`` among a private channel's pairs stands for all of them."""
        pairs_by_channel: dict[str, dict[str, None]] = {}
        for sub in subs:
            wire = self._wire.get(sub.channel) or PRIVATE_CHANNELS.get(sub.channel)
            if wire is None:
                supported = ", ".join(sorted(self.channels | self.private_channels))
                raise ValueError(f"{NAME}: unsupported channel {sub.channel!r} ({supported})")
            if sub.channel in PRIVATE_CHANNELS:
                need_credentials(NAME, sub.channel, self.private_channels, self._credentials)
                native = ALL if sub.symbol == ALL else to_native(sub.symbol)
            else:
                native = to_native(sub.symbol)
            pairs_by_channel.setdefault(wire, {})[native] = None
        out: list[str | bytes] = []
        for wire, pairs in pairs_by_channel.items():
            if wire == "spot.order_book_update":
                out.extend(request(now_s, wire, event, [p, self.book_interval]) for p in pairs)
            elif wire == OBU:
                streams = (obu_stream(p, self.book_depth) for p in pairs)
                out.extend(request(now_s, wire, event, [stream]) for stream in streams)
            elif wire == "spot.balances":
                assert self._credentials is not None  # need_credentials checked it
                out.append(signed_request(now_s, wire, event, None, self._credentials))
            elif wire in ("spot.orders", "spot.usertrades"):
                assert self._credentials is not None
                payload = [ALL] if ALL in pairs else list(pairs)
                out.append(signed_request(now_s, wire, event, payload, self._credentials))
            else:
                out.append(request(now_s, wire, event, list(pairs)))
        return out

    # -- frames we receive ------------------------------------------------------------------

    def parse_frame(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        try:
            return fast_push(frame, recv_ns)
        except ValueError:  # FrameError and msgspec's errors too
            pass  # the exact path decides
        return parse_envelope(
            decode_envelope(frame),
            recv_ns,
            venue=NAME,
            pong="spot.pong",
            parsers=PARSERS,
            ignored=IGNORED_CHANNELS,
            credentials=self._credentials,
            eventless=frozenset({OBU}),
        )

    # -- order book snapshots ---------------------------------------------------------------

    def snapshot_request(self, symbol: str) -> RestRequest:
        if self.book_mode == "obu":
            raise ValueError(f"{NAME}: book_mode 'obu' takes its snapshots from the stream")
        params = {
            "currency_pair": to_native(symbol),
            "limit": str(self.book_depth),
            "with_id": "true",
        }
        return RestRequest("GET", "/spot/order_book", params=params)

    def parse_snapshot(self, body: bytes, symbol: str, recv_ns: int) -> BookSnapshot:
        native = to_native(symbol)
        what = f"spot order book snapshot {native}"
        try:
            raw = schema.REST_ORDER_BOOK.decode(body)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"{what}: {why(exc)}") from None
        if raw.id is None:
            raise FrameError(f"{what}: missing field 'id' (request it with with_id=true)")
        bids = sorted(levels(raw.bids, what), reverse=True)
        asks = sorted(levels(raw.asks, what))
        return BookSnapshot(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=raw.current,
            recv_ns=recv_ns,
            bids=bids,
            asks=asks,
            seq=raw.id,
        )
