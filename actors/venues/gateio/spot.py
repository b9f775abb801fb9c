"""Gate.io spot WebSocket v4: subscriptions, pings, frame parsing and REST book snapshots.  [pure]

Role: the ``gateio_spot`` venue (see ``actors/venues/base.py``).  It turns Gate.io's JSON
frames into normalized events and spells the requests we send; it owns no socket and no clock.
Wire facts: ``../shared/protocols/protocols.md`` section 3.  The book sequence rules are
enforced by ``actors/book.py``; this module only reports ``U``/``u``/``full`` faithfully.

``parse_frame`` raises only ``FrameError``, whatever the bytes: msgspec validation errors are
rewritten to say which field is wrong and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import msgspec
import orjson

from actors.messages import (
    BookDelta,
    BookSnapshot,
    BookTicker,
    Event,
    Level,
    Pong,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    Trade,
)
from actors.venues.base import BookSync as BookSyncKind
from actors.venues.base import FrameError, RestRequest, Subscription, Venue
from actors.venues.gateio import schema
from actors.venues.gateio.schema import Envelope, PriceLevel

NAME = "gateio_spot"

# normalized channel -> Gate.io channel
WIRE_CHANNELS: dict[str, str] = {
    "book_ticker": "spot.book_ticker",
    "trades": "spot.trades",
    "tickers": "spot.tickers",
    "order_book": "spot.order_book_update",
}

# Channels we understand but do not publish: their updates parse to no events.
IGNORED_CHANNELS: frozenset[str] = frozenset(
    {
        "spot.candlesticks",
        "spot.order_book",  # top-N snapshots; we build books from order_book_update
        "spot.obu",  # order book v2 (no REST snapshot); not used yet
        "spot.trades_v2",  # deprecated duplicate of spot.trades
        "spot.ping",
    }
)

# book_interval -> levels the stream maintains, which the REST limit must match
BOOK_LEVELS: dict[str, int] = {"100ms": 100, "20ms": 20}

_SYMBOL = re.compile(r"([A-Z0-9]+)/([A-Z0-9]+)")
_NATIVE = re.compile(r"([A-Z0-9]+)_([A-Z0-9]+)")
_INF = float("inf")


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


def book_options(options: Mapping[str, Any]) -> tuple[str, int]:
    """Validated (book_interval, book_depth).  The depth defaults to the interval's levels and
    must equal them: the docs tie 20ms to 20 levels and 100ms to 100, and a REST limit that
    differs from the stream's depth leaves levels that no push maintains (a drifting book)."""
    interval = options.get("book_interval", "100ms")
    if not isinstance(interval, str) or interval not in BOOK_LEVELS:
        raise ValueError(
            f"{NAME}: book_interval {interval!r} is not one of {', '.join(map(repr, BOOK_LEVELS))}"
        )
    levels = BOOK_LEVELS[interval]
    depth = options.get("book_depth", levels)
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise ValueError(f"{NAME}: book_depth must be an integer, got {depth!r}")
    if depth != levels:
        raise ValueError(
            f"{NAME}: book_depth {depth} does not fit book_interval {interval!r}, which "
            f"streams {levels} levels; the REST snapshot limit must be {levels}"
        )
    return interval, depth


# -- requests ------------------------------------------------------------------------------


def request(now_s: int, channel: str, event: str, payload: list[str]) -> str:
    """One request as text (Gate.io expects text frames, so no bytes here)."""
    body = {"time": int(now_s), "channel": channel, "event": event, "payload": payload}
    return orjson.dumps(body).decode()


# -- frame helpers -------------------------------------------------------------------------

_MISSING = re.compile(r"Object missing required field `([^`]*)`(?: - at `\$\.?([^`]*)`)?$")
_AT = re.compile(r"(.*) - at `\$\.?([^`]*)`$")


def _uncap(text: str) -> str:
    return text[:1].lower() + text[1:]


def why(exc: Exception) -> str:
    """A msgspec error in our words: "missing field 'U'", "field 'U': expected `int`..."."""
    text = str(exc)
    if match := _MISSING.match(text):
        field = f"{match[2]}.{match[1]}" if match[2] else match[1]
        return f"missing field '{field}'"
    if match := _AT.match(text):
        return f"field '{match[2]}': {_uncap(match[1])}"
    if isinstance(exc, UnicodeError):
        return f"not UTF-8 text ({exc.reason})"
    if isinstance(exc, msgspec.ValidationError):
        return _uncap(text)
    return f"not valid JSON ({text})"


def number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FrameError(f"{what}: not a number: {text[:40]!r}") from None
    if not -_INF < value < _INF:  # also rejects nan
        raise FrameError(f"{what}: not a finite number: {text[:40]!r}")
    return value


def optional_number(text: str, what: str) -> float | None:
    return None if text == "" else number(text, what)


def side_price(text: str, what: str) -> float:
    """A book ticker side: an empty side is sent as "" and published as 0."""
    return 0.0 if text == "" else number(text, what)


def levels(raw: list[PriceLevel], what: str) -> list[Level]:
    try:
        out = [(float(price), float(qty)) for price, qty in raw]
    except ValueError:
        raise FrameError(f"{what}: a level is not [price, amount] as numbers") from None
    for price, qty in out:
        if not (0.0 < price < _INF and 0.0 <= qty < _INF):  # nan fails every comparison
            raise FrameError(f"{what}: bad level [{price!r}, {qty!r}]")
    return out


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
    whole, _, _ = result.create_time_ms.partition(".")
    if not (whole.isascii() and whole.isdigit()) or len(whole) > 18:
        raise FrameError(f"spot.trades: bad create_time_ms {result.create_time_ms[:40]!r}")
    return int(whole)


def envelope_ms(env: Envelope) -> int:
    return env.time_ms or env.time * 1000


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


PARSERS: dict[str, Callable[[Envelope, int], list[Event]]] = {
    "spot.book_ticker": parse_book_ticker,
    "spot.trades": parse_trade,
    "spot.tickers": parse_ticker,
    "spot.order_book_update": parse_order_book_update,
}


def parse_envelope(env: Envelope, recv_ns: int) -> list[Event]:
    """Dispatch on the envelope: errors, pongs and acks first, then channel updates."""
    ts = envelope_ms(env)
    if env.error is not None:
        error = env.error
        return [
            SubscriptionError(
                venue=NAME,
                symbol="",
                native="",
                ts=ts,
                recv_ns=recv_ns,
                channel=env.channel,
                message=error.message,
                code=error.code,
            )
        ]
    if env.channel == "spot.pong":
        return [Pong(venue=NAME, symbol="", native="", ts=ts, recv_ns=recv_ns)]
    if env.event in ("subscribe", "unsubscribe"):
        # The docs: success is error == null; `result` need not be parsed.
        return [
            SubscriptionAck(
                venue=NAME,
                symbol="",
                native="",
                ts=ts,
                recv_ns=recv_ns,
                channel=env.channel,
                event=env.event,
            )
        ]
    parse = PARSERS.get(env.channel)
    if parse is None:
        if env.channel in IGNORED_CHANNELS:
            return []
        if not env.channel:
            raise FrameError("missing field 'channel'")
        raise FrameError(f"unknown channel {env.channel[:60]!r}")
    if env.event != "update":
        raise FrameError(f"{env.channel}: unexpected event {env.event[:40]!r}")
    if not env.result:
        raise FrameError(f"{env.channel}: missing field 'result'")
    try:
        return parse(env, recv_ns)
    except (msgspec.DecodeError, UnicodeError) as exc:  # Raw results skip UTF-8 checks
        raise FrameError(f"{env.channel}: {why(exc)}") from None


# -- the venue -----------------------------------------------------------------------------


class GateioSpot(Venue):
    """Gate.io spot v4 public market data.  Options: ``book_interval`` ("100ms" | "20ms") and
    ``book_depth`` (the REST snapshot limit; must match the interval: 100 or 20)."""

    name: ClassVar[str] = NAME
    ws_url: ClassVar[str] = "wss://api.gateio.ws/ws/v4/"
    rest_url: ClassVar[str] = "https://api.gateio.ws/api/v4"
    channels: ClassVar[frozenset[str]] = frozenset(WIRE_CHANNELS)
    book_sync: ClassVar[BookSyncKind] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 10.0

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.book_interval, self.book_depth = book_options(self.options)

    # -- symbols ----------------------------------------------------------------------------

    def native_symbol(self, symbol: str) -> str:
        return to_native(symbol)

    def normalize_symbol(self, native: str) -> str:
        return to_symbol(native)

    # -- requests we send -------------------------------------------------------------------

    def subscribe_messages(self, subs: Sequence[Subscription], *, now_s: int) -> list[str | bytes]:
        return self._requests(subs, "subscribe", now_s)

    def unsubscribe_messages(
        self, subs: Sequence[Subscription], *, now_s: int
    ) -> list[str | bytes]:
        return self._requests(subs, "unsubscribe", now_s)

    def ping_message(self, *, now_s: int) -> str | bytes | None:
        return orjson.dumps({"time": int(now_s), "channel": "spot.ping"}).decode()

    def _requests(self, subs: Sequence[Subscription], event: str, now_s: int) -> list[str | bytes]:
        """One request per channel carrying all its pairs; order_book takes one pair per
        request.  Channels and pairs keep their order of first appearance (duplicates
        dropped), so the same input always gives the same bytes."""
        pairs_by_channel: dict[str, dict[str, None]] = {}
        for sub in subs:
            wire = WIRE_CHANNELS.get(sub.channel)
            if wire is None:
                supported = ", ".join(sorted(WIRE_CHANNELS))
                raise ValueError(f"{NAME}: unsupported channel {sub.channel!r} ({supported})")
            pairs_by_channel.setdefault(wire, {})[to_native(sub.symbol)] = None
        out: list[str | bytes] = []
        for wire, pairs in pairs_by_channel.items():
            if wire == "spot.order_book_update":
                out.extend(request(now_s, wire, event, [p, self.book_interval]) for p in pairs)
            else:
                out.append(request(now_s, wire, event, list(pairs)))
        return out

    # -- frames we receive ------------------------------------------------------------------

    def parse_frame(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        try:
            env = schema.ENVELOPE.decode(frame)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"envelope: {why(exc)}") from None
        return parse_envelope(env, recv_ns)

    # -- order book snapshots ---------------------------------------------------------------

    def snapshot_request(self, symbol: str) -> RestRequest:
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
