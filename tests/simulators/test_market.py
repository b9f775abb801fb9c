"""The simulated market is one consistent truth: books, ids, trades, tops, tickers and diff
streams all agree at every update id.  Pure: no sockets, no clock."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest

from actors.simulators.market import (
    ASK,
    BID,
    DiffPush,
    DiffStream,
    Market,
    Snapshot,
    StepResult,
    units_to_str,
)

SYMBOLS = ["BTC_USDT", "ETH_USDT", "ZZZ_USDT"]
CANONICAL = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")  # no exponent, no trailing zeros


def run(
    market: Market, symbol: str, steps: int, start_ms: int = 1_700_000_000_000
) -> Iterator[StepResult]:
    """Step lazily, so a loop body sees the market right after each step."""
    for i in range(steps):
        yield market.step(symbol, start_ms + 10 * i)


def as_book(snap: Snapshot) -> dict[str, dict[str, str]]:
    return {"b": dict(map(tuple, snap.bids)), "a": dict(map(tuple, snap.asks))}


def apply_levels(book: dict[str, dict[str, str]], side: str, levels: list[list[str]]) -> None:
    for price, amount in levels:
        if amount == "0":
            book[side].pop(price, None)
        else:
            book[side][price] = amount


def apply_push(book: dict[str, dict[str, str]], push: DiffPush) -> None:
    if push.full:
        book["b"], book["a"] = {}, {}
    apply_levels(book, "b", push.bids)
    apply_levels(book, "a", push.asks)


def best_first(book: dict[str, dict[str, str]], n: int | None = None) -> Snapshot:
    bids = sorted(book["b"].items(), key=lambda kv: float(kv[0]), reverse=True)[:n]
    asks = sorted(book["a"].items(), key=lambda kv: float(kv[0]))[:n]
    return Snapshot(0, 0, [list(kv) for kv in bids], [list(kv) for kv in asks])


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (650001, 1, "65000.1"),
        (5, 3, "0.005"),
        (7000, 3, "7"),
        (0, 4, "0"),
        (12, 0, "12"),
        (10, 1, "1"),
    ],
)
def test_units_render_canonically(units: int, decimals: int, text: str) -> None:
    assert units_to_str(units, decimals) == text


def test_same_seed_same_market() -> None:
    a, b = Market(SYMBOLS, seed=7), Market(SYMBOLS, seed=7)
    assert list(run(a, "BTC_USDT", 300)) == list(run(b, "BTC_USDT", 300))
    assert a.snapshot("BTC_USDT") == b.snapshot("BTC_USDT")
    assert Market(SYMBOLS, seed=8).snapshot("BTC_USDT") != a.snapshot("BTC_USDT")


def test_ids_grow_by_one_per_change_and_every_change_writes_levels() -> None:
    market = Market(SYMBOLS, seed=1, max_changes=4)
    last = market.book_id("ETH_USDT")
    for step in run(market, "ETH_USDT", 500):
        assert 1 <= len(step.changes) <= 4
        for change in step.changes:
            assert change.id == last + 1
            assert change.levels
            last = change.id
    assert market.book_id("ETH_USDT") == last


def test_books_stay_bounded_sorted_uncrossed_and_on_the_tick_grid() -> None:
    market = Market(SYMBOLS, seed=2, depth=12)
    for symbol in SYMBOLS:
        decimals = market.spec(symbol).price_decimals
        for _ in run(market, symbol, 800):
            snap = market.snapshot(symbol)
            bids = [float(p) for p, _ in snap.bids]
            asks = [float(p) for p, _ in snap.asks]
            assert 3 <= len(bids) <= 12 and 3 <= len(asks) <= 12
            assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
            assert bids[0] < asks[0]
        for price, amount in snap.bids + snap.asks:
            assert CANONICAL.match(price) and CANONICAL.match(amount) and amount != "0"
            assert len(price.partition(".")[2]) <= decimals


def test_replaying_the_changes_rebuilds_the_book_and_its_tops_at_every_id() -> None:
    market = Market(SYMBOLS, seed=3, depth=10)
    book = as_book(market.snapshot("BTC_USDT"))
    prev_top = market.best("BTC_USDT")[1:]
    tops = 0
    for step in run(market, "BTC_USDT", 400):
        for change in step.changes:
            for side, tick, lots in change.levels:
                key = "b" if side == BID else "a"
                price = market.price_str("BTC_USDT", tick)
                apply_levels(book, key, [[price, market.amount_str("BTC_USDT", lots)]])
            replayed = best_first(book, 1)
            top = (*replayed.bids[0], *replayed.asks[0])
            # A top is reported exactly when the best price or size moved, and it is right.
            assert (change.top is not None) == (top != prev_top)
            if change.top is not None:
                assert change.top[1:] == top and change.top.id == change.id
                tops += 1
            prev_top = top
        truth = market.snapshot("BTC_USDT")
        assert (best_first(book).bids, best_first(book).asks) == (truth.bids, truth.asks)
    assert tops > 100


def test_trades_hit_the_best_level_and_consume_it() -> None:
    market = Market(["BTC_USDT"], seed=4, trade_prob=0.5, max_changes=1)
    trades = 0
    prev_market_id = None
    for i in range(600):
        before = market.snapshot("BTC_USDT")
        step = market.step("BTC_USDT", 1_000 + i)
        (change,) = step.changes  # one change per step: it sees exactly `before`
        trade = change.trade
        if trade is None:
            continue
        trades += 1
        levels = before.asks if trade.side == "buy" else before.bids
        best_price, best_amount = levels[0]
        assert trade.price == best_price
        assert float(trade.amount) <= float(best_amount)
        assert trade.book_id == change.id
        ((side, tick, lots),) = change.levels
        assert side == (ASK if trade.side == "buy" else BID)
        assert market.price_str("BTC_USDT", tick) == best_price
        remaining = round(float(best_amount) - float(trade.amount), 6)
        assert float(market.amount_str("BTC_USDT", lots)) == pytest.approx(remaining)
        assert re.fullmatch(rf"{trade.time_ms}\.\d+", trade.time_ms_str)
        if prev_market_id is not None:
            assert trade.id_market == prev_market_id + 1
        prev_market_id = trade.id_market
    assert trades > 50


def test_force_gap_skips_exactly_one_id() -> None:
    market = Market(["BTC_USDT"], seed=6)
    list(run(market, "BTC_USDT", 5))
    last = market.book_id("BTC_USDT")
    market.force_gap("BTC_USDT")
    step = market.step("BTC_USDT", 0)
    assert step.first_id == last + 2
    assert [c.id for c in step.changes] == list(range(last + 2, last + 2 + len(step.changes)))
    assert market.step("BTC_USDT", 0).first_id == step.last_id + 1


def test_snapshot_limit_and_nudge_top() -> None:
    market = Market(["BTC_USDT"], seed=9, depth=30)
    assert len(market.snapshot("BTC_USDT", 5).bids) == 5
    assert market.snapshot("BTC_USDT", 100) == market.snapshot("BTC_USDT")
    before = market.best("BTC_USDT")
    step = market.nudge_top("BTC_USDT", 0)
    (change,) = step.changes
    assert change.top is not None and change.top != before
    assert change.top == market.best("BTC_USDT")


def test_ticker_rolls_the_trades_of_the_last_24h() -> None:
    market = Market(["BTC_USDT"], seed=10, trade_prob=0.6)
    t0 = 1_700_000_000_000
    steps = list(run(market, "BTC_USDT", 300, start_ms=t0))
    trades = [c.trade for s in steps for c in s.changes if c.trade]
    ticker = market.ticker("BTC_USDT", t0 + 10_000)
    assert ticker["last"] == trades[-1].price
    assert ticker["high_24h"] == max((t.price for t in trades), key=float)
    assert ticker["low_24h"] == min((t.price for t in trades), key=float)
    assert float(ticker["base_volume"]) == pytest.approx(sum(float(t.amount) for t in trades))
    quote = sum(float(t.amount) * float(t.price) for t in trades)
    assert float(ticker["quote_volume"]) == pytest.approx(quote)
    assert ticker["lowest_ask"] == market.best("BTC_USDT").ask
    assert set(ticker) == {
        "currency_pair",
        "last",
        "lowest_ask",
        "highest_bid",
        "change_percentage",
        "base_volume",
        "quote_volume",
        "high_24h",
        "low_24h",
    }
    later = market.ticker("BTC_USDT", t0 + 2 * 86_400_000)
    assert later["base_volume"] == "0" and later["change_percentage"] == "0"


def drive_stream(
    market: Market,
    stream: DiffStream,
    symbol: str,
    rng: random.Random,
    n: int,
    limit: int | None = None,
) -> Iterator[tuple[Any, Snapshot]]:
    """Step the market and flush at random points: yields (push or None, whole book now) and,
    at random points between steps, ("snap", snapshot of ``limit`` levels) as REST would."""
    for i in range(n):
        step = market.step(symbol, i)
        stream.add(step)
        if rng.random() < 0.15:
            yield "snap", market.snapshot(symbol, limit)
        if rng.random() < 0.3:
            yield stream.flush(), market.snapshot(symbol)


def test_diff_stream_is_continuous_and_rebuilds_the_book() -> None:
    market = Market(["BTC_USDT"], seed=11, depth=30)
    stream = DiffStream(market, "BTC_USDT", 100)
    book = as_book(market.snapshot("BTC_USDT"))
    last_u = market.book_id("BTC_USDT")
    pushes = 0
    for push, truth in drive_stream(market, stream, "BTC_USDT", random.Random(1), 1500):
        if push == "snap" or push is None:
            continue
        assert push.first_id == last_u + 1
        last_u = push.last_id
        apply_push(book, push)
        assert truth.id == push.last_id
        assert best_first(book).bids == truth.bids and best_first(book).asks == truth.asks
        pushes += 1
    assert pushes > 100


@pytest.mark.parametrize(
    ("level", "limit"),
    [(100, None), (20, 20), (20, None), (5, 5)],
    ids=["100-levels", "20-levels-limit-20", "20-levels-whole-book", "5-levels-limit-5"],
)
def test_rest_alignment_rule_is_exact(level: int, limit: int | None) -> None:
    """A snapshot of ``limit`` levels at id B, taken between steps but mid-interval: apply
    the first push with U <= B+1 <= u and the later ones, keeping the best ``level`` levels;
    the result is the true top ``level`` at each push's u."""
    market = Market(["ETH_USDT"], seed=12 + level, depth=30)
    stream = DiffStream(market, "ETH_USDT", level)
    rng = random.Random(level)
    events = list(drive_stream(market, stream, "ETH_USDT", rng, 1500, limit=limit))
    checked = 0
    for start, (kind, snap) in enumerate(events):
        if kind != "snap":
            continue
        book, local = as_book(snap), None
        for push, truth in [e for e in events[start + 1 :] if e[0] not in ("snap", None)][:25]:
            if local is None:
                if push.last_id < snap.id + 1:
                    continue
                assert push.first_id <= snap.id + 1
            else:
                assert push.first_id == local + 1
            local = push.last_id
            apply_push(book, push)
            top = best_first(book, level)
            book = {"b": dict(map(tuple, top.bids)), "a": dict(map(tuple, top.asks))}
            assert (top.bids, top.asks) == (truth.bids[:level], truth.asks[:level])
            checked += 1
    assert checked > 500


def test_full_push_is_the_whole_book_and_resets_the_range() -> None:
    market = Market(["BTC_USDT"], seed=14)
    stream = DiffStream(market, "BTC_USDT", 100)
    first = market.book_id("BTC_USDT") + 1
    for step in run(market, "BTC_USDT", 5):
        stream.add(step)
    full = stream.flush_full()
    truth = market.snapshot("BTC_USDT")
    assert full.full and (full.first_id, full.last_id) == (first, truth.id)
    assert (full.bids, full.asks) == (truth.bids, truth.asks)
    assert stream.flush() is None
    stream.add(market.step("BTC_USDT", 0))
    assert stream.flush().first_id == truth.id + 1


# -- own (account) liquidity --------------------------------------------------------------------


def free_levels(market: Market, symbol: str, side: int) -> int:
    ticks = [t for t, _ in market.top_levels(symbol, side, 10_000)]
    return sum(market.level_lots(symbol, side, t) > market.own_lots(symbol, side, t) for t in ticks)


def test_random_market_keeps_own_liquidity_and_fills_it_last() -> None:
    """Own orders rest on several levels; thousands of random steps never cancel or resize
    them, consume them only through trades that report it, never cross the book and never
    leave a side with fewer than MIN_LEVELS levels of other liquidity."""
    market = Market(["BTC_USDT"], seed=21, depth=12)
    stream = DiffStream(market, "BTC_USDT", 100)
    book = as_book(market.snapshot("BTC_USDT"))
    own: dict[tuple[int, int], int] = {}
    changes = []
    for side in (BID, ASK):
        for n in range(3):
            tick = market.level_tick("BTC_USDT", side, n)
            assert tick is not None
            changes.append(market.rest("BTC_USDT", side, tick, 700 + n, 0))
            own[(side, tick)] = 700 + n
    far = market.level_tick("BTC_USDT", BID, 11)
    assert far is not None
    changes.append(market.rest("BTC_USDT", BID, far - 40, 5, 0))  # outside the bounded book
    own[(BID, far - 40)] = 5
    stream.add(StepResult("BTC_USDT", tuple(changes)))
    filled = 0
    for i, step in enumerate(run(market, "BTC_USDT", 4000)):
        stream.add(step)
        for change in step.changes:
            if change.own_lots:
                assert change.trade is not None
                side = BID if change.trade.side == "sell" else ASK
                own[(side, change.trade.tick)] -= change.own_lots
                filled += change.own_lots
        for (side, tick), lots in own.items():
            assert market.own_lots("BTC_USDT", side, tick) == lots
        assert market.level_tick("BTC_USDT", BID, 0) < market.level_tick("BTC_USDT", ASK, 0)
        for side in (BID, ASK):
            assert free_levels(market, "BTC_USDT", side) >= 3
        if i % 7 == 0:
            push = stream.flush()
            if push is not None:
                apply_push(book, push)
                truth = market.snapshot("BTC_USDT")
                assert (best_first(book).bids, best_first(book).asks) == (truth.bids, truth.asks)
    assert filled > 0


def test_take_rest_and_unrest_are_book_changes() -> None:
    market = Market(["ETH_USDT"], seed=22)
    before = market.snapshot("ETH_USDT")
    ask = market.level_tick("ETH_USDT", ASK, 0)
    assert ask is not None
    lots = market.level_lots("ETH_USDT", ASK, ask)
    change = market.take("ETH_USDT", "buy", lots, 5)
    assert change.id == before.id + 1 and change.levels == ((ASK, ask, 0),)
    assert change.trade is not None and change.trade.lots == lots and change.own_lots == 0
    assert change.top is not None and change.top.ask == before.asks[1][0]
    with pytest.raises(ValueError):
        market.take("ETH_USDT", "buy", 10**12, 6)  # more than the level holds
    with pytest.raises(ValueError):
        market.rest("ETH_USDT", BID, market.level_tick("ETH_USDT", ASK, 0) or 0, 1, 7)  # crosses
    tick = market.level_tick("ETH_USDT", BID, 0)
    assert tick is not None
    old = market.level_lots("ETH_USDT", BID, tick)
    rested = market.rest("ETH_USDT", BID, tick, 9, 8)
    assert rested.levels == ((BID, tick, old + 9),) and rested.trade is None
    with pytest.raises(ValueError):
        market.unrest("ETH_USDT", BID, tick, 10, 9)  # only 9 are own
    back = market.unrest("ETH_USDT", BID, tick, 9, 9)
    assert back.levels == ((BID, tick, old),) and back.id == rested.id + 1


def test_contract_books_count_whole_contracts() -> None:
    market = Market(["BTC_USDT"], seed=23, contract_sizes={"BTC_USDT": 0.0001})
    spec = market.spec("BTC_USDT")
    assert spec.amount_decimals == 0 and spec.price_decimals == 1
    sizes = [int(a) for _, a in market.snapshot("BTC_USDT").bids]
    assert all(s >= 1 for s in sizes) and sum(sizes) / len(sizes) > 20  # ~500 USDT a level
    with pytest.raises(ValueError):
        Market(["BTC_USDT"], seed=1, contract_sizes={"BTC_USDT": 0})
