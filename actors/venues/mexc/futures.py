"""MEXC futures (contract) v1 JSON WebSocket: subscriptions, login, parsing, REST books.  [pure]

Role: the ``mexc_futures`` venue (see ``actors/venues/base.py``).  Wire facts:
``shared/protocols/protocols.md`` section 2; field lists in ``futures_schema.py``.  No socket,
no event loop, no clock: times come in as arguments.

Symbols: ``BTC/USDT:USDT`` <-> ``BTC_USDT`` (linear, settled in the quote) and
``BTC/USD:BTC`` <-> ``BTC_USD`` (coin-margined inverse, settled in the base).

Channels (one request per contract, ``"gzip": false`` as third-party clients send):

* ``order_book`` -> ``sub.depth`` with ``"compress": false``.  Since 2025-04 the venue merges
  depth pushes by default; unmerged, every push is one book version, so a ``BookDelta`` has
  ``first_seq == seq == version`` and ``actors/book.py`` checks the chain (``version`` must be
  the previous one + 1) with its generic ``first_seq <= local + 1 <= seq`` rule.  Merged
  pushes (``begin``/``end``) are still understood: ``first_seq = begin``, ``seq = end``.
  The REST snapshot (``GET /api/v1/contract/depth/{c}?limit=N``) is the book at its
  ``version``.  Sizes are absolute; 0 deletes.  A gap resyncs from a fresh snapshot
  (``depth_commits`` bridging is not used).
* ``trades`` -> ``sub.deal``: ``data`` is an array of trades now and was one object in the
  2022 captures; both parse.
* ``tickers`` -> ``sub.ticker``.  There is **no book ticker**: ``push.ticker`` carries
  ``bid1``/``ask1`` without sizes, published as ``Ticker.bid``/``Ticker.ask``.

``push.depth.full`` (``sub.depth.full``, the top 5/10/20 levels) parses to a top-N
``BookSnapshot``, but no channel subscribes to it: on the same topic as the ``order_book``
channel's snapshots it would replace a consumer's full book with a partial one.

Quantities are contracts as sent (trades, levels, orders, fills, positions).  Contract sizes
come from ``contracts_request``/``parse_contracts``; ``with_contract_size`` fills
``contract_size`` and the ``*_base`` fields.  ``Ticker.base_volume`` is ``volume24`` in
**contracts** (the Ticker has no contract size to convert it), and ``quote_volume`` is
``amount24`` on linear contracts; on inverse contracts ``amount24`` is in the settle coin,
not in USD, so ``quote_volume`` stays None there.

Private channels (``orders``, ``fills``, ``positions``, ``balances``) need credentials.  They
share one login per connection: ``login`` with ``"subscribe": false`` (so nothing arrives
unasked), then one ``personal.filter`` naming ``order``, ``order.deal``, ``position`` (with
the contracts as rules, none for ``Subscription(c, "!all")``) and ``asset`` (never per
contract).  A filter message replaces the previous one, so this instance remembers the
private subscriptions it was asked for and every (un)subscribe sends the whole filter;
unsubscribing the last one logs in again with ``"subscribe": false`` (the docs do not say what
an empty filter list means).  One limit of remembering: a private subscription dropped while
the socket is down (the connection actor then sends no unsubscribe) stays in the filter until
it is unsubscribed on a live socket, so the error is extra account pushes, never missing ones.
``reqTime`` is ``now_ms`` when given, else ``now_s * 1000``.

``parse_frame`` raises only ``FrameError``, whatever the bytes.  Venue error texts are
published with anything that looks like a key or signature removed.  The public pushes are
first tried in one typed decode (``_fast_push``); anything else or doubtful takes the exact
path, which alone defines events and errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar

import msgspec

from actors.messages import (
    Balance,
    BookDelta,
    BookSnapshot,
    Event,
    Fill,
    Level,
    Order,
    Pong,
    Position,
    Side,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    TopBook,
    Trade,
)
from actors.staleness import periodic
from actors.venues.base import BookSync, FrameError, RestRequest, Subscription, Venue
from actors.venues.contracts import with_contract_size
from actors.venues.mexc import futures_schema as fs
from actors.venues.mexc.signing import futures_login_signature

NAME = "mexc_futures"
WS_URL = "wss://contract.mexc.com/edge"
REST_URL = "https://contract.mexc.com"
DEPTH_PATH = "/api/v1/contract/depth/"
DETAIL_PATH = "/api/v1/contract/detail"
DEFAULT_BOOK_DEPTH = 1000  # the docs' order-book procedure asks for limit=1000
MAX_BOOK_DEPTH = 5000  # what tardis-node requests; larger values are not documented
ALL = "!all"
"""The symbol of a private Subscription that means every contract (no filter rules)."""
INVERSE_QUOTE = "USD"
OPTIONS: frozenset[str] = frozenset({"book_depth", "stale_after"})

# normalized public channel -> the method's topic (sub.<topic> / unsub.<topic>)
PUBLIC_TOPICS: dict[str, str] = {"trades": "deal", "order_book": "depth", "tickers": "ticker"}
# normalized private channel -> personal.filter name
PRIVATE_FILTERS: dict[str, str] = {
    "orders": "order",
    "fills": "order.deal",
    "positions": "position",
    "balances": "asset",  # per account: the venue takes no rules for it
}
_PER_ACCOUNT = frozenset({"asset"})

# Pushes we know and do not publish (we never subscribe to them; if they come, nothing breaks).
UNPUBLISHED: frozenset[str] = frozenset(
    {
        "push.kline",
        "push.tickers",
        "push.funding.rate",
        "push.index.price",
        "push.fair.price",
        "push.contract",
    }
)

# order/fill side -> (taker side, reduce only)
_SIDES: dict[int, tuple[Side, bool]] = {
    1: ("buy", False),  # open long
    2: ("buy", True),  # close short
    3: ("sell", False),  # open short
    4: ("sell", True),  # close long
}
_TAKER_SIDES: dict[int, Side] = {1: "buy", 2: "sell"}
_ORDER_TYPES = {1: "limit", 2: "post_only", 3: "ioc", 4: "fok", 5: "market"}
_OPEN_TYPES = {1: "isolated", 2: "cross"}

_SYMBOL = re.compile(r"([A-Z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)")
_SPOT_SYMBOL = re.compile(r"[A-Z0-9]+/[A-Z0-9]+")
_NATIVE = re.compile(r"([A-Z0-9]+)_([A-Z0-9]+)")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_MISSING = re.compile(r"Object missing required field `([^`]*)`(?: - at `\$\.?([^`]*)`)?$")
_AT = re.compile(r"(.*) - at `\$\.?([^`]*)`$")
# What an rs.error about the login says (the venue answers a failed login on rs.error).
_LOGIN_ERROR = re.compile(r"login|sign|api ?key|apikey|req ?time|auth|expire", re.IGNORECASE)
# A MEXC API key starts "mx0"; a secret is 32 hex digits and a signature 64.
_SECRET_LIKE = re.compile(r"mx0[A-Za-z0-9]{4,}|[0-9a-fA-F]{32,}")
MAX_MESSAGE = 200
_INF = float("inf")
_INT64_MAX = 2**63 - 1

_JSON = msgspec.json.Encoder()

Push = Callable[[fs.Envelope, int, int], list[Event]]
"""One push channel's parser: (envelope, envelope ts in ms, recv_ns) -> events."""


# -- symbols -------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def to_native(symbol: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC_USDT``, ``BTC/USD:BTC`` -> ``BTC_USD``; ValueError says why
    a symbol is not a MEXC perpetual."""
    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        hint = " (that is a spot symbol)" if _SPOT_SYMBOL.fullmatch(symbol) else ""
        raise ValueError(
            f"bad symbol {symbol[:40]!r}{hint}: a MEXC perpetual is BASE/QUOTE:SETTLE in "
            "uppercase letters and digits, e.g. BTC/USDT:USDT or BTC/USD:BTC"
        )
    base, quote, settle = match[1], match[2], match[3]
    if quote == INVERSE_QUOTE:
        if settle != base:
            raise ValueError(
                f"symbol {symbol!r}: USD-quoted (coin-margined) contracts settle in their base "
                f"coin, e.g. {base}/USD:{base}"
            )
    elif settle != quote:
        raise ValueError(
            f"symbol {symbol!r}: {quote}-quoted contracts settle in {quote}, "
            f"e.g. {base}/{quote}:{quote}"
        )
    return f"{base}_{quote}"


@lru_cache(maxsize=8192)
def to_symbol(native: str) -> str:
    """``BTC_USDT`` -> ``BTC/USDT:USDT``, ``BTC_USD`` -> ``BTC/USD:BTC``."""
    match = _NATIVE.fullmatch(native)
    if match is None:
        raise ValueError(
            f"bad contract {native[:40]!r}: expected BASE_QUOTE in uppercase letters and "
            "digits, e.g. BTC_USDT"
        )
    base, quote = match[1], match[2]
    settle = base if quote == INVERSE_QUOTE else quote
    return f"{base}/{quote}:{settle}"


def is_inverse(native: str) -> bool:
    return native.endswith("_" + INVERSE_QUOTE)


# -- field conversions: each names the field in its error ---------------------------------


def _number(value: fs.Num, what: str) -> float:
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise FrameError(f"{what}: not a number: {value[:40]!r}")
        value = float(value)
    if not -_INF < value < _INF:  # also rejects nan
        raise FrameError(f"{what}: not a finite number: {value!r}")
    return value


def _price(value: fs.Num, what: str) -> float:
    price = _number(value, what)
    if price <= 0:
        raise FrameError(f"{what}: price must be positive, got {price!r}")
    return price


def _size(value: fs.Num, what: str) -> float:
    """A quantity or amount that cannot be negative (volumes, prices that may be 0)."""
    qty = _number(value, what)
    if qty < 0:
        raise FrameError(f"{what}: must not be negative, got {qty!r}")
    return qty


def _optional(value: fs.Num | None, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _best(value: fs.Num | None, what: str) -> float | None:
    """``bid1``/``ask1``: 0 (or absent) is an empty side."""
    price = None if value is None else _size(value, what)
    return price or None


def _percent(ratio: fs.Num | None, what: str) -> float | None:
    """``-0.0264`` -> -2.64 exactly (Decimal avoids -0.0264 * 100 = -2.6399999999999997)."""
    if ratio is None:
        return None
    value = _number(ratio, what)
    try:
        pct = float(Decimal(ratio if isinstance(ratio, str) else repr(value)).scaleb(2))
    except InvalidOperation:  # pragma: no cover - _number accepted it
        raise FrameError(f"{what}: not a number: {ratio!r}") from None
    if not -_INF < pct < _INF:
        raise FrameError(f"{what}: ratio out of range: {ratio!r}")
    return pct


def _levels(rows: list[list[fs.Num]], what: str) -> list[Level]:
    """``[[price, volume, orderCount], ...]`` -> levels; the order count is checked, not kept."""
    out: list[Level] = []
    for row in rows:
        if not 2 <= len(row) <= 3:
            raise FrameError(f"{what}: a level is not [price, volume, orderCount]: {row!r:.60}")
        price, qty = _price(row[0], what), _size(row[1], what)
        if len(row) == 3:
            _size(row[2], f"{what} orderCount")
        out.append((price, qty))
    return out


def _book(rows: list[list[fs.Num]], what: str, bids: bool) -> list[Level]:
    """A whole book side, best first, without empty levels."""
    return sorted((lvl for lvl in _levels(rows, what) if lvl[1] > 0), reverse=bids)


def _ms(value: fs.Ms, what: str) -> int:
    if isinstance(value, int):
        return value
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise FrameError(f"{what}: bad time {value[:40]!r}")
    return int(value)


def _id(value: fs.Id, what: str) -> str:
    text = str(value)
    if not text:
        raise FrameError(f"{what}: empty id")
    return text


def _uncap(text: str) -> str:
    return text[:1].lower() + text[1:]


def _path(root: str, path: str) -> str:
    if not root or not path:
        return root or path
    return f"{root}{path}" if path.startswith("[") else f"{root}.{path}"


def why(exc: Exception, root: str = "") -> str:
    """A msgspec error in our words: "missing field 'data.p'", "field 'data.version': ...".
    ``root`` names what was decoded (``data`` when only the frame's data was)."""
    text = str(exc)
    if match := _MISSING.match(text):
        field = _path(root, f"{match[2]}.{match[1]}" if match[2] else match[1])
        return f"missing field '{field}'"
    if match := _AT.match(text):
        return f"field '{_path(root, match[2])}': {_uncap(match[1])}"
    if root and isinstance(exc, msgspec.ValidationError):
        return f"field '{root}': {_uncap(text)}"
    if isinstance(exc, UnicodeError):
        return f"not UTF-8 text ({exc.reason})"
    if isinstance(exc, msgspec.ValidationError):
        return _uncap(text)
    return f"not valid JSON ({text})"


def scrub(message: str, credentials: tuple[str, str] | None = None) -> str:
    """A venue error text, safe to publish: no key, secret or signature, at most 200 chars."""
    if credentials is not None:
        for secret in credentials:
            message = message.replace(secret, "<redacted>")
    return _SECRET_LIKE.sub("<redacted>", message)[:MAX_MESSAGE]


# -- options -------------------------------------------------------------------------------


def _book_depth(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BOOK_DEPTH:
        raise ValueError(
            f"{NAME}: option book_depth={value!r} must be an int in 1..{MAX_BOOK_DEPTH}"
        )
    return value


# -- the venue -----------------------------------------------------------------------------


class MexcFutures(Venue):
    """MEXC perpetual futures (USDT-margined and coin-margined on one endpoint).

    Options: ``book_depth`` (levels of the REST snapshot, 1..5000, default 1000)."""

    name: ClassVar[str] = NAME
    ws_url: ClassVar[str] = WS_URL
    rest_url: ClassVar[str] = REST_URL
    channels: ClassVar[frozenset[str]] = frozenset(PUBLIC_TOPICS)
    private_channels: ClassVar[frozenset[str]] = frozenset(PRIVATE_FILTERS)
    book_sync: ClassVar[BookSync] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 15.0  # the venue closes after 60 s without a ping
    max_subscriptions_per_connection: ClassVar[int | None] = None  # none documented
    # Docs (protocols.md 2.3): push.ticker once a second.  push.depth has no period: every
    # book version is pushed (merged by default), which on a listed contract is many a
    # second, so an explicit 30 s of silence on a live socket is a broken stream, not a quiet
    # book (an illiquid contract can set ``stale_after: {order_book: null}``).  push.deal
    # pushes only on a trade.
    STALE_AFTER: ClassVar[Mapping[str, float | None]] = {
        "order_book": 30.0,
        "tickers": periodic(1.0),
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
        self.book_depth = _book_depth(opts.get("book_depth", DEFAULT_BOOK_DEPTH))
        # The private subscriptions this connection's filter selects (see the module doc).
        self._private: set[Subscription] = set()
        self._pushes: dict[str, Push] = {
            "push.deal": self._deals,
            "push.depth": self._depth,
            "push.depth.full": self._depth_full,
            "push.ticker": self._ticker,
            "push.personal.order": self._order,
            "push.personal.order.deal": self._fill,
            "push.personal.position": self._position,
            "push.personal.asset": self._asset,
        }

    # -- symbols ----------------------------------------------------------------------------

    def native_symbol(self, symbol: str) -> str:
        return to_native(symbol)

    def normalize_symbol(self, native: str) -> str:
        return to_symbol(native)

    def _contract(self, native: str, what: str) -> tuple[str, str]:
        """(normalized, native) for a contract a frame names."""
        if not native:
            raise FrameError(f"{what}: missing field 'symbol'")
        try:
            return to_symbol(native), native
        except ValueError as exc:
            raise FrameError(f"{what}: {exc}") from None

    # -- requests we send -------------------------------------------------------------------

    def subscribe_messages(
        self, subs: Sequence[Subscription], *, now_s: int, now_ms: int | None = None
    ) -> list[str | bytes]:
        """Public: one ``sub.*`` per (channel, contract).  Private: ``login`` then the
        ``personal.filter`` for every private subscription so far (``reqTime`` = ``now_ms``,
        else ``now_s * 1000``)."""
        public, private = self._split(subs)
        out: list[str | bytes] = [self._public("sub", c, native) for c, native in public]
        if private:
            login = self._login(now_s, now_ms)  # checks credentials and time first
            self._private.update(private)
            out += [login, self._filter()]
        return out

    def unsubscribe_messages(
        self, subs: Sequence[Subscription], *, now_s: int, now_ms: int | None = None
    ) -> list[str | bytes]:
        public, private = self._split(subs)
        out: list[str | bytes] = [self._public("unsub", c, native) for c, native in public]
        if private:
            login = self._login(now_s, now_ms)
            self._private.difference_update(private)
            # The filter that is left; with nothing left, a new login without pushes.
            out.append(self._filter() if self._private else login)
        return out

    def refused(
        self, channel: str, code: int, message: str, subs: Iterable[Subscription]
    ) -> list[Subscription]:
        """A failed login refuses every private stream; other errors name no stream."""
        if channel != "login":
            return []
        return [s for s in subs if s.channel in self.private_channels]

    def ping_message(self, *, now_s: int) -> str | bytes | None:
        return '{"method":"ping"}'

    def _split(
        self, subs: Sequence[Subscription]
    ) -> tuple[list[tuple[str, str]], list[Subscription]]:
        """Validated (public (channel, native) pairs, private subscriptions), first-seen order,
        duplicates dropped.  Raises ValueError before anything is sent or remembered."""
        public: dict[tuple[str, str], None] = {}
        private: dict[Subscription, None] = {}
        for sub in subs:
            if sub.channel in PUBLIC_TOPICS:
                public[(sub.channel, self.native_symbol(sub.symbol))] = None
            elif sub.channel in PRIVATE_FILTERS:
                if sub.symbol != ALL:
                    self.native_symbol(sub.symbol)
                private[sub] = None
            else:
                known = ", ".join(sorted(self.channels | self.private_channels))
                raise ValueError(f"{NAME}: unsupported channel {sub.channel!r} ({known})")
        if private and self._credentials is None:
            names = ", ".join(sorted({s.channel for s in private}))
            raise ValueError(
                f"{NAME}: private channels ({names}) need credentials (an api key and secret)"
            )
        return list(public), list(private)

    def _public(self, verb: str, channel: str, native: str) -> str:
        param: dict[str, Any] = {"symbol": native}
        if verb == "sub" and channel == "order_book":
            param["compress"] = False  # one push per version: the chain stays checkable
        method = f"{verb}.{PUBLIC_TOPICS[channel]}"
        return _JSON.encode({"method": method, "param": param, "gzip": False}).decode()

    def _login(self, now_s: int, now_ms: int | None) -> str:
        """``login`` with ``"subscribe": false``.  The current docs print that flag at the top
        level, other clients inside ``param``; both are sent (unknown keys are ignored)."""
        assert self._credentials is not None  # _split checked
        req_ms = now_s * 1000 if now_ms is None else now_ms
        if isinstance(req_ms, bool) or not isinstance(req_ms, int) or req_ms <= 0:
            raise ValueError(f"{NAME}: login needs a positive time in ms, got {req_ms!r}")
        key, secret = self._credentials
        param = {
            "apiKey": key,
            "reqTime": str(req_ms),
            "signature": futures_login_signature(key, secret, req_ms),
            "subscribe": False,
        }
        return _JSON.encode({"method": "login", "param": param, "subscribe": False}).decode()

    def _filter(self) -> str:
        """One ``personal.filter`` selecting every remembered private subscription."""
        rules: dict[str, set[str] | None] = {}  # filter -> contracts, None = all
        for sub in self._private:
            name = PRIVATE_FILTERS[sub.channel]
            if name in _PER_ACCOUNT or sub.symbol == ALL:
                rules[name] = None
            else:
                contracts = rules.setdefault(name, set())
                if contracts is not None:
                    contracts.add(to_native(sub.symbol))
        filters: list[dict[str, Any]] = []
        for name in PRIVATE_FILTERS.values():  # a fixed order: the message is reproducible
            if name not in rules:
                continue
            contracts = rules[name]
            entry: dict[str, Any] = {"filter": name}
            if contracts is not None:
                entry["rules"] = sorted(contracts)
            filters.append(entry)
        return _JSON.encode({"method": "personal.filter", "param": {"filters": filters}}).decode()

    # -- frames we receive ------------------------------------------------------------------

    def parse_frame(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        try:
            return self._fast_push(frame, recv_ns)
        except ValueError:  # FrameError and msgspec's errors too
            pass  # the exact path decides
        try:
            env = fs.ENVELOPE.decode(frame)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"not a MEXC contract frame: {why(exc)}") from None
        channel = env.channel
        if not channel:
            raise FrameError("missing field 'channel'")
        ts = _ms(env.ts, f"{channel[:60]} ts")
        try:
            if channel == "pong":
                return [self._pong(env, ts, recv_ns)]
            if channel.startswith("rs."):
                return [self._response(env, channel[3:], ts, recv_ns)]
            parse = self._pushes.get(channel)
            if parse is None:
                if channel in UNPUBLISHED or channel.startswith("push.personal."):
                    return []  # known, not published
                raise FrameError(f"unknown channel {channel[:60]!r}")
            if not env.data:
                raise FrameError(f"{channel}: missing field 'data'")
            return parse(env, ts, recv_ns)
        except (msgspec.DecodeError, UnicodeError) as exc:  # Raw data skips UTF-8 checks
            raise FrameError(f"{channel[:60]}: {why(exc, 'data')}") from None

    def _fast_push(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        """The fast path: the public pushes in one typed decode (``fs.PUSH``), no error texts
        built.  Anything else or doubtful raises ValueError (a msgspec error or FrameError
        too) and ``parse_frame`` takes the exact path, which decides every event and error."""
        push = fs.PUSH.decode(frame)
        if isinstance(push, fs.DepthPush):
            depth = push.data
            if depth.begin is not None or depth.end is not None:
                raise ValueError("a merged push")  # not subscribed: the exact path checks it
            return [
                BookDelta(
                    venue=NAME,
                    symbol=to_symbol(push.symbol),
                    native=push.symbol,
                    ts=push.ts,
                    recv_ns=recv_ns,
                    bids=[(price, qty) for price, qty, _ in depth.bids],
                    asks=[(price, qty) for price, qty, _ in depth.asks],
                    first_seq=depth.version,
                    seq=depth.version,
                )
            ]
        if isinstance(push, fs.TickerPush):
            return self._fast_ticker(push, recv_ns)
        symbol = to_symbol(push.symbol)
        out: list[Event] = []
        for deal in push.data if isinstance(push.data, list) else [push.data]:
            side = _TAKER_SIDES.get(deal.T)
            if side is None:
                raise ValueError("unknown side")
            out.append(
                Trade(
                    venue=NAME,
                    symbol=symbol,
                    native=push.symbol,
                    ts=deal.t or push.ts,
                    recv_ns=recv_ns,
                    price=deal.p,
                    qty=deal.v,
                    side=side,
                    trade_id=str(deal.i),
                )
            )
        return out

    def _fast_ticker(self, push: fs.TickerPush, recv_ns: int) -> list[Event]:
        t = push.data
        if push.symbol and t.symbol and push.symbol != t.symbol:
            raise ValueError("two symbols")
        native = push.symbol or t.symbol
        return [
            Ticker(
                venue=NAME,
                symbol=to_symbol(native),
                native=native,
                ts=t.timestamp or push.ts,
                recv_ns=recv_ns,
                last=t.lastPrice,
                bid=t.bid1 or None,
                ask=t.ask1 or None,
                high=t.high24Price,
                low=t.lower24Price,
                base_volume=t.volume24,  # contracts
                quote_volume=None if is_inverse(native) else t.amount24,
                change_pct=_percent(t.riseFallRate, ""),
                mark_price=t.fairPrice,
                index_price=t.indexPrice,
                funding_rate=t.fundingRate,
            )
        ]

    def _pong(self, env: fs.Envelope, ts: int, recv_ns: int) -> Pong:
        """``{"channel":"pong","data":<server time ms>}``."""
        data = fs.ANY.decode(env.data) if env.data else None
        if isinstance(data, int) and not isinstance(data, bool) and 0 <= data <= _INT64_MAX:
            ts = data
        return Pong(venue=NAME, symbol="", native="", ts=ts, recv_ns=recv_ns)

    def _response(
        self, env: fs.Envelope, method: str, ts: int, recv_ns: int
    ) -> SubscriptionAck | SubscriptionError:
        """``rs.<method>``: ``data`` "success" acks it; anything else is a refusal.
        ``rs.error`` is the venue's answer to a failed request, a failed login included."""
        method = method[:60]
        data = fs.ANY.decode(env.data) if env.data else ""
        # A non-string data is quoted as the venue sent it.
        text = data if isinstance(data, str) else bytes(env.data).decode(errors="replace")
        if method != "error" and text == "success":
            return SubscriptionAck(
                venue=NAME,
                symbol="",
                native="",
                ts=ts,
                recv_ns=recv_ns,
                channel=method,
                event="unsubscribe" if method.startswith(("unsub.", "usub.")) else "subscribe",
            )
        message = scrub(text, self._credentials) or f"rs.{method} without a message"
        if method == "error":
            method = "login" if _LOGIN_ERROR.search(text) else ""
        return SubscriptionError(
            venue=NAME,
            symbol="",
            native="",
            ts=ts,
            recv_ns=recv_ns,
            channel=method,
            message=message,
            code=env.code,
        )

    # -- public pushes: (envelope, ts, recv_ns) -> events -----------------------------------

    def _deals(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        symbol, native = self._contract(env.symbol, "push.deal")
        what = f"push.deal {native}"
        try:
            deals = fs.DEALS.decode(env.data)
        except msgspec.ValidationError as exc:
            if b'"deals"' in bytes(env.data):
                raise FrameError(
                    f"{what}: data.deals is the obsolete MEXC spot v2 shape, not a contract deal"
                ) from None
            raise FrameError(f"{what}: {why(exc, 'data')}") from None
        out: list[Event] = []
        for deal in deals if isinstance(deals, list) else [deals]:
            side = _TAKER_SIDES.get(deal.T)
            if side is None:
                raise FrameError(f"{what}: unknown taker side T={deal.T} (1 buy, 2 sell)")
            out.append(
                Trade(
                    venue=NAME,
                    symbol=symbol,
                    native=native,
                    ts=deal.t or ts,
                    recv_ns=recv_ns,
                    price=_price(deal.p, f"{what} p"),
                    qty=_size(deal.v, f"{what} v"),
                    side=side,
                    trade_id=str(deal.i),
                )
            )
        return out

    def _depth(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        symbol, native = self._contract(env.symbol, "push.depth")
        what = f"push.depth {native}"
        depth = fs.DEPTH.decode(env.data)
        if depth.begin is None and depth.end is None:
            first = last = depth.version  # unmerged: one version
        elif depth.begin is None or depth.end is None:
            raise FrameError(f"{what}: a merged push needs both begin and end")
        elif not depth.begin <= depth.version <= depth.end:
            raise FrameError(
                f"{what}: version {depth.version} is outside begin..end {depth.begin}..{depth.end}"
            )
        else:
            first, last = depth.begin, depth.end
        return [
            BookDelta(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=ts,
                recv_ns=recv_ns,
                bids=_levels(depth.bids, f"{what} bids"),
                asks=_levels(depth.asks, f"{what} asks"),
                first_seq=first,
                seq=last,
            )
        ]

    def _depth_full(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        """The top N levels at ``version``: a partial book (see the module doc)."""
        symbol, native = self._contract(env.symbol, "push.depth.full")
        what = f"push.depth.full {native}"
        depth = fs.DEPTH.decode(env.data)
        return [
            TopBook(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=ts,
                recv_ns=recv_ns,
                bids=_book(depth.bids, f"{what} bids", bids=True),
                asks=_book(depth.asks, f"{what} asks", bids=False),
                seq=depth.version,
            )
        ]

    def _ticker(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        t = fs.TICKER.decode(env.data)
        if env.symbol and t.symbol and env.symbol != t.symbol:
            raise FrameError(f"push.ticker: frame names {env.symbol!r:.40}, data {t.symbol!r:.40}")
        symbol, native = self._contract(env.symbol or t.symbol, "push.ticker")
        what = f"push.ticker {native}"
        return [
            Ticker(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=t.timestamp or ts,
                recv_ns=recv_ns,
                last=_number(t.lastPrice, f"{what} lastPrice"),
                bid=_best(t.bid1, f"{what} bid1"),
                ask=_best(t.ask1, f"{what} ask1"),
                high=_optional(t.high24Price, f"{what} high24Price"),
                low=_optional(t.lower24Price, f"{what} lower24Price"),
                base_volume=_optional(t.volume24, f"{what} volume24"),  # contracts
                quote_volume=None
                if is_inverse(native)
                else _optional(t.amount24, f"{what} amount24"),
                change_pct=_percent(t.riseFallRate, f"{what} riseFallRate"),
                mark_price=_optional(t.fairPrice, f"{what} fairPrice"),
                index_price=_optional(t.indexPrice, f"{what} indexPrice"),
                funding_rate=_optional(t.fundingRate, f"{what} fundingRate"),
            )
        ]

    # -- private pushes ---------------------------------------------------------------------

    def _order(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        o = fs.ORDER.decode(env.data)
        symbol, native = self._contract(o.symbol, "push.personal.order")
        what = f"push.personal.order {native}"
        side, reduce_only = _order_side(o.side, what)
        filled = _size(o.dealVol, f"{what} dealVol")
        return [
            Order(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=o.updateTime or o.createTime or ts,
                recv_ns=recv_ns,
                order_id=_id(o.orderId, f"{what} orderId"),
                side=side,
                # Unknown codes stay visible instead of dropping the update.
                order_type=_ORDER_TYPES.get(o.orderType, f"unknown:{o.orderType}"),
                status=_order_status(o.state, filled),
                price=_size(o.price, f"{what} price"),
                qty=_size(o.vol, f"{what} vol"),
                client_id=o.externalOid,
                filled_qty=filled,
                avg_price=_size(o.dealAvgPrice, f"{what} dealAvgPrice"),
                reduce_only=reduce_only,
            )
        ]

    def _fill(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        d = fs.DEAL.decode(env.data)
        symbol, native = self._contract(d.symbol, "push.personal.order.deal")
        what = f"push.personal.order.deal {native}"
        side, _ = _order_side(d.side, what)
        return [
            Fill(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=d.timestamp or ts,
                recv_ns=recv_ns,
                order_id=_id(d.orderId, f"{what} orderId"),
                trade_id=_id(d.id, f"{what} id"),
                side=side,
                price=_price(d.price, f"{what} price"),
                qty=_size(d.vol, f"{what} vol"),
                fee=_number(d.fee, f"{what} fee"),
                fee_asset=d.feeCurrency,
                maker=not d.isTaker,
            )
        ]

    def _position(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        """``size`` = ``holdVol`` signed by ``positionType``; ``entry_price`` =
        ``holdAvgPrice`` (else ``openAvgPrice``); ``margin`` = ``im``."""
        p = fs.POSITION.decode(env.data)
        symbol, native = self._contract(p.symbol, "push.personal.position")
        what = f"push.personal.position {native}"
        held = _size(p.holdVol, f"{what} holdVol")
        if p.positionType == 1:
            size = held
        elif p.positionType == 2:
            size = -held if held else 0.0
        else:
            raise FrameError(f"{what}: unknown positionType {p.positionType} (1 long, 2 short)")
        entry = p.holdAvgPrice if p.holdAvgPrice is not None else p.openAvgPrice
        return [
            Position(
                venue=NAME,
                symbol=symbol,
                native=native,
                ts=p.updateTime or ts,
                recv_ns=recv_ns,
                size=size,
                entry_price=0.0 if entry is None else _size(entry, f"{what} holdAvgPrice"),
                leverage=_size(p.leverage, f"{what} leverage"),
                liquidation_price=_size(p.liquidatePrice, f"{what} liquidatePrice"),
                margin=_size(p.im, f"{what} im"),
                realized_pnl=_number(p.realised, f"{what} realised"),
                mode=_OPEN_TYPES.get(p.openType, f"unknown:{p.openType}" if p.openType else ""),
            )
        ]

    def _asset(self, env: fs.Envelope, ts: int, recv_ns: int) -> list[Event]:
        """``total`` = available + frozen + position margin: the wallet, unrealised PnL
        excluded.  ``cashBalance`` is not used: the docs call it the drawable balance."""
        a = fs.ASSET.decode(env.data)
        if not a.currency:
            raise FrameError("push.personal.asset: empty currency")
        what = f"push.personal.asset {a.currency[:20]}"
        available = _number(a.availableBalance, f"{what} availableBalance")
        frozen = _number(a.frozenBalance, f"{what} frozenBalance")
        margin = _number(a.positionMargin, f"{what} positionMargin")
        return [
            Balance(
                venue=NAME,
                symbol=a.currency,
                native=a.currency,
                ts=ts,
                recv_ns=recv_ns,
                asset=a.currency,
                total=available + frozen + margin,
                available=available,
                frozen=frozen,
            )
        ]

    # -- REST -----------------------------------------------------------------------------------

    def snapshot_request(self, symbol: str) -> RestRequest:
        path = DEPTH_PATH + self.native_symbol(symbol)
        return RestRequest("GET", path, {"limit": str(self.book_depth)})

    def parse_snapshot(self, body: bytes, symbol: str, recv_ns: int) -> BookSnapshot:
        native = self.native_symbol(symbol)
        what = DEPTH_PATH + native
        try:
            depth = fs.REST_DEPTH.decode(self._rest_data(body, what))
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"{what}: {why(exc, 'data')}") from None
        return BookSnapshot(
            venue=NAME,
            symbol=symbol,
            native=native,
            ts=depth.timestamp,
            recv_ns=recv_ns,
            bids=_book(depth.bids, f"{what} bids", bids=True),
            asks=_book(depth.asks, f"{what} asks", bids=False),
            seq=depth.version,
        )

    def contracts_request(self) -> RestRequest:
        return RestRequest("GET", DETAIL_PATH)

    def parse_contracts(self, body: bytes) -> dict[str, float]:
        """native contract -> base units per contract (``contract_size``).

        Linear contracts (settled in their quote) send it as ``contractSize``: BTC_USDT 0.0001
        means one contract is 0.0001 BTC.  For coin-margined inverse contracts (BTC_USD,
        settled in BTC) ``contractSize`` is a face value in USD (100), so the base amount of
        a contract moves with the price: they get 0.0, "no fixed base size"."""
        try:
            raw = fs.CONTRACTS.decode(self._rest_data(body, DETAIL_PATH))
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"{DETAIL_PATH}: {why(exc, 'data')}") from None
        out: dict[str, float] = {}
        for c in raw if isinstance(raw, list) else [raw]:
            what = f"{DETAIL_PATH} {c.symbol[:40]}"
            if not c.symbol:
                raise FrameError(f"{DETAIL_PATH}: a contract has an empty symbol")
            size = _size(c.contractSize, f"{what} contractSize")
            inverse = c.settleCoin != c.quoteCoin if c.settleCoin else is_inverse(c.symbol)
            out[c.symbol] = 0.0 if inverse else size
        return out

    def _rest_data(self, body: bytes, what: str) -> msgspec.Raw:
        try:
            env = fs.REST.decode(body)
        except (msgspec.DecodeError, UnicodeError) as exc:
            raise FrameError(f"{what}: {why(exc)}") from None
        if env.success is None:
            raise FrameError(f"{what}: not a MEXC contract API body (no 'success' field)")
        if not env.success:
            message = scrub(env.message, self._credentials)
            raise FrameError(f"{what}: the venue refused: code {env.code} {message!r}")
        if not env.data:
            raise FrameError(f"{what}: missing field 'data'")
        return env.data

    with_contract_size = staticmethod(with_contract_size)


def _order_side(code: int, what: str) -> tuple[Side, bool]:
    try:
        return _SIDES[code]
    except KeyError:
        raise FrameError(
            f"{what}: unknown side {code} (1 open long, 2 close short, 3 open short, 4 close long)"
        ) from None


def _order_status(state: int, filled: float) -> str:
    """open | partially_filled | filled | cancelled | rejected (state 5, invalid)."""
    match state:
        case 1:  # uninformed: accepted, not yet on the book
            return "open"
        case 2:  # uncompleted
            return "partially_filled" if filled > 0 else "open"
        case 3:
            return "filled"
        case 4:
            return "cancelled"
        case 5:
            return "rejected"
    return f"unknown:{state}"
