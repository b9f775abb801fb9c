"""What Gate.io spot and futures share: requests, the envelope dispatch, number helpers.  [pure]

Both venues speak the same WebSocket v4 envelope (``time``/``channel``/``event``/``payload``
out; ``channel``/``event``/``error``/``result`` back) with the same error codes and the same
per-request signature, and the same order book v2 channel (``spot.obu`` / ``futures.obu``,
parsed by :func:`parse_obu`).  The venue modules (``spot.py``, ``futures.py``) keep only what
differs: channel names, payload shapes and the channel parsers.

Every helper that reads a frame raises only ``FrameError``, with a message that says which
field is wrong and why; the ``fast_*`` helpers of the one-pass fast path raise any ValueError
instead, which sends the frame down the exact path for its message.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, ClassVar

import msgspec
import orjson

from actors.messages import BookDelta, Event, Level, Pong, SubscriptionAck, SubscriptionError
from actors.venues.base import FrameError, Subscription, Venue
from actors.venues.gateio import futures_schema, schema, signing
from actors.venues.gateio.schema import Envelope, Num, PriceLevel

ALL = "!all"
"""The payload word for "every pair/contract" on private channels; also accepted as the
symbol of a private Subscription (``Subscription("orders", "!all")``)."""

Parser = Callable[[Envelope, int], list[Event]]
"""One channel's parser: (envelope, recv_ns) -> events."""

_INF = float("inf")

Price = Annotated[float, msgspec.Meta(gt=0.0, le=sys.float_info.max)]
Qty = Annotated[float, msgspec.Meta(ge=0.0, le=sys.float_info.max)]
_JSON_NUMBER = msgspec.json.Decoder(float)
_JSON_MS = msgspec.json.Decoder(Annotated[int, msgspec.Meta(le=10**18 - 1)])  # <= 18 digits
_DECIMAL_LEVELS = msgspec.json.Decoder(list[tuple[Price, Qty]], strict=False)


# -- requests ------------------------------------------------------------------------------


def request(
    now_s: int,
    channel: str,
    event: str,
    payload: list[str] | None,
    auth: Mapping[str, str] | None = None,
) -> str:
    """One request as text (Gate.io expects text frames, so no bytes here).  ``payload``
    None leaves the key out (``spot.balances`` takes none)."""
    body: dict[str, Any] = {"time": int(now_s), "channel": channel, "event": event}
    if payload is not None:
        body["payload"] = payload
    if auth is not None:
        body["auth"] = auth
    return orjson.dumps(body).decode()


def signed_request(
    now_s: int,
    channel: str,
    event: str,
    payload: list[str] | None,
    credentials: tuple[str, str],
) -> str:
    """A private-channel request: ``auth`` is signed with the request's own ``time``."""
    key, secret = credentials
    time_s = int(now_s)
    return request(
        time_s, channel, event, payload, signing.auth_object(key, secret, channel, event, time_s)
    )


def need_credentials(
    venue: str, channel: str, private: frozenset[str], credentials: tuple[str, str] | None
) -> tuple[str, str]:
    if credentials is None:
        # "unsupported ... without" keeps the wording of a public-only venue's refusal.
        raise ValueError(
            f"{venue}: unsupported channel {channel!r} without API credentials: the private "
            f"channels ({', '.join(sorted(private))}) need an api key and secret"
        )
    return credentials


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


def to_float(text: str) -> float:
    """``float(text)``, read natively when the text is a JSON number (several times faster
    than float() on CPython 3.11); float() reads the rest, and "-0" (msgspec: 0.0)."""
    try:
        value = _JSON_NUMBER.decode(text)
    except ValueError:  # msgspec's errors are ValueErrors
        return float(text)
    return value if value or "-" not in text else float(text)


def number(text: str, what: str) -> float:
    try:
        value = to_float(text)
    except ValueError:
        raise FrameError(f"{what}: not a number: {text[:40]!r}") from None
    if not -_INF < value < _INF:  # also rejects nan
        raise FrameError(f"{what}: not a finite number: {text[:40]!r}")
    return value


def amount(value: Num, what: str) -> float:
    """A value the venue sends as a JSON number or as a decimal string (futures sizes under
    ``X-Gate-Size-Decimal``, private fields that differ between spot and futures)."""
    if isinstance(value, str):
        return number(value, what)
    if not -_INF < value < _INF:
        raise FrameError(f"{what}: not a finite number: {value!r}")
    return value


def optional_number(text: str, what: str) -> float | None:
    return None if text == "" else number(text, what)


def side_price(text: str, what: str) -> float:
    """A book ticker side: an empty side is sent as "" and published as 0."""
    return 0.0 if text == "" else number(text, what)


def check_level(price: float, qty: float, what: str) -> None:
    if not (0.0 < price < _INF and 0.0 <= qty < _INF):  # nan fails every comparison
        raise FrameError(f"{what}: bad level [{price!r}, {qty!r}]")


def levels(raw: list[PriceLevel], what: str) -> list[Level]:
    """``[[price, amount], ...]`` decimal strings -> levels."""
    try:
        out = [(to_float(price), to_float(qty)) for price, qty in raw]
    except ValueError:
        raise FrameError(f"{what}: a level is not [price, amount] as numbers") from None
    for price, qty in out:
        check_level(price, qty, what)
    return out


def fast_number(text: str) -> float:
    """The fast path's :func:`number`: a JSON number (so finite), read natively; anything
    else raises for the exact path, and so does "-0" (read as 0.0, float() says -0.0)."""
    value = _JSON_NUMBER.decode(text)
    if not value and "-" in text:
        raise ValueError("-0 for the exact path")
    return value


def decimal_levels(raw: msgspec.Raw) -> list[Level]:
    """The fast path's :func:`levels` for a raw ``[["price", "amount"], ...]``: one native
    decode, not strict, so msgspec reads the decimal strings.  ``levels`` refuses numbers
    sent unquoted, so they raise here too (two strings make 4 quotes a level).  Only for a
    :func:`plain` frame: "-0" reads as 0.0 here (float(): -0.0), and an escape can hide one."""
    if not raw:
        return []
    text = bytes(raw)
    out = _DECIMAL_LEVELS.decode(text)
    if text.count(b'"') != 4 * len(out):
        raise ValueError("unquoted levels for the exact path")
    return out


def plain(frame: str | bytes) -> bool:
    """No minus sign and no escape in the frame: what :func:`decimal_levels` needs."""
    if isinstance(frame, str):
        return "-" not in frame and "\\" not in frame
    return b"-" not in frame and b"\\" not in frame


def ms_text(text: str, what: str, field: str) -> int:
    """A millisecond time sent as a string, possibly with a sub-ms fraction
    (``"1606292218213.4578"``): the whole milliseconds."""
    whole, _, _ = text.partition(".")
    if not (whole.isascii() and whole.isdigit()) or len(whole) > 18:
        raise FrameError(f"{what}: bad {field} {text[:40]!r}")
    return int(whole)


def fast_ms(text: str) -> int:
    """The fast path's :func:`ms_text`: isdigit() rules out signs and padding, JSON rules out
    non-ASCII digits and leading zeros (those raise for the exact path)."""
    whole = text.partition(".")[0]
    if not whole.isdigit():
        raise ValueError("for the exact path")
    return _JSON_MS.decode(whole)


def envelope_ms(env: Envelope | schema.Push) -> int:
    return env.time_ms or env.time * 1000


# -- order book v2: spot.obu and futures.obu ---------------------------------------------------

OBU_LEVELS: dict[str, int] = {"100ms": 400, "20ms": 50}
"""book_interval -> the one obu depth streamed at that speed: ``ob.<NAME>.400`` every 100 ms,
``ob.<NAME>.50`` every 20 ms (spot and futures alike)."""
_OBU_STREAM = re.compile(r"ob\.([A-Z0-9]+_[A-Z0-9]+)\.([0-9]+)")

Namer = Callable[[str, str], tuple[str, str]]
"""(native name from a frame, what) -> (normalized symbol, native); raises FrameError."""


def obu_stream(native: str, depth: int) -> str:
    """The obu stream name a subscribe payload carries: ``ob.BTC_USDT.400``."""
    return f"ob.{native}.{depth}"


def parse_obu(env: Envelope, recv_ns: int, *, venue: str, name: Namer) -> list[Event]:
    """One ``spot.obu``/``futures.obu`` push -> a BookDelta.  A ``full`` push is the whole book
    at ``u`` and may leave ``U`` out (then ``first_seq`` = ``u``); an increment must carry
    ``U`` <= ``u``.  Levels are ``[["price", "amount"]]`` strings on both venues.  The stream
    name's pair goes through ``name`` (the venue's own symbol rules)."""
    channel = env.channel
    r = futures_schema.OBU.decode(env.result)
    stream = _OBU_STREAM.fullmatch(r.s)
    if stream is None:
        raise FrameError(f"{channel}: bad stream name {r.s[:40]!r} (expected ob.<NAME>.<N>)")
    symbol, native = name(stream[1], channel)
    what = f"{channel} {native}"
    if r.U is None:
        if not r.full:
            raise FrameError(f"{what}: missing field 'U' on an incremental push")
        first = r.u  # a full push is the book at u
    elif r.u < r.U:
        raise FrameError(f"{what}: first update id U={r.U} is after last u={r.u}")
    else:
        first = r.U
    return [
        BookDelta(
            venue=venue,
            symbol=symbol,
            native=native,
            ts=r.t,
            recv_ns=recv_ns,
            bids=levels(r.b, what),
            asks=levels(r.a, what),
            first_seq=first,
            seq=r.u,
            full=r.full,
        )
    ]


def fast_obu(
    r: schema.RawObu, recv_ns: int, *, venue: str, name: Callable[[str], str]
) -> list[Event]:
    """The fast path's :func:`parse_obu` (``name``: native -> symbol, or ValueError).  The
    caller has checked the frame is :func:`plain`."""
    stream = _OBU_STREAM.fullmatch(r.s)
    if stream is None or (r.U is None and not r.full) or (r.U is not None and r.u < r.U):
        raise ValueError("for the exact path")
    native = stream[1]
    return [
        BookDelta(
            venue=venue,
            symbol=name(native),
            native=native,
            ts=r.t,
            recv_ns=recv_ns,
            bids=decimal_levels(r.b),
            asks=decimal_levels(r.a),
            first_seq=r.u if r.U is None else r.U,
            seq=r.u,
            full=r.full,
        )
    ]


# -- errors from the venue -----------------------------------------------------------------

# A Gate API key is 32 hex digits, a secret 64 and a signature 128: no run that long is
# published, whatever the venue echoes back.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
MAX_MESSAGE = 200


def scrub(message: str, credentials: tuple[str, str] | None) -> str:
    """The venue's error text, safe to publish: no key, secret or signature."""
    if credentials is not None:
        for secret in credentials:
            message = message.replace(secret, "<redacted>")
    return _HEX_RUN.sub("<redacted>", message)[:MAX_MESSAGE]


# -- envelope dispatch ---------------------------------------------------------------------


def parse_envelope(
    env: Envelope,
    recv_ns: int,
    *,
    venue: str,
    pong: str,
    parsers: Mapping[str, Parser],
    ignored: frozenset[str],
    credentials: tuple[str, str] | None = None,
    eventless: frozenset[str] = frozenset(),
) -> list[Event]:
    """Dispatch on the envelope: errors, pongs and acks first, then channel updates.

    ``eventless`` names channels whose pushes carry no ``event`` (the obu channels)."""
    ts = envelope_ms(env)
    if env.error is not None:
        error = env.error
        return [
            SubscriptionError(
                venue=venue,
                symbol="",
                native="",
                ts=ts,
                recv_ns=recv_ns,
                channel=env.channel,
                message=scrub(error.message, credentials),
                code=error.code,
            )
        ]
    if env.channel == pong:
        return [Pong(venue=venue, symbol="", native="", ts=ts, recv_ns=recv_ns)]
    if env.event in ("subscribe", "unsubscribe"):
        # The docs: success is error == null; `result` need not be parsed.
        return [
            SubscriptionAck(
                venue=venue,
                symbol="",
                native="",
                ts=ts,
                recv_ns=recv_ns,
                channel=env.channel,
                event=env.event,
            )
        ]
    parse = parsers.get(env.channel)
    if parse is None:
        if env.channel in ignored:
            return []
        if not env.channel:
            raise FrameError("missing field 'channel'")
        raise FrameError(f"unknown channel {env.channel[:60]!r}")
    if env.event != "update" and not (env.event == "" and env.channel in eventless):
        raise FrameError(f"{env.channel}: unexpected event {env.event[:40]!r}")
    if not env.result:
        raise FrameError(f"{env.channel}: missing field 'result'")
    try:
        return parse(env, recv_ns)
    except (msgspec.DecodeError, UnicodeError) as exc:  # Raw results skip UTF-8 checks
        raise FrameError(f"{env.channel}: {why(exc)}") from None


def decode_envelope(frame: str | bytes) -> Envelope:
    try:
        return schema.ENVELOPE.decode(frame)
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise FrameError(f"envelope: {why(exc)}") from None


# -- private channels ------------------------------------------------------------------------

_TIF_TYPES = {"poc": "post_only", "ioc": "ioc", "fok": "fok"}


def order_type(kind: str, tif: str) -> str:
    """Our order type: a limit order's time in force refines it (poc -> post_only, ioc, fok);
    other kinds (market, the unified-account variants) stay as the venue names them."""
    return _TIF_TYPES.get(tif, "limit") if kind == "limit" else kind


def order_status(finished: bool, finish_as: str, filled: float, left: float) -> str:
    """open | partially_filled | filled | cancelled.  A finished order is filled when the
    venue says so or nothing is left; any other finish (cancelled, ioc, fok, poc, stp,
    liquidated, ...) is cancelled, whatever part of it was filled."""
    if finished:
        return "filled" if finish_as == "filled" or (left == 0 and filled > 0) else "cancelled"
    return "partially_filled" if filled > 0 else "open"


# -- refused subscriptions ------------------------------------------------------------------

AUTH_FAILED = 4  # the docs' error code for a rejected key or signature
_UNKNOWN_NAME = re.compile(r"unknown (?:currency pair|contract) (\S+)", re.IGNORECASE)


def refused_subscriptions(
    wire_channel: Callable[[str], str | None],
    native_symbol: Callable[[str], str],
    channel: str,
    code: int,
    message: str,
    subs: Iterable[Subscription],
) -> list[Subscription]:
    """Which subscriptions a Gate.io error refuses: every stream of the channel when the key
    or signature was rejected; the one pair an "unknown currency pair X" names; else none."""
    on_channel = [s for s in subs if wire_channel(s.channel) == channel]
    if code == AUTH_FAILED:
        return on_channel
    match = _UNKNOWN_NAME.search(message)
    if match is None:
        return []
    return [s for s in on_channel if _native_or_none(native_symbol, s.symbol) == match.group(1)]


def _native_or_none(native_symbol: Callable[[str], str], symbol: str) -> str | None:
    try:
        return native_symbol(symbol)
    except ValueError:
        return None


# -- what the spot and futures venues share -------------------------------------------------


class GateioVenue(Venue):
    """Requests, refusals and the application ping, alike on Gate.io spot and futures.
    Subclasses set ``ping_channel`` and ``private_wire`` and build ``_wire`` and
    ``_requests``."""

    ping_channel: ClassVar[str]
    private_wire: ClassVar[Mapping[str, str]]  # normalized private channel -> venue channel
    _wire: dict[str, str]  # normalized public channel -> venue channel

    def _requests(self, subs: Sequence[Subscription], event: str, now_s: int) -> list[str | bytes]:
        raise NotImplementedError

    def subscribe_messages(self, subs: Sequence[Subscription], *, now_s: int) -> list[str | bytes]:
        return self._requests(subs, "subscribe", now_s)

    def unsubscribe_messages(
        self, subs: Sequence[Subscription], *, now_s: int
    ) -> list[str | bytes]:
        return self._requests(subs, "unsubscribe", now_s)

    def refused(
        self, channel: str, code: int, message: str, subs: Iterable[Subscription]
    ) -> list[Subscription]:
        def wire(c: str) -> str | None:
            return self._wire.get(c) or self.private_wire.get(c)

        return refused_subscriptions(wire, self.native_symbol, channel, code, message, subs)

    def ping_message(self, *, now_s: int) -> str | bytes | None:
        return orjson.dumps({"time": int(now_s), "channel": self.ping_channel}).decode()
