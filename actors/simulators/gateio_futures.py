"""Gate.io futures (perpetual) simulator: WebSocket v4 and the REST calls we use.  [I/O shell]

Role: stands in for ``wss://fx-ws.gateio.ws/v4/ws/{settle}`` and
``https://api.gateio.ws/api/v4/futures/{settle}/...`` (one settle currency per instance, as
the venue serves them) in offline runs, tests and benchmarks, speaking the venue's protocol
(``../shared/protocols/protocols.md`` section 4) from one true market and one account.

Sockets: one TCP listener on ``host:port`` (``port=0`` picks a free port) that routes by path:

- ``/v4/ws/{settle}``  WebSocket: ``futures.ping``, ``futures.book_ticker``,
  ``futures.trades``, ``futures.tickers``, ``futures.order_book_update``
  (``[contract, "100ms"|"20ms", "100"|"50"|"20"]``), ``futures.obu`` (``["ob.C.50"]`` or
  ``.400``: a full push first, then increments; one per stream per connection) and, signed
  with a key from ``credentials``, ``futures.orders``, ``futures.usertrades``,
  ``futures.positions`` (``[user_id, contract|"!all"]``) and ``futures.balances``
  (``[user_id]``);
- ``/api/v4/futures/{settle}/*``  REST: ``order_book``, ``contracts``, ``contracts/{c}``,
  ``tickers``;
- ``/_sim/*``  control, as the spot simulator (``symbol`` parameter ``contract``), with
  ``order?contract=&size=<signed contracts>&price=<0 = market>[&tif=][&reduce_only=true]``.

Sizes are integer contracts (``quanto_multiplier`` base units each, e.g. BTC_USDT 0.0001).  A
connection whose handshake carried ``X-Gate-Size-Decimal: 1`` gets every size as a decimal
string instead (book ``s``, ``B``/``A``, trade, order and position sizes), as does a REST
request with that header: the phase-1 opt-in of Gate's 2025-12 size migration.

Pure parts: the market and account modules, and here the request checks and the frame
builders (``*_result``, ``*_record``, :func:`contract_info`).  The class only moves bytes.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Container, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import orjson
from websockets.http11 import Request

from actors.simulators.account import (
    AccountEvent,
    BalanceChange,
    Fill,
    FuturesAccount,
    Order,
    OrderEvent,
    Outcome,
    Position,
    dec_str,
)
from actors.simulators.gateio_common import (
    ALL,
    ClientRequest,
    GateioSimulator,
    Key,
    PrivateRecord,
    Stream,
    push_frame,
)
from actors.simulators.market import (
    ASK,
    BID,
    DEFAULT_PRICES,
    DiffPush,
    Market,
    StepResult,
    Top,
    Trade,
    units_to_str,
)
from actors.simulators.server import Conn, HttpError, now_ms, num_param, serve_until_signalled

BOOK_TICKER: Final = "futures.book_ticker"
TRADES: Final = "futures.trades"
TICKERS: Final = "futures.tickers"
ORDER_BOOK_UPDATE: Final = "futures.order_book_update"
OBU: Final = "futures.obu"
ORDERS: Final = "futures.orders"
USER_TRADES: Final = "futures.usertrades"
POSITIONS: Final = "futures.positions"
BALANCES: Final = "futures.balances"
PING: Final = "futures.ping"
CONTRACT_CHANNELS: Final = frozenset({BOOK_TICKER, TRADES, TICKERS})
UNSIMULATED: Final = frozenset(
    {
        "futures.candlesticks",
        "futures.order_book",
        "futures.public_liquidates",
        "futures.contract_stats",
    }
)
PRIVATE: Final = frozenset(
    {
        ORDERS,
        USER_TRADES,
        POSITIONS,
        BALANCES,
        "futures.liquidates",
        "futures.auto_deleverages",
        "futures.position_closes",
        "futures.reduce_risk_limits",
        "futures.autoorders",
    }
)
PER_CONTRACT_PRIVATE: Final = frozenset({ORDERS, USER_TRADES, POSITIONS})
# order_book_update: interval -> allowed levels (first = default when the level is left out)
UPDATE_LEVELS: Final = {"100ms": ("100", "50", "20"), "20ms": ("20",)}
# obu depth -> push interval (ms)
OBU_INTERVALS: Final = {"400": 100, "50": 20}
OBU_STREAM: Final = re.compile(r"ob\.([A-Z0-9]+_[A-Z0-9]+)\.([0-9]+)")
SIZE_DECIMAL_HEADER: Final = "X-Gate-Size-Decimal"
INT_SIZES: Final = 0  # connection variants: integer sizes (default) ...
STR_SIZES: Final = 1  # ... or decimal strings (X-Gate-Size-Decimal: 1)
# settle -> (quote of its perpetuals, contract type, default balance)
SETTLES: Final = {
    "usdt": ("USDT", "direct", Decimal(100_000)),
    "btc": ("USD", "inverse", Decimal(10)),
}
# Real multipliers where we know them; others get one worth a few dollars a contract.
QUANTO_MULTIPLIERS: Final = {
    "BTC_USDT": "0.0001",
    "ETH_USDT": "0.01",
    "SOL_USDT": "1",
    "BNB_USDT": "0.01",
    "XRP_USDT": "10",
    "DOGE_USDT": "10",
    "ADA_USDT": "10",
    "LTC_USDT": "0.1",
}
LEVERAGE: Final = 10
MAINTENANCE_RATE: Final = Decimal("0.005")
FUNDING_INTERVAL_S: Final = 28_800


def default_multiplier(contract: str, price: float) -> str:
    """The real multiplier if we know it, else a power of ten worth about 5 quote units."""
    known = QUANTO_MULTIPLIERS.get(contract)
    if known is not None:
        return known
    return dec_str(Decimal(10) ** round(math.log10(5 / price)))


# -- requests (pure) ----------------------------------------------------------------------------


def subscription_keys(
    req: ClientRequest, contracts: Container[str], user_id: str, held: set[Key]
) -> list[Key]:
    """The subscriptions a (authenticated, if private) request names; all or nothing.
    ``held`` are the connection's subscriptions (a second obu subscription is an error)."""
    if req.channel in CONTRACT_CHANNELS:
        return [(req.channel, c, "") for c in _contracts(req, req.payload, contracts)]
    if req.channel == ORDER_BOOK_UPDATE:
        return [_order_book_key(req, contracts)]
    if req.channel == OBU:
        return _obu_keys(req, contracts, held)
    if req.channel == BALANCES:
        _user(req, user_id)
        return [(BALANCES, "", "")]
    if req.channel in PER_CONTRACT_PRIVATE:
        _user(req, user_id)
        rest = req.payload[1:]
        if rest == [ALL]:
            return [(req.channel, ALL, "")]
        return [(req.channel, c, "") for c in _contracts(req, rest, contracts)]
    if req.channel in UNSIMULATED or req.channel in PRIVATE:
        raise req.error(2, f"channel {req.channel} is not simulated")
    raise req.error(2, f"unknown channel {req.channel}")


def _contracts(req: ClientRequest, payload: list[Any], contracts: Container[str]) -> list[str]:
    if not payload:
        raise req.error(2, "payload must list at least one contract")
    for contract in payload:
        if not isinstance(contract, str) or contract not in contracts:
            raise req.error(2, f"unknown contract {contract}")
    return list(dict.fromkeys(payload))


def _user(req: ClientRequest, user_id: str) -> None:
    """Private payloads start with the account's user id (as a string)."""
    if not req.payload or not isinstance(req.payload[0], str):
        raise req.error(2, "payload must start with the user id")
    if req.payload[0] != user_id:
        raise req.error(2, f"user id {req.payload[0][:20]} does not match the api key's user")


def _order_book_key(req: ClientRequest, contracts: Container[str]) -> Key:
    payload = req.payload
    if len(payload) not in (2, 3) or not all(isinstance(p, str) for p in payload):
        raise req.error(2, 'payload must be [contract, "100ms"|"20ms", "100"|"50"|"20"]')
    contract, interval = payload[0], payload[1]
    if contract not in contracts:
        raise req.error(2, f"unknown contract {contract}")
    levels = UPDATE_LEVELS.get(interval)
    if levels is None:
        raise req.error(2, f"invalid frequency {interval}, only 100ms and 20ms")
    level = payload[2] if len(payload) == 3 else levels[0]
    if level not in levels:
        raise req.error(2, f"frequency {interval} supports levels {', '.join(levels)}, not {level}")
    return (ORDER_BOOK_UPDATE, contract, f"{interval}/{level}")


def _obu_keys(req: ClientRequest, contracts: Container[str], held: set[Key]) -> list[Key]:
    if not req.payload:
        raise req.error(2, 'payload must be ["ob.<contract>.<50|400>"]')
    keys: list[Key] = []
    for name in req.payload:
        match = OBU_STREAM.fullmatch(name) if isinstance(name, str) else None
        if match is None or match[2] not in OBU_INTERVALS:
            raise req.error(2, f"invalid stream {str(name)[:40]}, expected ob.<contract>.<50|400>")
        if match[1] not in contracts:
            raise req.error(2, f"unknown contract {match[1]}")
        key = (OBU, match[1], match[2])
        if req.event == "subscribe" and key in held:
            raise req.error(2, f"Alert sub {name}")  # the venue's words for a duplicate
        keys.append(key)
    return keys


# -- public frames (pure) -----------------------------------------------------------------------


def size_value(text: str, variant: int) -> int | str:
    """A size as the connection takes it: an integer, or a decimal string."""
    return text if variant == STR_SIZES else int(text)


def size_levels(levels: list[list[str]], variant: int) -> list[dict[str, Any]]:
    """``[[price, size]]`` -> ``[{"p": price, "s": size}]``."""
    if variant == STR_SIZES:
        return [{"p": p, "s": s} for p, s in levels]
    return [{"p": p, "s": int(s)} for p, s in levels]


def diff_result(push: DiffPush, t_ms: int, variant: int) -> dict[str, Any]:
    """``futures.order_book_update``."""
    result: dict[str, Any] = {"t": t_ms}
    if push.full:
        result["full"] = True
    result.update(
        s=push.symbol,
        U=push.first_id,
        u=push.last_id,
        b=size_levels(push.bids, variant),
        a=size_levels(push.asks, variant),
        l=str(push.level),
    )
    return result


def obu_frame(push: DiffPush, t_ms: int) -> bytes:
    """``futures.obu``: a full push has no ``U``; levels are ``[["p", "s"]]`` strings; the
    envelope carries only channel, result and time_ms."""
    result: dict[str, Any] = {"t": t_ms}
    if push.full:
        result["full"] = True
    result["s"] = f"ob.{push.symbol}.{push.level}"
    if not push.full:
        result["U"] = push.first_id
    result.update(u=push.last_id, b=push.bids, a=push.asks)
    return orjson.dumps({"channel": OBU, "result": result, "time_ms": t_ms})


def book_ticker_result(symbol: str, top: Top, t_ms: int, variant: int) -> dict[str, Any]:
    """Empty sides would be ``""`` and size 0; the simulated book never empties a side."""
    return {
        "t": t_ms,
        "u": top.id,
        "s": symbol,
        "b": top.bid,
        "B": size_value(top.bid_size, variant),
        "a": top.ask,
        "A": size_value(top.ask_size, variant),
    }


def trades_result(symbol: str, trade: Trade, variant: int) -> list[dict[str, Any]]:
    """One ``futures.trades`` push: the size is signed by the taker's side."""
    size = trade.amount if trade.side == "buy" else f"-{trade.amount}"
    return [
        {
            "id": trade.id,
            "create_time": trade.time_ms // 1000,
            "create_time_ms": trade.time_ms,
            "contract": symbol,
            "size": size_value(size, variant),
            "price": trade.price,
            "is_internal": False,
        }
    ]


# -- private frames (pure) ----------------------------------------------------------------------


def _signed(lots: int, side: str, variant: int) -> int | str:
    value = lots if side == "buy" else -lots
    return str(value) if variant == STR_SIZES else value


def _price_number(market: Market, symbol: str, tick: int) -> float:
    return float(market.price_str(symbol, tick)) if tick else 0


def order_record(
    order: Order, event: str, account: FuturesAccount, user_id: str, variant: int
) -> dict[str, Any]:
    """One element of ``futures.orders`` (numbers, as Gate's futures channels send them)."""
    market = account.market
    fill_price = 0.0
    if order.filled:
        fill_price = float(account.price(order.symbol, 1) * order.filled_value / order.filled)
    finish_ms = order.update_ms if order.finished else 0
    # Open orders carry "_new" (just placed) or "_update" (partly filled) in finish_as.
    finish_as = order.finish_as if order.finished else "_new" if event == "put" else "_update"
    return {
        "contract": order.symbol,
        "create_time": order.create_ms // 1000,
        "create_time_ms": order.create_ms,
        "fill_price": fill_price,
        "finish_as": finish_as,
        "finish_time": finish_ms // 1000,
        "finish_time_ms": finish_ms,
        "iceberg": 0,
        "id": order.id,
        "is_close": False,
        "is_liq": False,
        "is_reduce_only": order.reduce_only,
        "left": _signed(order.left, order.side, variant),
        "mkfr": float(account.maker_fee),
        "tkfr": float(account.taker_fee),
        "price": _price_number(market, order.symbol, order.tick),
        "refu": 0,
        "refr": 0,
        "size": _signed(order.lots, order.side, variant),
        "status": "finished" if order.finished else "open",
        "text": order.text,
        "tif": order.tif,
        "user": user_id,
        "stp_id": 0,
        "stp_act": "-",
        "amend_text": "-",
        "update_id": order.update_id,
        "update_time": order.update_ms,
        "biz_info": "-",
        "stop_profit_price": "",
        "stop_loss_price": "",
    }


def usertrade_record(fill: Fill, variant: int) -> dict[str, Any]:
    """One element of ``futures.usertrades``."""
    return {
        "contract": fill.symbol,
        "create_time": fill.time_ms // 1000,
        "create_time_ms": fill.time_ms,
        "id": str(fill.id),
        "order_id": str(fill.order_id),
        "price": fill.price,
        "size": _signed(fill.lots, fill.side, variant),
        "role": fill.role,
        "text": fill.text,
        "fee": float(fill.fee),
        "point_fee": 0,
    }


def liquidation_price(pos: Position, inverse: bool) -> Decimal:
    """Isolated margin's liquidation price: where the loss eats the margin down to the
    maintenance rate (0 while flat)."""
    if not pos.size or not pos.entry:
        return Decimal(0)
    move = Decimal(1) / pos.leverage - MAINTENANCE_RATE
    if inverse:  # the loss is in 1/price terms
        factor = 1 + move if pos.size > 0 else 1 - move
        return pos.entry / factor
    return pos.entry * (1 - move if pos.size > 0 else 1 + move)


def position_record(pos: Position, user_id: str, inverse: bool, variant: int) -> dict[str, Any]:
    """One element of ``futures.positions``."""
    return {
        "contract": pos.symbol,
        "cross_leverage_limit": 0,
        "entry_price": float(pos.entry),
        "history_pnl": float(pos.history_pnl),
        "history_point": 0,
        "last_close_pnl": float(pos.last_close_pnl),
        "leverage": pos.leverage,
        "leverage_max": 100,
        "liq_price": float(liquidation_price(pos, inverse)),
        "maintenance_rate": float(MAINTENANCE_RATE),
        "margin": float(pos.margin),
        "mode": "single",
        "realised_pnl": float(pos.realised_pnl),
        "realised_point": 0,
        "risk_limit": 1_000_000,
        "size": str(pos.size) if variant == STR_SIZES else pos.size,
        "time": pos.time_ms // 1000,
        "time_ms": pos.time_ms,
        "user": user_id,
        "update_id": pos.update_id,
    }


def balance_record(change: BalanceChange, user_id: str, settle: str) -> dict[str, Any]:
    """One element of ``futures.balances``: the balance after the change."""
    return {
        "balance": float(change.total),
        "change": float(change.change),
        "text": change.text,
        "time": change.time_ms // 1000,
        "time_ms": change.time_ms,
        "type": change.reason,
        "user": user_id,
        "currency": settle,
    }


# -- contracts and tickers (pure) ---------------------------------------------------------------


def mark_price(market: Market, contract: str) -> Decimal:
    """The mid of the true book: what mark, index and funding derive from."""
    top = market.best(contract)
    return (Decimal(top.bid) + Decimal(top.ask)) / 2


def futures_ticker(
    market: Market,
    contract: str,
    t_ms: int,
    multiplier: Decimal,
    inverse: bool,
    funding_rate: str,
    basis: Decimal,
) -> dict[str, str]:
    """One element of ``futures.tickers``: 24 h statistics from the market's, in contracts,
    base and quote; mark = the book's mid, index = mark less a small fixed basis."""
    spot = market.ticker(contract, t_ms)
    contracts = Decimal(spot["base_volume"])  # the book counts contracts
    quote = Decimal(spot["quote_volume"])  # price x contracts
    mark = mark_price(market, contract)
    if inverse:  # a contract is ``multiplier`` USD
        quote_volume, base_volume = contracts * multiplier, contracts * multiplier / mark
    else:
        quote_volume, base_volume = quote * multiplier, contracts * multiplier
    decimals = market.spec(contract).price_decimals + 2
    step = Decimal(10) ** -decimals
    return {
        "contract": contract,
        "last": spot["last"],
        "change_percentage": spot["change_percentage"],
        "total_size": str(1_000_000 + sum(map(ord, contract))),
        "volume_24h": dec_str(contracts),
        "volume_24h_base": dec_str(base_volume.quantize(Decimal("1e-8"))),
        "volume_24h_quote": dec_str(quote_volume.quantize(Decimal("1e-8"))),
        "volume_24h_settle": dec_str(
            (base_volume if inverse else quote_volume).quantize(Decimal("1e-8"))
        ),
        "mark_price": dec_str(mark.quantize(step)),
        "funding_rate": funding_rate,
        "funding_rate_indicative": funding_rate,
        "index_price": dec_str((mark * (1 - basis)).quantize(step)),
        "quanto_base_rate": "",
        "low_24h": spot["low_24h"],
        "high_24h": spot["high_24h"],
    }


def contract_info(
    market: Market, contract: str, ticker: Mapping[str, str], kind: str, multiplier: str
) -> dict[str, Any]:
    """One element of ``GET /futures/{settle}/contracts``, shaped as the recorded list."""
    spec = market.spec(contract)
    tick = units_to_str(1, spec.price_decimals)
    return {
        "name": contract,
        "type": kind,
        "quanto_multiplier": multiplier,
        "ref_discount_rate": "0",
        "order_price_deviate": "0.5",
        "maintenance_rate": dec_str(MAINTENANCE_RATE),
        "mark_type": "index",
        "last_price": ticker["last"],
        "mark_price": ticker["mark_price"],
        "index_price": ticker["index_price"],
        "funding_rate_indicative": ticker["funding_rate"],
        "mark_price_round": units_to_str(1, spec.price_decimals + 1),
        "funding_offset": 0,
        "in_delisting": False,
        "risk_limit_base": "1000000",
        "interest_rate": "0.0003",
        "order_price_round": tick,
        "order_size_min": 1,
        "ref_rebate_rate": "0.2",
        "funding_interval": FUNDING_INTERVAL_S,
        "risk_limit_step": "1000000",
        "leverage_min": "1",
        "leverage_max": "100",
        "risk_limit_max": "30000000",
        "maker_fee_rate": "0.0002",
        "taker_fee_rate": "0.0005",
        "funding_rate": ticker["funding_rate"],
        "order_size_max": 1_000_000,
        "funding_next_apply": 0,
        "short_users": 0,
        "config_change_time": 0,
        "trade_size": 0,
        "position_size": int(ticker["total_size"]),
        "long_users": 0,
        "funding_impact_value": "60000",
        "orders_limit": 100,
        "trade_id": 0,
        "orderbook_id": market.book_id(contract),
        "enable_bonus": False,
        "enable_credit": True,
        "create_time": 0,
    }


# -- the server ---------------------------------------------------------------------------------


class GateioFuturesSimulator(GateioSimulator):
    """A Gate.io perpetual futures venue for one ``settle`` currency (``"usdt"``: linear
    ``BTC_USDT``; ``"btc"``: inverse ``BTC_USD``) on ``host:port``; see the module docstring.

    ``contracts`` are native names; ``quanto_multipliers`` overrides contract -> multiplier
    (a decimal string); the account of ``user_id`` starts with ``balance`` in the settle
    currency; ``credentials`` (api key -> secret) sign the private subscriptions.
    """

    venue: Final = "gateio_futures"
    name = "gateio-futures-sim"
    PING = PING
    PONG = "futures.pong"
    PRIVATE = PRIVATE
    BOOK_TICKER = BOOK_TICKER
    SYMBOL_PARAM = "contract"
    SYMBOL_LABEL = "CONTRACT_NOT_FOUND"
    STALE_ALIASES = {
        "order_book": (ORDER_BOOK_UPDATE, OBU),
        "trades": (TRADES,),
        "book_ticker": (BOOK_TICKER,),
        "tickers": (TICKERS,),
    }

    def __init__(
        self,
        contracts: Sequence[str],
        *,
        settle: str = "usdt",
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        tick_ms: int = 10,
        depth: int = 30,
        start_prices: dict[str, float] | None = None,
        quanto_multipliers: Mapping[str, str] | None = None,
        compression: bool = False,
        max_queue: int = 250_000,
        credentials: Mapping[str, str] | None = None,
        user_id: str = "10001",
        balance: Decimal | str | int | None = None,
    ) -> None:
        if settle not in SETTLES:
            raise ValueError(f"settle must be one of {', '.join(SETTLES)}, got {settle!r}")
        quote, kind, default_balance = SETTLES[settle]
        for contract in contracts:
            if contract.partition("_")[2] != quote:
                raise ValueError(f"{settle}-settled perpetuals end in _{quote}, not {contract}")
        self.settle = settle
        self.kind = kind
        self.inverse = kind == "inverse"
        prices = _start_prices(contracts, seed, start_prices)
        overrides = dict(quanto_multipliers or {})
        # wire multiplier (inverse: "0", as Gate lists BTC_USD) and base units per contract
        self.multipliers: dict[str, str] = {}
        sizes: dict[str, float] = {}
        for c in contracts:
            if self.inverse:
                self.multipliers[c] = overrides.get(c, "0")
                sizes[c] = 1 / prices[c]  # one USD of face value
            else:
                self.multipliers[c] = overrides.get(c) or default_multiplier(c, prices[c])
                sizes[c] = float(self.multipliers[c])
        market = Market(contracts, seed, depth, prices, contract_sizes=sizes)
        per_contract = {
            c: Decimal(1) if self.inverse else Decimal(self.multipliers[c]) for c in contracts
        }
        account = FuturesAccount(
            market,
            quote if not self.inverse else "BTC",
            per_contract,
            balance=Decimal(balance if balance is not None else default_balance),
            inverse=self.inverse,
            leverage=LEVERAGE,
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
        rng = random.Random(f"{seed}/funding")
        self._funding = {c: f"{rng.randint(-30, 100) / 1_000_000:.6f}" for c in contracts}
        self._basis = {c: Decimal(rng.randint(-20, 20)) / 100_000 for c in contracts}

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v4/ws/{self.settle}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v4"

    def _is_ws_path(self, path: str) -> bool:
        return path.rstrip("/") == f"/v4/ws/{self.settle}"

    def _conn_variant(self, request: Request | None) -> int:
        return STR_SIZES if request is not None and _decimal_sizes(request) else INT_SIZES

    # -- subscriptions and streams ------------------------------------------------------------

    def _keys(self, conn: Conn, req: ClientRequest) -> list[Key]:
        return subscription_keys(req, self.market, self.user_id, conn.keys)

    def _stream_of(self, key: Key) -> tuple[int, int] | None:
        channel, _, param = key
        if channel == ORDER_BOOK_UPDATE:
            interval, _, level = param.partition("/")
            return int(level), int(interval.removesuffix("ms"))
        if channel == OBU:
            return int(param), OBU_INTERVALS[param]
        return None

    def _after_subscribe(self, conn: Conn, key: Key, t_ms: int) -> list[bytes]:
        """obu: the subscriber's first push is the whole book at its depth.  The shared stream
        is flushed first (closing its id range, even with an empty push), so the next push
        starts right after the book this subscriber got."""
        if key[0] != OBU:
            return []
        stream = self._streams[key]
        self._publish_diff(stream, stream.diff.flush(force=True), t_ms)
        level, contract = int(key[2]), key[1]
        render = self.market.render_levels
        full = DiffPush(
            contract,
            level,
            self.market.book_id(contract),
            self.market.book_id(contract),
            render(contract, self.market.top_levels(contract, BID, level)),
            render(contract, self.market.top_levels(contract, ASK, level)),
            full=True,
        )
        return [obu_frame(full, t_ms)]

    def _publish_step(self, step: StepResult, t_ms: int) -> None:
        symbol = step.symbol
        trades = self._subs.get((TRADES, symbol, ""))
        tickers = self._subs.get((BOOK_TICKER, symbol, ""))
        if not (trades or tickers):
            return
        for change in step.changes:
            trade, top = change.trade, change.top
            if trades and trade:
                self._send_built(
                    trades,
                    TRADES,
                    lambda v, trade=trade: push_frame(
                        TRADES, trades_result(symbol, trade, v), t_ms
                    ),
                )
            if tickers and top:
                self._send_built(
                    tickers,
                    BOOK_TICKER,
                    lambda v, top=top: push_frame(
                        BOOK_TICKER, book_ticker_result(symbol, top, t_ms, v), t_ms
                    ),
                )

    def _diff_builder(self, stream: Stream, push: DiffPush, t_ms: int) -> Callable[[int], bytes]:
        if stream.key[0] == OBU:
            frame = obu_frame(push, t_ms)
            return lambda variant: frame  # obu levels are strings on every connection
        return lambda variant: push_frame(ORDER_BOOK_UPDATE, diff_result(push, t_ms, variant), t_ms)

    def _ticker(self, contract: str, t_ms: int) -> dict[str, str]:
        return futures_ticker(
            self.market,
            contract,
            t_ms,
            self.futures_account.multipliers[contract],
            self.inverse,
            self._funding[contract],
            self._basis[contract],
        )

    def _publish_tickers(self, t_ms: int) -> None:
        for contract in self.symbols:
            subs = self._subs.get((TICKERS, contract, ""))
            if subs:
                frame = push_frame(TICKERS, [self._ticker(contract, t_ms)], t_ms)
                self._send(subs, TICKERS, frame)

    def _sample_frame(self, t_ms: int) -> bytes:
        contract = self.symbols[0]
        ticker = book_ticker_result(contract, self.market.best(contract), t_ms, INT_SIZES)
        return push_frame(BOOK_TICKER, ticker, t_ms)

    # -- the account --------------------------------------------------------------------------

    def _private_records(self, event: AccountEvent, variant: int) -> list[PrivateRecord]:
        account, uid = self.futures_account, self.user_id
        match event:
            case OrderEvent(kind, order):
                record = order_record(order, kind, account, uid, variant)
                return [(ORDERS, order.symbol, record)]
            case Fill():
                return [(USER_TRADES, event.symbol, usertrade_record(event, variant))]
            case Position():
                record = position_record(event, uid, self.inverse, variant)
                return [(POSITIONS, event.symbol, record)]
            case BalanceChange():
                return [(BALANCES, "", balance_record(event, uid, self.settle))]
        return []

    def _place(self, params: dict[str, str], t_ms: int) -> Outcome:
        contract = self._symbol(params)
        raw = params.get("size", "")
        try:
            size = int(raw)
        except ValueError:
            raise HttpError(400, "INVALID_PARAM_VALUE", "size must be a signed integer") from None
        price = params.get("price", "0") or "0"
        market_order = price == "0"
        return self.futures_account.place(
            contract,
            size,
            price,
            t_ms,
            tif=params.get("tif") or ("ioc" if market_order else "gtc"),
            text=params.get("text", "api"),
            reduce_only=params.get("reduce_only", "false").lower() == "true",
        )

    def _account_view(self) -> dict[str, Any]:
        account, uid = self.futures_account, self.user_id
        balance = {
            "total": dec_str(account.total),
            "available": dec_str(account.available),
            "position_margin": dec_str(account.position_margin),
            "order_margin": dec_str(account.order_margin),
        }
        orders = []
        for order in account.orders.values():
            record = order_record(order, "update", account, uid, INT_SIZES)
            orders.append(record)
        positions = [
            {
                **position_record(p, uid, self.inverse, INT_SIZES),
                "entry_price": dec_str(p.entry),
                "margin": dec_str(p.margin),
                "realised_pnl": dec_str(p.realised_pnl),
            }
            for p in account.positions.values()
            if p.update_id
        ]
        return {"balances": {account.settle: balance}, "orders": orders, "positions": positions}

    # -- REST ---------------------------------------------------------------------------------

    def _rest(self, path: str, params: dict[str, str], request: Request) -> Any:
        prefix = f"/api/v4/futures/{self.settle}"
        if not path.startswith(prefix + "/"):
            raise HttpError(404, "NOT_FOUND", f"no such path {path}")
        route = path.removeprefix(prefix).rstrip("/")
        variant = STR_SIZES if _decimal_sizes(request) else INT_SIZES
        t_ms = now_ms()
        if route == "/order_book":
            return self._rest_order_book(params, variant, t_ms)
        if route == "/contracts":
            return [self._contract_info(c, t_ms) for c in self.symbols]
        if route.startswith("/contracts/"):
            return self._contract_info(self._symbol({"contract": route.rpartition("/")[2]}), t_ms)
        if route == "/tickers":
            wanted = [self._symbol(params)] if "contract" in params else self.symbols
            return [self._ticker(c, t_ms) for c in wanted]
        raise HttpError(404, "NOT_FOUND", f"no such path {path}")

    def _rest_order_book(self, params: dict[str, str], variant: int, t_ms: int) -> Any:
        contract = self._symbol(params)
        if params.get("interval", "0") != "0":
            raise HttpError(400, "INVALID_PARAM_VALUE", "price aggregation is not simulated")
        limit = num_param(params, "limit", 10, minimum=1)
        if limit != int(limit):
            raise HttpError(400, "INVALID_PARAM_VALUE", "limit must be an integer")
        snap = self.market.snapshot(contract, int(limit))
        body: dict[str, Any] = {}
        if params.get("with_id", "false").lower() == "true":
            body["id"] = snap.id
        body.update(  # futures times are float seconds (spot: ms)
            current=t_ms / 1000,
            update=snap.update_ms / 1000,
            asks=size_levels(snap.asks, variant),
            bids=size_levels(snap.bids, variant),
        )
        return body

    def _contract_info(self, contract: str, t_ms: int) -> dict[str, Any]:
        ticker = self._ticker(contract, t_ms)
        return contract_info(self.market, contract, ticker, self.kind, self.multipliers[contract])


def _decimal_sizes(request: Request) -> bool:
    return request.headers.get(SIZE_DECIMAL_HEADER, "").strip() == "1"


def _start_prices(
    contracts: Sequence[str], seed: int, given: Mapping[str, float] | None
) -> dict[str, float]:
    """Start prices, fixed up front: the contract multipliers depend on them."""
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
    """Blocking entry for ``pipeline simulate gateio_futures``: serve until SIGINT/SIGTERM."""
    sim = GateioFuturesSimulator(contracts, host=host, port=port, seed=seed, **options)
    serve_until_signalled(sim, "gateio_futures")
