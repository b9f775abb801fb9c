"""The MEXC futures simulator speaks the venue's contract protocol (JSON at /edge, signed
login, personal pushes, REST depth and contract detail), its depth chain rebuilds its one
true book, and every frame it sends parses with our own client.  Real websockets and urllib
clients on 127.0.0.1, port 0; each test stops its own simulator."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import time
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from actors.messages import (
    Balance,
    BookDelta,
    Fill,
    Order,
    Position,
    SubscriptionAck,
    SubscriptionError,
)
from actors.simulators.mexc_futures import MexcFuturesSimulator
from actors.venues.base import FrameError, Subscription
from actors.venues.mexc.futures import MexcFutures
from tests.simulators.wire import collect, collect_raw, control, http_get, run, ws_connect

CONTRACTS = ["BTC_USDT", "ETH_USDT"]
KEY, SECRET = "mx0vglFUTURESKEY1", "not-the-real-secret-" + "5" * 24


def simulator(**options: Any) -> MexcFuturesSimulator:
    options.setdefault("seed", 7)
    options.setdefault("tick_ms", 5)
    return MexcFuturesSimulator(
        CONTRACTS, host="127.0.0.1", port=0, credentials={KEY: SECRET}, **options
    )


async def send(ws: ClientConnection, method: str, param: Any = None, **extra: Any) -> None:
    body: dict[str, Any] = {"method": method}
    if param is not None:
        body["param"] = param
    await ws.send(orjson.dumps(body | extra).decode())


async def reply(ws: ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    """The next rs.* or pong frame, skipping pushes."""

    async def loop() -> dict[str, Any]:
        while True:
            msg = orjson.loads(await ws.recv())
            if not msg["channel"].startswith("push."):
                return msg

    return await asyncio.wait_for(loop(), timeout)


def hand_login(key: str = KEY, secret: str = SECRET, req_time: int | None = None) -> dict:
    """The documented login: hex HMAC-SHA256(secret, apiKey + reqTime), computed here."""
    stamp = str(int(time.time() * 1000) if req_time is None else req_time)
    sig = hmac.new(secret.encode(), (key + stamp).encode(), hashlib.sha256).hexdigest()
    return {"apiKey": key, "reqTime": stamp, "signature": sig}


def data(msgs: list[dict[str, Any]], channel: str) -> list[Any]:
    return [m["data"] for m in msgs if m["channel"] == channel]


def levels(rows: list[list[Any]]) -> dict[str, str]:
    """``[[price, vol, count]]`` (JSON numbers) -> price text -> vol text, canonical."""
    return {_canon(p): _canon(v) for p, v, *_ in rows}


def _canon(value: Any) -> str:
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def apply(book: dict[str, dict[str, str]], push: dict[str, Any]) -> None:
    for side in ("bids", "asks"):
        for price, vol in levels(push[side]).items():
            if Decimal(vol) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = vol


def ordered(side: dict[str, str], bids: bool) -> list[list[str]]:
    return [list(kv) for kv in sorted(side.items(), key=lambda kv: Decimal(kv[0]), reverse=bids)]


# -- requests, acks, errors ---------------------------------------------------------------------


def test_acks_errors_and_pong_take_the_venue_shapes() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "sub.depth", {"symbol": "BTC_USDT", "compress": False}, gzip=False)
            ok = await reply(ws)
            assert list(ok) == ["channel", "data", "ts"] and ok["channel"] == "rs.sub.depth"
            assert ok["data"] == "success" and abs(ok["ts"] - time.time() * 1000) < 5000
            await send(ws, "sub.deal", {"symbol": "NOPE_USDT"})
            error = await reply(ws)
            assert (error["channel"], error["data"]) == ("rs.error", "Contract doesn't exist!")
            await send(ws, "ping")
            pong = await reply(ws)
            assert pong["channel"] == "pong" and isinstance(pong["data"], int)
            for method, param in (
                ("sub.kline", {"symbol": "BTC_USDT", "interval": "Min1"}),
                ("sub.depth.full", {"symbol": "BTC_USDT", "limit": 7}),
                ("sub.ticker", {}),
                ("whatever", None),
            ):
                await send(ws, method, param)
                refused = await reply(ws)
                assert refused["channel"] == "rs.error", (method, refused)
            await ws.send("{not json")
            assert (await reply(ws))["channel"] == "rs.error"
            await send(ws, "sub.depth.full", {"symbol": "ETH_USDT", "limit": 5})
            assert (await reply(ws))["channel"] == "rs.sub.depth.full"
            await send(ws, "usub.depth.full", {"symbol": "ETH_USDT"})  # as the docs spell it
            assert (await reply(ws))["channel"] == "rs.usub.depth.full"
            await send(ws, "unsub.depth", {"symbol": "BTC_USDT"})
            assert (await reply(ws))["data"] == "success"
            await collect(ws, 0.05)
            assert data(await collect(ws, 0.2), "push.depth") == []
            assert (await control(sim, "stats"))["subscriptions"] == {}

    run(scenario())


def test_connection_without_ping_is_closed() -> None:
    async def scenario() -> None:
        async with simulator(ping_timeout_s=0.4) as sim, ws_connect(sim) as quiet:
            async with ws_connect(sim) as pinging:
                start = time.monotonic()
                await send(quiet, "sub.deal", {"symbol": "BTC_USDT"})  # not a ping
                try:
                    while True:
                        await send(pinging, "ping")
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(quiet.recv(), 0.1)
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.reason == "no ping"
                assert 0.4 <= time.monotonic() - start < 0.7
                await send(pinging, "ping")
                assert (await reply(pinging))["channel"] == "pong"  # still open
            assert (await control(sim, "stats"))["closes"] == {"no ping": 1}

    run(scenario())


# -- depth, deals, tickers ----------------------------------------------------------------------


def test_depth_version_chain_rebuilds_the_true_book() -> None:
    """compress false: one push per version, each the previous + 1; compress true: merged
    pushes whose begin is the previous end + 1.  Both rebuild the book from the REST
    snapshot (the docs' procedure) and end at the truth."""

    async def scenario() -> tuple[dict, list[dict], dict, int]:
        async with simulator() as sim, ws_connect(sim) as raw, ws_connect(sim) as merged:
            await send(raw, "sub.depth", {"symbol": "BTC_USDT", "compress": False})
            await send(merged, "sub.depth", {"symbol": "BTC_USDT"})  # compress by default
            assert (await reply(raw))["data"] == (await reply(merged))["data"] == "success"
            await asyncio.sleep(0.05)
            status, snapshot = await http_get(f"{sim.rest_url}/api/v1/contract/depth/BTC_USDT")
            assert status == 200 and snapshot["success"] is True and snapshot["code"] == 0
            raw_msgs = await collect(raw, 0.5)
            version = (await control(sim, "pause"))["versions"]["BTC_USDT"]
            raw_msgs += await collect(raw, 0.1)
            merged_msgs = await collect(merged, 0.05)
            truth = await control(sim, "book?symbol=BTC_USDT")
            assert truth["version"] == version
            return snapshot["data"], [raw_msgs, merged_msgs], truth, version

    snapshot, (raw_msgs, merged_msgs), truth, version = run(scenario())
    assert set(snapshot) == {"asks", "bids", "version", "timestamp"}
    for name, msgs in (("raw", raw_msgs), ("merged", merged_msgs)):
        pushes = [m for m in msgs if m["channel"] == "push.depth"]
        assert pushes and all(m["symbol"] == "BTC_USDT" and m["ts"] > 0 for m in pushes)
        book = {"bids": levels(snapshot["bids"]), "asks": levels(snapshot["asks"])}
        local, synced = snapshot["version"], False
        for m in pushes:
            d = m["data"]
            first, last = (d["begin"], d["end"]) if name == "merged" else (d["version"],) * 2
            if last <= local:
                continue
            # A merged push may straddle the snapshot (absolute sizes: re-applying is exact).
            ok = first <= local + 1 if not synced else first == local + 1
            assert ok, f"{name}: version gap {local} -> {first}"
            synced = True
            assert d["version"] == last
            apply(book, d)
            local = last
        assert local == version
        assert ordered(book["bids"], True) == truth["bids"]
        assert ordered(book["asks"], False) == truth["asks"]
    raw_data = data(raw_msgs, "push.depth")
    assert all("begin" not in d for d in raw_data)
    assert all(b["version"] == a["version"] + 1 for a, b in itertools.pairwise(raw_data))
    assert all(len(row) == 3 for d in raw_data for row in d["asks"] + d["bids"])


def test_gap_deals_tickers_and_top_n() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
        async with simulator(ticker_ms=150) as sim, ws_connect(sim) as ws:
            for method, param in (
                ("sub.depth", {"symbol": "ETH_USDT", "compress": False}),
                ("sub.deal", {"symbol": "ETH_USDT"}),
                ("sub.ticker", {"symbol": "ETH_USDT"}),
                ("sub.tickers", {}),
                ("sub.depth.full", {"symbol": "ETH_USDT", "limit": 5}),
            ):
                await send(ws, method, param)
                assert (await reply(ws))["data"] == "success"
            await asyncio.sleep(0.1)
            skipped = (await control(sim, "gap?symbol=ETH_USDT"))["skipped_version"]
            msgs = await collect(ws, 0.5)
            await control(sim, "pause")
            msgs += await collect(ws, 0.1)
            return msgs, skipped, await control(sim, "book?symbol=ETH_USDT")

    msgs, skipped, truth = run(scenario())
    versions = [d["version"] for d in data(msgs, "push.depth")]
    jumps = [(a, b) for a, b in itertools.pairwise(versions) if b != a + 1]
    assert jumps == [(skipped - 1, skipped + 1)]

    deals = [t for batch in data(msgs, "push.deal") for t in batch]
    assert len(deals) >= 5
    assert all(set(t) == {"p", "v", "T", "O", "M", "t", "i"} for t in deals)
    assert all(t["T"] in (1, 2) and isinstance(t["v"], int) and t["v"] > 0 for t in deals)
    assert all(b["i"] > a["i"] for a, b in itertools.pairwise(deals))

    tickers = data(msgs, "push.ticker")
    assert len(tickers) >= 2
    t = tickers[-1]
    assert t["symbol"] == "ETH_USDT" and Decimal(str(t["bid1"])) < Decimal(str(t["ask1"]))
    assert Decimal(str(t["high24Price"])) >= Decimal(str(t["lower24Price"]))
    (everyone,) = data(msgs, "push.tickers")[-1:]
    assert [x["symbol"] for x in everyone] == CONTRACTS

    full = data(msgs, "push.depth.full")[-1]
    assert full["version"] == truth["version"]
    assert ordered(levels(full["bids"]), True) == truth["bids"][:5]
    assert ordered(levels(full["asks"]), False) == truth["asks"][:5]


# -- login and personal pushes ------------------------------------------------------------------


def test_login_checks_the_documented_signature() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "personal.filter", {"filters": [{"filter": "asset"}]})
            assert (await reply(ws))["channel"] == "rs.error"  # not logged in
            now = int(time.time() * 1000)
            for param in (
                hand_login(secret="a-wrong-secret"),
                hand_login(key="mx0unknownkey"),
                hand_login(req_time=now - 60_000),  # stale reqTime, right signature
                {
                    **hand_login(req_time=now),
                    "signature": hand_login(req_time=now + 1)["signature"],
                },
                {"apiKey": KEY},
            ):
                await send(ws, "login", param)
                refused = await reply(ws)
                assert refused["channel"] == "rs.error", param
                assert SECRET not in refused["data"] and param.get("signature", "-") not in str(
                    refused
                )
            await send(ws, "login", hand_login())
            ok = await reply(ws)
            assert (ok["channel"], ok["data"]) == ("rs.login", "success")
            await send(ws, "personal.filter", {"filters": [{"filter": "nonsense"}]})
            assert (await reply(ws))["channel"] == "rs.error"
            await send(ws, "personal.filter", {"filters": [{"filter": "asset"}]})
            assert (await reply(ws))["channel"] == "rs.personal.filter"
            stats = await control(sim, "stats")
            assert stats["auth_failures"] == 5 and stats["logged_in"] == 1

    run(scenario())


def test_personal_pushes_follow_the_filter_and_agree_with_the_account() -> None:
    async def scenario() -> dict[str, Any]:
        async with (
            simulator() as sim,
            ws_connect(sim) as everything,
            ws_connect(sim) as picky,
            ws_connect(sim) as public,
        ):
            await send(everything, "login", hand_login())
            await send(picky, "login", hand_login(), subscribe=False)
            await send(
                picky,
                "personal.filter",
                {"filters": [{"filter": "order.deal", "rules": ["ETH_USDT"]}, {"filter": "asset"}]},
            )
            await send(public, "sub.deal", {"symbol": "BTC_USDT"})
            for ws in (everything, picky, picky, public):
                assert (await reply(ws))["data"] == "success"
            await control(sim, "pause")
            await collect(public, 0.1)  # trades from before the pause
            book = await control(sim, "book?symbol=BTC_USDT")
            vol = sum(int(v) for _, v in book["asks"][:2]) + 1  # walks into a third level
            opened = await control(sim, f"order?symbol=BTC_USDT&side=1&vol={vol}")
            closed = await control(sim, "order?symbol=BTC_USDT&side=4&vol=1")
            far = Decimal(book["bids"][-1][0]) - 100
            resting_buy = await control(
                sim, f"order?symbol=BTC_USDT&side=1&vol=3&price={far}&externalOid=mine"
            )
            account_open = await control(sim, "account")
            cancelled = await control(sim, f"cancel?order_id={resting_buy['orderId']}")
            status, refused = await http_get(
                f"{sim.control_url}/order?symbol=BTC_USDT&side=2&vol=5"
            )
            assert (status, refused["code"]) == (400, 2009)  # nothing short to close
            return {
                "everything": await collect(everything, 0.3),
                "picky": await collect(picky, 0.1),
                "public": await collect(public, 0.1),
                "replies": [opened, closed, resting_buy, cancelled],
                "resting_buy": resting_buy,
                "account_open": account_open,
                "account": await control(sim, "account"),
                "vol": vol,
            }

    s = run(scenario())
    everything, account = s["everything"], s["account"]
    opened, _, resting_buy, cancelled = s["replies"]
    pushed = [{"channel": m["channel"], "data": m["data"]} for m in everything]
    assert pushed == [p for r in s["replies"] for p in r["pushes"]]

    orders = data(everything, "push.personal.order")
    first = [o for o in orders if o["orderId"] == opened["orderId"]]
    assert [o["state"] for o in first] == [2, 3] and first[-1]["dealVol"] == s["vol"]
    assert first[-1]["side"] == 1 and first[-1]["orderType"] == 5
    deals = data(everything, "push.personal.order.deal")
    mine = [d for d in deals if d["orderId"] == opened["orderId"]]
    assert len(mine) == 3 and sum(d["vol"] for d in mine) == s["vol"]
    assert all(d["isTaker"] and d["side"] == 1 for d in mine)
    public = [t for batch in data(s["public"], "push.deal") for t in batch]
    assert [str(t["i"]) for t in public] == [d["id"] for d in deals]
    fees = sum(Decimal(str(d["fee"])) for d in mine)
    assert abs(fees - Decimal(str(first[-1]["takerFee"]))) < Decimal("1e-7")

    position = data(everything, "push.personal.position")[-1]
    (truth_position,) = account["positions"]
    assert position == truth_position
    assert position["holdVol"] == s["vol"] - 1 and position["positionType"] == 1
    asset = data(everything, "push.personal.asset")[-1]
    balance = account["balances"]["USDT"]
    assert _canon(asset["availableBalance"]) == balance["availableBalance"]
    assert _canon(asset["positionMargin"]) == balance["positionMargin"]
    assert _canon(asset["frozenBalance"]) == balance["frozenBalance"]
    # A resting order holds margin while it rests; the cancel (state 4) releases it.
    assert len(s["account_open"]["orders"]) == 1
    assert s["account_open"]["orders"][0]["externalOid"] == "mine"
    assert resting_buy["state"] == 2 and cancelled["state"] == 4
    assert [o["state"] for o in orders if o["orderId"] == resting_buy["orderId"]] == [2, 4]
    assert account["orders"] == [] and balance["frozenBalance"] == "0"

    # The filtered connection: no orders or positions, no BTC deals, every asset push.
    picky = s["picky"]
    assert {m["channel"] for m in picky} == {"push.personal.asset"}
    assert len(picky) == len(data(everything, "push.personal.asset"))


# -- interop: our client ------------------------------------------------------------------------


def test_every_frame_and_rest_body_parses_with_our_client() -> None:
    """MexcFutures builds the subscribe, login and filter messages: all acked; every frame
    (acks, errors, pong, public and personal pushes) parses with no FrameError; the REST
    depth and contract detail bodies parse; malformed frames are FrameErrors."""
    subs = [
        Subscription(channel, symbol)
        for channel, symbol in (
            ("order_book", "BTC/USDT:USDT"),
            ("trades", "BTC/USDT:USDT"),
            ("tickers", "ETH/USDT:USDT"),
            ("orders", "!all"),
            ("fills", "BTC/USDT:USDT"),
            ("positions", "!all"),
            ("balances", "!all"),
        )
    ]

    async def scenario() -> dict[str, Any]:
        async with simulator(ticker_ms=150) as sim, ws_connect(sim) as ws:
            client = MexcFutures(credentials=(KEY, SECRET))
            now = time.time()
            for message in client.subscribe_messages(subs, now_s=int(now), now_ms=int(now * 1000)):
                await ws.send(message)
            await send(ws, "sub.deal", {"symbol": "NOPE_USDT"})
            await send(ws, "ping")
            await asyncio.sleep(0.1)
            await control(sim, "order?symbol=BTC_USDT&side=3&vol=4")
            await control(sim, "order?symbol=BTC_USDT&side=2&vol=4")
            frames = await collect_raw(ws, 0.4)
            await control(sim, "pause")
            frames += await collect_raw(ws, 0.1)
            await control(sim, "malformed?count=3")
            bad = await collect_raw(ws, 0.2)
            _, depth = await http_get(f"{sim.rest_url}/api/v1/contract/depth/BTC_USDT?limit=7")
            _, detail = await http_get(f"{sim.rest_url}/api/v1/contract/detail")
            _, one = await http_get(f"{sim.rest_url}/api/v1/contract/detail?symbol=ETH_USDT")
            status, missing = await http_get(f"{sim.rest_url}/api/v1/contract/depth/NOPE_USDT")
            assert status == 400 and missing == {
                "success": False,
                "code": 1001,
                "message": "Contract doesn't exist!",
            }
            return {
                "frames": frames,
                "bad": bad,
                "depth": depth,
                "detail": detail,
                "one": one,
                "account": await control(sim, "account"),
            }

    s = run(scenario())
    client = MexcFutures(credentials=(KEY, SECRET))
    events = [e for f in s["frames"] for e in client.parse_frame(f, 0)]
    acks = [e for e in events if isinstance(e, SubscriptionAck)]
    assert [a.channel for a in acks] == [
        "sub.depth",
        "sub.deal",
        "sub.ticker",
        "login",
        "personal.filter",
    ]
    (error,) = [e for e in events if isinstance(e, SubscriptionError)]
    assert error.message == "Contract doesn't exist!"
    kinds = {type(e).__name__ for e in events}
    assert kinds >= {"Pong", "BookDelta", "Trade", "Ticker", "Order", "Fill", "Position", "Balance"}
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert all(b.first_seq == b.seq == a.seq + 1 for a, b in itertools.pairwise(deltas))
    orders = [e for e in events if isinstance(e, Order)]
    assert [(o.side, o.reduce_only, o.status) for o in orders] == [
        ("sell", False, "open"),
        ("sell", False, "filled"),
        ("buy", True, "open"),
        ("buy", True, "filled"),
    ]
    fills = [e for e in events if isinstance(e, Fill)]
    assert sum(f.qty for f in fills) == 8 and all(not f.maker for f in fills)
    positions = [e for e in events if isinstance(e, Position)]
    assert positions[0].size < 0 and positions[-1].size == 0
    balance = [e for e in events if isinstance(e, Balance)][-1]
    truth = s["account"]["balances"]["USDT"]
    assert balance.total == float(truth["total"]) and balance.available == float(
        truth["availableBalance"]
    )
    for frame in s["bad"]:
        try:
            client.parse_frame(frame, 0)
        except FrameError:
            continue
        raise AssertionError(f"malformed frame parsed: {frame!r}")
    assert len(s["bad"]) == 3

    snapshot = client.parse_snapshot(orjson.dumps(s["depth"]), "BTC/USDT:USDT", 0)
    assert snapshot.seq == s["depth"]["data"]["version"] and len(snapshot.bids) == 7
    assert snapshot.bids[0][0] < snapshot.asks[0][0]
    assert client.parse_contracts(orjson.dumps(s["detail"])) == {
        "BTC_USDT": 0.0001,
        "ETH_USDT": 0.01,
    }
    assert client.parse_contracts(orjson.dumps(s["one"])) == {"ETH_USDT": 0.01}
