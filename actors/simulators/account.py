"""Simulated trading accounts on the one true market: spot and futures.  [pure]

Role: the state behind the venue simulators' private channels.  An account trades against
the true book of a :class:`~actors.simulators.market.Market`: a marketable order walks the
opposite side level by level (each level one book change and one public trade, so the public
streams show it), what is left of a limit order rests *in* the true book as own liquidity,
and the random market later fills it as a maker (:meth:`Account.on_step`).  Every state
change returns an :class:`Outcome`: the book changes to publish and the account events, in
order, which the simulator renders as the venue's private frames.

Pure: no sockets, no event loop, no clock (time comes in as ``now_ms``).  Amounts are exact:
prices and sizes are the market's integer ticks and lots, money is ``Decimal``.  Own orders
never trade with each other: a taker stops at a level that only its own orders hold (Gate's
self-trade prevention, ``finish_as`` ``stp``), and it never empties a side of the book
(``depth_not_enough``).

- Spot (:class:`SpotAccount`): balances per asset (total, frozen).  A limit buy freezes
  price x amount of quote, a sell freezes the base amount; a fill moves both assets and
  charges the fee in the asset received (Gate's rule); finishing releases what is still
  frozen.  A market buy's amount is the quote to spend, as on Gate; a market sell's is base.
- Futures (:class:`FuturesAccount`): one balance in the settle currency, one position per
  contract (signed contracts, entry price, isolated margin at a fixed leverage, realised pnl
  net of fees).  Fees and closed pnl change the balance; open orders hold margin against
  what is available.  ``direct`` contracts are worth ``size x multiplier x price`` in the
  settle currency, ``inverse`` ones ``size x multiplier / price``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

from actors.simulators.market import ASK, BID, Change, Market, StepResult, Trade

BUY: Final = "buy"
SELL: Final = "sell"
KINDS: Final = ("limit", "market")
TIFS: Final = ("gtc", "ioc", "poc")
ZERO: Final = Decimal(0)


class OrderError(Exception):
    """A request the venue refuses: Gate's REST error label and a message."""

    def __init__(self, label: str, message: str) -> None:
        super().__init__(message)
        self.label = label
        self.message = message


def dec_str(value: Decimal) -> str:
    """Canonical decimal text: no exponent, no trailing zeros, ``"0"`` for any zero."""
    if not value:
        return "0"
    text = format(value.normalize(), "f")
    return text


def to_units(text: str, decimals: int, what: str) -> int:
    """``"0.0015"`` at 4 decimals -> 15; OrderError unless exact and positive."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise OrderError("INVALID_PARAM_VALUE", f"{what} {text[:40]!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise OrderError("INVALID_PARAM_VALUE", f"{what} must be positive, got {text[:40]!r}")
    units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise OrderError(
            "INVALID_PRECISION", f"{what} {text[:40]} has more than {decimals} decimals"
        )
    return int(units)


# -- state and events -----------------------------------------------------------------------------


@dataclass(slots=True)
class Order:
    """One order, open or finished.  Sizes are lots, prices ticks (see the market)."""

    id: int
    symbol: str
    side: str  # buy | sell
    kind: str  # limit | market
    tif: str  # gtc | ioc | poc
    tick: int  # limit price; 0 for market orders
    lots: int  # order amount; 0 for spot market buys, which spend ``budget`` instead
    left: int  # lots not filled (yet)
    text: str  # client order id
    create_ms: int
    update_ms: int
    budget: int = 0  # spot market buy: quote units (tick x lot) left to spend
    budget_total: int = 0
    filled: int = 0  # lots
    filled_value: int = 0  # sum of tick x lots over the fills (quote units)
    fee: Decimal = ZERO
    fee_asset: str = ""
    frozen: Decimal = ZERO  # spot: still frozen for it; futures: margin it holds
    finished: bool = False
    finish_as: str = "open"  # open | filled | cancelled | ioc | poc | stp | depth_not_enough
    reduce_only: bool = False
    update_id: int = 0  # +1 per event about this order


class OrderEvent(NamedTuple):
    """An order changed: ``put`` (created), ``update`` (filled partly), ``finish``."""

    event: str
    order: Order  # a copy, as it was right then


class Fill(NamedTuple):
    """One of our trades; ``id`` is the public trade's id."""

    id: int
    id_market: int  # the public trade's per-symbol id
    order_id: int
    symbol: str
    side: str
    role: str  # maker | taker
    tick: int
    lots: int
    price: str
    amount: str
    fee: Decimal
    fee_asset: str
    text: str
    time_ms: int
    time_ms_str: str  # ms with a fraction, as the public trade


class BalanceChange(NamedTuple):
    """One asset after a change; ``reason`` is the venue's change type."""

    asset: str
    total: Decimal
    available: Decimal
    frozen: Decimal
    change: Decimal
    freeze_change: Decimal
    reason: str  # spot: order-create | order-match | order-update; futures: fee | pnl
    text: str  # what caused it ("BTC_USDT:<order id>")
    time_ms: int


@dataclass(slots=True)
class Position:
    """A futures position: signed contracts, isolated margin."""

    symbol: str
    leverage: int
    size: int = 0
    entry: Decimal = ZERO
    margin: Decimal = ZERO
    realised_pnl: Decimal = ZERO  # closed pnl minus fees, since the position opened
    history_pnl: Decimal = ZERO  # closed pnl of earlier positions
    last_close_pnl: Decimal = ZERO
    update_id: int = 0
    time_ms: int = 0


AccountEvent = OrderEvent | Fill | BalanceChange | Position
"""What the simulator renders, in order: an order state, a fill, a balance, a position."""


@dataclass(slots=True)
class Outcome:
    """What one account action did: the order it concerned, the book changes to publish
    (in id order), and the account events."""

    order: Order | None = None
    steps: list[StepResult] = field(default_factory=list)
    events: list[AccountEvent] = field(default_factory=list)


# -- the common order machinery -------------------------------------------------------------------


class Account:
    """Orders against the true book; subclasses hold the money (reserve, settle, release)."""

    def __init__(
        self,
        market: Market,
        *,
        maker_fee: Decimal,
        taker_fee: Decimal,
        first_order_id: int = 1_000_000_001,
    ) -> None:
        self.market = market
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.orders: dict[int, Order] = {}  # open orders, by id
        self._next_id = first_order_id
        # (symbol, side, tick) -> ids of the own orders resting there, in queue order
        self._queues: dict[tuple[str, int, int], deque[int]] = {}

    @property
    def resting(self) -> bool:
        """Whether any order rests in the book (else market steps cannot fill anything)."""
        return bool(self._queues)

    def cancel(self, order_id: int, now_ms: int) -> Outcome:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderError("ORDER_NOT_FOUND", f"Order {order_id} not found or already finished")
        side = BID if order.side == BUY else ASK
        change = self.market.unrest(order.symbol, side, order.tick, order.left, now_ms)
        self._dequeue(order)
        out = Outcome(order, [StepResult(order.symbol, (change,))])
        self._finish(order, "cancelled", now_ms, out)
        return out

    def on_step(self, step: StepResult, now_ms: int) -> Outcome | None:
        """Maker fills of the random market's trades that reached own liquidity."""
        out: Outcome | None = None
        for change in step.changes:
            if change.own_lots and change.trade is not None:
                out = out or Outcome()
                self._maker_fills(step.symbol, change.trade, change.own_lots, now_ms, out)
        return out

    # -- placing ----------------------------------------------------------------------------------

    def _new_order(self, **fields: object) -> Order:
        order = Order(id=self._next_id, **fields)  # type: ignore[arg-type]
        self._next_id += 1
        return order

    def _execute(self, order: Order, now_ms: int) -> Outcome:
        """Reserve, then take what crosses, then rest or finish what is left."""
        out = Outcome(order)
        self._reserve(order, now_ms, out)
        self._event("put", order, out)
        if order.tif == "poc" and self._crosses(order):
            self._finish(order, "poc", now_ms, out)  # post-only would have taken
            return out
        changes: list[Change] = []
        stop = self._take(order, now_ms, out, changes)
        if stop == "filled" or (order.left == 0 and not order.budget_total):
            self._finish(order, "filled", now_ms, out)
        elif stop:
            self._finish(order, stop, now_ms, out)
        elif order.kind == "market" or order.tif == "ioc":
            self._finish(order, "ioc", now_ms, out)
        else:
            side = BID if order.side == BUY else ASK
            changes.append(self.market.rest(order.symbol, side, order.tick, order.left, now_ms))
            self._queues.setdefault((order.symbol, side, order.tick), deque()).append(order.id)
            self.orders[order.id] = order
            if order.filled:
                self._event("update", order, out)
        if changes:
            out.steps.append(StepResult(order.symbol, tuple(changes)))
        return out

    def _crosses(self, order: Order) -> bool:
        best = self.market.level_tick(order.symbol, ASK if order.side == BUY else BID, 0)
        if best is None or not order.tick:
            return True
        return best <= order.tick if order.side == BUY else best >= order.tick

    def _take(self, order: Order, now_ms: int, out: Outcome, changes: list[Change]) -> str:
        """Walk the opposite side while the order crosses: ``"filled"``, a stop reason
        (``stp``, ``depth_not_enough``), or ``""`` when the rest no longer crosses."""
        market, symbol = self.market, order.symbol
        opposite = ASK if order.side == BUY else BID
        while True:
            best = market.level_tick(symbol, opposite, 0)
            if best is None:
                return "depth_not_enough"
            wanted = order.budget // best if order.budget_total else order.left
            if wanted <= 0:
                return "filled"
            if order.tick and (best > order.tick if order.side == BUY else best < order.tick):
                return ""
            lots = min(wanted, market.takeable(symbol, opposite))
            if lots <= 0:
                return "stp" if market.own_lots(symbol, opposite, best) else "depth_not_enough"
            change = market.take(symbol, order.side, lots, now_ms)
            changes.append(change)
            assert change.trade is not None
            self._fill(order, change.trade, "taker", now_ms, out)

    # -- filling ----------------------------------------------------------------------------------

    def _maker_fills(self, symbol: str, trade: Trade, lots: int, now_ms: int, out: Outcome) -> None:
        side = BID if trade.side == SELL else ASK  # the taker sold into our bids
        key = (symbol, side, trade.tick)
        queue = self._queues[key]
        while lots:
            order = self.orders[queue[0]]
            filled = min(lots, order.left)
            lots -= filled
            self._fill(order, trade._replace(lots=filled), "maker", now_ms, out)
            if order.left == 0:
                queue.popleft()
                self._finish(order, "filled", now_ms, out)
            else:
                self._event("update", order, out)
        if not queue:
            del self._queues[key]

    def _fill(self, order: Order, trade: Trade, role: str, now_ms: int, out: Outcome) -> None:
        lots, tick = trade.lots, trade.tick
        if order.budget_total:
            order.budget -= tick * lots
        else:
            order.left -= lots
        order.filled += lots
        order.filled_value += tick * lots
        order.update_ms = now_ms
        fee, asset = self._fee(order, tick, lots, role)
        order.fee += fee
        order.fee_asset = asset
        fill = Fill(
            id=trade.id,
            id_market=trade.id_market,
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            role=role,
            tick=tick,
            lots=lots,
            price=trade.price,
            amount=self.market.amount_str(order.symbol, lots),
            fee=fee,
            fee_asset=asset,
            text=order.text,
            time_ms=trade.time_ms,
            time_ms_str=trade.time_ms_str,
        )
        out.events.append(fill)
        self._settle(order, fill, now_ms, out)

    def _finish(self, order: Order, finish_as: str, now_ms: int, out: Outcome) -> None:
        order.finished = True
        order.finish_as = finish_as
        order.update_ms = now_ms
        self.orders.pop(order.id, None)
        self._event("finish", order, out)
        self._release(order, now_ms, out)

    def _dequeue(self, order: Order) -> None:
        key = (order.symbol, BID if order.side == BUY else ASK, order.tick)
        queue = self._queues[key]
        queue.remove(order.id)
        if not queue:
            del self._queues[key]

    def _event(self, event: str, order: Order, out: Outcome) -> None:
        order.update_id += 1
        out.events.append(OrderEvent(event, dataclasses.replace(order)))

    # -- money: per account kind ------------------------------------------------------------------

    def _reserve(self, order: Order, now_ms: int, out: Outcome) -> None:
        raise NotImplementedError

    def _fee(self, order: Order, tick: int, lots: int, role: str) -> tuple[Decimal, str]:
        raise NotImplementedError

    def _settle(self, order: Order, fill: Fill, now_ms: int, out: Outcome) -> None:
        raise NotImplementedError

    def _release(self, order: Order, now_ms: int, out: Outcome) -> None:
        raise NotImplementedError

    # -- shared checks ----------------------------------------------------------------------------

    def _check_symbol(self, symbol: str, label: str) -> None:
        if symbol not in self.market:
            raise OrderError(label, f"unknown {label.removeprefix('INVALID_').lower()} {symbol}")

    @staticmethod
    def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise OrderError(
                "INVALID_PARAM_VALUE", f"{name} {value[:20]!r} is not one of {', '.join(allowed)}"
            )


# -- spot -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Asset:
    total: Decimal = ZERO
    frozen: Decimal = ZERO


class SpotAccount(Account):
    """A spot account: ``balances`` seeds asset -> total; fees are ``fee_rate`` of what is
    received, maker and taker alike (Gate's VIP 0 spot rate is 0.2 %)."""

    def __init__(
        self,
        market: Market,
        balances: Mapping[str, Decimal | int | str],
        *,
        fee_rate: Decimal = Decimal("0.002"),
        first_order_id: int = 1_000_000_001,
    ) -> None:
        super().__init__(
            market, maker_fee=fee_rate, taker_fee=fee_rate, first_order_id=first_order_id
        )
        self.assets: dict[str, _Asset] = {a: _Asset(Decimal(v)) for a, v in balances.items()}

    def balance(self, asset: str) -> tuple[Decimal, Decimal, Decimal]:
        """(total, available, frozen) of ``asset``; zeros if never held."""
        a = self.assets.get(asset) or _Asset()
        return a.total, a.total - a.frozen, a.frozen

    def place(
        self,
        symbol: str,
        side: str,
        kind: str,
        amount: str,
        price: str | None,
        now_ms: int,
        *,
        tif: str = "gtc",
        text: str = "",
    ) -> Outcome:
        """A Gate spot order: ``amount`` is base, or quote for a market buy; ``price`` is
        needed for limit orders; market orders are ``ioc``."""
        self._check_symbol(symbol, "INVALID_CURRENCY_PAIR")
        self._check_choice("side", side, (BUY, SELL))
        self._check_choice("type", kind, KINDS)
        self._check_choice("time_in_force", tif, TIFS if kind == "limit" else ("ioc",))
        spec = self.market.spec(symbol)
        tick = 0
        if kind == "limit":
            if not price:
                raise OrderError("INVALID_PARAM_VALUE", "price is required for limit orders")
            tick = to_units(price, spec.price_decimals, "price")
        budget = 0
        if kind == "market" and side == BUY:  # Gate: a market buy's amount is quote
            budget = to_units(amount, spec.price_decimals + spec.amount_decimals, "amount")
            lots = 0
        else:
            lots = to_units(amount, spec.amount_decimals, "amount")
        order = self._new_order(
            symbol=symbol,
            side=side,
            kind=kind,
            tif=tif,
            tick=tick,
            lots=lots,
            left=lots,
            text=text,
            create_ms=now_ms,
            update_ms=now_ms,
            budget=budget,
            budget_total=budget,
        )
        asset, need = self._needs(order)
        if self.balance(asset)[1] < need:
            raise OrderError("BALANCE_NOT_ENOUGH", f"Not enough {asset} balance")
        return self._execute(order, now_ms)

    def _quote(self, symbol: str, units: int) -> Decimal:
        spec = self.market.spec(symbol)
        return Decimal(units).scaleb(-(spec.price_decimals + spec.amount_decimals))

    def _base(self, symbol: str, lots: int) -> Decimal:
        return Decimal(lots).scaleb(-self.market.spec(symbol).amount_decimals)

    def _needs(self, order: Order) -> tuple[str, Decimal]:
        """The asset an order freezes, and how much."""
        spec = self.market.spec(order.symbol)
        if order.side == SELL:
            return spec.base, self._base(order.symbol, order.lots)
        if order.budget_total:
            return spec.quote, self._quote(order.symbol, order.budget_total)
        return spec.quote, self._quote(order.symbol, order.tick * order.lots)

    def _change(
        self, asset: str, change: Decimal, freeze: Decimal, reason: str, order: Order, now_ms: int
    ) -> BalanceChange:
        a = self.assets.setdefault(asset, _Asset())
        a.total += change
        a.frozen += freeze
        return BalanceChange(
            asset,
            a.total,
            a.total - a.frozen,
            a.frozen,
            change,
            freeze,
            reason,
            f"{order.symbol}:{order.id}",
            now_ms,
        )

    def _reserve(self, order: Order, now_ms: int, out: Outcome) -> None:
        asset, need = self._needs(order)
        order.frozen = need
        out.events.append(self._change(asset, ZERO, need, "order-create", order, now_ms))

    def _fee(self, order: Order, tick: int, lots: int, role: str) -> tuple[Decimal, str]:
        spec = self.market.spec(order.symbol)
        rate = self.maker_fee if role == "maker" else self.taker_fee
        if order.side == BUY:
            return self._base(order.symbol, lots) * rate, spec.base
        return self._quote(order.symbol, tick * lots) * rate, spec.quote

    def _settle(self, order: Order, fill: Fill, now_ms: int, out: Outcome) -> None:
        spec, symbol = self.market.spec(order.symbol), order.symbol
        value = self._quote(symbol, fill.tick * fill.lots)
        base = self._base(symbol, fill.lots)
        if order.side == BUY:
            # Frozen at the limit price; a better fill price frees the difference.
            reserved = value if order.budget_total else self._quote(symbol, order.tick * fill.lots)
            order.frozen -= reserved
            paid = self._change(spec.quote, -value, -reserved, "order-match", order, now_ms)
            got = self._change(spec.base, base - fill.fee, ZERO, "order-match", order, now_ms)
        else:
            order.frozen -= base
            paid = self._change(spec.base, -base, -base, "order-match", order, now_ms)
            got = self._change(spec.quote, value - fill.fee, ZERO, "order-match", order, now_ms)
        out.events += (paid, got)

    def _release(self, order: Order, now_ms: int, out: Outcome) -> None:
        if order.frozen:
            asset, _ = self._needs(order)
            freed, order.frozen = order.frozen, ZERO
            out.events.append(self._change(asset, ZERO, -freed, "order-update", order, now_ms))


# -- futures --------------------------------------------------------------------------------------


class FuturesAccount(Account):
    """A futures account in ``settle`` (e.g. ``"USDT"``): ``multipliers`` is contract ->
    quanto multiplier (base units per contract; USD face value per contract when
    ``inverse``).  Every position uses ``leverage`` and isolated margin."""

    def __init__(
        self,
        market: Market,
        settle: str,
        multipliers: Mapping[str, Decimal],
        *,
        balance: Decimal = Decimal(100_000),
        inverse: bool = False,
        leverage: int = 10,
        maker_fee: Decimal = Decimal("0.0002"),
        taker_fee: Decimal = Decimal("0.0005"),
        first_order_id: int = 1_000_000_001,
    ) -> None:
        super().__init__(
            market, maker_fee=maker_fee, taker_fee=taker_fee, first_order_id=first_order_id
        )
        self.settle = settle
        self.multipliers = dict(multipliers)
        self.inverse = inverse
        self.leverage = leverage
        self.total = Decimal(balance)
        self.positions: dict[str, Position] = {c: Position(c, leverage) for c in market.symbols}

    # -- reading ----------------------------------------------------------------------------------

    def price(self, symbol: str, tick: int) -> Decimal:
        return Decimal(tick).scaleb(-self.market.spec(symbol).price_decimals)

    def value(self, symbol: str, lots: int, price: Decimal) -> Decimal:
        """What ``lots`` contracts are worth at ``price``, in the settle currency."""
        if not price:
            return ZERO
        per = self.multipliers[symbol]
        return lots * per / price if self.inverse else lots * per * price

    @property
    def position_margin(self) -> Decimal:
        return sum((p.margin for p in self.positions.values()), ZERO)

    @property
    def order_margin(self) -> Decimal:
        return sum((o.frozen for o in self.orders.values()), ZERO)

    @property
    def available(self) -> Decimal:
        return self.total - self.position_margin - self.order_margin

    # -- placing ----------------------------------------------------------------------------------

    def place(
        self,
        symbol: str,
        size: int,
        price: str,
        now_ms: int,
        *,
        tif: str = "gtc",
        text: str = "",
        reduce_only: bool = False,
    ) -> Outcome:
        """A Gate futures order: ``size`` signed contracts (positive buys), ``price`` "0"
        for a market order (which must be ``ioc``)."""
        self._check_symbol(symbol, "CONTRACT_NOT_FOUND")
        if not size:
            raise OrderError("INVALID_PARAM_VALUE", "size must be a non-zero integer")
        market_order = price in ("0", "")
        self._check_choice("tif", tif, ("ioc",) if market_order else TIFS)
        decimals = self.market.spec(symbol).price_decimals
        tick = 0 if market_order else to_units(price, decimals, "price")
        position = self.positions[symbol].size
        reducing = position * size < 0 and abs(size) <= abs(position)
        if reduce_only and not reducing:
            raise OrderError("REDUCE_ONLY_FAIL", "reduce-only order would not reduce the position")
        lots = abs(size)
        order = self._new_order(
            symbol=symbol,
            side=BUY if size > 0 else SELL,
            kind="market" if market_order else "limit",
            tif=tif,
            tick=tick,
            lots=lots,
            left=lots,
            text=text,
            create_ms=now_ms,
            update_ms=now_ms,
            reduce_only=reduce_only,
        )
        if not reducing and self._margin(order, lots) > self.available:
            raise OrderError("INSUFFICIENT_AVAILABLE", "Insufficient available margin")
        return self._execute(order, now_ms)

    def _margin(self, order: Order, lots: int) -> Decimal:
        """Initial margin for ``lots`` of ``order`` (market orders: at the far touch)."""
        tick = order.tick or self.market.level_tick(
            order.symbol, ASK if order.side == BUY else BID, 0
        )
        return self.value(order.symbol, lots, self.price(order.symbol, tick or 0)) / self.leverage

    def _reserve(self, order: Order, now_ms: int, out: Outcome) -> None:
        position = self.positions[order.symbol].size
        signed = order.lots if order.side == BUY else -order.lots
        if not (position * signed < 0 and order.lots <= abs(position)):
            order.frozen = self._margin(order, order.lots)

    def _fee(self, order: Order, tick: int, lots: int, role: str) -> tuple[Decimal, str]:
        rate = self.maker_fee if role == "maker" else self.taker_fee
        return self.value(order.symbol, lots, self.price(order.symbol, tick)) * rate, self.settle

    def _settle(self, order: Order, fill: Fill, now_ms: int, out: Outcome) -> None:
        if order.frozen:  # the filled part's margin moves to the position
            order.frozen = self._margin(order, order.left) if order.left else ZERO
        pos = self.positions[order.symbol]
        price = self.price(order.symbol, fill.tick)
        delta = fill.lots if order.side == BUY else -fill.lots
        old = pos.size
        text = f"{order.symbol}:{order.id}"
        if old == 0 or (old > 0) == (delta > 0):
            pos.entry = self._entry(order.symbol, abs(old), pos.entry, abs(delta), price)
        else:
            closed = min(abs(delta), abs(old))
            pnl = self._pnl(order.symbol, closed if old > 0 else -closed, pos.entry, price)
            pos.realised_pnl += pnl
            pos.last_close_pnl = pnl
            out.events.append(self._change(pnl, "pnl", text, now_ms))
            if abs(delta) > abs(old):
                pos.entry = price  # flipped: the rest opens at this price
        pos.size = old + delta
        pos.realised_pnl -= fill.fee
        out.events.append(self._change(-fill.fee, "fee", text, now_ms))
        if pos.size == 0:
            pos.history_pnl += pos.realised_pnl
            pos.entry, pos.realised_pnl = ZERO, ZERO
        pos.margin = self.value(order.symbol, abs(pos.size), pos.entry) / self.leverage
        pos.update_id += 1
        pos.time_ms = now_ms
        out.events.append(dataclasses.replace(pos))

    def _release(self, order: Order, now_ms: int, out: Outcome) -> None:
        order.frozen = ZERO  # order margin is not a balance change on Gate futures

    def _entry(self, symbol: str, held: int, entry: Decimal, added: int, price: Decimal) -> Decimal:
        """Average entry: value-weighted (direct), harmonic (inverse)."""
        if not held:
            return price
        if self.inverse:
            return (held + added) / (held / entry + added / price)
        return (held * entry + added * price) / (held + added)

    def _pnl(self, symbol: str, closed: int, entry: Decimal, price: Decimal) -> Decimal:
        """PnL of closing ``closed`` contracts (signed like the position) at ``price``."""
        per = self.multipliers[symbol]
        if self.inverse:
            return closed * per * (1 / entry - 1 / price)
        return closed * per * (price - entry)

    def _change(self, change: Decimal, reason: str, text: str, now_ms: int) -> BalanceChange:
        self.total += change
        return BalanceChange(
            self.settle, self.total, self.available, ZERO, change, ZERO, reason, text, now_ms
        )
