"""The Gate.io futures simulator speaks the venue's v4 protocol, its book streams rebuild the
one true book, and every frame it sends parses with our own futures client.  Real
websockets and urllib clients on 127.0.0.1, port 0; each test stops its own simulator."""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal
from typing import Any

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from actors.messages import (
    Balance,
    BookDelta,
    BookTicker,
    Fill,
    Order,
    Pong,
    Position,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    Trade,
)
from actors.simulators.gateio_futures import GateioFuturesSimulator
from actors.venues.base import Subscription
from actors.venues.gateio.futures import GateioFutures
from tests.conftest import frames_dir
from tests.simulators.wire import (
    Book,
    apply,
    book_from,
    collect,
    collect_raw,
    control,
    http_get,
    pushes,
    recv_until,
    reply,
    rows,
    run,
    send,
    send_signed,
    sync_from_snapshot,
    ws_connect,
)

CONTRACTS = ["BTC_USDT", "ETH_USDT"]
KEY, SECRET = "fedcba9876543210fedcba9876543210", "futures-secret-" + "7" * 49
UID = "10001"
DECIMAL = {"X-Gate-Size-Decimal": "1"}


def simulator(**options: Any) -> GateioFuturesSimulator:
    options.setdefault("seed", 6)
    options.setdefault("tick_ms", 5)
    contracts = options.pop("contracts", CONTRACTS)
    return GateioFuturesSimulator(
        contracts, host="127.0.0.1", port=0, credentials={KEY: SECRET}, **options
    )


def as_text(levels: list[list[Any]]) -> list[list[str]]:
    return [[p, str(s)] for p, s in levels]


def is_obu(m: dict[str, Any]) -> bool:
    return m.get("channel") == "futures.obu" and "result" in m and "error" not in m


# -- requests, paths, errors ----------------------------------------------------------------------


def test_paths_ping_and_errors() -> None:
    async def scenario() -> None:
        async with simulator() as sim:
            assert sim.ws_url.endswith("/v4/ws/usdt") and sim.rest_url.endswith("/api/v4")
            wrong = sim.ws_url.replace("/usdt", "/btc")
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(type("S", (), {"ws_url": wrong})()):
                    pass
            assert refused.value.response.status_code == 404
            async with ws_connect(sim) as ws:
                ping = {"time": int(time.time()), "channel": "futures.ping"}
                await ws.send(orjson.dumps(ping).decode())
                pong = await reply(ws)
                assert pong["channel"] == "futures.pong" and pong["error"] is None
                for channel, payload in (
                    ("futures.trades", ["BTC_USDT", "BTC_USD"]),
                    ("futures.order_book_update", ["BTC_USDT", "1000ms", "100"]),
                    ("futures.order_book_update", ["BTC_USDT", "20ms", "100"]),
                    ("futures.order_book_update", ["BTC_USDT", "100ms", "10"]),
                    ("futures.obu", ["ob.BTC_USDT.100"]),
                    ("futures.obu", ["BTC_USDT"]),
                    ("futures.candlesticks", ["1m", "BTC_USDT"]),
                ):
                    await send(ws, channel, payload, id=3)
                    err = await reply(ws)
                    assert err["error"]["code"] == 2 and err["id"] == 3, (channel, payload)
                    assert err["result"] == {"status": "fail"}
                await send(ws, "futures.orders", [UID, "BTC_USDT"])
                assert (await reply(ws))["error"]["code"] == 4
                await send_signed(ws, "futures.orders", ["99", "BTC_USDT"], KEY, SECRET)
                wrong_user = await reply(ws)
                assert wrong_user["error"]["code"] == 2  # the payload names another user
                await send_signed(ws, "futures.balances", [UID], KEY, "not-the-secret")
                assert (await reply(ws))["error"]["code"] == 4
                stats = await control(sim, "stats")
                assert stats["auth_failures"] == 2

    run(scenario())


# -- book streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("interval", "level"), [("100ms", 100), ("20ms", 20)])
def test_order_book_update_rebuilds_the_true_book(interval: str, level: int) -> None:
    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "futures.order_book_update", ["BTC_USDT", interval, str(level)])
            assert (await reply(ws))["error"] is None
            first = await recv_until(ws, lambda m: m.get("event") == "update")
            status, snapshot = await http_get(
                f"{sim.rest_url}/futures/usdt/order_book?contract=BTC_USDT&limit={level}"
                "&with_id=true"
            )
            assert status == 200
            msgs = [first, *await collect(ws, 0.5)]
            final = (await control(sim, "pause"))["ids"]["BTC_USDT"]
            while pushes(msgs, "futures.order_book_update")[-1]["u"] != final:
                msgs.append(orjson.loads(await asyncio.wait_for(ws.recv(), 2)))
            truth = await control(sim, "contract=BTC_USDT".join(("book?", "")))
            return snapshot, pushes(msgs, "futures.order_book_update"), truth

    snapshot, results, truth = run(scenario())
    assert list(snapshot) == ["id", "current", "update", "asks", "bids"]
    assert isinstance(snapshot["current"], float) and snapshot["current"] < 1e11  # seconds
    assert all(isinstance(lv["s"], int) and isinstance(lv["p"], str) for lv in snapshot["bids"])
    push = results[-1]
    assert list(push) == ["t", "s", "U", "u", "b", "a", "l"] and push["l"] == str(level)
    assert len(results) >= 4
    for prev, cur in itertools.pairwise(results):
        assert cur["U"] == prev["u"] + 1
    book, book_id = sync_from_snapshot(snapshot, results, level=level)
    assert book_id == truth["id"]
    assert as_text(rows(book, "b")) == truth["bids"][:level]
    assert as_text(rows(book, "a")) == truth["asks"][:level]


def test_full_push_on_demand() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "futures.order_book_update", ["ETH_USDT", "100ms", "100"])
            await reply(ws)
            await control(sim, "pause")
            assert (await control(sim, "full?contract=ETH_USDT"))["pushed"] == 1
            full = await recv_until(ws, lambda m: m.get("result", {}).get("full") is True)
            truth = await control(sim, "book?contract=ETH_USDT")
            result = full["result"]
            assert list(result)[:2] == ["t", "full"] and result["u"] == truth["id"]
            assert as_text(rows(book_from(result["b"], result["a"]), "b")) == truth["bids"]

    run(scenario())


async def obu_session(
    sim: GateioFuturesSimulator, ws: Any, full: dict[str, Any]
) -> tuple[Book, int]:
    """Follow ob.BTC_USDT.50 by the documented obu rules from its first ``full`` push until
    the market pauses; a gap means unsubscribe and subscribe again.  Returns the book and
    its id."""
    book: Book | None = book_from(full["b"], full["a"])
    local = full["u"]
    paused: int | None = None
    gaps = 0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
        if not is_obu(msg):
            continue
        assert set(msg) == {"channel", "result", "time_ms"}  # obu's bare envelope
        r = msg["result"]
        assert r["s"] == "ob.BTC_USDT.50"
        if r.get("full"):
            assert "U" not in r
            book, local = book_from(r["b"], r["a"]), r["u"]
        elif book is None:
            continue  # increments before our (re)subscription's full push
        elif r["U"] == local + 1:
            apply(book, r)
            local = r["u"]
        else:  # lost updates: unsubscribe and subscribe again for a new full push
            gaps += 1
            book = None
            await send(ws, "futures.obu", ["ob.BTC_USDT.50"], event="unsubscribe")
            await send(ws, "futures.obu", ["ob.BTC_USDT.50"])
        if gaps and book is not None and paused is None:
            paused = (await control(sim, "pause"))["ids"]["BTC_USDT"]
        if paused is not None and local == paused:
            return book, local
    raise AssertionError("obu never caught up with the paused market")


def test_obu_full_first_then_increments_and_resubscribe_after_a_gap() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws, ws_connect(sim) as late:
            await send(ws, "futures.obu", ["ob.BTC_USDT.50"])
            assert (await reply(ws))["error"] is None
            first = await recv_until(ws, is_obu)
            assert first["result"]["full"] is True and "U" not in first["result"]
            await send(ws, "futures.obu", ["ob.BTC_USDT.50"], id=5)
            dup = await reply(ws)
            assert dup["error"] == {"code": 2, "message": "Alert sub ob.BTC_USDT.50"}
            assert dup["result"] == {"status": "fail"} and dup["id"] == 5

            await asyncio.sleep(0.2)  # a second subscriber joins a running stream
            await send(late, "futures.obu", ["ob.BTC_USDT.50"])
            await reply(late)
            late_full = (await recv_until(late, is_obu))["result"]
            assert late_full["full"] is True
            nxt = (await recv_until(late, is_obu))["result"]
            assert nxt["U"] == late_full["u"] + 1  # the shared stream went on right after it

            gap = await control(sim, "gap?contract=BTC_USDT")
            assert gap["skipped_id"] > 0
            book, book_id = await obu_session(sim, ws, first["result"])
            truth = await control(sim, "book?contract=BTC_USDT")
            assert book_id == truth["id"]
            assert rows(book, "b") == truth["bids"] and rows(book, "a") == truth["asks"]
            assert all(isinstance(s, str) for s in book["b"].values())  # obu sizes: strings

    run(scenario())


# -- sizes, tickers, trades, contracts ------------------------------------------------------------


def test_decimal_size_header_switches_ints_to_strings() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with (
            simulator() as sim,
            ws_connect(sim) as plain,
            ws_connect(sim, DECIMAL) as decimal,
        ):
            for ws in (plain, decimal):
                for channel, payload in (
                    ("futures.book_ticker", ["BTC_USDT"]),
                    ("futures.trades", ["BTC_USDT"]),
                    ("futures.order_book_update", ["BTC_USDT", "20ms", "20"]),
                ):
                    await send(ws, channel, payload)
                    assert (await reply(ws))["error"] is None
            a, b = await asyncio.gather(collect(plain, 0.4), collect(decimal, 0.4))
            url = f"{sim.rest_url}/futures/usdt/order_book?contract=BTC_USDT&limit=5"
            (_, ints), (_, strs) = await http_get(url), await http_get(url, DECIMAL)
            assert {type(lv["s"]) for lv in ints["asks"] + ints["bids"]} == {int}
            assert {type(lv["s"]) for lv in strs["asks"] + strs["bids"]} == {str}
            return a, b

    plain, decimal = run(scenario())
    for msgs, kind in ((plain, int), (decimal, str)):
        tickers = pushes(msgs, "futures.book_ticker")
        trades = [t for r in pushes(msgs, "futures.trades") for t in r]
        levels = [lv for r in pushes(msgs, "futures.order_book_update") for lv in r["b"] + r["a"]]
        assert tickers and trades and levels
        assert {type(t["B"]) for t in tickers} == {type(t["A"]) for t in tickers} == {kind}
        assert {type(t["size"]) for t in trades} == {type(lv["s"]) for lv in levels} == {kind}
    # The same pushes, only the size type differs.
    by_u = {t["u"]: t for t in pushes(decimal, "futures.book_ticker")}
    same = [t for t in pushes(plain, "futures.book_ticker") if t["u"] in by_u]
    assert same and all(str(t["B"]) == by_u[t["u"]]["B"] for t in same)


def test_trades_and_book_ticker_agree_with_the_book() -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "futures.book_ticker", ["ETH_USDT"])
            await send(ws, "futures.trades", ["ETH_USDT"])
            for _ in range(2):
                await reply(ws)
            return await collect(ws, 0.6)

    msgs = run(scenario())
    top, checked = None, 0
    for m in msgs:
        if m["channel"] == "futures.book_ticker":
            top = m["result"]
            assert list(top) == ["t", "u", "s", "b", "B", "a", "A"]
            assert Decimal(top["b"]) < Decimal(top["a"])
        elif m["channel"] == "futures.trades" and top is not None:
            (trade,) = m["result"]
            assert trade["contract"] == "ETH_USDT" and trade["is_internal"] is False
            assert trade["create_time"] == trade["create_time_ms"] // 1000
            price, size = (top["a"], top["A"]) if trade["size"] > 0 else (top["b"], top["B"])
            assert trade["price"] == price and abs(trade["size"]) <= size
            checked += 1
    assert checked >= 5


def test_contracts_and_tickers() -> None:
    recorded_text = (frames_dir("gateio") / "cryptofeed_GATEIO_FUTURES.0").read_text()
    recorded = orjson.loads(recorded_text[recorded_text.index(": [") + 2 :].splitlines()[0])
    real_keys = set(next(c for c in recorded if c["name"] == "BTC_USDT"))

    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            status, contracts = await http_get(f"{sim.rest_url}/futures/usdt/contracts")
            assert status == 200 and [c["name"] for c in contracts] == CONTRACTS
            btc, eth = contracts
            assert real_keys <= set(btc)  # every field of the recorded list
            assert (btc["quanto_multiplier"], eth["quanto_multiplier"]) == ("0.0001", "0.01")
            assert (btc["order_price_round"], eth["order_price_round"]) == ("0.1", "0.01")
            assert btc["type"] == "direct" and isinstance(btc["mark_price"], str)
            parsed = GateioFutures().parse_contracts(orjson.dumps(contracts))
            assert parsed == {"BTC_USDT": 0.0001, "ETH_USDT": 0.01}
            _, one = await http_get(f"{sim.rest_url}/futures/usdt/contracts/ETH_USDT")
            assert one["name"] == "ETH_USDT"
            status, _ = await http_get(f"{sim.rest_url}/futures/usdt/contracts/NOPE_USDT")
            assert status == 400

            await send(ws, "futures.tickers", CONTRACTS)
            await reply(ws)
            msg = await recv_until(ws, lambda m: m["channel"] == "futures.tickers", timeout=2.5)
            (ticker,) = msg["result"]
            for name in (
                "contract",
                "last",
                "mark_price",
                "index_price",
                "funding_rate",
                "volume_24h",
                "volume_24h_base",
                "volume_24h_quote",
                "volume_24h_settle",
                "change_percentage",
                "high_24h",
                "low_24h",
                "total_size",
            ):
                assert isinstance(ticker[name], str), name
            volume = Decimal(ticker["volume_24h"])
            multiplier = Decimal(
                btc["quanto_multiplier"] if ticker["contract"] == "BTC_USDT" else "0.01"
            )
            assert Decimal(ticker["volume_24h_base"]) == volume * multiplier

    run(scenario())


def test_btc_settled_inverse_contracts() -> None:
    async def scenario() -> None:
        async with simulator(settle="btc", contracts=["BTC_USD"]) as sim:
            assert sim.ws_url.endswith("/v4/ws/btc")
            _, (contract,) = await http_get(f"{sim.rest_url}/futures/btc/contracts")
            assert contract["type"] == "inverse" and contract["quanto_multiplier"] == "0"
            client = GateioFutures({"settle": "btc"})
            assert client.parse_contracts(orjson.dumps([contract])) == {"BTC_USD": 0.0}
            placed = await control(sim, "order?contract=BTC_USD&size=2000&price=0")
            assert placed["finish_as"] == "filled"
            account = await control(sim, "account")
            (position,) = account["positions"]
            assert position["size"] == 2000 and Decimal(position["margin"]) > 0
            assert "BTC" in account["balances"]
            with pytest.raises(ValueError):
                GateioFuturesSimulator(["BTC_USDT"], settle="btc")

    run(scenario())


# -- the account ----------------------------------------------------------------------------------


def test_private_streams_agree_with_the_account() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
        async with simulator() as sim, ws_connect(sim) as ws:
            for channel, payload in (
                ("futures.orders", [UID, "!all"]),
                ("futures.usertrades", [UID, "BTC_USDT"]),
                ("futures.positions", [UID, "BTC_USDT"]),
                ("futures.balances", [UID]),
            ):
                await send_signed(ws, channel, payload, KEY, SECRET)
                assert (await reply(ws))["error"] is None
            replies = [
                await control(sim, "order?contract=BTC_USDT&size=50&price=0"),
                await control(sim, "order?contract=BTC_USDT&size=-20&price=0&reduce_only=true"),
                await control(sim, "order?contract=ETH_USDT&size=-3&price=0"),
            ]
            msgs = await collect(ws, 0.3)
            return msgs, await control(sim, "account"), replies

    msgs, account, replies = run(scenario())
    assert all(r["finish_as"] == "filled" for r in replies)
    orders = [o for r in pushes(msgs, "futures.orders") for o in r]
    assert {o["contract"] for o in orders} == {"BTC_USDT", "ETH_USDT"}
    finals = [o for o in orders if o["status"] == "finished"]
    assert [(o["size"], o["left"], o["finish_as"]) for o in finals] == [
        (50, 0, "filled"),
        (-20, 0, "filled"),
        (-3, 0, "filled"),
    ]
    assert [o["finish_as"] for o in orders if o["status"] == "open"] == ["_new"] * 3
    assert finals[1]["is_reduce_only"] is True and finals[0]["tif"] == "ioc"
    fills = [f for r in pushes(msgs, "futures.usertrades") for f in r]
    assert {f["contract"] for f in fills} == {"BTC_USDT"}  # ETH fills: not subscribed
    assert sum(f["size"] for f in fills) == 30 and all(f["role"] == "taker" for f in fills)
    positions = [p for r in pushes(msgs, "futures.positions") for p in r]
    assert {p["contract"] for p in positions} == {"BTC_USDT"}
    (truth,) = [p for p in account["positions"] if p["contract"] == "BTC_USDT"]
    last = positions[-1]
    assert last["size"] == truth["size"] == 30 and last["update_id"] == truth["update_id"]
    assert last["entry_price"] == pytest.approx(float(truth["entry_price"]))
    assert last["margin"] == pytest.approx(float(truth["margin"]))
    assert last["realised_pnl"] == pytest.approx(float(truth["realised_pnl"]))
    balances = [b for r in pushes(msgs, "futures.balances") for b in r]
    assert balances[-1]["balance"] == pytest.approx(float(account["balances"]["USDT"]["total"]))
    assert {b["type"] for b in balances} == {"fee", "pnl"} and balances[0]["currency"] == "usdt"
    start = balances[0]["balance"] - balances[0]["change"]
    assert start + sum(b["change"] for b in balances) == pytest.approx(balances[-1]["balance"])


# -- interop: our futures client parses everything ----------------------------------------------


async def client_session(
    sim: GateioFuturesSimulator, client: GateioFutures, public: list[str], private: list[str]
) -> list[str | bytes]:
    async with ws_connect(sim, client.handshake_headers()) as ws:
        channels = ["book_ticker", "trades", "tickers", "order_book"]
        subs = [Subscription(c, s) for c in channels for s in public]
        channels = ["orders", "positions", "balances", "fills"]
        subs += [Subscription(c, s) for c in channels for s in private]
        for message in client.subscribe_messages(subs, now_s=int(time.time())):
            await ws.send(message)
        await ws.send(client.ping_message(now_s=int(time.time())) or "")
        await send_signed(ws, "futures.balances", [UID], KEY, "wrong")  # an error frame
        frames = await collect_raw(ws, 0.3)
        await control(sim, "order?contract=BTC_USDT&size=40&price=0")
        book = await control(sim, "book?contract=ETH_USDT")
        below = Decimal(book["bids"][-1][0]) - 1
        rest = await control(sim, f"order?contract=ETH_USDT&size=7&price={below}")
        await control(sim, "order?contract=BTC_USDT&size=-15&price=0")
        await control(sim, f"cancel?order_id={rest['order_id']}")
        await control(sim, "full?contract=BTC_USDT")
        frames += await collect_raw(ws, 1.0)  # long enough for a tickers push
        return frames


def test_every_frame_parses_with_our_futures_client() -> None:
    """Frames from the update-mode (decimal sizes), obu-mode and integer-size connections
    all go through GateioFutures.parse_frame with no FrameError, and carry every kind."""

    async def scenario() -> dict[str, tuple[GateioFutures, list[str | bytes]]]:
        async with simulator() as sim:
            clients = {
                "update": GateioFutures({"user_id": UID}, credentials=(KEY, SECRET)),
                "obu": GateioFutures(
                    {"user_id": UID, "book_mode": "obu", "book_interval": "20ms"},
                    credentials=(KEY, SECRET),
                ),
                "ints": GateioFutures(
                    {"user_id": UID, "size_decimal": False}, credentials=(KEY, SECRET)
                ),
            }
            both = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
            symbols = {  # (public, private) symbols
                "update": (both, both),
                "obu": (["BTC/USDT:USDT"], ["!all"]),
                "ints": (["BTC/USDT:USDT"], ["!all"]),
            }
            sessions = [client_session(sim, clients[n], *symbols[n]) for n in clients]
            results = []
            for session in sessions:  # one at a time: each places its own orders
                results.append(await session)
            snapshot_request = clients["update"].snapshot_request("BTC/USDT:USDT")
            query = "&".join(f"{k}={v}" for k, v in snapshot_request.params.items())
            _, body = await http_get(
                f"{sim.rest_url}{snapshot_request.path}?{query}", snapshot_request.headers
            )
            snapshot = clients["update"].parse_snapshot(orjson.dumps(body), "BTC/USDT:USDT", 0)
            assert snapshot.seq > 0 and snapshot.bids and snapshot.asks
            return {
                name: (clients[name], frames) for name, frames in zip(clients, results, strict=True)
            }

    sessions = run(scenario(), timeout=15)
    for name, (client, frames) in sessions.items():
        events = [e for f in frames for e in client.parse_frame(f, 0)]  # no FrameError
        kinds = {type(e) for e in events}
        wanted = {SubscriptionAck, SubscriptionError, Pong, BookDelta, Order, Position, Balance}
        if name != "obu":
            wanted |= {BookTicker, Trade, Ticker, Fill}
        assert wanted <= kinds, (name, wanted - kinds)
        deltas = [e for e in events if isinstance(e, BookDelta)]
        assert any(d.full for d in deltas)
        errors = [e for e in events if isinstance(e, SubscriptionError)]
        assert [e.code for e in errors] == [4]
        orders = [e for e in events if isinstance(e, Order)]
        assert {"filled", "cancelled", "open"} <= {o.status for o in orders}
