"""Gate.io spot simulator: WebSocket v4 and the REST calls we use, on one port.  [I/O shell]

Role: stands in for ``wss://api.gateio.ws/ws/v4/`` and ``https://api.gateio.ws/api/v4`` in
offline runs (``pipeline run topology.yaml --simulate``), tests and benchmarks, speaking the
venue's own protocol (``../shared/protocols/protocols.md`` section 3) so that our client code
cannot tell it from Gate.io.

Sockets: one TCP listener on ``host:port`` (loopback by default; ``port=0`` picks a free
port, see ``.port``) that speaks HTTP/1.1 and routes by path:

- ``/ws...``         WebSocket upgrade: ``spot.ping``, ``spot.book_ticker``, ``spot.trades``,
                     ``spot.tickers``, ``spot.order_book_update`` (``20ms``/``100ms``),
                     ``spot.obu`` (``["ob.BTC_USDT.400"]`` or ``.50``: a full push first,
                     then increments; one per stream per connection; ``gateio_common.py``),
                     and, signed with a key from ``credentials``, ``spot.orders``,
                     ``spot.usertrades``, ``spot.balances`` (user ``user_id``);
- ``/api/v4/spot/*`` REST: ``order_book``, ``currency_pairs``, ``tickers``;
- ``/_sim/*``        control (GET or body-less POST): faults and truth (drop, refuse, pause,
                     resume, stale, malformed, gap, full, book, stats, rate) and the account:
                     ``order?currency_pair=&side=&type=limit|market&price=&amount=
                     [&tif=gtc|ioc|poc][&text=]`` (a market buy's amount is quote, as on
                     Gate), ``cancel?order_id=``, ``account``.

Pure parts: the market (``market.py``) and the account (``account.py``), and here the
request checks (:func:`subscription_keys`) and frame builders (``*_result``, ``*_record``),
which take values and return values.  The class below only moves bytes and keeps time (the
shared machinery is in ``server.py`` and ``gateio_common.py``): one market task steps every
symbol each ``tick_ms`` and pushes to subscribers; one writer task per connection drains
that connection's queue, so a slow client never stalls the market.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from websockets.http11 import Request

from actors.simulators.account import (
    AccountEvent,
    BalanceChange,
    Fill,
    Order,
    OrderEvent,
    Outcome,
    SpotAccount,
    dec_str,
)
from actors.simulators.gateio_common import (
    ALL,
    ClientRequest,
    GateioSimulator,
    Key,
    PrivateRecord,
    Stream,
    obu_frame,
    obu_keys,
    push_frame,
)
from actors.simulators.market import DiffPush, Market, StepResult, Top, Trade, units_to_str
from actors.simulators.server import Conn, HttpError, now_ms, num_param, serve_until_signalled

BOOK_TICKER: Final = "spot.book_ticker"
TRADES: Final = "spot.trades"
TICKERS: Final = "spot.tickers"
ORDER_BOOK_UPDATE: Final = "spot.order_book_update"
OBU: Final = "spot.obu"
ORDERS: Final = "spot.orders"
USER_TRADES: Final = "spot.usertrades"
BALANCES: Final = "spot.balances"
PING: Final = "spot.ping"
PAIR_CHANNELS: Final = frozenset({BOOK_TICKER, TRADES, TICKERS})
# Real Gate channels we do not simulate (public), and the private ones (they need ``auth``).
UNSIMULATED: Final = frozenset({"spot.candlesticks", "spot.order_book", "spot.trades_v2"})
PRIVATE: Final = frozenset(
    {
        ORDERS,
        USER_TRADES,
        BALANCES,
        "spot.orders_v2",
        "spot.margin_balances",
        "spot.funding_balances",
        "spot.cross_balances",
        "spot.priceorders",
    }
)
PRIVATE_SIMULATED: Final = frozenset({ORDERS, USER_TRADES, BALANCES})
# order_book_update interval -> the depth level it carries (20ms only exists for level 20).
INTERVAL_LEVELS: Final = {"20ms": 20, "100ms": 100}
DEFAULT_QUOTE_BALANCE: Final = Decimal(100_000)
DEFAULT_BASE_VALUE: Final = Decimal(20_000)  # each base asset starts worth this much quote


# -- requests (pure) ----------------------------------------------------------------------------


def subscription_keys(
    req: ClientRequest, pairs: Container[str], held: Container[Key] = ()
) -> list[Key]:
    """The subscriptions a (authenticated, if private) request names; all or nothing.
    ``held`` are the connection's subscriptions (a second obu subscription is an error)."""
    if req.channel in PAIR_CHANNELS:
        return [(req.channel, pair, "") for pair in _pairs(req, req.payload, pairs)]
    if req.channel == ORDER_BOOK_UPDATE:
        return [_order_book_key(req, pairs)]
    if req.channel == OBU:
        return obu_keys(req, pairs, held, "currency pair")
    if req.channel == BALANCES:  # per account: no payload
        return [(BALANCES, "", "")]
    if req.channel in PRIVATE_SIMULATED:
        if req.payload == [ALL]:
            return [(req.channel, ALL, "")]
        return [(req.channel, pair, "") for pair in _pairs(req, req.payload, pairs)]
    if req.channel in UNSIMULATED or req.channel in PRIVATE:
        raise req.error(2, f"channel {req.channel} is not simulated")
    raise req.error(2, f"unknown channel {req.channel}")


def _pairs(req: ClientRequest, payload: list[Any], pairs: Container[str]) -> list[str]:
    if not payload:
        raise req.error(2, "payload must list at least one currency pair")
    for pair in payload:
        if not isinstance(pair, str) or pair not in pairs:
            raise req.error(2, f"unknown currency pair {pair}")
    return list(dict.fromkeys(payload))


def _order_book_key(req: ClientRequest, pairs: Container[str]) -> Key:
    payload = req.payload
    if len(payload) not in (2, 3) or not all(isinstance(p, str) for p in payload):
        raise req.error(2, 'payload must be [currency_pair, "20ms"|"100ms"]')
    pair, interval = payload[0], payload[1]
    if pair not in pairs:
        raise req.error(2, f"unknown currency pair {pair}")
    level = INTERVAL_LEVELS.get(interval)
    if level is None:
        raise req.error(2, f"invalid interval {interval}, only 20ms and 100ms")
    if len(payload) == 3 and payload[2] != str(level):
        raise req.error(2, f"interval {interval} only supports level {level}")
    return (ORDER_BOOK_UPDATE, pair, interval)


# -- public frames (pure) -----------------------------------------------------------------------


def book_ticker_result(symbol: str, top: Top, t_ms: int) -> dict[str, Any]:
    return {
        "t": t_ms,
        "u": top.id,
        "s": symbol,
        "b": top.bid,
        "B": top.bid_size,
        "a": top.ask,
        "A": top.ask_size,
    }


def trade_result(symbol: str, trade: Trade) -> dict[str, Any]:
    return {
        "id": trade.id,
        "id_market": trade.id_market,
        "create_time": trade.time_ms // 1000,
        "create_time_ms": trade.time_ms_str,
        "side": trade.side,
        "currency_pair": symbol,
        "amount": trade.amount,
        "price": trade.price,
        "range": f"{trade.id_market}-{trade.id_market}",
    }


def diff_result(push: DiffPush, t_ms: int) -> dict[str, Any]:
    result: dict[str, Any] = {"t": t_ms}
    if push.full:
        result["full"] = True
    result.update(
        l=str(push.level),
        e="depthUpdate",
        E=t_ms // 1000,
        s=push.symbol,
        U=push.first_id,
        u=push.last_id,
        b=push.bids,
        a=push.asks,
    )
    return result


# -- private frames (pure) ----------------------------------------------------------------------


def order_record(order: Order, event: str, market: Market, user_id: str) -> dict[str, Any]:
    """One element of ``spot.orders``, every documented field (strings, as Gate sends)."""
    spec = market.spec(order.symbol)
    quote_decimals = spec.price_decimals + spec.amount_decimals
    if order.budget_total:  # a market buy: amount and left are quote
        amount = units_to_str(order.budget_total, quote_decimals)
        left = units_to_str(order.budget, quote_decimals)
    else:  # a cancelled (or ioc) order keeps what it never filled in ``left``
        amount = market.amount_str(order.symbol, order.lots)
        left = market.amount_str(order.symbol, order.left)
    avg = "0"
    if order.filled:
        ticks = Decimal(order.filled_value) / order.filled
        avg = dec_str(ticks.scaleb(-spec.price_decimals).quantize(Decimal(10) ** -12))
    fee_currency = order.fee_asset or (spec.base if order.side == "buy" else spec.quote)
    return {
        "id": str(order.id),
        "text": order.text,
        "create_time": str(order.create_ms // 1000),
        "update_time": str(order.update_ms // 1000),
        "create_time_ms": str(order.create_ms),
        "update_time_ms": str(order.update_ms),
        "event": event,
        "currency_pair": order.symbol,
        "type": order.kind,
        "account": "spot",
        "side": order.side,
        "amount": amount,
        "price": market.price_str(order.symbol, order.tick) if order.tick else "0",
        "time_in_force": order.tif,
        "left": left,
        "filled_total": units_to_str(order.filled_value, quote_decimals),
        "filled_amount": market.amount_str(order.symbol, order.filled),
        "avg_deal_price": avg,
        "fee": dec_str(order.fee),
        "fee_currency": fee_currency,
        "point_fee": "0",
        "gt_fee": "0",
        "gt_discount": False,
        "rebated_fee": "0",
        "rebated_fee_currency": spec.quote,
        "user": int(user_id),
        "stp_id": 0,
        "stp_act": "",
        "finish_as": order.finish_as,
        "biz_info": "",
        "amend_text": "-",
        "auto_repay": False,
        "auto_borrow": False,
    }


def usertrade_record(fill: Fill, user_id: str) -> dict[str, Any]:
    """One element of ``spot.usertrades``."""
    return {
        "id": fill.id,
        "id_market": fill.id_market,
        "user_id": int(user_id),
        "order_id": str(fill.order_id),
        "currency_pair": fill.symbol,
        "create_time": fill.time_ms // 1000,
        "create_time_ms": fill.time_ms_str,
        "side": fill.side,
        "amount": fill.amount,
        "role": fill.role,
        "price": fill.price,
        "fee": dec_str(fill.fee),
        "fee_currency": fill.fee_asset,
        "point_fee": "0",
        "gt_fee": "0",
        "text": fill.text,
    }


def balance_record(change: BalanceChange, user_id: str) -> dict[str, Any]:
    """One element of ``spot.balances``."""
    return {
        "timestamp": str(change.time_ms // 1000),
        "timestamp_ms": str(change.time_ms),
        "user": user_id,
        "currency": change.asset,
        "change": dec_str(change.change),
        "total": dec_str(change.total),
        "available": dec_str(change.available),
        "freeze": dec_str(change.frozen),
        "freeze_change": dec_str(change.freeze_change),
        "change_type": change.reason,
    }


def default_balances(market: Market) -> dict[str, Decimal]:
    """100000 of each quote asset, and each base asset worth 20000 of its quote."""
    balances: dict[str, Decimal] = {}
    for symbol in market.symbols:
        spec = market.spec(symbol)
        balances[spec.quote] = DEFAULT_QUOTE_BALANCE
        if spec.base not in balances:
            price = Decimal(market.best(symbol).bid)
            amount = (DEFAULT_BASE_VALUE / price).quantize(Decimal(10) ** -spec.amount_decimals)
            balances[spec.base] = amount
    return balances


# -- the server ---------------------------------------------------------------------------------


class GateioSpotSimulator(GateioSimulator):
    """A Gate.io spot venue on ``host:port``: see the module docstring for the endpoints.

    ``symbols`` are native pairs (``"BTC_USDT"``); ``seed`` fixes the market; the market steps
    every ``tick_ms``; books hold ``depth`` levels per side.  ``credentials`` (api key ->
    secret) are the keys private subscriptions may sign with, all for the one account of
    ``user_id``, which starts with ``balances`` (asset -> amount; default
    :func:`default_balances`).  Use as ``async with`` or ``await start()`` / ``await stop()``.
    """

    venue: Final = "gateio_spot"
    name = "gateio-spot-sim"
    PING = PING
    PONG = "spot.pong"
    PRIVATE = PRIVATE
    NO_PAYLOAD = frozenset({BALANCES})
    BOOK_TICKER = BOOK_TICKER
    SYMBOL_PARAM = "currency_pair"
    SYMBOL_LABEL = "INVALID_CURRENCY_PAIR"
    OBU = OBU
    STALE_ALIASES = {
        "order_book": (ORDER_BOOK_UPDATE, OBU),
        "trades": (TRADES,),
        "book_ticker": (BOOK_TICKER,),
        "tickers": (TICKERS,),
    }

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
    ) -> None:
        market = Market(symbols, seed, depth, start_prices)
        account = SpotAccount(market, balances or default_balances(market))
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

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/v4/"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v4"

    def _is_ws_path(self, path: str) -> bool:
        return path.startswith("/ws")

    # -- subscriptions and streams ------------------------------------------------------------

    def _keys(self, conn: Conn, req: ClientRequest) -> list[Key]:
        return subscription_keys(req, self.market, conn.keys)

    def _stream_of(self, key: Key) -> tuple[int, int] | None:
        if key[0] == OBU:
            return self._obu_stream_of(key)
        if key[0] != ORDER_BOOK_UPDATE:
            return None
        return INTERVAL_LEVELS[key[2]], int(key[2].removesuffix("ms"))

    def _publish_step(self, step: StepResult, t_ms: int) -> None:
        """A step's trades and top changes, in change order."""
        symbol = step.symbol
        trades = self._subs.get((TRADES, symbol, ""))
        tickers = self._subs.get((BOOK_TICKER, symbol, ""))
        if trades or tickers:
            for change in step.changes:
                if trades and change.trade:
                    result = trade_result(symbol, change.trade)
                    self._send(trades, TRADES, push_frame(TRADES, result, t_ms))
                if tickers and change.top:
                    result = book_ticker_result(symbol, change.top, t_ms)
                    self._send(tickers, BOOK_TICKER, push_frame(BOOK_TICKER, result, t_ms))

    def _diff_builder(self, stream: Stream, push: DiffPush, t_ms: int) -> Callable[[int], bytes]:
        if stream.key[0] == OBU:
            frame = obu_frame(OBU, push, t_ms)
        else:
            frame = push_frame(ORDER_BOOK_UPDATE, diff_result(push, t_ms), t_ms)
        return lambda variant: frame  # spot has one rendering

    def _publish_tickers(self, t_ms: int) -> None:
        for symbol in self.symbols:
            subs = self._subs.get((TICKERS, symbol, ""))
            if subs:
                frame = push_frame(TICKERS, self.market.ticker(symbol, t_ms), t_ms)
                self._send(subs, TICKERS, frame)

    def _sample_frame(self, t_ms: int) -> bytes:
        symbol = self.symbols[0]
        ticker = book_ticker_result(symbol, self.market.best(symbol), t_ms)
        return push_frame(BOOK_TICKER, ticker, t_ms)

    # -- the account --------------------------------------------------------------------------

    def _private_records(self, event: AccountEvent, variant: int) -> list[PrivateRecord]:
        match event:
            case OrderEvent(kind, order):
                record = order_record(order, kind, self.market, self.user_id)
                return [(ORDERS, order.symbol, record)]
            case Fill():
                return [(USER_TRADES, event.symbol, usertrade_record(event, self.user_id))]
            case BalanceChange():
                return [(BALANCES, "", balance_record(event, self.user_id))]
        return []

    def _place(self, params: dict[str, str], t_ms: int) -> Outcome:
        pair = self._symbol(params)
        kind = params.get("type", "limit")
        return self.spot_account.place(
            pair,
            params.get("side", ""),
            kind,
            params.get("amount", ""),
            params.get("price"),
            t_ms,
            tif=params.get("tif") or params.get("time_in_force") or _default_tif(kind),
            text=params.get("text", "apiv4"),
        )

    def _account_view(self) -> dict[str, Any]:
        account = self.spot_account
        balances = {}
        for asset in sorted(account.assets):
            total, available, frozen = account.balance(asset)
            balances[asset] = {
                "total": dec_str(total),
                "available": dec_str(available),
                "freeze": dec_str(frozen),
            }
        orders = []
        for order in account.orders.values():
            record = order_record(order, "", self.market, self.user_id)
            del record["event"]
            orders.append(record)
        return {"balances": balances, "orders": orders, "positions": []}

    # -- REST ---------------------------------------------------------------------------------

    def _rest(self, path: str, params: dict[str, str], request: Request) -> Any:
        if not path.startswith("/api/v4/"):
            raise HttpError(404, "NOT_FOUND", f"no such path {path}")
        route = path.removeprefix("/api/v4").rstrip("/")
        if route == "/spot/order_book":
            return self._rest_order_book(params)
        if route == "/spot/currency_pairs":
            return [self._pair_info(symbol) for symbol in self.symbols]
        if route.startswith("/spot/currency_pairs/"):
            return self._pair_info(self._symbol({"currency_pair": route.rpartition("/")[2]}))
        if route == "/spot/tickers":
            t_ms = now_ms()
            wanted = [self._symbol(params)] if "currency_pair" in params else self.symbols
            return [self.market.ticker(symbol, t_ms) for symbol in wanted]
        raise HttpError(404, "NOT_FOUND", f"no such path {path}")

    def _rest_order_book(self, params: dict[str, str]) -> dict[str, Any]:
        pair = self._symbol(params)
        if params.get("interval", "0") != "0":
            raise HttpError(400, "INVALID_PARAM_VALUE", "price aggregation is not simulated")
        limit = num_param(params, "limit", 10, minimum=1)
        if limit != int(limit):
            raise HttpError(400, "INVALID_PARAM_VALUE", "limit must be an integer")
        snap = self.market.snapshot(pair, int(limit))
        body: dict[str, Any] = {}
        if params.get("with_id", "false").lower() == "true":
            body["id"] = snap.id
        body.update(current=now_ms(), update=snap.update_ms, asks=snap.asks, bids=snap.bids)
        return body

    def _pair_info(self, symbol: str) -> dict[str, Any]:
        spec = self.market.spec(symbol)
        return {
            "id": symbol,
            "base": spec.base,
            "base_name": spec.base,
            "quote": spec.quote,
            "quote_name": spec.quote,
            "fee": "0.2",
            "min_base_amount": self.market.amount_str(symbol, 1),
            "min_quote_amount": "3",
            "max_base_amount": None,
            "max_quote_amount": "5000000",
            "amount_precision": spec.amount_decimals,
            "precision": spec.price_decimals,
            "trade_status": "tradable",
            "sell_start": 0,
            "buy_start": 0,
            "delisting_time": 0,
            "type": "normal",
            "trade_url": f"https://www.gate.io/trade/{symbol}",
            "st_tag": False,
        }


def _default_tif(kind: str) -> str:
    return "ioc" if kind == "market" else "gtc"


def run(
    symbols: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    **options: Any,
) -> None:
    """Blocking entry for ``pipeline simulate gateio_spot``: serve until SIGINT/SIGTERM."""
    serve_until_signalled(
        GateioSpotSimulator(symbols, host=host, port=port, seed=seed, **options), "gateio_spot"
    )
