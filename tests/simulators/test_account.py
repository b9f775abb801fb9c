"""The simulated accounts trade against the one true book, and their money adds up.  Pure:
no sockets, no clock."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from actors.simulators.account import (
    BalanceChange,
    Fill,
    FuturesAccount,
    OrderError,
    OrderEvent,
    Outcome,
    Position,
    SpotAccount,
    dec_str,
)
from actors.simulators.market import ASK, BID, MIN_LEVELS, Market

T0 = 1_700_000_000_000
PAIR = "BTC_USDT"


def spot(seed: int = 5) -> tuple[Market, SpotAccount]:
    market = Market([PAIR, "ETH_USDT"], seed=seed)
    return market, SpotAccount(market, {"USDT": "100000", "BTC": "2", "ETH": "10"})


def futures(seed: int = 5, *, inverse: bool = False) -> tuple[Market, FuturesAccount]:
    contract = "BTC_USD" if inverse else PAIR
    size = 1 / 65_000 if inverse else 0.0001
    market = Market([contract], seed=seed, contract_sizes={contract: size})
    multiplier = Decimal(1) if inverse else Decimal("0.0001")
    settle = "BTC" if inverse else "USDT"
    balance = Decimal(10) if inverse else Decimal(100_000)
    account = FuturesAccount(
        market, settle, {contract: multiplier}, balance=balance, inverse=inverse
    )
    return market, account


def of(outcome: Outcome, kind: type) -> list:
    return [e for e in outcome.events if isinstance(e, kind)]


def test_account_module_is_pure() -> None:
    path = Path(__file__).resolve().parents[2] / "actors/simulators/account.py"
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"asyncio", "socket", "time", "websockets", "zmq", "threading"}


def test_dec_str_is_canonical() -> None:
    assert [dec_str(Decimal(t)) for t in ("1E+5", "0E-7", "-0", "1.2300", "0.000001")] == [
        "100000",
        "0",
        "0",
        "1.23",
        "0.000001",
    ]


# -- spot -----------------------------------------------------------------------------------------


def test_marketable_buy_walks_the_book_and_consumes_it() -> None:
    market, account = spot()
    before = market.snapshot(PAIR)
    asks = before.asks[:3]
    limit = asks[2][0]  # crosses three levels
    wanted = sum(Decimal(a) for _, a in asks[:2]) + Decimal(asks[2][1]) / 2
    amount = dec_str(wanted.quantize(Decimal("1e-6")))
    out = account.place(PAIR, "buy", "limit", amount, limit, T0)

    fills = of(out, Fill)
    assert [f.price for f in fills] == [p for p, _ in asks]
    assert [f.amount for f in fills[:2]] == [a for _, a in asks[:2]]
    assert sum(Decimal(f.amount) for f in fills) == Decimal(amount)
    assert all(f.role == "taker" and f.fee_asset == "BTC" for f in fills)
    # One book change and one public trade per level; the true book lost exactly that.
    (step,) = out.steps
    assert [c.trade.id for c in step.changes] == [f.id for f in fills]
    assert step.first_id == before.id + 1 and step.last_id == market.book_id(PAIR)
    after = market.snapshot(PAIR)
    assert after.asks[0][0] == asks[2][0]
    assert Decimal(after.asks[0][1]) == Decimal(asks[2][1]) - Decimal(fills[2].amount)
    assert after.bids == before.bids

    events = [e.event for e in of(out, OrderEvent)]
    assert events == ["put", "finish"] and out.order is not None
    assert out.order.finish_as == "filled" and out.order.left == 0
    # Money: quote paid = sum(price x amount); base got = amount - fee; nothing stays frozen.
    paid = sum(Decimal(f.price) * Decimal(f.amount) for f in fills)
    fee = sum(f.fee for f in fills)
    assert fee == Decimal(amount) * Decimal("0.002")
    assert account.balance("USDT") == (100_000 - paid, 100_000 - paid, 0)
    assert account.balance("BTC") == (2 + Decimal(amount) - fee, 2 + Decimal(amount) - fee, 0)
    last = {b.asset: b for b in of(out, BalanceChange)}
    assert last["USDT"].total == 100_000 - paid and last["USDT"].frozen == 0


def test_resting_order_sits_in_the_book_and_fills_as_maker() -> None:
    market, account = spot()
    bid, ask = market.level_tick(PAIR, BID, 0), market.level_tick(PAIR, ASK, 0)
    assert bid is not None and ask is not None
    tick = bid + 1 if ask - bid > 1 else bid  # improve the best bid when the spread allows
    price = market.price_str(PAIR, tick)
    level_before = market.level_lots(PAIR, BID, tick)
    out = account.place(PAIR, "buy", "limit", "0.002", price, T0)
    assert [e.event for e in of(out, OrderEvent)] == ["put"] and not of(out, Fill)
    assert market.level_lots(PAIR, BID, tick) == level_before + 2000
    assert market.own_lots(PAIR, BID, tick) == 2000
    frozen = Decimal(price) * Decimal("0.002")
    assert account.balance("USDT")[2] == frozen
    order_id = out.order.id if out.order else 0

    fills: list[Fill] = []
    finished = None
    for i in range(20_000):
        step = market.step(PAIR, T0 + 10 * (i + 1))
        outcome = account.on_step(step, T0 + 10 * (i + 1))
        own = market.own_lots(PAIR, BID, tick)
        left = account.orders[order_id].left if order_id in account.orders else 0
        assert own == left  # random cancels and resizes never touch own liquidity
        if outcome:
            fills += of(outcome, Fill)
            finished = [e for e in of(outcome, OrderEvent) if e.event == "finish"] or finished
        if finished:
            break
    assert finished and finished[0].order.finish_as == "filled"
    assert all(f.role == "maker" and f.price == price for f in fills)
    assert sum(f.lots for f in fills) == 2000
    assert account.balance("USDT")[2] == 0  # all of the freeze was spent at the limit price
    assert account.balance("BTC")[0] == 2 + Decimal("0.002") * Decimal("0.998")


def test_cancel_releases_the_book_and_the_funds() -> None:
    market, account = spot()
    ask = market.level_tick(PAIR, ASK, 0)
    assert ask is not None
    tick = ask + 5
    out = account.place(PAIR, "sell", "limit", "0.5", market.price_str(PAIR, tick), T0)
    assert out.order is not None and account.balance("BTC") == (2, Decimal("1.5"), Decimal("0.5"))
    gone = account.cancel(out.order.id, T0 + 1)
    assert [e.event for e in of(gone, OrderEvent)] == ["finish"]
    assert gone.order is not None and gone.order.finish_as == "cancelled"
    assert account.balance("BTC") == (2, 2, 0)
    assert market.own_lots(PAIR, ASK, tick) == 0
    (release,) = of(gone, BalanceChange)
    assert release.freeze_change == Decimal("-0.5") and release.reason == "order-update"
    with pytest.raises(OrderError) as err:
        account.cancel(out.order.id, T0 + 2)
    assert err.value.label == "ORDER_NOT_FOUND"


def test_post_only_that_would_take_is_cancelled_untouched() -> None:
    market, account = spot()
    book = market.snapshot(PAIR)
    out = account.place(PAIR, "buy", "limit", "0.001", book.asks[0][0], T0, tif="poc")
    assert out.order is not None and out.order.finish_as == "poc"
    assert not out.steps and not of(out, Fill) and market.snapshot(PAIR) == book
    assert account.balance("USDT") == (100_000, 100_000, 0)


def test_a_taker_stops_at_its_own_resting_order() -> None:
    market, account = spot()
    ask = market.level_tick(PAIR, ASK, 0)
    assert ask is not None
    others = market.level_lots(PAIR, ASK, ask)
    price = market.price_str(PAIR, ask)
    account.place(PAIR, "sell", "limit", "0.001", price, T0)  # joins the best ask, last
    out = account.place(PAIR, "buy", "limit", "1", market.price_str(PAIR, ask + 50), T0 + 1)
    assert out.order is not None and out.order.finish_as == "stp"
    assert sum(f.lots for f in of(out, Fill)) == others
    assert market.level_lots(PAIR, ASK, ask) == market.own_lots(PAIR, ASK, ask) == 1000


def test_market_buy_spends_a_quote_budget() -> None:
    _, account = spot()
    out = account.place(PAIR, "buy", "market", "1000", None, T0, tif="ioc")
    fills = of(out, Fill)
    spent = sum(Decimal(f.price) * Decimal(f.amount) for f in fills)
    assert 1000 - Decimal(fills[-1].price) * Decimal("0.000001") < spent <= 1000
    assert out.order is not None and out.order.finish_as == "filled"
    assert account.balance("USDT") == (100_000 - spent, 100_000 - spent, 0)


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (("buy", "limit", "10", "65000"), "BALANCE_NOT_ENOUGH"),
        (("sell", "limit", "3", "65000"), "BALANCE_NOT_ENOUGH"),
        (("buy", "limit", "0.0000001", "65000"), "INVALID_PRECISION"),
        (("buy", "limit", "0.1", "65000.05"), "INVALID_PRECISION"),
        (("buy", "limit", "-1", "65000"), "INVALID_PARAM_VALUE"),
        (("buy", "limit", "0.1", None), "INVALID_PARAM_VALUE"),
        (("hold", "limit", "0.1", "65000"), "INVALID_PARAM_VALUE"),
    ],
)
def test_bad_orders_are_refused_and_change_nothing(
    args: tuple[str, str, str, str | None], label: str
) -> None:
    market, account = spot()
    book = market.snapshot(PAIR)
    with pytest.raises(OrderError) as err:
        account.place(PAIR, *args, T0)
    assert err.value.label == label
    assert market.snapshot(PAIR) == book and not account.orders
    assert account.balance("USDT") == (100_000, 100_000, 0)


def test_sweeps_never_empty_a_side() -> None:
    market, account = spot()
    out = account.place(PAIR, "buy", "market", "90000", None, T0, tif="ioc")
    assert out.order is not None and out.order.finish_as == "depth_not_enough"
    assert len(market.snapshot(PAIR).asks) == MIN_LEVELS


# -- futures --------------------------------------------------------------------------------------


def test_futures_position_pnl_and_balance_add_up() -> None:
    _, account = futures()
    opened = account.place(PAIR, 300, "0", T0, tif="ioc")
    fills = of(opened, Fill)
    cost = sum(Decimal(f.price) * f.lots for f in fills)
    pos = account.positions[PAIR]
    assert pos.size == 300 and pos.entry == cost / 300
    assert pos.margin == 300 * Decimal("0.0001") * pos.entry / 10
    fees = sum(f.fee for f in fills)
    assert fees == cost * Decimal("0.0001") * Decimal("0.0005")
    assert account.total == 100_000 - fees and pos.realised_pnl == -fees
    assert [p.size for p in of(opened, Position)] == [
        sum(f.lots for f in fills[: i + 1]) for i in range(len(fills))
    ]

    entry = pos.entry
    closed = account.place(PAIR, -100, "0", T0 + 1, tif="ioc")
    exits = of(closed, Fill)
    pnl = sum((Decimal(f.price) - entry) * f.lots * Decimal("0.0001") for f in exits)
    pnl_changes = [b.change for b in of(closed, BalanceChange) if b.reason == "pnl"]
    assert sum(pnl_changes) == pnl
    assert account.positions[PAIR].size == 200 and account.positions[PAIR].entry == entry
    # The balance is the start plus every change pushed.
    changes = [b.change for o in (opened, closed) for b in of(o, BalanceChange)]
    assert account.total == 100_000 + sum(changes)

    flipped = account.place(PAIR, -500, "0", T0 + 2, tif="ioc")
    last = of(flipped, Position)[-1]
    prices = [Decimal(f.price) for f in of(flipped, Fill)]
    assert last.size == -300 and min(prices) <= last.entry <= max(prices)
    assert last.history_pnl == 0 and last.realised_pnl < 0  # the flip kept one position
    assert [o.order.finish_as for o in of(flipped, OrderEvent) if o.event == "finish"] == ["filled"]


def test_futures_reduce_only_and_margin_checks() -> None:
    _, account = futures()
    with pytest.raises(OrderError) as err:
        account.place(PAIR, 5, "0", T0, tif="ioc", reduce_only=True)
    assert err.value.label == "REDUCE_ONLY_FAIL"
    with pytest.raises(OrderError) as err:
        account.place(PAIR, 10_000_000, "60000", T0)
    assert err.value.label == "INSUFFICIENT_AVAILABLE"
    with pytest.raises(OrderError) as err:
        account.place(PAIR, 5, "0", T0, tif="gtc")  # market orders are ioc
    assert err.value.label == "INVALID_PARAM_VALUE"
    resting = account.place(PAIR, 10, "60000", T0)
    assert resting.order is not None and not resting.order.finished
    assert account.order_margin == 10 * Decimal("0.0001") * 60000 / 10
    account.cancel(resting.order.id, T0 + 1)
    assert account.order_margin == 0 and account.available == account.total


def test_inverse_contract_pnl_is_in_the_settle_coin() -> None:
    _, account = futures(inverse=True)
    opened = account.place("BTC_USD", 1000, "0", T0, tif="ioc")
    entry = account.positions["BTC_USD"].entry
    buys = of(opened, Fill)
    assert entry == 1000 / sum(Decimal(f.lots) / Decimal(f.price) for f in buys)
    closed = account.place("BTC_USD", -1000, "0", T0 + 1, tif="ioc")
    pnl = sum(b.change for b in of(closed, BalanceChange) if b.reason == "pnl")
    sells = of(closed, Fill)
    expected = sum(f.lots * (1 / entry - 1 / Decimal(f.price)) for f in sells)
    assert abs(pnl - expected) < Decimal("1e-20")
    assert pnl < 0  # bought at the ask, sold at the bid
    assert account.positions["BTC_USD"].size == 0 and account.positions["BTC_USD"].margin == 0
