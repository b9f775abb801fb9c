"""Gate.io spot and futures, public and private, through the whole pipeline (no network).

Every scenario ends by comparing what a consumer rebuilt with the simulators' one true
state: books, positions and balances.
"""

from __future__ import annotations

import json
import os

import pytest

from actors.messages import (
    Balance,
    BookDelta,
    BookReset,
    BookSnapshot,
    BookTicker,
    Fill,
    Order,
    Position,
    Ticker,
    Trade,
)
from actors.simulators.gateio_spot import GateioSpotSimulator
from tests.harness import Pipeline, running_pipeline, simulator_in_thread, wait_until

pytestmark = pytest.mark.slow

CREDENTIALS = {"key": "MPT_GATE_KEY", "secret": "MPT_GATE_SECRET"}
SPOT = {
    "symbols": ["BTC/USDT", "ETH/USDT"],
    "channels": ["book_ticker", "trades", "order_book", "tickers", "orders", "fills", "balances"],
    "credentials": CREDENTIALS,
}
FUTURES = {
    "symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
    "channels": [
        "book_ticker",
        "trades",
        "order_book",
        "tickers",
        "orders",
        "fills",
        "balances",
        "positions",
    ],
    "options": {"settle": "usdt", "user_id": "10001"},
    "credentials": CREDENTIALS,
}
SYMBOL_PARAM = {"gateio_spot": "currency_pair", "gateio_futures": "contract"}


def books_match_truth(p: Pipeline, venue: str, natives: list[str]) -> None:
    ids = p.sim("pause", venue)["ids"]
    for native in natives:
        p.pump_until(
            lambda n=native: p.valid(n, venue) and p.book(n, venue).seq == ids[n],
            10,
            f"{venue} {native} at id {ids[native]}",
        )
        truth = p.sim("book", venue, **{SYMBOL_PARAM[venue]: native})
        book = p.book(native, venue)
        assert book.bids == {float(px): float(q) for px, q in truth["bids"]}, native
        assert book.asks == {float(px): float(q) for px, q in truth["asks"]}, native
    p.sim("resume", venue)


def test_spot_and_futures_public_and_private_end_to_end() -> None:
    venues = {"gateio_spot": dict(SPOT), "gateio_futures": dict(FUTURES)}
    with running_pipeline(venues=venues, parsers=1) as p:
        p.pump_until(lambda: len([b for b in p.books.values() if b.valid]) == 4, 15, "books")
        p.sim(
            "order",
            "gateio_spot",
            currency_pair="BTC_USDT",
            side="buy",
            type="market",
            amount="500",
        )
        p.sim("order", "gateio_futures", contract="ETH_USDT", size="7", price="0", tif="ioc")
        p.pump_until(
            lambda: {Order, Fill, Balance, Position} <= {type(e) for e in p.private},
            10,
            "private events",
        )
        p.pump(0.5)

        wanted = {
            (v, k) for v in venues for k in (BookTicker, Trade, BookSnapshot, BookDelta, Ticker)
        }
        p.pump_until(lambda: wanted <= {(e.venue, type(e)) for e in p.events}, 5, "every kind")
        assert not any(isinstance(e, Order | Fill | Balance | Position) for e in p.events)
        assert all(isinstance(e, Order | Fill | Balance | Position) for e in p.private)
        assert {e.venue for e in p.private if isinstance(e, Fill)} == set(venues)

        # futures quantities come in contracts and in base units
        btc_trade = next(
            e
            for e in p.events
            if isinstance(e, Trade) and e.native == "BTC_USDT" and e.venue == "gateio_futures"
        )
        assert btc_trade.contract_size == 0.0001
        assert btc_trade.qty_base == pytest.approx(btc_trade.qty * 0.0001)

        # the private streams agree with the simulators' accounts
        # Pausing freezes the market and the demo trader; then the streams catch up.
        p.sim("pause", "gateio_futures")
        p.sim("pause", "gateio_spot")

        def positions_agree() -> bool:
            last = {e.native: e.size for e in p.private if isinstance(e, Position)}
            truth = p.sim("account", "gateio_futures")["positions"]
            return all(last.get(t["contract"]) == float(t["size"]) for t in truth)

        def balances_agree() -> bool:
            last = {
                e.asset: e.available
                for e in p.private
                if isinstance(e, Balance) and e.venue == "gateio_spot"
            }
            truth = p.sim("account", "gateio_spot")["balances"]
            return all(float(truth[a]["available"]) == v for a, v in last.items())

        p.pump_until(positions_agree, 5, "positions equal to the account")
        p.pump_until(balances_agree, 5, "balances equal to the account")
        p.sim("resume", "gateio_futures")
        p.sim("resume", "gateio_spot")

        books_match_truth(p, "gateio_spot", ["BTC_USDT", "ETH_USDT"])
        books_match_truth(p, "gateio_futures", ["BTC_USDT", "ETH_USDT"])


def test_full_push_and_skipped_id_each_resync_exactly_that_symbol() -> None:
    venues = {"gateio_futures": {**FUTURES, "channels": ["order_book"]}}
    with running_pipeline(venues=venues, parsers=2) as p:
        p.pump_until(lambda: len([b for b in p.books.values() if b.valid]) == 2, 15, "books")
        mark = len(p.events)
        p.sim("full", "gateio_futures", contract="ETH_USDT")
        p.pump_until(
            lambda: any(isinstance(e, BookSnapshot) for e in p.events[mark:]), 5, "full book"
        )
        p.pump(0.3)
        rebuilt = [e for e in p.events[mark:] if isinstance(e, BookSnapshot | BookReset)]
        assert [(type(e), e.native) for e in rebuilt] == [(BookSnapshot, "ETH_USDT")]

        mark = len(p.events)
        p.sim("gap", "gateio_futures", contract="BTC_USDT")
        p.pump_until(
            lambda: any(isinstance(e, BookSnapshot) for e in p.events[mark:]),
            10,
            "resync after the gap",
        )
        p.pump(0.3)
        rebuilt = [e for e in p.events[mark:] if isinstance(e, BookSnapshot | BookReset)]
        assert [(type(e), e.native) for e in rebuilt] == [
            (BookReset, "BTC_USDT"),
            (BookSnapshot, "BTC_USDT"),
        ]
        assert rebuilt[0].reason.startswith("gap")
        books_match_truth(p, "gateio_futures", ["BTC_USDT", "ETH_USDT"])


def test_obu_books_come_from_the_stream_and_recover_by_resubscribing() -> None:
    options = {**FUTURES["options"], "book_mode": "obu", "book_depth": 50, "book_interval": "20ms"}
    venues = {"gateio_futures": {**FUTURES, "channels": ["order_book"], "options": options}}
    with running_pipeline(venues=venues, parsers=1) as p:
        p.pump_until(lambda: len([b for b in p.books.values() if b.valid]) == 2, 15, "books")
        handler = p.actor("gateio_futures.handler")
        assert handler["counters"].get("snapshot_requests", 0) == 0  # no REST for obu
        mark = len(p.events)
        p.sim("gap", "gateio_futures", contract="ETH_USDT")
        p.pump_until(
            lambda: any(isinstance(e, BookSnapshot) for e in p.events[mark:]),
            10,
            "a fresh full push after renewing the subscription",
        )
        wait_until(
            lambda: p.actor("gateio_futures.connection.0")["counters"].get("renewals"),
            3,
            "the renewal counted",
            p,
        )
        books_match_truth(p, "gateio_futures", ["BTC_USDT", "ETH_USDT"])


def test_a_rejected_signature_is_a_clear_error_with_no_retry_storm() -> None:
    wrong = "0123456789abcdef" * 4  # the secret the client has; the venue knows another
    factory = lambda: GateioSpotSimulator(  # noqa: E731
        ["BTC_USDT"], credentials={"k-demo": "the-real-secret"}
    )
    with simulator_in_thread(factory) as sim:
        venues = {
            "gateio_spot": {
                "symbols": ["BTC/USDT"],
                "channels": ["book_ticker", "order_book", "orders", "balances"],
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "credentials": CREDENTIALS,
            }
        }
        env = {"MPT_GATE_KEY": "k-demo", "MPT_GATE_SECRET": wrong}
        with running_pipeline(venues=venues, parsers=1, simulate=False, env=env) as p:
            p.pump_until(
                lambda: p.valid("BTC_USDT"),
                10,
                "public data despite the bad key",
            )
            wait_until(
                lambda: len(p.status()["venues"]["gateio_spot"]["refused"]) == 2,
                5,
                "both private subscriptions refused",
                p,
            )
            refused = p.status()["venues"]["gateio_spot"]["refused"]
            assert set(refused) == {"orders:BTC/USDT", "balances:BTC/USDT"}
            assert all("code 4" in reason for reason in refused.values())
            failures = sim.stats()["auth_failures"]
            sim.control("drop", {})  # reconnect: the refused ones must not be retried
            p.pump(2.0)
            assert sim.stats()["auth_failures"] == failures
            status = json.dumps(p.status())
            assert "$MPT_GATE_KEY/$MPT_GATE_SECRET" in status
            for text in (status, p.output()):
                assert wrong not in text
            assert p.valid("BTC_USDT")
    assert os.environ.get("MPT_GATE_SECRET") is None
