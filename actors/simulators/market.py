"""The one true state of a simulated venue's spot markets.  [pure]

Role: every venue simulator (``actors/simulators/*``) draws its books, trades and tickers from
a :class:`Market`, and every stream it serves (diffs, book tickers, trades, REST snapshots) is
rendered from the same state, so all of them agree at every update id.

Owns no socket, no event loop and no clock: time comes in as ``now_ms``, randomness from one
``random.Random`` per symbol seeded with ``(seed, symbol)``, so the same seed and the same call
sequence replay the same market exactly.

Model, per native symbol (``"BTC_USDT"``):

- a true L2 book of at most ``depth`` levels per side, so a snapshot with ``limit >= depth``
  is the whole book; prices are integer ticks and amounts integer lots internally, rendered as
  canonical decimal strings (no exponent, no trailing zeros), so a price key is the same string
  on every stream and in every snapshot;
- an update id that grows by exactly 1 per book change (:meth:`Market.force_gap` makes it
  skip one, as a fault);
- a random-walk mid price that new orders crowd around;
- trades that hit the best level of the opposite side and consume it, each a book change;
- "own" liquidity: the simulated account's resting orders (``actors/simulators/account.py``)
  sit inside the level amounts (:meth:`Market.rest`, :meth:`Market.unrest`).  Random cancels
  and resizes never touch it; random trades consume it last (it joined the queue last) and
  report how much in :attr:`Change.own_lots`; :meth:`Market.take` lets the account trade as
  a taker against everyone else's liquidity.  ``depth`` bounds the random market's levels;
  an account order resting outside them adds a level.

Futures books count integer contracts: ``contract_sizes`` gives those symbols
``amount_decimals == 0`` and typical sizes worth a few hundred quote units.

:class:`DiffStream` turns the changes into Gate-style ``U``/``u`` diff pushes (net absolute
amounts per touched level, ``0`` deletes), for any depth level.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

BID: Final = 0
ASK: Final = 1
SIDES: Final = (BID, ASK)

DAY_MS: Final = 86_400_000
MINUTE_MS: Final = 60_000
MIN_LEVELS: Final = 3  # a side never shrinks below this, so both sides always have a best level

# Well-known start prices; other symbols get a seeded price between 0.1 and 1000.
DEFAULT_PRICES: Final[Mapping[str, float]] = {
    "BTC": 65_000.0,
    "ETH": 3_500.0,
    "SOL": 150.0,
    "BNB": 600.0,
    "XRP": 0.6,
    "DOGE": 0.15,
    "GT": 15.0,
}

Level = tuple[int, int, int]
"""One level write: (side, tick, lots); ``lots == 0`` removes the level."""


def units_to_str(units: int, decimals: int) -> str:
    """Render ``units * 10**-decimals`` exactly and canonically, so equal values always give
    equal strings: ``(650001, 1) -> "65000.1"``, ``(5, 3) -> "0.005"``, ``(7000, 3) -> "7"``."""
    if decimals <= 0:
        return str(units)
    whole, frac = divmod(units, 10**decimals)
    if frac == 0:
        return str(whole)
    return f"{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


# -- values handed out ----------------------------------------------------------------------
# Named tuples for what every step creates: much cheaper to build than dataclasses.


@dataclass(frozen=True, slots=True)
class PairSpec:
    """Static facts about one simulated pair (what ``/spot/currency_pairs`` reports)."""

    symbol: str
    base: str
    quote: str
    price_decimals: int  # Gate "precision"
    amount_decimals: int  # Gate "amount_precision"


class Top(NamedTuple):
    """Best bid and ask right after book change ``id``."""

    id: int
    bid: str
    bid_size: str
    ask: str
    ask_size: str


class Trade(NamedTuple):
    """One public trade; it is book change ``book_id``, at the best price before that change."""

    id: int  # global, across all symbols of the market
    id_market: int  # per symbol, +1 per trade
    book_id: int
    time_ms: int
    time_ms_str: str  # ms with a fractional part, as Gate's create_time_ms
    side: str  # taker side: "buy" hits the best ask, "sell" the best bid
    price: str
    amount: str
    tick: int
    lots: int


class Change(NamedTuple):
    """One book change: the level writes it made, and the trade and new top it caused."""

    id: int
    levels: tuple[Level, ...]
    trade: Trade | None
    top: Top | None  # set only when the best bid or ask (price or size) changed
    own_lots: int = 0  # of the trade's lots, how many were own (resting account) liquidity


class StepResult(NamedTuple):
    """The changes one :meth:`Market.step` made, in id order (never empty)."""

    symbol: str
    changes: tuple[Change, ...]

    @property
    def first_id(self) -> int:
        return self.changes[0].id

    @property
    def last_id(self) -> int:
        return self.changes[-1].id


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The book at update ``id``: ``[[price, amount], ...]`` best first."""

    id: int
    update_ms: int
    bids: list[list[str]]
    asks: list[list[str]]


# -- internal state ---------------------------------------------------------------------------


class _Book:
    """Two sides of ``tick -> lots`` with sorted tick lists (ascending) for best/worst/top-N."""

    __slots__ = ("keys", "sides")

    def __init__(self) -> None:
        self.sides: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.keys: tuple[list[int], list[int]] = ([], [])

    def best(self, side: int) -> int:
        keys = self.keys[side]
        return keys[-1] if side == BID else keys[0]

    def worst(self, side: int) -> int:
        keys = self.keys[side]
        return keys[0] if side == BID else keys[-1]

    def nth_best(self, side: int, n: int) -> int:
        keys = self.keys[side]
        return keys[-1 - n] if side == BID else keys[n]

    def set(self, side: int, tick: int, lots: int) -> None:
        levels, keys = self.sides[side], self.keys[side]
        if lots == 0:
            del levels[tick]
            del keys[bisect.bisect_left(keys, tick)]
            return
        if tick not in levels:
            bisect.insort(keys, tick)
        levels[tick] = lots

    def top(self, side: int, n: int) -> list[tuple[int, int]]:
        keys, levels = self.keys[side], self.sides[side]
        ticks = keys[: -n - 1 : -1] if side == BID else keys[:n]
        return [(t, levels[t]) for t in ticks]


@dataclass(slots=True)
class _Bucket:
    """One minute of trades, for the rolling 24 h ticker."""

    minute: int
    open: int
    high: int
    low: int
    base_lots: int = 0
    quote_units: int = 0  # ticks * lots, i.e. 10**-(price_decimals + amount_decimals)


@dataclass(slots=True)
class _Symbol:
    spec: PairSpec
    rng: random.Random
    book: _Book
    id: int
    mid: float  # random-walk mid, in ticks
    min_mid: float
    vol: float  # random-walk step, in ticks
    spread_scale: float  # mean distance of new orders from the mid, in ticks
    typical_lots: int
    last_tick: int
    last_change_ms: int = 0
    id_market: int = 0
    gap_pending: bool = False
    top_key: tuple[int, int, int, int] = (0, 0, 0, 0)
    prices: dict[int, str] = field(default_factory=dict)  # tick -> rendered price
    # Own (account) lots inside each side's levels: tick -> lots, part of the level's amount.
    own: tuple[dict[int, int], dict[int, int]] = field(default_factory=lambda: ({}, {}))
    buckets: deque[_Bucket] = field(default_factory=deque)


def _spec(symbol: str, price: float, contracts: bool = False) -> PairSpec:
    base, _, quote = symbol.partition("_")
    magnitude = math.floor(math.log10(price))
    # About five significant digits of price and a few dollars' worth of amount resolution,
    # as Gate lists them (BTC_USDT: precision 1, amount_precision 6); contracts are whole.
    price_decimals = min(max(5 - magnitude, 0), 10)
    amount_decimals = 0 if contracts else min(max(magnitude + 2, 0), 8)
    return PairSpec(symbol, base, quote or "USDT", price_decimals, amount_decimals)


class Market:
    """The true books, trades and tickers of a set of spot pairs.

    ``symbols`` are native names (``"BTC_USDT"``); ``depth`` bounds each side of each book;
    ``start_prices`` overrides the start price per symbol; ``max_changes`` bounds the book
    changes per :meth:`step`; ``trade_prob`` is the chance that a change is a trade;
    ``contract_sizes`` (symbol -> base units per contract) makes those books count contracts.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        seed: int,
        depth: int = 30,
        start_prices: Mapping[str, float] | None = None,
        *,
        max_changes: int = 3,
        trade_prob: float = 0.15,
        contract_sizes: Mapping[str, float] | None = None,
    ) -> None:
        if depth < MIN_LEVELS + 1:
            raise ValueError(f"depth must be at least {MIN_LEVELS + 1}, got {depth}")
        if not symbols:
            raise ValueError("a market needs at least one symbol")
        self.depth = depth
        self.max_changes = max(1, max_changes)
        self.trade_prob = trade_prob
        self._trade_id = random.Random(f"{seed}/trades").randrange(10**8, 10**9)
        prices = dict(start_prices or {})
        sizes = dict(contract_sizes or {})
        self._symbols: dict[str, _Symbol] = {}
        for symbol in symbols:
            rng = random.Random(f"{seed}/{symbol}")
            price = prices.get(symbol) or DEFAULT_PRICES.get(symbol.partition("_")[0])
            if price is None:
                price = 10 ** rng.uniform(-1.0, 3.0)
            if not price > 0:
                raise ValueError(f"start price of {symbol} must be positive, got {price}")
            size = sizes.get(symbol)
            if size is not None and not size > 0:
                raise ValueError(f"contract size of {symbol} must be positive, got {size}")
            self._symbols[symbol] = self._new_symbol(symbol, price, rng, size)

    # -- reading ------------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._symbols

    def spec(self, symbol: str) -> PairSpec:
        return self._symbols[symbol].spec

    def book_id(self, symbol: str) -> int:
        """The id of the last book change (what a snapshot taken now reports)."""
        return self._symbols[symbol].id

    def price_str(self, symbol: str, tick: int) -> str:
        return _price(self._symbols[symbol], tick)

    def amount_str(self, symbol: str, lots: int) -> str:
        return units_to_str(lots, self._symbols[symbol].spec.amount_decimals)

    def level_tick(self, symbol: str, side: int, n: int) -> int | None:
        """The tick of the ``n``-th best level (0 = best) of one side, or None if shallower."""
        book = self._symbols[symbol].book
        return book.nth_best(side, n) if n < len(book.keys[side]) else None

    def level_lots(self, symbol: str, side: int, tick: int) -> int:
        """The amount at ``tick`` on one side (0 if no level), own lots included."""
        return self._symbols[symbol].book.sides[side].get(tick, 0)

    def own_lots(self, symbol: str, side: int, tick: int) -> int:
        """How much of the level at ``tick`` is own (account) liquidity."""
        return self._symbols[symbol].own[side].get(tick, 0)

    def takeable(self, symbol: str, side: int) -> int:
        """How many lots a taker may consume at the best level of ``side`` with
        :meth:`take`: everyone else's lots there, but never the level itself when that would
        leave the side fewer than ``MIN_LEVELS`` levels of other liquidity."""
        s = self._symbols[symbol]
        tick = s.book.best(side)
        others = s.book.sides[side][tick] - s.own[side].get(tick, 0)
        if others and _free_levels(s, side) <= MIN_LEVELS:
            return others - 1  # taking them all would leave a level without other liquidity
        return others

    def top_levels(self, symbol: str, side: int, n: int) -> list[tuple[int, int]]:
        """The best ``n`` levels of one side as ``(tick, lots)``, best first."""
        return self._symbols[symbol].book.top(side, n)

    def snapshot(self, symbol: str, limit: int | None = None) -> Snapshot:
        """The book now, at most ``limit`` levels per side (default: all of it)."""
        s = self._symbols[symbol]
        n = max(map(len, s.book.keys)) if limit is None else limit
        return Snapshot(
            s.id,
            s.last_change_ms,
            self.render_levels(symbol, s.book.top(BID, n)),
            self.render_levels(symbol, s.book.top(ASK, n)),
        )

    def render_levels(self, symbol: str, levels: Iterable[tuple[int, int]]) -> list[list[str]]:
        s = self._symbols[symbol]
        ad = s.spec.amount_decimals
        return [[_price(s, t), units_to_str(lots, ad)] for t, lots in levels]

    def best(self, symbol: str) -> Top:
        """Best bid and ask now, with the current book id."""
        s = self._symbols[symbol]
        return _make_top(s, s.top_key)

    def ticker(self, symbol: str, now_ms: int) -> dict[str, str]:
        """Rolling 24 h statistics, with Gate's ``spot.tickers`` field names (all strings)."""
        s = self._symbols[symbol]
        buckets = s.buckets
        while buckets and buckets[0].minute * MINUTE_MS <= now_ms - DAY_MS:
            buckets.popleft()
        last = s.last_tick
        open_ = buckets[0].open if buckets else last
        high = max((b.high for b in buckets), default=last)
        low = min((b.low for b in buckets), default=last)
        change = (last - open_) * 100 / open_ if open_ else 0.0
        spec = s.spec
        return {
            "currency_pair": symbol,
            "last": self.price_str(symbol, last),
            "lowest_ask": self.price_str(symbol, s.book.best(ASK)),
            "highest_bid": self.price_str(symbol, s.book.best(BID)),
            "change_percentage": _percent(change),
            "base_volume": self.amount_str(symbol, sum(b.base_lots for b in buckets)),
            "quote_volume": units_to_str(
                sum(b.quote_units for b in buckets), spec.price_decimals + spec.amount_decimals
            ),
            "high_24h": self.price_str(symbol, high),
            "low_24h": self.price_str(symbol, low),
        }

    # -- changing -----------------------------------------------------------------------------

    def force_gap(self, symbol: str) -> None:
        """Fault: the next book change of ``symbol`` takes id ``last + 2``; id ``last + 1``
        never exists, so every id-carrying stream shows a gap of exactly one."""
        self._symbols[symbol].gap_pending = True

    def step(self, symbol: str, now_ms: int) -> StepResult:
        """Move the mid, then make 1..``max_changes`` random book changes (adds, resizes,
        cancels, trades) at ``now_ms``."""
        s = self._symbols[symbol]
        s.mid = max(s.min_mid, s.mid + s.rng.gauss(0.0, s.vol))
        n = s.rng.randint(1, self.max_changes)
        return StepResult(symbol, tuple(self._random_change(s, now_ms) for _ in range(n)))

    def nudge_top(self, symbol: str, now_ms: int) -> StepResult:
        """One change that resizes the best bid or ask, so the top always moves (for
        rate-driven book ticker bursts)."""
        s = self._symbols[symbol]
        side = BID if s.rng.random() < 0.5 else ASK
        levels = self._resize_at(s, side, s.book.best(side))
        return StepResult(symbol, (self._commit(s, levels, None, now_ms),))

    def take(self, symbol: str, taker: str, lots: int, now_ms: int) -> Change:
        """A taker (``"buy"`` or ``"sell"``) trades ``lots`` against the best level of the
        opposite side: one book change and one public trade.  ``lots`` must be within
        :meth:`takeable` (own liquidity is never taken: no self-trades)."""
        s = self._symbols[symbol]
        side = ASK if taker == "buy" else BID
        if not 0 < lots <= self.takeable(symbol, side):
            raise ValueError(f"cannot take {lots} lots at the best level of {symbol}")
        tick = s.book.best(side)
        left = s.book.sides[side][tick] - lots
        s.book.set(side, tick, left)
        return self._commit(s, [(side, tick, left)], (taker, tick, lots, 0), now_ms)

    def rest(self, symbol: str, side: int, tick: int, lots: int, now_ms: int) -> Change:
        """Own liquidity joins the level at ``tick`` (a new level if none): one book change.
        The price must not cross the other side."""
        s = self._symbols[symbol]
        crosses = tick >= s.book.best(ASK) if side == BID else tick <= s.book.best(BID)
        if lots <= 0 or tick <= 0 or crosses:
            raise ValueError(f"cannot rest {lots} lots at tick {tick} on {symbol}")
        total = s.book.sides[side].get(tick, 0) + lots
        s.book.set(side, tick, total)
        s.own[side][tick] = s.own[side].get(tick, 0) + lots
        return self._commit(s, [(side, tick, total)], None, now_ms)

    def unrest(self, symbol: str, side: int, tick: int, lots: int, now_ms: int) -> Change:
        """Own liquidity leaves the level at ``tick`` (a cancel): one book change."""
        s = self._symbols[symbol]
        own = s.own[side].get(tick, 0)
        if not 0 < lots <= own:
            raise ValueError(f"only {own} own lots at tick {tick} on {symbol}, not {lots}")
        _set_own(s, side, tick, own - lots)
        total = s.book.sides[side][tick] - lots
        s.book.set(side, tick, total)
        return self._commit(s, [(side, tick, total)], None, now_ms)

    # -- internals ----------------------------------------------------------------------------

    def _new_symbol(
        self, symbol: str, price: float, rng: random.Random, contract_size: float | None = None
    ) -> _Symbol:
        spec = _spec(symbol, price, contracts=contract_size is not None)
        mid = round(price * 10**spec.price_decimals)
        lot_value = price * (contract_size or 10**-spec.amount_decimals)
        typical = max(1, round(500 / lot_value))
        s = _Symbol(
            spec=spec,
            rng=rng,
            book=_Book(),
            id=rng.randrange(10**6, 10**9),
            mid=float(mid),
            min_mid=float(10 * self.depth),
            vol=0.8,
            spread_scale=self.depth / 2,
            typical_lots=typical,
            last_tick=mid,
        )
        for side, sign in ((BID, -1), (ASK, 1)):
            tick = mid
            for _ in range(self.depth):
                tick += sign * rng.randint(1, 3)
                if tick <= 0:
                    break
                s.book.set(side, tick, self._new_lots(s))
        s.top_key = _top_key(s.book)
        return s

    def _new_lots(self, s: _Symbol) -> int:
        return 1 + int(s.typical_lots * s.rng.expovariate(1.0))

    def _random_change(self, s: _Symbol, now_ms: int) -> Change:
        r = s.rng.random()
        trade: _TradeIn | None = None
        if r < self.trade_prob:
            levels, trade = self._trade(s)
        elif r < self.trade_prob + 0.35:
            levels = self._add(s)
        elif r < self.trade_prob + 0.5:
            levels = self._cancel(s)
        else:
            levels = self._resize(s)
        if not levels:  # that add, cancel or trade was impossible here; a resize never is
            levels = self._resize(s)
        return self._commit(s, levels, trade, now_ms)

    def _add(self, s: _Symbol) -> list[Level]:
        book = s.book
        side = BID if s.rng.random() < 0.5 else ASK
        offset = 1 + int(s.rng.expovariate(1.0 / s.spread_scale))
        centre = round(s.mid)
        if side == BID:
            tick = min(centre - offset, book.best(ASK) - 1)
        else:
            tick = max(centre + offset, book.best(BID) + 1)
        if tick <= 0:
            return []
        if tick in book.sides[side]:
            return self._resize_at(s, side, tick)
        levels: list[Level] = []
        if len(book.keys[side]) >= self.depth:
            worst = book.worst(side)
            if (tick < worst) if side == BID else (tick > worst):
                return []  # it would fall straight off the bounded book
            if worst in s.own[side]:
                return []  # the worst level holds own liquidity, which only the account moves
            book.set(side, worst, 0)
            levels.append((side, worst, 0))
        lots = self._new_lots(s)
        book.set(side, tick, lots)
        levels.append((side, tick, lots))
        return levels

    def _cancel(self, s: _Symbol) -> list[Level]:
        side = BID if s.rng.random() < 0.5 else ASK
        keys = s.book.keys[side]
        if len(keys) <= MIN_LEVELS:
            return []
        tick = s.rng.choice(keys)
        own = s.own[side].get(tick, 0)
        if own:  # everyone else leaves; the own orders stay
            if own == s.book.sides[side][tick] or _free_levels(s, side) <= MIN_LEVELS:
                return []
            s.book.set(side, tick, own)
            return [(side, tick, own)]
        if _free_levels(s, side) <= MIN_LEVELS:
            return []
        s.book.set(side, tick, 0)
        return [(side, tick, 0)]

    def _resize(self, s: _Symbol) -> list[Level]:
        side = BID if s.rng.random() < 0.5 else ASK
        n = min(len(s.book.keys[side]) - 1, int(s.rng.expovariate(0.25)))  # near the top
        return self._resize_at(s, side, s.book.nth_best(side, n))

    def _resize_at(self, s: _Symbol, side: int, tick: int) -> list[Level]:
        old = s.book.sides[side][tick]
        lots = self._new_lots(s) + s.own[side].get(tick, 0)  # only other liquidity resizes
        if lots == old:
            lots += 1
        s.book.set(side, tick, lots)
        return [(side, tick, lots)]

    def _trade(self, s: _Symbol) -> tuple[list[Level], _TradeIn | None]:
        book = s.book
        bid, ask = book.best(BID), book.best(ASK)
        # Takers lean towards the mid, so the book follows the random walk.
        p_buy = 0.8 if s.mid > ask else 0.2 if s.mid < bid else 0.5
        taker = "buy" if s.rng.random() < p_buy else "sell"
        side = ASK if taker == "buy" else BID
        tick = ask if side == ASK else bid
        lots = book.sides[side][tick]
        if len(book.keys[side]) > MIN_LEVELS and s.rng.random() < 0.35:
            amount = lots  # sweeps the level
        elif lots > 1:
            amount = s.rng.randint(1, lots - 1)
        else:
            return [], None
        own = s.own[side].get(tick, 0)
        others = lots - own
        if 0 < others <= amount and _free_levels(s, side) <= MIN_LEVELS:
            amount = others - 1  # own-only levels don't count: keep enough other liquidity
            if amount == 0:
                return [], None
        # Own orders joined the queue last, so they fill only after everyone else.
        own_filled = max(0, amount - (lots - own))
        if own_filled:
            _set_own(s, side, tick, own - own_filled)
        book.set(side, tick, lots - amount)
        return [(side, tick, lots - amount)], (taker, tick, amount, own_filled)

    def _commit(
        self,
        s: _Symbol,
        levels: list[Level],
        trade: _TradeIn | None,
        now_ms: int,
    ) -> Change:
        s.id += 2 if s.gap_pending else 1
        s.gap_pending = False
        s.last_change_ms = now_ms
        made = self._record_trade(s, trade, now_ms) if trade else None
        key = _top_key(s.book)
        top = None
        if key != s.top_key:
            s.top_key = key
            top = _make_top(s, key)
        return Change(s.id, tuple(levels), made, top, trade[3] if trade else 0)

    def _record_trade(self, s: _Symbol, trade: _TradeIn, now_ms: int) -> Trade:
        taker, tick, lots, _ = trade
        self._trade_id += 1
        s.id_market += 1
        s.last_tick = tick
        minute = now_ms // MINUTE_MS
        if not s.buckets or s.buckets[-1].minute != minute:
            s.buckets.append(_Bucket(minute, tick, tick, tick))
        b = s.buckets[-1]
        b.high, b.low = max(b.high, tick), min(b.low, tick)
        b.base_lots += lots
        b.quote_units += tick * lots
        frac = str(s.rng.randrange(1, 10_000)).rjust(4, "0").rstrip("0")
        return Trade(
            id=self._trade_id,
            id_market=s.id_market,
            book_id=s.id,
            time_ms=now_ms,
            time_ms_str=f"{now_ms}.{frac}",
            side=taker,
            price=_price(s, tick),
            amount=units_to_str(lots, s.spec.amount_decimals),
            tick=tick,
            lots=lots,
        )


_TradeIn = tuple[str, int, int, int]
"""A trade about to be recorded: (taker side, tick, lots, of which own lots)."""


def _set_own(s: _Symbol, side: int, tick: int, lots: int) -> None:
    if lots:
        s.own[side][tick] = lots
    else:
        del s.own[side][tick]


def _free_levels(s: _Symbol, side: int) -> int:
    """Levels of ``side`` that hold other (non-own) liquidity: the ones random cancels and
    sweeps may remove, kept at ``MIN_LEVELS`` or more so a side never runs empty."""
    own, levels = s.own[side], s.book.sides[side]
    return len(levels) - sum(1 for tick, lots in own.items() if levels[tick] == lots)


def _price(s: _Symbol, tick: int) -> str:
    text = s.prices.get(tick)
    if text is None:
        if len(s.prices) > 100_000:  # a long random walk: forget old prices
            s.prices.clear()
        text = s.prices[tick] = units_to_str(tick, s.spec.price_decimals)
    return text


def _top_key(book: _Book) -> tuple[int, int, int, int]:
    bids, asks = book.keys
    bid, ask = bids[-1], asks[0]
    return (bid, book.sides[BID][bid], ask, book.sides[ASK][ask])


def _make_top(s: _Symbol, key: tuple[int, int, int, int]) -> Top:
    bid, bid_lots, ask, ask_lots = key
    ad = s.spec.amount_decimals
    return Top(
        s.id,
        _price(s, bid),
        units_to_str(bid_lots, ad),
        _price(s, ask),
        units_to_str(ask_lots, ad),
    )


def _percent(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# -- diff streams -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiffPush:
    """One ``order_book_update`` push: levels changed in ids ``first_id..last_id``, absolute
    amounts, ``"0"`` deletes; ``full`` means "this is the whole book at ``level``"."""

    symbol: str
    level: int
    first_id: int
    last_id: int
    bids: list[list[str]]
    asks: list[list[str]]
    full: bool = False


class DiffStream:
    """The net changes of one symbol's book between two pushes of a ``level``-deep stream.

    Feed every :class:`StepResult` of the symbol to :meth:`add`, right after the step; call
    :meth:`flush` (or :meth:`flush_full`) between steps.  Pushes are continuous: each
    ``first_id`` is the previous ``last_id + 1`` (unless the market skipped an id), and a push
    carries every level touched in its id range, so the documented REST alignment rule (apply
    the first push with ``U <= snapshot id + 1 <= u``) rebuilds the book exactly.

    When ``level < depth`` the stream shows the best ``level`` levels only.  A push then
    carries the touched levels (``"0"`` if no longer among them), the levels that left them
    (``"0"``), and every level among them now that was not among them at the previous push or
    at any step in between (sent whole).  A client that starts from a snapshot of at least
    ``level`` levels, taken between steps as the REST handler does, and keeps only its best
    ``level`` levels after each push, then holds exactly the true top ``level``.
    """

    def __init__(self, market: Market, symbol: str, level: int) -> None:
        self.market = market
        self.symbol = symbol
        self.level = level
        self._limited = level < market.depth
        self._touched: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._first: int | None = None
        self._last = market.book_id(symbol)
        self._view: tuple[dict[int, int], dict[int, int]] = (
            (self._top(BID), self._top(ASK)) if self._limited else ({}, {})
        )
        # The worst price the ``level``-th level reached at any step since the last push:
        # an untouched level beyond it was out of view at that step.
        self._edge: list[int | None] = [None, None]

    @property
    def pending(self) -> bool:
        return self._first is not None

    def add(self, step: StepResult) -> None:
        touched = self._touched
        for change in step.changes:
            if self._first is None:
                self._first = change.id
            for side, tick, lots in change.levels:
                touched[side][tick] = lots
        self._last = step.last_id
        if self._limited:
            self._track_edges()

    def flush(self, *, force: bool = False) -> DiffPush | None:
        """The push for everything added since the last one, or None if nothing visible
        changed (the id range then carries over into the next push) unless ``force``: then
        an empty push closes the id range (a new full-book subscriber must see the next
        push start right after the book it got)."""
        if self._first is None:
            return None
        bids, asks = self._entries(BID), self._entries(ASK)
        self._touched, self._edge = ({}, {}), [None, None]
        if not bids and not asks and not force:
            return None
        push = DiffPush(self.symbol, self.level, self._first, self._last, bids, asks)
        self._first = None
        return push

    def flush_full(self) -> DiffPush:
        """A ``full`` push: the whole book at this level, covering any pending ids."""
        view = (self._top(BID), self._top(ASK))
        if self._limited:
            self._view = view
        render = self.market.render_levels
        first = self._first if self._first is not None else self._last
        push = DiffPush(
            self.symbol,
            self.level,
            first,
            self._last,
            render(self.symbol, view[BID].items()),
            render(self.symbol, view[ASK].items()),
            full=True,
        )
        self._touched, self._edge = ({}, {}), [None, None]
        self._first = None
        return push

    def _top(self, side: int) -> dict[int, int]:
        return dict(self.market.top_levels(self.symbol, side, self.level))

    def _track_edges(self) -> None:
        for side in SIDES:
            tick = self.market.level_tick(self.symbol, side, self.level - 1)
            edge = self._edge[side]
            if tick is not None and (edge is None or (tick > edge if side == BID else tick < edge)):
                self._edge[side] = tick

    def _entries(self, side: int) -> list[list[str]]:
        touched = self._touched[side]
        if self._limited:
            touched = self._visible(side, touched)
        ticks = sorted(touched, reverse=side == BID)  # best first, as Gate sends them
        return self.market.render_levels(self.symbol, ((t, touched[t]) for t in ticks))

    def _visible(self, side: int, touched: dict[int, int]) -> dict[int, int]:
        cur, prev, edge = self._top(side), self._view[side], self._edge[side]
        out = {tick: cur.get(tick, 0) for tick in touched}
        for tick in prev:
            if tick not in cur:
                out[tick] = 0
        for tick, lots in cur.items():
            was_out = edge is not None and (tick < edge if side == BID else tick > edge)
            if was_out or prev.get(tick) != lots:
                out[tick] = lots
        self._view = (cur, self._view[ASK]) if side == BID else (self._view[BID], cur)
        return out
