"""MEXC spot (protobuf) and futures (JSON), public and private, through the whole pipeline.

Every scenario ends by comparing what a consumer rebuilt with the simulators' one true
state.  No network: the simulators run on loopback.
"""

from __future__ import annotations

import json

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
    TopBook,
    Trade,
)
from actors.simulators.mexc_spot import MexcSpotSimulator
from tests.harness import Pipeline, running_pipeline, simulator_in_thread, wait_until

pytestmark = pytest.mark.slow

CREDENTIALS = {"key": "MPT_MEXC_KEY", "secret": "MPT_MEXC_SECRET"}
SPOT_PUBLIC = ["book_ticker", "trades", "order_book", "top_book", "tickers"]
SPOT = {
    "symbols": ["BTC/USDT", "ETH/USDT"],
    "channels": [*SPOT_PUBLIC, "orders", "fills", "balances"],
    "credentials": CREDENTIALS,
}
FUTURES = {
    "symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
    "channels": ["trades", "order_book", "tickers", "orders", "fills", "balances", "positions"],
    "credentials": CREDENTIALS,
}
# 14 symbols x 5 public channels = 70 subscriptions: three connections of at most 30.
MANY = [
    "BTC",
    "ETH",
    "SOL",
    "XRP",
    "DOGE",
    "ADA",
    "LTC",
    "DOT",
    "LINK",
    "AVAX",
    "TRX",
    "BNB",
    "ATOM",
    "NEAR",
]


def books_match_truth(p: Pipeline, venue: str, natives: list[str]) -> None:
    ids = p.sim("pause", venue)["versions"]
    for native in natives:
        p.pump_until(
            lambda n=native: p.valid(n, venue) and p.book(n, venue).seq == ids[n],
            15,
            f"{venue} {native} at version {ids[native]}",
        )
        truth = p.sim("book", venue, symbol=native)
        book = p.book(native, venue)
        assert book.bids == {float(px): float(q) for px, q in truth["bids"]}, native
        assert book.asks == {float(px): float(q) for px, q in truth["asks"]}, native
    p.sim("resume", venue)


def test_spot_and_futures_public_and_private_end_to_end() -> None:
    venues = {"mexc_spot": dict(SPOT), "mexc_futures": dict(FUTURES)}
    with running_pipeline(venues=venues, parsers=1) as p:
        p.pump_until(lambda: len([b for b in p.books.values() if b.valid]) == 4, 15, "books")
        groups = [
            a["info"].get("subscriptions")
            for a in p.status()["actors"]
            if a["name"].startswith("mexc_spot.connection")
        ]
        assert len(groups) == 2  # market streams, and the account streams on a listenKey
        p.sim(
            "order", "mexc_spot", symbol="BTCUSDT", side="BUY", type="MARKET", quoteOrderQty="300"
        )
        p.sim("order", "mexc_futures", symbol="ETH_USDT", side="1", vol="7", price="0")
        p.pump_until(
            lambda: (
                {("mexc_spot", k) for k in (Order, Fill, Balance)}
                | {("mexc_futures", k) for k in (Order, Fill, Balance, Position)}
                <= {(e.venue, type(e)) for e in p.private}
            ),
            10,
            "private events of both venues",
        )
        wanted = {
            ("mexc_spot", k) for k in (BookTicker, Trade, BookSnapshot, BookDelta, TopBook, Ticker)
        }
        wanted |= {("mexc_futures", k) for k in (Trade, BookSnapshot, BookDelta, Ticker)}
        p.pump_until(lambda: wanted <= {(e.venue, type(e)) for e in p.events}, 10, "every kind")
        assert not any(isinstance(e, Order | Fill | Balance | Position) for e in p.events)

        trade = next(
            e
            for e in p.events
            if isinstance(e, Trade) and e.venue == "mexc_futures" and e.native == "BTC_USDT"
        )
        assert trade.contract_size > 0 and trade.qty_base == pytest.approx(
            trade.qty * trade.contract_size
        )

        p.sim("pause", "mexc_futures")  # freezes the market and the demo trader

        def positions_agree() -> bool:
            last = {e.native: e.size for e in p.private if isinstance(e, Position)}
            truth = p.sim("account", "mexc_futures")["positions"]
            sign = {1: 1.0, 2: -1.0}
            return all(
                last.get(t["symbol"]) == float(t["holdVol"]) * sign[t["positionType"]]
                for t in truth
            )

        p.pump_until(positions_agree, 5, "positions equal to the account")
        p.sim("resume", "mexc_futures")

        books_match_truth(p, "mexc_spot", ["BTCUSDT", "ETHUSDT"])
        books_match_truth(p, "mexc_futures", ["BTC_USDT", "ETH_USDT"])


def test_seventy_subscriptions_spread_over_three_connections_with_exact_books() -> None:
    venues = {"mexc_spot": {"symbols": [f"{s}/USDT" for s in MANY], "channels": SPOT_PUBLIC}}
    with running_pipeline(venues=venues, parsers=2) as p:
        connections = [a for a in p.status()["actors"] if a["kind"] == "connection"]
        assert len(connections) == 3
        shares = p.status()["venues"]["mexc_spot"]["subscriptions"]
        assert sorted(len(s) for s in shares) == [23, 23, 24]
        natives = [f"{s}USDT" for s in MANY]
        p.pump_until(lambda: all(p.valid(n, "mexc_spot") for n in natives), 20, "14 books")
        assert p.status()["venues"]["mexc_spot"]["refused"] == {}
        books_match_truth(p, "mexc_spot", natives)


def test_the_24h_limit_is_crossed_by_replacing_sockets_with_no_missing_update() -> None:
    factory = lambda: MexcSpotSimulator(["BTCUSDT", "ETHUSDT"], max_age_s=4.0)  # noqa: E731
    with simulator_in_thread(factory) as sim:
        venues = {
            "mexc_spot": {
                "symbols": ["BTC/USDT", "ETH/USDT"],
                "channels": ["book_ticker", "trades", "order_book"],
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "rotate_after_s": 2.5,  # before the venue's (shrunk) age limit
            }
        }
        with running_pipeline(venues=venues, parsers=2, simulate=False) as p:
            natives = ["BTCUSDT", "ETHUSDT"]
            p.pump_until(lambda: all(p.valid(n, "mexc_spot") for n in natives), 10, "books")
            mark = len(p.events)
            wait_until(
                lambda: p.actor("mexc_spot.connection.0")["counters"].get("rotations", 0) >= 3,
                15,
                "three socket replacements (12 s of 4-second connections)",
                p,
            )
            p.pump(0.3)
            after = p.events[mark:]
            assert not any(isinstance(e, BookReset) for e in after)
            counters = p.actor("mexc_spot.connection.0")["counters"]
            assert counters.get("session_errors", 0) == 0  # the venue never had to cut us
            trades = [(e.native, e.trade_id) for e in after if isinstance(e, Trade)]
            assert len(trades) == len(set(trades))  # none twice
            # the books are exact: pause, drain, compare
            truth_ids = sim.control("pause", {})["versions"]
            for native in natives:
                p.pump_until(
                    lambda n=native: p.book(n, "mexc_spot").seq == truth_ids[n],
                    10,
                    f"{native} drained",
                )
                truth = sim.control("book", {"symbol": native})
                book = p.book(native, "mexc_spot")
                assert book.bids == {float(px): float(q) for px, q in truth["bids"]}
                assert book.asks == {float(px): float(q) for px, q in truth["asks"]}


def test_blocked_subscription_and_bad_signature_are_clear_errors_never_retried() -> None:
    wrong = "f" * 64
    factory = lambda: MexcSpotSimulator(  # noqa: E731
        ["BTCUSDT"], credentials={"mx0-demo": "the-real-secret"}
    )
    with simulator_in_thread(factory) as sim:
        venues = {
            "mexc_spot": {
                # ZZZ/USDT is well formed, but this venue does not list it: it answers Blocked!
                "symbols": ["BTC/USDT", "ZZZ/USDT"],
                "channels": ["book_ticker", "order_book", "orders", "balances"],
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "credentials": CREDENTIALS,
            }
        }
        env = {"MPT_MEXC_KEY": "mx0-demo", "MPT_MEXC_SECRET": wrong}
        with running_pipeline(venues=venues, parsers=1, simulate=False, env=env) as p:
            p.pump_until(lambda: p.valid("BTCUSDT", "mexc_spot"), 10, "BTC book despite it all")

            def refused() -> dict[str, str]:
                return p.status()["venues"]["mexc_spot"]["refused"]

            wait_until(
                lambda: {"book_ticker:ZZZ/USDT", "order_book:ZZZ/USDT"} <= set(refused()),
                5,
                "the Blocked! ones refused",
                p,
            )
            assert "Blocked!" in refused()["book_ticker:ZZZ/USDT"]
            wait_until(lambda: "orders:BTC/USDT" in refused(), 5, "the account streams refused", p)
            assert "700002" in refused()["orders:BTC/USDT"]  # the venue's own error code

            before = sim.stats()
            sim.control("drop", {})
            p.pump(2.0)
            after = sim.stats()
            assert after["auth_failures"] == before["auth_failures"]  # no new listenKey attempt
            assert p.valid("BTCUSDT", "mexc_spot")
            status = json.dumps(p.status())
            for text in (status, p.output()):
                assert wrong not in text


def test_a_run_time_subscribe_beyond_the_limit_starts_another_connection() -> None:
    venues = {"mexc_spot": {"symbols": [f"{s}/USDT" for s in MANY[:6]], "channels": SPOT_PUBLIC}}
    with running_pipeline(venues=venues, parsers=2) as p:
        assert len(p.status()["venues"]["mexc_spot"]["subscriptions"]) == 1  # 30: one is full
        reply = p.command("subscribe", venue="mexc_spot", symbols=["LINK/USDT", "AVAX/USDT"])
        assert reply["connections"] == 2
        p.pump_until(
            lambda: p.valid("LINKUSDT", "mexc_spot") and p.valid("AVAXUSDT", "mexc_spot"),
            10,
            "books of the new symbols, fed by the new connection",
        )
        actor = p.actor("mexc_spot.connection.1")
        assert actor["state"] == "running" and actor["info"]["subscriptions"] == 10
        books_match_truth(p, "mexc_spot", ["BTCUSDT", "LINKUSDT", "AVAXUSDT"])


def test_an_expired_listen_key_is_replaced_and_account_data_flows_again() -> None:
    venues = {
        "mexc_spot": {
            "symbols": ["BTC/USDT"],
            "channels": ["book_ticker", "orders", "fills", "balances"],
            "credentials": CREDENTIALS,
        }
    }
    with running_pipeline(venues=venues, parsers=1) as p:
        account = next(
            a["name"]
            for a in p.status()["actors"]
            if a["kind"] == "connection" and a["info"].get("subscriptions") == 3
        )
        wait_until(
            lambda: p.actor(account)["counters"].get("sessions_opened") == 1,
            5,
            "the first listenKey",
            p,
        )
        p.sim("expire_listen_key", "mexc_spot")
        wait_until(
            lambda: p.actor(account)["counters"].get("sessions_opened", 0) >= 2,
            10,
            "a new listenKey after the old one expired",
            p,
        )
        wait_until(lambda: p.actor(account)["info"]["state"] == "open", 5, "reconnected", p)
        p.pump(0.5)
        mark = len(p.private)
        p.sim(
            "order", "mexc_spot", symbol="BTCUSDT", side="BUY", type="MARKET", quoteOrderQty="100"
        )
        p.pump_until(
            lambda: any(isinstance(e, Fill) for e in p.private[mark:]),
            10,
            "a fill on the new key's stream",
        )


def test_a_bad_futures_login_is_a_clear_error_and_not_retried() -> None:
    from actors.simulators.mexc_futures import MexcFuturesSimulator

    wrong = "e" * 64
    factory = lambda: MexcFuturesSimulator(  # noqa: E731
        ["BTC_USDT"], credentials={"mx0-demo": "the-real-secret"}
    )
    with simulator_in_thread(factory) as sim:
        venues = {
            "mexc_futures": {
                "symbols": ["BTC/USDT:USDT"],
                "channels": ["order_book", "orders", "positions"],
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "credentials": CREDENTIALS,
            }
        }
        env = {"MPT_MEXC_KEY": "mx0-demo", "MPT_MEXC_SECRET": wrong}
        with running_pipeline(venues=venues, parsers=1, simulate=False, env=env) as p:
            p.pump_until(lambda: p.valid("BTC_USDT", "mexc_futures"), 10, "public data")

            def refused() -> dict[str, str]:
                return p.status()["venues"]["mexc_futures"]["refused"]

            wait_until(
                lambda: {"orders:BTC/USDT:USDT", "positions:BTC/USDT:USDT"} <= set(refused()),
                5,
                "the private streams refused after the failed login",
                p,
            )
            wait_until(
                lambda: p.actor("mexc_futures.connection.0")["info"]["subscriptions"] == 1,
                5,
                "the refusal reached the connection",
                p,
            )
            failures = sim.stats()["auth_failures"]
            sim.control("drop", {})
            p.pump(2.0)
            assert sim.stats()["auth_failures"] == failures  # no login retried
            assert p.valid("BTC_USDT", "mexc_futures")
            for text in (json.dumps(p.status()), p.output()):
                assert wrong not in text
