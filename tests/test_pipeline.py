"""The whole pipeline, as separate processes, against the Gate.io simulator (no network).

Each test starts `pipeline run --simulate`, consumes the published stream like any user
would, and compares the books it rebuilt with the simulator's one true book.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from actors.messages import BookDelta, BookReset, BookSnapshot, BookTicker, Event, Ticker, Trade
from tests.harness import ROOT, Pipeline, running_pipeline, wait_until

pytestmark = pytest.mark.slow

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
NATIVE = ["BTC_USDT", "ETH_USDT", "SOL_USDT"]


def assert_books_match_truth(p: Pipeline, natives: list[str]) -> None:
    """Freeze the market, let the pipeline drain, and compare every book with the truth."""
    ids = p.sim("pause")["ids"]
    for native in natives:
        p.pump_until(
            lambda n=native: p.valid(n) and p.book(n).seq == ids[n],
            10,
            f"{native} to reach id {ids[native]}",
        )
        truth = p.sim("book", currency_pair=native)
        book = p.book(native)
        assert truth["id"] == book.seq
        assert book.bids == {float(px): float(q) for px, q in truth["bids"]}, native
        assert book.asks == {float(px): float(q) for px, q in truth["asks"]}, native
    p.sim("resume")


def assert_wire_order(events: list[Event]) -> None:
    """Per symbol: deltas chain onto the snapshot and each other; tickers and trades never
    go backwards.  With several parsers this holds only if the handler restored order."""
    chain: dict[str, int | None] = {}
    last_ticker: dict[str, int] = {}
    last_trade: dict[str, int] = {}
    for event in events:
        match event:
            case BookSnapshot():
                chain[event.symbol] = event.seq
            case BookReset():
                chain[event.symbol] = None
            case BookDelta():
                at = chain.get(event.symbol)
                assert at is not None, f"delta for {event.symbol} while its book is invalid"
                assert event.first_seq <= at + 1 <= event.seq, (event.symbol, at, event)
                chain[event.symbol] = event.seq
            case BookTicker():
                assert event.seq >= last_ticker.get(event.symbol, 0), event
                last_ticker[event.symbol] = event.seq
            case Trade():
                assert int(event.trade_id) > last_trade.get(event.symbol, 0), event
                last_trade[event.symbol] = int(event.trade_id)


def test_live_data_flows_in_wire_order_with_four_parsers() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=4) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        p.pump(2.0)
        kinds = {type(e) for e in p.events}
        assert {BookTicker, Trade, BookSnapshot, BookDelta, Ticker} <= kinds
        assert_wire_order(p.events)
        parsers = [a for a in p.status()["actors"] if a["kind"] == "parser"]
        assert len(parsers) == 4
        assert sum(1 for a in parsers if a["counters"].get("frames_in", 0) > 0) >= 2
        assert_books_match_truth(p, NATIVE)


def test_kill_9_of_parser_and_connection_recovers_with_exact_books() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        for name in ("gateio_spot.parser.0", "gateio_spot.connection.0"):
            victim = p.actor(name)
            os.kill(victim["pid"], signal.SIGKILL)
            wait_until(
                lambda n=name, old=victim["pid"]: (
                    (a := p.actor(n))["restarts"] == 1 and a["pid"] not in (None, old)
                ),
                10,
                f"{name} restarted",
                p,
            )
            p.pump(1.0)
        wait_until(  # its first report may take a while on a loaded machine
            lambda: (
                p.actor("gateio_spot.connection.0")["info"].get("subscriptions") == len(SYMBOLS) * 4
            ),  # resubscribed all
            10,
            "the restarted connection reporting its whole share",
            p,
        )
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books resynced")
        assert any(isinstance(e, BookReset) for e in p.events)
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_dropped_connection_and_sequence_gap_resync_only_what_broke() -> None:
    with running_pipeline(symbols=SYMBOLS, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        mark = len(p.events)
        p.sim("gap", currency_pair="ETH_USDT")
        p.pump_until(
            lambda: p.valid("ETH_USDT") and any(isinstance(e, BookReset) for e in p.events[mark:]),
            10,
            "ETH resync",
        )
        resets = [e for e in p.events[mark:] if isinstance(e, BookReset)]
        assert [r.native for r in resets] == ["ETH_USDT"]
        assert resets[0].reason.startswith("gap")

        mark = len(p.events)
        p.sim("drop")
        p.pump_until(
            lambda: (
                sum(isinstance(e, BookReset) for e in p.events[mark:]) == 3
                and all(p.valid(n) for n in NATIVE)
            ),
            10,
            "every book reset and resynced after the drop",
        )
        wait_until(
            lambda: p.actor("gateio_spot.connection.0")["counters"].get("reconnects", 0) >= 1,
            3,
            "the reconnect counted in status",
            p,
        )
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_socket_rotation_before_the_age_limit_loses_and_repeats_nothing() -> None:
    venues = {
        "gateio_spot": {
            "symbols": SYMBOLS,
            "channels": ["book_ticker", "trades", "order_book"],
            "rotate_after_s": 2.0,  # the venue's 24 h limit, shrunk
        }
    }
    with running_pipeline(venues=venues, parsers=2) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        mark = len(p.events)
        wait_until(
            lambda: p.actor("gateio_spot.connection.0")["counters"].get("rotations", 0) >= 2,
            15,
            "two rotations",
            p,
        )
        p.pump(0.5)
        after = p.events[mark:]
        assert not any(isinstance(e, BookReset) for e in after)  # no book ever invalid
        assert_wire_order(p.events)  # and no trade, delta or ticker twice or backwards
        handler = p.actor("gateio_spot.handler")["counters"]
        assert handler.get("overlap_duplicates", 0) > 0  # both sockets really streamed
        assert p.actor("gateio_spot.connection.0")["counters"].get("session_errors", 0) == 0
        assert_books_match_truth(p, NATIVE)


def test_malformed_frames_are_counted_and_crash_nothing() -> None:
    with running_pipeline(symbols=SYMBOLS[:1], parsers=1) as p:
        p.pump_until(lambda: p.valid("BTC_USDT"), 10, "book")
        p.sim("malformed", count="5")
        wait_until(
            lambda: p.actor("gateio_spot.parser.0")["counters"].get("parse_errors", 0) >= 5,
            5,
            "parse errors counted",
            p,
        )
        mark = len(p.events)
        p.pump(1.0)
        assert len(p.events) > mark  # still flowing
        assert all(a["restarts"] == 0 for a in p.status()["actors"])
        assert "parse error" in p.output()


def test_subscribe_at_run_time_delivers_the_new_symbol_quickly() -> None:
    with running_pipeline(symbols=SYMBOLS[:1], parsers=1) as p:
        p.pump(0.5)
        asked = time.monotonic()
        p.command("subscribe", venue="gateio_spot", symbols=["SOL/USDT"])
        p.pump_until(lambda: any(e.native == "SOL_USDT" for e in p.events), 5, "SOL data")
        first_data_s = time.monotonic() - asked
        print(f"first SOL/USDT event {first_data_s * 1000:.0f} ms after subscribe")
        p.command("unsubscribe", venue="gateio_spot", symbols=["SOL/USDT"])
        p.pump(0.5)
        mark = len(p.events)
        p.pump(0.5)
        assert not any(e.native == "SOL_USDT" for e in p.events[mark:])


def test_control_rejects_bad_commands_and_keeps_serving() -> None:
    with running_pipeline(symbols=SYMBOLS[:1], parsers=1) as p:
        from actors.client import request
        from actors.control import Command

        bad = [
            Command("subscribe", venue="kraken", symbols=["BTC/USDT"]),
            Command("subscribe", venue="gateio_spot", symbols=["btc-usdt"]),
            Command("subscribe", venue="gateio_spot", symbols=["BTC/USDT"], channels=["candles"]),
            Command("explode"),
        ]
        for command in bad:
            reply = request(p.control, command)
            assert not reply.ok and reply.error, command
        assert p.status()["actors"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stop_signal_ends_everything_fast_and_leaves_nothing_behind(sig: int) -> None:
    p = Pipeline(symbols=SYMBOLS[:1], parsers=2)
    p.start()
    p.pump(0.5)
    assert p.stop(sig) == 0
    assert p.stop_seconds < 3.0, p.stop_seconds
    procs, files = p.leftovers()
    assert procs == [] and files == [], (procs, files)


def test_actors_exit_by_themselves_when_the_coordinator_is_killed() -> None:
    with running_pipeline(symbols=SYMBOLS[:1], parsers=2) as p:
        assert p.proc is not None
        p.proc.kill()  # kill -9: no chance to stop its children
        p.proc.wait()
        # They wait coordinator_grace_s (default 10 s) for a new coordinator to adopt them.
        wait_until(lambda: p.leftovers()[0] == [], 10 + 5, "every actor to exit", p)


def test_check_reports_bad_topology_with_path_and_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "venues:\n  gateio_spot:\n    symbols: [BTC/USDT, btcusdt]\n    channels: [trades]\n"
        "    publish: tcp://127.0.0.1:5999\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "actors.cli", "check", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert "venues.gateio_spot.symbols[1]: 'btcusdt' is not a symbol" in run.stderr
    check = [sys.executable, "-m", "actors.cli", "check", str(ROOT / "topology.yaml")]
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_API_SECRET"))}
    no_keys = subprocess.run(check, capture_output=True, text=True, cwd=ROOT, env=env)
    assert no_keys.returncode == 1
    assert "credentials.key: environment variable GATE_API_KEY is not set" in no_keys.stderr
    keys = {**env, "GATE_API_KEY": "k", "GATE_API_SECRET": "s"}
    keys |= {"MEXC_API_KEY": "k", "MEXC_API_SECRET": "s"}
    for extra, environ in (([], keys), (["--simulate"], env)):
        good = subprocess.run(check + extra, capture_output=True, text=True, cwd=ROOT, env=environ)
        assert good.returncode == 0, good.stderr
        assert "gateio_spot: 5 symbols x 7 channels" in good.stdout


def test_a_consumer_that_attaches_late_gets_every_live_book_at_once() -> None:
    import zmq

    from actors.messages import EVENT_DECODER

    with running_pipeline(symbols=SYMBOLS, parsers=1) as p:
        p.pump_until(lambda: all(p.valid(n) for n in NATIVE), 10, "books")
        late = p.ctx.socket(zmq.SUB)
        late.setsockopt(zmq.LINGER, 0)
        late.connect(p.publish)
        late.setsockopt(zmq.SUBSCRIBE, b"book_snapshot.gateio_spot.")
        got: set[str] = set()
        try:
            for _ in range(50):
                if late.poll(100):
                    got.add(EVENT_DECODER.decode(late.recv_multipart()[1]).native)
                if got == set(NATIVE):
                    break
        finally:
            late.close()
        assert got == set(NATIVE)  # no waiting for a resync to learn the books
