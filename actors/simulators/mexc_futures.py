"""MEXC futures (contract) v1 simulator: the JSON WebSocket at ``/edge`` and the REST calls we
use.  [I/O shell]

Role: stands in for ``wss://contract.mexc.com/edge`` and ``https://contract.mexc.com`` in
offline runs, tests and benchmarks, speaking the venue's protocol
(``../shared/protocols/protocols.md`` section 2) from one true market of linear perpetuals
(integer contracts of ``contract_sizes`` base units each) and one account.

Sockets: one TCP listener on ``host:port`` (``port=0`` picks a free port) routing by path:

- ``/edge`` WebSocket, JSON text both ways.  ``{"method": "ping"}`` -> ``{"channel": "pong",
  "data": ms}``; ``sub.depth`` (``{"symbol", "compress"}``: ``false`` gives one ``push.depth``
  per book version, ``true``, the default, merges 100 ms of changes into one push with
  ``begin``/``end``), ``sub.deal`` (``push.deal``, an array of trades per market step),
  ``sub.ticker`` and ``sub.tickers`` (every second), ``sub.depth.full`` (``limit`` 5|10|20,
  the top N every 100 ms when the book changed), each with ``unsub.*`` (and ``usub.depth.full``
  as the docs spell it); acks ``{"channel": "rs.<method>", "data": "success", "ts"}``,
  refusals ``{"channel": "rs.error", "data": "<why>", "ts"}``.  ``login`` (HMAC-SHA256 of
  ``apiKey + reqTime`` with a key from ``credentials``) turns on ``push.personal.order``,
  ``push.personal.order.deal``, ``push.personal.position`` and ``push.personal.asset`` for
  the one account, all of them unless ``"subscribe": false``; ``personal.filter`` selects.
  A connection without a ``ping`` for ``ping_timeout_s`` (60 s) is closed.
- ``/api/v1/contract/*`` REST: ``depth/{symbol}?limit=``, ``detail[?symbol=]``,
  ``ticker[?symbol=]``, ``ping``; ``{"success", "code", "data"}`` bodies.
- ``/_sim/*`` control: ``mexc_common.py``'s and ``server.py``'s, with ``order?symbol=&side=
  1|2|3|4&vol=<contracts>[&price=<0 or absent: market>][&type=1|2|3|5][&externalOid=]``
  (sides: 1 open long, 2 close short, 3 open short, 4 close long).

The account is one-way (``positionMode`` 2): one net position per contract, sides 2 and 4
are reduce-only, 1 and 3 may reduce or flip it.  Choices where the docs are silent ("ours"
below): the texts of login and request refusals, the 100 ms merge window, 10 s of allowed
``reqTime`` skew, the close reason, and one ``push.personal.asset`` (the account after the
action) at the end of each account action rather than one per balance movement.

Pure parts: :func:`parse_request`, :func:`check_login`, :func:`parse_filters`,
:func:`wants` and the ``*_data`` / ``*_record`` builders take values and return values;
the class only moves bytes and keeps time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec
import orjson
from websockets.http11 import Request

from actors.simulators.account import (
    AccountEvent,
    BalanceChange,
    Fill,
    FuturesAccount,
    Order,
    OrderError,
    OrderEvent,
    Outcome,
    Position,
    dec_str,
)
from actors.simulators.market import (
    ASK,
    BID,
    DEFAULT_PRICES,
    DiffPush,
    DiffStream,
    Market,
    StepResult,
    Trade,
)
from actors.simulators.mexc_common import (
    ConnState,
    MexcSimulator,
    VenueError,
    order_count,
)
from actors.simulators.server import Conn, now_ms, serve_until_signalled

TOPICS: Final = frozenset({"depth", "deal", "ticker", "tickers", "depth.full"})
UNSIMULATED: Final = frozenset({"kline", "funding.rate", "index.price", "fair.price", "contract"})
FULL_LIMITS: Final = (5, 10, 20)
RAW, MERGED = "raw", "merged"  # depth variants: one version per push, or merged (compress)
MERGE_MS: Final = 100  # ours: the docs do not give the merge window
FULL_MS: Final = 100  # ours: depth.full cadence
TICKER_MS: Final = 1000
FILTERS: Final = frozenset(
    {
        "order",
        "order.deal",
        "position",
        "plan.order",
        "stop.order",
        "stop.planorder",
        "risk.limit",
        "adl.level",
        "asset",
    }
)
PER_ACCOUNT_FILTERS: Final = frozenset({"asset", "adl.level"})  # rules do not apply
CONTRACT_SIZES: Final = {"BTC_USDT": "0.0001", "ETH_USDT": "0.01"}  # the rest: see below
LEVERAGE: Final = 20
MAINTENANCE_RATE: Final = Decimal("0.004")
DEFAULT_BALANCE: Final = Decimal(100_000)
CLOSE_NO_PING: Final = "no ping"  # ours
NO_CONTRACT: Final = "Contract doesn't exist!"  # the venue's words
# /_sim/order side -> (taker side sign, reduce only)
SIDES: Final = {1: (1, False), 2: (1, True), 3: (-1, False), 4: (-1, True)}
# orderType -> time in force (4, FOK, is not simulated)
ORDER_TIFS: Final = {1: "gtc", 2: "poc", 3: "ioc", 5: "ioc"}

Key = tuple[str, str, str]
"""A subscription: (topic, contract or "", variant: raw|merged for depth, the limit for
depth.full, else "")."""

_JSON = msgspec.json.Encoder()


def num(text: str) -> msgspec.Raw:
    """A decimal string as a JSON number, digit for digit (the venue sends numbers)."""
    return msgspec.Raw(text.encode())


def dnum(value: Decimal, places: int = 8) -> msgspec.Raw:
    """A Decimal rounded to ``places`` as a JSON number."""
    return num(dec_str(value.quantize(Decimal(10) ** -places)))


def default_contract_size(contract: str, price: float) -> str:
    """The real size where we know it, else a power of ten worth about 5 quote units."""
    known = CONTRACT_SIZES.get(contract)
    if known is not None:
        return known
    return dec_str(Decimal(10) ** round(math.log10(5 / price)))


# -- requests (pure) ----------------------------------------------------------------------------


class RequestError(Exception):
    """A request the venue refuses: the ``rs.error`` text."""


def parse_request(raw: str | bytes) -> dict[str, Any]:
    """The request object, with a string ``method``; RequestError otherwise."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError("Invalid request: not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        raise RequestError("Invalid request: expected an object with a method")
    return body


def check_login(
    body: Mapping[str, Any], credentials: Mapping[str, str], now: int, window_ms: int
) -> str:
    """The api key of a good ``login``; RequestError (wording ours) unless the key is known,
    ``reqTime`` is within ``window_ms`` of ``now`` and ``signature`` is the hex HMAC-SHA256
    of ``apiKey + reqTime`` (as sent).  No message repeats the key or the signature."""
    param = body.get("param")
    if not isinstance(param, dict):
        raise RequestError("login: param must hold apiKey, reqTime and signature")
    api_key, req_time, sig = param.get("apiKey"), param.get("reqTime"), param.get("signature")
    if isinstance(req_time, int) and not isinstance(req_time, bool):
        req_time = str(req_time)
    if not all(isinstance(v, str) and v for v in (api_key, req_time, sig)):
        raise RequestError("login: param must hold apiKey, reqTime and signature")
    assert isinstance(api_key, str) and isinstance(req_time, str) and isinstance(sig, str)
    secret = credentials.get(api_key)
    if secret is None:
        raise RequestError("Api key info invalid")
    if not req_time.isdigit() or abs(now - int(req_time)) > window_ms:
        raise RequestError("login: reqTime is too far from server time")
    expected = hmac.new(secret.encode(), (api_key + req_time).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest().encode(), sig.lower().encode()):
        raise RequestError("login: signature verification failed")
    return api_key


def wants_everything(body: Mapping[str, Any]) -> bool:
    """``"subscribe": false`` (top level or in param) starts a login with no pushes."""
    param = body.get("param")
    inner = param.get("subscribe", True) if isinstance(param, dict) else True
    return body.get("subscribe", True) is not False and inner is not False


Filters = dict[str, frozenset[str] | None]


def parse_filters(body: Mapping[str, Any]) -> Filters | None:
    """A ``personal.filter``: filter -> contracts (None = all); None (no ``filters``) means
    every push again."""
    param = body.get("param")
    if not isinstance(param, dict) or "filters" not in param:
        return None
    entries = param["filters"]
    if not isinstance(entries, list):
        raise RequestError("personal.filter: filters must be a list")
    out: Filters = {}
    for entry in entries:
        name = entry.get("filter") if isinstance(entry, dict) else None
        if name not in FILTERS:
            raise RequestError(f"personal.filter: unknown filter {str(name)[:40]!r}")
        rules = entry.get("rules")
        if rules is not None and (
            not isinstance(rules, list) or not all(isinstance(r, str) for r in rules)
        ):
            raise RequestError(f"personal.filter: rules of {name} must be contract names")
        out[name] = None if name in PER_ACCOUNT_FILTERS or not rules else frozenset(rules)
    return out


def wants(filters: Filters | None, name: str, contract: str) -> bool:
    if filters is None:
        return True
    if name not in filters:
        return False
    rules = filters[name]
    return rules is None or contract in rules


# -- public frames (pure) -----------------------------------------------------------------------


def frame(channel: str, data: Any, t_ms: int, symbol: str = "") -> bytes:
    """A push or reply (a text frame: ``bytes``)."""
    body: dict[str, Any] = {"channel": channel, "data": data}
    if symbol:
        body["symbol"] = symbol
    body["ts"] = t_ms
    return _JSON.encode(body)


def levels_data(market: Market, symbol: str, levels: Iterable[tuple[int, int]]) -> list[Any]:
    """``[[price, contracts, orderCount]]``; 0 contracts delete the level."""
    return [[num(market.price_str(symbol, t)), lots, order_count(t, lots)] for t, lots in levels]


def depth_data(
    market: Market, symbol: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
) -> dict[str, Any]:
    return {
        "asks": levels_data(market, symbol, sorted(asks)),
        "bids": levels_data(market, symbol, sorted(bids, reverse=True)),
    }


def merged_data(market: Market, push: DiffPush) -> dict[str, Any]:
    """A ``compress`` push: the net levels of ``begin..end``, ``version`` = ``end``."""

    def rows(levels: list[list[str]]) -> list[Any]:
        out = []
        for price, amount in levels:
            lots = int(amount)
            tick = round(Decimal(price).scaleb(market.spec(push.symbol).price_decimals))
            out.append([num(price), lots, order_count(tick, lots)])
        return out

    return {
        "asks": rows(push.asks),
        "bids": rows(push.bids),
        "begin": push.first_id,
        "end": push.last_id,
        "version": push.last_id,
    }


def deal_data(trade: Trade) -> dict[str, Any]:
    return {
        "p": num(trade.price),
        "v": trade.lots,
        "T": 1 if trade.side == "buy" else 2,
        "O": 1 + trade.id % 3,  # open / close / unchanged: not modelled, varied
        "M": 2,
        "t": trade.time_ms,
        "i": trade.id,
    }


def order_state(order: Order) -> int:
    """2 uncompleted (open), 3 completed (filled), 4 cancelled (what was left of it)."""
    if not order.finished:
        return 2
    return 3 if order.finish_as == "filled" else 4


# -- the server ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Merged:
    """One contract's merged depth stream, shared by its ``compress`` subscribers."""

    diff: DiffStream
    due_ms: int


class MexcFuturesSimulator(MexcSimulator):
    """A MEXC perpetual futures venue on ``host:port``; see the module docstring.

    ``contracts`` are native linear perpetuals of one settle currency (``"BTC_USDT"``), each
    ``contract_sizes[c]`` base units a contract (defaults: real sizes where known); the
    account of ``user_id`` starts with ``balance`` in that currency and trades at
    ``leverage``; ``credentials`` (api key -> secret) may log in; ``login_window_s`` bounds
    the ``reqTime`` skew; ``ping_timeout_s`` closes a connection that stopped pinging.
    """

    venue: Final = "mexc_futures"
    name = "mexc-futures-sim"
    STALE_ALIASES = {"order_book": ("depth",), "trades": ("deal",), "tickers": ("ticker",)}
    UNKNOWN_SYMBOL = (1001, NO_CONTRACT)

    def __init__(
        self,
        contracts: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        tick_ms: int = 10,
        depth: int = 30,
        start_prices: dict[str, float] | None = None,
        contract_sizes: Mapping[str, str | float] | None = None,
        compression: bool = False,
        max_queue: int = 250_000,
        credentials: Mapping[str, str] | None = None,
        user_id: str = "10001",
        balance: Decimal | str | int | None = None,
        leverage: int = LEVERAGE,
        maker_fee: Decimal = Decimal(0),
        taker_fee: Decimal = Decimal("0.0002"),
        ping_timeout_s: float = 60.0,
        login_window_s: float = 10.0,
        ticker_ms: int = TICKER_MS,
    ) -> None:
        quotes = {c.partition("_")[2] for c in contracts}
        if len(quotes) != 1 or "USD" in quotes or not all("_" in c for c in contracts):
            raise ValueError("contracts must be linear perpetuals of one quote, e.g. BTC_USDT")
        settle = quotes.pop()
        prices = _start_prices(contracts, seed, start_prices)
        given = {c: str(v) for c, v in (contract_sizes or {}).items()}
        self.contract_sizes = {
            c: given.get(c) or default_contract_size(c, prices[c]) for c in contracts
        }
        sizes = {c: float(s) for c, s in self.contract_sizes.items()}
        market = Market(contracts, seed, depth, prices, contract_sizes=sizes)
        account = FuturesAccount(
            market,
            settle,
            {c: Decimal(s) for c, s in self.contract_sizes.items()},
            balance=Decimal(balance if balance is not None else DEFAULT_BALANCE),
            leverage=leverage,
            maker_fee=maker_fee,
            taker_fee=taker_fee,
        )
        super().__init__(
            contracts,
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
        self.futures_account = account
        self.settle = settle
        self.ping_timeout_s = ping_timeout_s
        self.login_window_ms = round(login_window_s * 1000)
        self.ticker_ms = ticker_ms
        self._subs: dict[Key, set[Conn]] = {}
        self._merged: dict[str, Merged] = {}
        self._full_last: dict[Key, int] = {}
        self._full_due = 0
        self._ticker_due = 0
        rng = random.Random(f"{seed}/contracts")
        self._ids = {c: i + 1 for i, c in enumerate(self.symbols)}
        self._funding = {c: Decimal(rng.randint(-30, 100)) / 1_000_000 for c in self.symbols}
        self._hold_vol = {c: rng.randint(10**5, 10**7) for c in self.symbols}
        self._sides: dict[int, int] = {}  # order id -> the side it was placed with (1..4)
        self._position_types = dict.fromkeys(self.symbols, 1)
        self._fees: dict[int, list[Decimal]] = {}  # order id -> [maker fees, taker fees]
        self._rejected: Counter[str] = Counter()

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/edge"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _is_ws_path(self, path: str) -> bool:
        return path.rstrip("/") == "/edge"

    # -- connections --------------------------------------------------------------------------

    def _started(self, t_ms: int) -> None:
        super()._started(t_ms)
        self._ticker_due = t_ms + self.ticker_ms
        self._full_due = t_ms + FULL_MS

    def _expired(self, conn: Conn, state: ConnState, now: float) -> str:
        return CLOSE_NO_PING if now - state.last_seen >= self.ping_timeout_s else ""

    def _forget(self, conn: Conn) -> None:
        super()._forget(conn)
        for key in list(conn.keys):
            self._unsubscribe(conn, key)

    # -- requests -----------------------------------------------------------------------------

    def _on_message(self, conn: Conn, message: str | bytes) -> None:
        t_ms = now_ms()
        state = self._state(conn)
        try:
            body = parse_request(message)
            method: str = body["method"]
            if method == "ping":
                state.last_seen = time.monotonic()  # only a ping keeps the connection
                self._reply(conn, frame("pong", t_ms, t_ms))
                return
            if method == "login":
                self._login(conn, state, body, t_ms)
            elif method == "personal.filter":
                if not state.api_key:
                    raise RequestError("personal.filter: please login first")
                state.filters = parse_filters(body)
            else:
                self._subscription(conn, method, body.get("param"), t_ms)
        except RequestError as err:
            self._rejected[str(err).partition(":")[0]] += 1
            self._reply(conn, frame("rs.error", str(err), t_ms))
            return
        self._reply(conn, frame(f"rs.{method}", "success", t_ms))

    def _login(self, conn: Conn, state: ConnState, body: dict[str, Any], t_ms: int) -> None:
        try:
            state.api_key = check_login(body, self._credentials, t_ms, self.login_window_ms)
        except RequestError:
            self._auth_failures += 1
            raise
        state.filters = None if wants_everything(body) else {}

    def _subscription(self, conn: Conn, method: str, param: Any, t_ms: int) -> None:
        verb, _, topic = method.partition(".")
        if verb not in ("sub", "unsub", "usub") or not topic:
            raise RequestError(f"Unknown method: {method[:40]}")
        if topic in UNSIMULATED:
            raise RequestError(f"Not simulated: {method[:40]}")
        if topic not in TOPICS:
            raise RequestError(f"Unknown method: {method[:40]}")
        param = param if isinstance(param, dict) else {}
        symbol = ""
        if topic != "tickers":
            symbol = param.get("symbol")
            if not isinstance(symbol, str) or not symbol:
                raise RequestError(f"{method}: param symbol is required")
            if symbol not in self.market:
                raise RequestError(NO_CONTRACT)
        if verb != "sub":
            for key in [k for k in conn.keys if k[0] == topic and k[1] == symbol]:
                self._unsubscribe(conn, key)
            return
        variant = ""
        if topic == "depth":
            variant = MERGED if param.get("compress", True) is not False else RAW
        elif topic == "depth.full":
            limit = param.get("limit", 20)
            if limit not in FULL_LIMITS or isinstance(limit, bool):
                raise RequestError(f"{method}: limit must be 5, 10 or 20")
            variant = str(limit)
        self._subscribe(conn, (topic, symbol, variant), t_ms)

    def _reply(self, conn: Conn, data: bytes) -> None:
        if self.stale:
            self._dropped_stale += 1
            return
        conn.push(data)

    def _subscribe(self, conn: Conn, key: Key, t_ms: int) -> None:
        topic, symbol, variant = key
        if topic == "depth" and variant == MERGED and symbol not in self._merged:
            diff = DiffStream(self.market, symbol, self.market.depth)
            self._merged[symbol] = Merged(diff, t_ms + MERGE_MS)
        self._subs.setdefault(key, set()).add(conn)
        conn.keys.add(key)

    def _sub_parts(self, key: Key) -> tuple[str, str]:
        return key[0], key[1]

    def _unsubscribe(self, conn: Conn, key: Key) -> None:
        conn.keys.discard(key)
        subs = self._subs.get(key)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._subs[key]
            self._full_last.pop(key, None)
            if key[0] == "depth" and key[2] == MERGED:
                self._merged.pop(key[1], None)

    # -- streams ------------------------------------------------------------------------------

    def _publish_step(self, step: StepResult, t_ms: int) -> None:
        symbol, market = step.symbol, self.market
        raw = self._subs.get(("depth", symbol, RAW))
        if raw:  # one push per book version (compress: false)
            for change in step.changes:
                bids = [(t, lots) for side, t, lots in change.levels if side == BID]
                asks = [(t, lots) for side, t, lots in change.levels if side == ASK]
                data = depth_data(market, symbol, bids, asks)
                data["version"] = change.id
                self._send(raw, "push.depth", frame("push.depth", data, t_ms, symbol))
        merged = self._merged.get(symbol)
        if merged is not None:
            merged.diff.add(step)
        deals = self._subs.get(("deal", symbol, ""))
        if deals:
            trades = [deal_data(c.trade) for c in step.changes if c.trade is not None]
            if trades:
                self._send(deals, "push.deal", frame("push.deal", trades, t_ms, symbol))

    def _flush_due(self, t_ms: int) -> None:
        for symbol, merged in self._merged.items():
            if t_ms >= merged.due_ms:
                merged.due_ms = max(merged.due_ms + MERGE_MS, t_ms + 1)
                self._push_merged(symbol, merged, t_ms)
        if t_ms >= self._full_due:
            self._full_due = max(self._full_due + FULL_MS, t_ms + 1)
            for key in [k for k in self._subs if k[0] == "depth.full"]:
                self._push_full(key, t_ms)

    def _flush_symbol(self, symbol: str, t_ms: int) -> None:
        merged = self._merged.get(symbol)
        if merged is not None:
            self._push_merged(symbol, merged, t_ms)
        for key in [k for k in self._subs if k[0] == "depth.full" and k[1] == symbol]:
            self._push_full(key, t_ms)

    def _push_merged(self, symbol: str, merged: Merged, t_ms: int) -> None:
        push = merged.diff.flush()
        subs = self._subs.get(("depth", symbol, MERGED))
        if push is not None and subs:
            data = merged_data(self.market, push)
            self._send(subs, "push.depth", frame("push.depth", data, t_ms, symbol))

    def _push_full(self, key: Key, t_ms: int) -> None:
        _, symbol, limit = key
        version = self.market.book_id(symbol)
        subs = self._subs.get(key)
        if not subs or self._full_last.get(key) == version:
            return
        self._full_last[key] = version
        market, n = self.market, int(limit)
        data = depth_data(
            market, symbol, market.top_levels(symbol, BID, n), market.top_levels(symbol, ASK, n)
        )
        data["version"] = version
        self._send(subs, "push.depth.full", frame("push.depth.full", data, t_ms, symbol))

    def _periodic(self, t_ms: int) -> None:
        if t_ms < self._ticker_due:
            return
        self._ticker_due = max(self._ticker_due + self.ticker_ms, t_ms + 1)
        for symbol in self.symbols:
            subs = self._subs.get(("ticker", symbol, ""))
            if subs:
                data = self._ticker(symbol, t_ms)
                self._send(subs, "push.ticker", frame("push.ticker", data, t_ms, symbol))
        subs = self._subs.get(("tickers", "", ""))
        if subs:
            data = [self._ticker(symbol, t_ms, short=True) for symbol in self.symbols]
            self._send(subs, "push.tickers", frame("push.tickers", data, t_ms))

    def _ticker(self, symbol: str, t_ms: int, *, short: bool = False) -> dict[str, Any]:
        """``push.ticker`` data from the rolling 24 h statistics (``short``: the fields of a
        ``push.tickers`` element)."""
        market = self.market
        t = market.ticker(symbol, t_ms)
        places = market.spec(symbol).price_decimals
        step = Decimal(10) ** -places
        last, bid, ask = Decimal(t["last"]), Decimal(t["highest_bid"]), Decimal(t["lowest_ask"])
        rate = Decimal(t["change_percentage"]) / 100
        fair = ((bid + ask) / 2).quantize(step)
        data: dict[str, Any] = {
            "symbol": symbol,
            "lastPrice": num(t["last"]),
            "volume24": int(t["base_volume"]),  # contracts
            "riseFallRate": dnum(rate, 6),
            "fairPrice": dnum(fair, places),
        }
        if short:
            return data
        size = Decimal(self.contract_sizes[symbol])
        data.update(
            bid1=num(t["highest_bid"]),
            ask1=num(t["lowest_ask"]),
            amount24=dnum(Decimal(t["quote_volume"]) * size, 4),
            holdVol=self._hold_vol[symbol],
            lower24Price=num(t["low_24h"]),
            high24Price=num(t["high_24h"]),
            riseFallValue=dnum(last - last / (1 + rate), places),
            indexPrice=num(t["last"]),
            fundingRate=dnum(self._funding[symbol], 6),
            maxBidPrice=dnum(last * Decimal("1.1"), places),
            minAskPrice=dnum(last * Decimal("0.9"), places),
            contractId=self._ids[symbol],
            timestamp=t_ms,
        )
        return data

    # -- the account --------------------------------------------------------------------------

    def _deliver(self, events: list[AccountEvent], t_ms: int) -> list[dict[str, Any]]:
        """Each event to the logged-in connections whose filter wants it; the account's asset
        push once at the end (ours: it reports the account after the whole action)."""
        records: list[tuple[str, str, dict[str, Any]]] = []
        for event in events:
            match event:
                case OrderEvent(_, order):
                    records.append(("order", order.symbol, self._order_record(order)))
                case Fill():
                    fees = self._fees.setdefault(event.order_id, [Decimal(0), Decimal(0)])
                    fees[event.role == "taker"] += event.fee
                    records.append(("order.deal", event.symbol, self._deal_record(event)))
                case Position():
                    records.append(("position", event.symbol, self._position_record(event)))
        if records or any(isinstance(e, BalanceChange) for e in events):
            records.append(("asset", "", self._asset_record()))
        logged_in = [(c, self._state(c)) for c in self._conns]
        logged_in = [(c, s) for c, s in logged_in if s.api_key and not s.closing]
        for name, symbol, data in records:
            channel = f"push.personal.{name}"
            conns = [c for c, s in logged_in if wants(s.filters, name, symbol)]
            if conns:
                self._send(conns, channel, frame(channel, data, t_ms))
        self._account_pushes += len(records)
        return [
            {"channel": f"push.personal.{name}", "data": orjson.loads(_JSON.encode(data))}
            for name, _, data in records
        ]

    def _order_record(self, order: Order) -> dict[str, Any]:
        account, market, symbol = self.futures_account, self.market, order.symbol
        side = self._sides.get(order.id) or (1 if order.side == "buy" else 3)
        avg = Decimal(0)
        if order.filled:
            avg = account.price(symbol, 1) * order.filled_value / order.filled
        maker, taker = self._fees.get(order.id, (Decimal(0), Decimal(0)))
        order_type = 5 if order.kind == "market" else {"gtc": 1, "poc": 2, "ioc": 3}[order.tif]
        price = market.price_str(symbol, order.tick) if order.tick else "0"
        return {
            "orderId": str(order.id),
            "symbol": symbol,
            "positionId": self._ids[symbol],
            "price": num(price),
            "vol": order.lots,
            "leverage": account.leverage,
            "side": side,
            "category": 1,
            "orderType": order_type,
            "dealAvgPrice": dnum(avg, market.spec(symbol).price_decimals + 4),
            "dealVol": order.filled,
            "orderMargin": dnum(order.frozen),
            "usedMargin": dnum(account.value(symbol, order.filled, avg) / account.leverage),
            "takerFee": dnum(taker),
            "makerFee": dnum(maker),
            "profit": 0,
            "feeCurrency": self.settle,
            "openType": 1,
            "state": order_state(order),
            "errorCode": 0,
            "externalOid": order.text,
            "createTime": order.create_ms,
            "updateTime": order.update_ms,
            "remainVol": order.left,
            "version": order.update_id,
        }

    def _deal_record(self, fill: Fill) -> dict[str, Any]:
        side = self._sides.get(fill.order_id) or (1 if fill.side == "buy" else 3)
        return {
            "id": str(fill.id),  # the public push.deal "i" of the same trade
            "symbol": fill.symbol,
            "side": side,
            "vol": fill.lots,
            "price": num(fill.price),
            "feeCurrency": fill.fee_asset,
            "fee": dnum(fill.fee),
            "timestamp": fill.time_ms,
            "profit": 0,
            "isTaker": fill.role == "taker",
            "category": 1,
            "orderId": str(fill.order_id),
            "isSelf": False,
            "externalOid": fill.text,
            "positionMode": 2,
            "reduceOnly": SIDES[side][1],
            "opponentUid": 0,
        }

    def _position_record(self, p: Position) -> dict[str, Any]:
        account = self.futures_account
        if p.size:
            self._position_types[p.symbol] = 1 if p.size > 0 else 2
        kind = self._position_types[p.symbol]
        places = self.market.spec(p.symbol).price_decimals
        liquidate = Decimal(0)
        if p.size:
            lever = 1 / Decimal(account.leverage)
            factor = 1 - lever + MAINTENANCE_RATE if kind == 1 else 1 + lever - MAINTENANCE_RATE
            liquidate = p.entry * factor
        return {
            "positionId": self._ids[p.symbol],
            "symbol": p.symbol,
            "holdVol": abs(p.size),
            "positionType": kind,
            "openType": 1,
            "state": 1 if p.size else 3,
            "frozenVol": 0,
            "closeVol": 0,
            "holdAvgPrice": dnum(p.entry, places + 4),
            "closeAvgPrice": 0,
            "openAvgPrice": dnum(p.entry, places + 4),
            "liquidatePrice": dnum(liquidate, places),
            "oim": dnum(p.margin),
            "im": dnum(p.margin),
            "adlLevel": 1 if p.size else 0,
            "holdFee": 0,
            "realised": dnum(p.realised_pnl),
            "leverage": p.leverage,
            "autoAddIm": False,
            "createTime": p.time_ms,
            "updateTime": p.time_ms,
        }

    def _asset_record(self) -> dict[str, Any]:
        a = self.futures_account
        return {
            "currency": self.settle,
            "positionMargin": dnum(a.position_margin),
            "frozenBalance": dnum(a.order_margin),
            "availableBalance": dnum(a.available),
            "cashBalance": dnum(a.available),
            "bonus": 0,
        }

    def _place(self, params: dict[str, str], t_ms: int) -> Outcome:
        symbol = self._symbol(params)
        raw_side, raw_vol = params.get("side", ""), params.get("vol", "")
        if not raw_side.isdigit() or int(raw_side) not in SIDES:
            raise self._error(400, 600, "Param error! side must be 1, 2, 3 or 4")
        if not raw_vol.isdigit() or int(raw_vol) <= 0:
            raise self._error(400, 600, "Param error! vol must be a positive integer")
        side = int(raw_side)
        sign, reduce_only = SIDES[side]
        price = params.get("price", "0") or "0"
        market_order = _decimal(price) and Decimal(price) == 0
        raw_type = params.get("type") or ("5" if market_order else "1")
        if not raw_type.isdigit() or int(raw_type) not in ORDER_TIFS:
            raise self._error(400, 600, "Param error! type must be 1, 2, 3 or 5")
        if (int(raw_type) == 5) != market_order:
            raise self._error(400, 600, "Param error! a market order (type 5) has price 0")
        outcome = self.futures_account.place(
            symbol,
            sign * int(raw_vol),
            "0" if market_order else price,
            t_ms,
            tif=ORDER_TIFS[int(raw_type)],
            text=params.get("externalOid", ""),
            reduce_only=reduce_only,
        )
        assert outcome.order is not None
        self._sides[outcome.order.id] = side
        return outcome

    def _order_id(self, params: dict[str, str]) -> int:
        raw = params.get("order_id") or params.get("orderId") or ""
        if not raw.isdigit():
            raise self._error(400, 600, "Param error! order_id must be an order id")
        return int(raw)

    def _order_reply(self, outcome: Outcome, pushes: list[dict[str, Any]]) -> dict[str, Any]:
        order = outcome.order
        assert order is not None
        return {
            "orderId": str(order.id),
            "state": order_state(order),
            "finish_as": order.finish_as,
            "versions": [step.last_id for step in outcome.steps],
            "pushes": pushes,
        }

    def _order_error(self, err: OrderError) -> VenueError:
        code = {
            "INSUFFICIENT_AVAILABLE": 2005,
            "REDUCE_ONLY_FAIL": 2009,
            "CONTRACT_NOT_FOUND": 1001,
        }.get(err.label, 600)
        return self._error(400, code, err.message)

    def _account_view(self) -> dict[str, Any]:
        a = self.futures_account
        view = {  # amounts rounded as the pushes round them (8 places)
            "balances": {
                self.settle: {
                    "total": _dec8(a.total),
                    "availableBalance": _dec8(a.available),
                    "frozenBalance": _dec8(a.order_margin),
                    "positionMargin": _dec8(a.position_margin),
                }
            },
            "orders": [self._order_record(o) for o in a.orders.values()],
            "positions": [
                self._position_record(p) for p in a.positions.values() if p.update_id and p.size
            ],
        }
        return orjson.loads(_JSON.encode(view))

    # -- controls and stats -------------------------------------------------------------------

    def _error(self, status: int, code: int, message: str) -> VenueError:
        return VenueError(
            status, code, message, {"success": False, "code": code, "message": message}
        )

    def _malformed(self, count: int, t_ms: int) -> Iterable[bytes | bytearray]:
        """Cycling: JSON cut short, random bytes (a binary frame), a push without data."""
        symbol = self.symbols[0]
        sample = frame("pong", t_ms, t_ms)
        no_data = _JSON.encode({"channel": "push.depth", "symbol": symbol, "ts": t_ms})
        kinds = [sample[: len(sample) // 2], None, no_data]
        out: list[bytes | bytearray] = []
        for i in range(count):
            kind = kinds[i % 3]
            out.append(bytearray(self._rng.randbytes(24)) if kind is None else kind)
        return out

    def _extra_stats(self) -> dict[str, Any]:
        subs: Counter[str] = Counter()
        for (topic, _, variant), conns in self._subs.items():
            subs[f"{topic}/{variant}" if topic == "depth" else topic] += len(conns)
        logged_in = sum(1 for c in self._conns if self._state(c).api_key)
        return {
            **self._common_stats(),
            "subscriptions": dict(subs),
            "rejected": dict(self._rejected),
            "logged_in": logged_in,
        }

    # -- REST ---------------------------------------------------------------------------------

    def _rest(self, path: str, params: dict[str, str], request: Request) -> Any:
        t_ms = now_ms()
        route = path.rstrip("/")
        prefix = "/api/v1/contract/"
        if request.method != "GET" or not route.startswith(prefix):
            raise self._error(404, 404, f"Not Found: {request.method} {route}")
        name = route.removeprefix(prefix)
        if name.startswith("depth/"):
            return self._rest_depth(name.removeprefix("depth/"), params, t_ms)
        if name == "detail":
            if "symbol" in params:
                return self._ok(self._detail(self._symbol(params)))
            return self._ok([self._detail(c) for c in self.symbols])
        if name == "ticker":
            if "symbol" in params:
                return self._ok(self._ticker(self._symbol(params), t_ms))
            return self._ok([self._ticker(c, t_ms) for c in self.symbols])
        if name == "ping":
            return self._ok(t_ms)
        raise self._error(404, 404, f"Not Found: {request.method} {route}")

    def _ok(self, data: Any) -> Any:
        """The success body; numbers stay exact decimals (msgspec, not floats)."""
        return orjson.Fragment(_JSON.encode({"success": True, "code": 0, "data": data}))

    def _rest_depth(self, symbol: str, params: dict[str, str], t_ms: int) -> Any:
        symbol = self._symbol({"symbol": symbol})
        raw = params.get("limit")
        if raw is not None and (not raw.isdigit() or int(raw) < 1):
            raise self._error(400, 600, "Param error! limit must be a positive integer")
        market = self.market
        n = int(raw) if raw is not None else max(market.depth, 1000)
        snap_id = market.book_id(symbol)
        bids = market.top_levels(symbol, BID, n)
        asks = market.top_levels(symbol, ASK, n)
        data = depth_data(market, symbol, bids, asks)
        data.update(version=snap_id, timestamp=t_ms)
        return self._ok(data)

    def _detail(self, contract: str) -> dict[str, Any]:
        spec = self.market.spec(contract)
        a = self.futures_account
        return {
            "symbol": contract,
            "displayName": f"{spec.base}_{spec.quote}永续",
            "displayNameEn": f"{spec.base}_{spec.quote} PERPETUAL",
            "positionOpenType": 3,
            "baseCoin": spec.base,
            "quoteCoin": spec.quote,
            "settleCoin": self.settle,
            "contractSize": num(self.contract_sizes[contract]),
            "minLeverage": 1,
            "maxLeverage": 200,
            "priceScale": spec.price_decimals,
            "volScale": 0,
            "amountScale": 4,
            "priceUnit": dnum(Decimal(10) ** -spec.price_decimals, spec.price_decimals),
            "volUnit": 1,
            "minVol": 1,
            "maxVol": 1_000_000,
            "bidLimitPriceRate": num("0.1"),
            "askLimitPriceRate": num("0.1"),
            "takerFeeRate": dnum(a.taker_fee, 6),
            "makerFeeRate": dnum(a.maker_fee, 6),
            "maintenanceMarginRate": dnum(MAINTENANCE_RATE, 4),
            "initialMarginRate": num("0.005"),
            "state": 0,
            "isNew": False,
            "isHot": False,
            "isHidden": False,
            "futureType": 1,
            "apiAllowed": True,
        }


def _dec8(value: Decimal) -> str:
    return dec_str(value.quantize(Decimal(10) ** -8))


def _decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def _start_prices(
    contracts: Sequence[str], seed: int, given: Mapping[str, float] | None
) -> dict[str, float]:
    """Start prices, fixed up front: the default contract sizes depend on them."""
    prices = dict(given or {})
    for contract in contracts:
        if contract not in prices:
            known = DEFAULT_PRICES.get(contract.partition("_")[0])
            rng = random.Random(f"{seed}/{contract}/price")
            prices[contract] = known if known is not None else 10 ** rng.uniform(-1.0, 3.0)
    return prices


def run(
    contracts: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    **options: Any,
) -> None:
    """Blocking entry for ``pipeline simulate mexc_futures``: serve until SIGINT/SIGTERM."""
    sim = MexcFuturesSimulator(contracts, host=host, port=port, seed=seed, **options)
    serve_until_signalled(sim, "mexc_futures")
