"""The Gate.io spot simulator serves ``spot.obu`` (order book v2) as the docs describe it: a
full push first, continuous increments, one subscription per stream per connection, a gap
repaired by subscribing again; the obu book equals the true book; and every frame it sends
parses with our own spot client in obu mode.  Real websockets clients on 127.0.0.1, port 0;
each test stops its own simulator."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from actors.messages import BookDelta, Pong, SubscriptionAck, SubscriptionError
from actors.simulators.gateio_spot import GateioSpotSimulator
from actors.venues.base import Subscription
from actors.venues.gateio.spot import GateioSpot
from tests.simulators.wire import (
    Book,
    apply,
    book_from,
    collect_raw,
    control,
    recv_until,
    reply,
    rows,
    run,
    send,
    ws_connect,
)

PAIRS = ["BTC_USDT", "ETH_USDT"]


def simulator(**options: Any) -> GateioSpotSimulator:
    options.setdefault("seed", 4)
    options.setdefault("tick_ms", 5)
    return GateioSpotSimulator(PAIRS, host="127.0.0.1", port=0, **options)


def is_obu(m: dict[str, Any]) -> bool:
    return m.get("channel") == "spot.obu" and "result" in m and "error" not in m


# -- requests and errors --------------------------------------------------------------------------


def test_obu_requests_and_errors() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            for payload, message in (
                (["ob.BTC_USDT.100"], "invalid stream ob.BTC_USDT.100"),
                (["BTC_USDT"], "expected ob.<currency_pair>.<50|400>"),
                (["ob.GIBBERISH_USD.50"], "unknown currency pair GIBBERISH_USD"),
                ([], 'payload must be ["ob.<currency_pair>.<50|400>"]'),
                (["ob.BTC_USDT.50", "ob.BTC_USDT.50"], "Alert sub ob.BTC_USDT.50"),
            ):
                await send(ws, "spot.obu", payload, id=3)
                err = await reply(ws)
                assert err["error"]["code"] == 2 and err["id"] == 3, payload
                assert message in err["error"]["message"], payload
                assert err["result"] == {"status": "fail"}
            assert (await control(sim, "stats"))["subscriptions"] == {}  # all or nothing

            await send(ws, "spot.obu", ["ob.BTC_USDT.50"], id=4)
            ack = await reply(ws)
            assert ack["error"] is None and ack["result"] == {"status": "success"}
            assert ack["payload"] == ["ob.BTC_USDT.50"] and ack["event"] == "subscribe"
            first = await recv_until(ws, is_obu)  # right after the ack
            assert set(first) == {"channel", "result", "time_ms"}  # obu's bare envelope
            result = first["result"]
            assert list(result) == ["t", "full", "s", "u", "b", "a"] and "U" not in result
            assert result["full"] is True and result["s"] == "ob.BTC_USDT.50"

            # the docs' duplicate: error 2 "Alert sub <stream>", result fail, id echoed
            await send(ws, "spot.obu", ["ob.BTC_USDT.50"], id=5)
            dup = await reply(ws)
            assert dup["error"] == {"code": 2, "message": "Alert sub ob.BTC_USDT.50"}
            assert dup["result"] == {"status": "fail"} and dup["id"] == 5
            assert dup["channel"] == "spot.obu" and dup["event"] == "subscribe"

            # the other depth of the same pair is another stream: allowed
            await send(ws, "spot.obu", ["ob.BTC_USDT.400"])
            assert (await reply(ws))["error"] is None
            stats = await control(sim, "stats")
            assert stats["subscriptions"] == {"spot.obu": 2}
            await send(ws, "spot.obu", ["ob.BTC_USDT.50", "ob.BTC_USDT.400"], event="unsubscribe")
            assert (await reply(ws))["error"] is None
            assert (await control(sim, "stats"))["subscriptions"] == {}

    run(scenario())


# -- the book -------------------------------------------------------------------------------------


async def obu_session(
    sim: GateioSpotSimulator, ws: ClientConnection, stream: str, full: dict[str, Any]
) -> tuple[Book, int, int]:
    """Follow ``stream`` by the documented obu rules from its first ``full`` push until the
    market pauses; a gap means unsubscribe and subscribe again.  Pauses once a gap has been
    repaired.  Returns the book, its id and how many gaps were seen."""
    book: Book | None = book_from(full["b"], full["a"])
    local = full["u"]
    paused: int | None = None
    gaps = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
        if not is_obu(msg):
            continue
        assert set(msg) == {"channel", "result", "time_ms"}
        r = msg["result"]
        assert r["s"] == stream
        if r.get("full"):
            assert "U" not in r
            book, local = book_from(r["b"], r["a"]), r["u"]
        elif book is None:
            continue  # increments before our (re)subscription's full push
        elif r["U"] == local + 1:
            apply(book, r)
            local = r["u"]
        else:  # lost updates: unsubscribe and subscribe again for a new full push
            assert r["U"] > local + 1
            gaps += 1
            book = None
            await send(ws, "spot.obu", [stream], event="unsubscribe")
            await send(ws, "spot.obu", [stream])
        if gaps and book is not None and paused is None:
            paused = (await control(sim, "pause"))["ids"]["BTC_USDT"]
        if paused is not None and local == paused:
            assert book is not None
            return book, local, gaps
    raise AssertionError("obu never caught up with the paused market")


@pytest.mark.parametrize("depth", ["50", "400"])
def test_obu_rebuilds_the_true_book_across_a_gap(depth: str) -> None:
    """Full first; a second subscriber's stream goes on right after its full push; a gap
    (``/_sim/gap``) makes U skip; a resubscription's full push repairs it; after
    ``/_sim/pause`` the obu book equals ``/_sim/book``."""
    stream = f"ob.BTC_USDT.{depth}"

    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws, ws_connect(sim) as late:
            await send(ws, "spot.obu", [stream])
            assert (await reply(ws))["error"] is None
            first = (await recv_until(ws, is_obu))["result"]
            assert first["full"] is True and "U" not in first

            await asyncio.sleep(0.25)  # a second subscriber joins a running stream
            await send(late, "spot.obu", [stream])
            await reply(late)
            late_full = (await recv_until(late, is_obu))["result"]
            assert late_full["full"] is True
            nxt = (await recv_until(late, is_obu))["result"]
            assert nxt["U"] == late_full["u"] + 1  # the shared stream went on right after it

            gap = await control(sim, "gap?currency_pair=BTC_USDT")
            assert gap["skipped_id"] > 0
            book, book_id, gaps = await obu_session(sim, ws, stream, first)
            assert gaps == 1
            truth = await control(sim, "book?currency_pair=BTC_USDT")
            assert book_id == truth["id"]
            assert rows(book, "b") == truth["bids"] and rows(book, "a") == truth["asks"]
            assert all(isinstance(a, str) for a in book["b"].values())  # strings, as the docs

    run(scenario())


def test_full_push_on_demand_replaces_the_book() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.obu", ["ob.ETH_USDT.400"])
            await reply(ws)
            await recv_until(ws, is_obu)  # the subscription's own full push
            await control(sim, "pause")
            assert (await control(sim, "full?currency_pair=ETH_USDT"))["pushed"] == 1
            full = await recv_until(ws, lambda m: is_obu(m) and m["result"].get("full") is True)
            truth = await control(sim, "book?currency_pair=ETH_USDT")
            result = full["result"]
            assert "U" not in result and result["u"] == truth["id"]
            book = book_from(result["b"], result["a"])
            assert rows(book, "b") == truth["bids"] and rows(book, "a") == truth["asks"]

    run(scenario())


# -- interop: our spot client in obu mode parses everything ---------------------------------------


@pytest.mark.parametrize("interval", ["100ms", "20ms"])
def test_every_obu_frame_parses_with_our_spot_client(interval: str) -> None:
    """Subscribe with GateioSpot(book_mode obu)'s own requests, then duplicate, gap,
    resubscribe, force a full push, ping and unsubscribe: every frame the simulator sends
    parses with no FrameError."""
    client = GateioSpot({"book_mode": "obu", "book_interval": interval})
    subs = [Subscription("order_book", "BTC/USDT"), Subscription("order_book", "ETH/USDT")]

    async def scenario() -> list[str | bytes]:
        async with simulator() as sim, ws_connect(sim) as ws:
            for message in client.subscribe_messages(subs, now_s=int(time.time())):
                await ws.send(message)
            frames = await collect_raw(ws, 0.3)
            for message in client.subscribe_messages(subs[:1], now_s=int(time.time())):
                await ws.send(message)  # a duplicate: error 2
            await control(sim, "gap?currency_pair=BTC_USDT")
            frames += await collect_raw(ws, 0.3)
            now = int(time.time())
            for message in client.unsubscribe_messages(subs[:1], now_s=now):
                await ws.send(message)
            for message in client.subscribe_messages(subs[:1], now_s=now):
                await ws.send(message)
            await control(sim, "full?currency_pair=ETH_USDT")
            await ws.send(client.ping_message(now_s=int(time.time())) or "")
            frames += await collect_raw(ws, 0.3)
            for message in client.unsubscribe_messages(subs, now_s=int(time.time())):
                await ws.send(message)
            frames += await collect_raw(ws, 0.2)
            return frames

    frames = run(scenario())
    events = [e for f in frames for e in client.parse_frame(f, 0)]  # no FrameError
    kinds = {type(e) for e in events}
    assert {SubscriptionAck, SubscriptionError, Pong, BookDelta} <= kinds
    errors = [e for e in events if isinstance(e, SubscriptionError)]
    depth = client.book_depth
    assert [(e.code, e.message) for e in errors] == [(2, f"Alert sub ob.BTC_USDT.{depth}")]
    deltas = [e for e in events if isinstance(e, BookDelta)]
    by_symbol = {s: [d for d in deltas if d.symbol == s] for s in ("BTC/USDT", "ETH/USDT")}
    for symbol, mine in by_symbol.items():
        assert mine and mine[0].full, symbol  # each stream starts with its full push
    btc_full = [d for d in by_symbol["BTC/USDT"] if d.full]
    eth_full = [d for d in by_symbol["ETH/USDT"] if d.full]
    assert len(btc_full) == 2 and len(eth_full) == 2  # resubscribed / forced
    gaps = [
        cur.first_seq - prev.seq
        for prev, cur in itertools.pairwise(by_symbol["BTC/USDT"])
        if not cur.full and cur.first_seq != prev.seq + 1
    ]
    assert gaps == [2]  # exactly the one id /_sim/gap skipped
    acks = [e for e in events if isinstance(e, SubscriptionAck)]
    assert [a.event for a in acks].count("unsubscribe") == 3  # BTC once, then both
