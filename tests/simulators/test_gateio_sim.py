"""The Gate.io spot simulator speaks the venue's protocol and its streams agree with its one
true market.  Real websockets and HTTP clients, on 127.0.0.1 with port 0 only; each test
starts its own simulator and stops it before returning."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from actors.simulators.gateio_spot import GateioSpotSimulator
from tests.simulators.wire import (
    apply,
    collect,
    control,
    http_get,
    pushes,
    recv,
    recv_until,
    reply,
    rows,
    run,
    send,
    sync_from_snapshot,
    ws_connect,
)

PAIRS = ["BTC_USDT", "ETH_USDT"]


def simulator(**options: Any) -> GateioSpotSimulator:
    options.setdefault("seed", 3)
    options.setdefault("tick_ms", 5)
    return GateioSpotSimulator(PAIRS, host="127.0.0.1", port=0, **options)


async def ping(ws: ClientConnection) -> None:
    """A round trip: afterwards the server surely runs this connection's handler."""
    await ws.send(orjson.dumps({"time": int(time.time()), "channel": "spot.ping"}).decode())
    assert (await reply(ws))["channel"] == "spot.pong"


async def book_stream_session(
    level_interval: str, limit: int
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], Any]:
    """Subscribe, take a ``limit``-level snapshot after the first push, run, pause, and return
    (snapshot, pushes, truth, pause response)."""
    async with simulator() as sim, ws_connect(sim) as ws:
        await send(ws, "spot.order_book_update", ["BTC_USDT", level_interval])
        assert (await reply(ws))["result"] == {"status": "success"}
        first = await recv_until(ws, lambda m: m.get("event") == "update")
        status, snapshot = await http_get(
            f"{sim.rest_url}/spot/order_book?currency_pair=BTC_USDT&limit={limit}&with_id=true"
        )
        assert status == 200
        msgs = [first, *await collect(ws, 0.6)]
        paused = await control(sim, "pause")
        final_id = paused["ids"]["BTC_USDT"]
        while (pushes(msgs, "spot.order_book_update") or [{"u": None}])[-1]["u"] != final_id:
            msgs.append(await recv(ws))  # the rest in flight, up to the push at the pause
        truth = await control(sim, "book?currency_pair=BTC_USDT")
        return snapshot, pushes(msgs, "spot.order_book_update"), truth, paused


# -- requests, acks, errors ---------------------------------------------------------------------


def test_acks_echo_the_request_and_errors_use_gate_codes() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await ws.send("{not json")
            bad = await reply(ws)
            assert bad["error"]["code"] == 1 and bad["result"] == {"status": "fail"}

            await ws.send(
                orjson.dumps(
                    {"channel": "spot.trades", "event": "subscribe", "payload": ["BTC_USDT"]}
                ).decode()
            )
            assert (await reply(ws))["error"]["code"] == 1  # no time

            await send(ws, "spot.trades", ["BTC_USDT", "GIBBERISH_USD"], id=41)
            unknown = await reply(ws)
            assert unknown["id"] == 41 and unknown["channel"] == "spot.trades"
            assert unknown["error"] == {"code": 2, "message": "unknown currency pair GIBBERISH_USD"}
            assert unknown["result"] == {"status": "fail"}

            for payload in (["BTC_USDT", "1000ms"], ["BTC_USDT", "20ms", "100"], ["BTC_USDT"]):
                await send(ws, "spot.order_book_update", payload)
                assert (await reply(ws))["error"]["code"] == 2, payload

            await send(ws, "spot.orders", ["BTC_USDT"])
            assert (await reply(ws))["error"]["code"] == 4
            await send(ws, "spot.nonsense", ["BTC_USDT"])
            assert (await reply(ws))["error"]["code"] == 2
            await ws.send(
                orjson.dumps(
                    {
                        "time": 1,
                        "channel": "spot.trades",
                        "event": "subscribe",
                        "payload": ["BTC_USDT"],
                    }
                ).decode()
            )
            assert (await reply(ws))["error"]["code"] == 2  # time far from server time

            await send(ws, "spot.book_ticker", ["BTC_USDT"], id=7)
            ack = await reply(ws)
            assert list(ack) == [
                "time",
                "time_ms",
                "id",
                "conn_id",
                "trace_id",
                "channel",
                "event",
                "payload",
                "error",
                "result",
            ]
            assert ack["id"] == 7 and ack["event"] == "subscribe" and ack["payload"] == ["BTC_USDT"]
            assert ack["error"] is None and ack["result"] == {"status": "success"}
            assert ack["time"] == ack["time_ms"] // 1000 and abs(ack["time"] - time.time()) < 5

            await send(ws, "spot.order_book_update", ["ETH_USDT", "20ms", "20"])
            assert (await reply(ws))["error"] is None

            await ws.send(
                orjson.dumps({"time": int(time.time()), "id": 9, "channel": "spot.ping"}).decode()
            )
            pong = await reply(ws)
            assert pong["channel"] == "spot.pong" and pong["event"] == "" and pong["id"] == 9
            assert pong["result"] is None and pong["error"] is None

    run(scenario())


def test_unsubscribe_removes_only_the_named_pairs() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.book_ticker", ["BTC_USDT"])
            await send(ws, "spot.book_ticker", ["ETH_USDT"])  # additive
            for _ in range(2):
                assert (await reply(ws))["error"] is None
            seen = {r["s"] for r in pushes(await collect(ws, 0.3), "spot.book_ticker")}
            assert seen == {"BTC_USDT", "ETH_USDT"}
            await send(ws, "spot.book_ticker", ["ETH_USDT"], event="unsubscribe")
            ack = await reply(ws)
            assert ack["event"] == "unsubscribe" and ack["error"] is None
            after = pushes(await collect(ws, 0.3), "spot.book_ticker")
            assert after and {r["s"] for r in after} == {"BTC_USDT"}
            await send(ws, "spot.book_ticker", ["BTC_USDT"], event="unsubscribe")
            await reply(ws)
            assert pushes(await collect(ws, 0.2), "spot.book_ticker") == []

    run(scenario())


# -- the book streams agree with the truth ------------------------------------------------------


def test_diff_stream_is_continuous_and_rebuilds_the_true_book() -> None:
    snapshot, results, truth, _ = run(book_stream_session("100ms", 100))
    assert len(results) >= 3
    for prev, cur in itertools.pairwise(results):
        assert cur["U"] == prev["u"] + 1
    push = results[-1]
    assert list(push) == ["t", "l", "e", "E", "s", "U", "u", "b", "a"]
    assert push["l"] == "100" and push["e"] == "depthUpdate" and push["s"] == "BTC_USDT"
    assert push["E"] == push["t"] // 1000
    assert set(snapshot) == {"id", "current", "update", "asks", "bids"}
    book, book_id = sync_from_snapshot(snapshot, results)
    assert book_id == truth["id"]
    assert rows(book, "b") == truth["bids"] and rows(book, "a") == truth["asks"]


def test_rate_bursts_on_named_pairs_keep_the_book_exact() -> None:
    """/_sim/rate adds top-of-book changes over the named pairs (for benchmarks): each is a
    book ticker push and a level in the diff stream, so a synced book stays the true book."""

    async def scenario() -> tuple[Any, dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.order_book_update", ["BTC_USDT", "100ms"])
            assert (await reply(ws))["error"] is None
            first = await recv_until(ws, lambda m: m.get("event") == "update")
            _, snapshot = await http_get(
                f"{sim.rest_url}/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true"
            )
            rate = await control(sim, "rate?frames_per_s=2000&currency_pair=BTC_USDT,ETH_USDT")
            msgs = [first, *await collect(ws, 0.5)]
            await control(sim, "rate?frames_per_s=0")
            final_id = (await control(sim, "pause"))["ids"]["BTC_USDT"]
            while pushes(msgs, "spot.order_book_update")[-1]["u"] != final_id:
                msgs.append(await recv(ws))
            truth = await control(sim, "book?currency_pair=BTC_USDT")
            status, _ = await http_get(f"{sim.control_url}/rate?frames_per_s=1&currency_pair=NOPE")
            assert status == 400
            return rate, snapshot, pushes(msgs, "spot.order_book_update"), truth

    rate, snapshot, results, truth = run(scenario())
    assert rate == {"frames_per_s": 2000.0, "symbols": ["BTC_USDT", "ETH_USDT"]}
    book, book_id = sync_from_snapshot(snapshot, results)
    assert book_id == truth["id"]
    assert rows(book, "b") == truth["bids"] and rows(book, "a") == truth["asks"]


def test_20ms_stream_keeps_the_true_top_20() -> None:
    """The 20ms stream carries 20 levels; its REST snapshot is limit=20 (depth is 30)."""
    snapshot, results, truth, _ = run(book_stream_session("20ms", 20))
    assert len(snapshot["bids"]) == 20
    assert len(results) >= 10 and all(r["l"] == "20" for r in results)
    book, book_id = sync_from_snapshot(snapshot, results, level=20)
    assert book_id == truth["id"]
    assert rows(book, "b") == truth["bids"][:20] and rows(book, "a") == truth["asks"][:20]


def test_book_tickers_and_trades_agree_with_the_book() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with simulator() as sim, ws_connect(sim) as ws:
            for channel, payload in (
                ("spot.book_ticker", ["BTC_USDT"]),
                ("spot.trades", ["BTC_USDT"]),
                ("spot.order_book_update", ["BTC_USDT", "100ms"]),
            ):
                await send(ws, channel, payload)
                assert (await reply(ws))["error"] is None
            first = await recv_until(ws, lambda m: m["channel"] == "spot.order_book_update")
            _, snapshot = await http_get(
                f"{sim.rest_url}/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true"
            )
            msgs = [first, *await collect(ws, 1.0)]
            final_id = (await control(sim, "pause"))["ids"]["BTC_USDT"]
            msgs += await collect(ws, 0.2)
            truth = await control(sim, "book?currency_pair=BTC_USDT")
            assert truth["id"] == final_id
            return msgs, snapshot, truth

    msgs, snapshot, truth = run(scenario())
    tickers = pushes(msgs, "spot.book_ticker")
    assert all(list(t) == ["t", "u", "s", "b", "B", "a", "A"] for t in tickers)
    assert all(b["u"] < a["u"] for b, a in itertools.pairwise(tickers))
    # Every book state the diff stream reveals has the top the latest book ticker announced.
    results = pushes(msgs, "spot.order_book_update")
    book, local, checked = None, None, 0
    base = snapshot["id"]
    for r in results:
        if book is None:
            if r["u"] < base + 1:
                continue
            book = {
                "b": dict(map(tuple, snapshot["bids"])),
                "a": dict(map(tuple, snapshot["asks"])),
            }
        apply(book, r)
        local = r["u"]
        announced = [t for t in tickers if t["u"] <= local]
        if announced:  # every top change since subscribing was announced, in order
            top = announced[-1]
            assert [top["b"], top["B"]] == rows(book, "b", 1)[0]
            assert [top["a"], top["A"]] == rows(book, "a", 1)[0]
            checked += 1
    assert checked >= 3 and local == truth["id"]
    last = tickers[-1]
    assert [[last["b"], last["B"]], [last["a"], last["A"]]] == [truth["bids"][0], truth["asks"][0]]

    # Each trade hits the top that was announced just before it, and ids run on.
    top, trades = None, 0
    prev_market_id = None
    for m in msgs:
        r = m.get("result")
        if m["channel"] == "spot.book_ticker":
            top = r
        elif m["channel"] == "spot.trades" and top is not None:
            price, size = (top["a"], top["A"]) if r["side"] == "buy" else (top["b"], top["B"])
            assert r["price"] == price and Decimal(r["amount"]) <= Decimal(size)
            assert re.fullmatch(r"\d{13}\.\d+", r["create_time_ms"])
            assert r["create_time"] == int(Decimal(r["create_time_ms"])) // 1000
            assert (
                r["range"] == f"{r['id_market']}-{r['id_market']}"
                and r["currency_pair"] == "BTC_USDT"
            )
            if prev_market_id is not None:
                assert r["id_market"] == prev_market_id + 1
            prev_market_id = r["id_market"]
            trades += 1
    assert trades >= 5


def test_gap_injection_skips_exactly_one_id() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int]:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.order_book_update", ["BTC_USDT", "100ms"])
            await reply(ws)
            msgs = [await recv_until(ws, lambda m: m.get("event") == "update")]
            gap = await control(sim, "gap?currency_pair=BTC_USDT")
            msgs += await collect(ws, 0.5)
            return pushes(msgs, "spot.order_book_update"), gap["skipped_id"]

    results, skipped = run(scenario())
    jumps = [(a, b) for a, b in itertools.pairwise(results) if b["U"] != a["u"] + 1]
    assert len(jumps) == 1
    before, after = jumps[0]
    assert before["u"] == skipped - 1 and after["U"] == skipped + 1


def test_full_push_is_the_true_book() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.order_book_update", ["BTC_USDT", "100ms"])
            await reply(ws)
            await recv_until(ws, lambda m: m.get("event") == "update")
            await control(sim, "pause")
            assert (await control(sim, "full?currency_pair=BTC_USDT"))["pushed"] == 1
            full = (await recv_until(ws, lambda m: m.get("result", {}).get("full") is True))[
                "result"
            ]
            truth = await control(sim, "book?currency_pair=BTC_USDT")
            assert list(full)[:3] == ["t", "full", "l"]
            assert full["u"] == truth["id"]
            assert full["b"] == truth["bids"] and full["a"] == truth["asks"]
            await control(sim, "resume")
            nxt = (await recv_until(ws, lambda m: m.get("event") == "update"))["result"]
            assert nxt["U"] == full["u"] + 1 and "full" not in nxt

    run(scenario())


# -- faults -------------------------------------------------------------------------------------


def test_malformed_frames_reach_every_connection() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await ping(ws)
            await control(sim, "malformed?count=3")
            truncated, garbage, missing = [await asyncio.wait_for(ws.recv(), 2) for _ in range(3)]
            assert isinstance(truncated, str)
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(truncated)
            assert isinstance(garbage, bytes)
            envelope = orjson.loads(missing)
            assert envelope["channel"] == "spot.book_ticker" and "result" not in envelope
            assert (await control(sim, "stats"))["faults"]["malformed"] == 3

    run(scenario())


def test_drop_closes_every_connection_abruptly() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as a, ws_connect(sim) as b:
            await ping(a)
            await ping(b)
            assert (await control(sim, "stats"))["connections"] == 2
            await control(sim, "drop")
            for ws in (a, b):
                with pytest.raises(ConnectionClosedError):
                    await asyncio.wait_for(ws.recv(), 2)
                assert ws.close_code == 1006
            await asyncio.sleep(0.05)
            stats = await control(sim, "stats")
            assert stats["connections"] == 0 and stats["faults"]["drop"] == 1

    run(scenario())


def test_refuse_then_accept_again() -> None:
    async def scenario() -> None:
        async with simulator() as sim:
            await control(sim, "refuse?seconds=0.3")
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(sim):
                    pass
            assert refused.value.response.status_code == 503
            await asyncio.sleep(0.35)
            async with ws_connect(sim) as ws:
                await ping(ws)

    run(scenario())


def test_stale_keeps_the_socket_open_but_silent() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.book_ticker", PAIRS)
            await reply(ws)
            await recv(ws)
            await control(sim, "stale?seconds=0.4")
            await collect(ws, 0.05)  # frames already on the wire
            assert await collect(ws, 0.25) == []
            assert pushes(await collect(ws, 0.4), "spot.book_ticker")
            assert (await control(sim, "stats"))["dropped_while_stale"] > 0

    run(scenario())


def test_rate_burst_pushes_book_tickers_at_the_asked_rate() -> None:
    async def scenario() -> None:
        async with simulator(tick_ms=1000) as sim, ws_connect(sim) as ws:
            await send(ws, "spot.book_ticker", ["BTC_USDT"])
            await reply(ws)
            await control(sim, "rate?frames_per_s=4000&currency_pair=BTC_USDT")
            got = pushes(await collect(ws, 0.5), "spot.book_ticker")
            await control(sim, "rate?frames_per_s=0")
            assert len(got) > 800
            assert all(b["u"] == a["u"] + 1 for a, b in itertools.pairwise(got))

    run(scenario())


# -- REST and the tickers channel ---------------------------------------------------------------


def test_rest_order_book_and_currency_pairs() -> None:
    async def scenario() -> None:
        async with simulator() as sim:
            status, body = await http_get(f"{sim.rest_url}/spot/order_book?currency_pair=BTC_USDT")
            assert status == 200 and "id" not in body
            assert len(body["bids"]) == 10 and len(body["asks"]) == 10
            assert Decimal(body["bids"][0][0]) < Decimal(body["asks"][0][0])
            assert body["current"] >= body["update"]
            status, body = await http_get(
                f"{sim.rest_url}/spot/order_book?currency_pair=ETH_USDT&limit=100&with_id=true"
            )
            assert status == 200 and list(body) == ["id", "current", "update", "asks", "bids"]
            await control(sim, "pause")
            _, whole = await http_get(
                f"{sim.rest_url}/spot/order_book?currency_pair=ETH_USDT&limit=100&with_id=true"
            )
            truth = await control(sim, "book?currency_pair=ETH_USDT")
            assert 10 < len(whole["bids"]) <= 30  # limit >= depth gives the whole book
            assert (whole["id"], whole["bids"], whole["asks"]) == (
                truth["id"],
                truth["bids"],
                truth["asks"],
            )
            status, body = await http_get(
                f"{sim.rest_url}/spot/order_book?currency_pair=GIBBERISH_USD"
            )
            assert status == 400 and body["label"] == "INVALID_CURRENCY_PAIR"
            status, body = await http_get(f"{sim.rest_url}/spot/order_book")
            assert status == 400 and body["label"] == "MISSING_REQUIRED_PARAM"
            status, pairs = await http_get(f"{sim.rest_url}/spot/currency_pairs")
            assert status == 200 and [p["id"] for p in pairs] == PAIRS
            btc = pairs[0]
            assert (btc["base"], btc["quote"], btc["trade_status"]) == ("BTC", "USDT", "tradable")
            assert isinstance(btc["precision"], int) and isinstance(btc["amount_precision"], int)
            status, body = await http_get(f"{sim.rest_url}/spot/nothing")
            assert status == 404

    run(scenario())


def test_tickers_channel_pushes_every_second() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.tickers", ["ETH_USDT"])
            await reply(ws)
            ticker = (await recv_until(ws, lambda m: m["channel"] == "spot.tickers", timeout=2.5))[
                "result"
            ]
            assert ticker["currency_pair"] == "ETH_USDT"
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
            assert all(isinstance(v, str) for v in ticker.values())
            assert Decimal(ticker["highest_bid"]) < Decimal(ticker["lowest_ask"])

    run(scenario())


# -- the CLI entry --------------------------------------------------------------------------------


def test_run_entry_serves_until_sigterm() -> None:
    code = "from actors.simulators.gateio_spot import run; run(['BTC_USDT'], port=0, seed=1)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"rest (http://127\.0\.0\.1:\d+/api/v4)", line)
        assert match, line
        status, body = run(
            http_get(f"{match.group(1)}/spot/order_book?currency_pair=BTC_USDT&with_id=true")
        )
        assert status == 200 and body["id"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
