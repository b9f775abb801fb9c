"""The MEXC spot simulator speaks the venue's protocol (JSON acks, protobuf pushes, signed
listenKey REST) and its streams agree with its one true market and account; every frame it
sends parses with our own client.  Real websockets and urllib clients on 127.0.0.1, port 0;
each test starts its own simulator and stops it before returning."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from actors.messages import Balance, BookDelta, Fill, Order, SubscriptionAck, SubscriptionError
from actors.simulators.mexc_spot import MexcSpotSimulator
from actors.venues.base import FrameError
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper
from actors.venues.mexc.signing import user_data_stream_request
from actors.venues.mexc.spot import MexcSpot
from tests.simulators.wire import collect_raw, control, http_get, run, ws_connect

PAIRS = ["BTCUSDT", "ETHUSDT"]
KEY, SECRET = "mx0vglTESTKEY0123", "not-the-real-secret-" + "7" * 24
DEPTH = "spot@public.aggre.depth.v3.api.pb@{}@{}"
BLOCKED = "Reason\uff1a Blocked! "
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


def simulator(**options: Any) -> MexcSpotSimulator:
    options.setdefault("seed", 5)
    options.setdefault("tick_ms", 5)
    return MexcSpotSimulator(PAIRS, host="127.0.0.1", port=0, credentials={KEY: SECRET}, **options)


# -- client-side helpers ------------------------------------------------------------------------


async def request(
    ws: ClientConnection, method: str, params: list[str] | None = None, req_id: int | None = None
) -> None:
    body: dict[str, Any] = {"method": method}
    if params is not None:
        body["params"] = params
    if req_id is not None:
        body["id"] = req_id
    await ws.send(orjson.dumps(body).decode())


async def text(ws: ClientConnection, timeout: float = 2.0) -> str:
    """The next text frame (an ack), skipping binary pushes."""

    async def loop() -> str:
        while True:
            frame = await ws.recv()
            if isinstance(frame, str):
                return frame

    return await asyncio.wait_for(loop(), timeout)


async def ack(ws: ClientConnection) -> dict[str, Any]:
    return orjson.loads(await text(ws))


def decode(frame: str | bytes) -> PushDataV3ApiWrapper:
    assert isinstance(frame, bytes), frame
    return PushDataV3ApiWrapper.FromString(frame)


def pushes(frames: list[str | bytes], channel: str) -> list[PushDataV3ApiWrapper]:
    return [
        w for w in map(decode, (f for f in frames if isinstance(f, bytes))) if w.channel == channel
    ]


async def until_push(
    ws: ClientConnection, channel: str, timeout: float = 3.0
) -> PushDataV3ApiWrapper:
    async def loop() -> PushDataV3ApiWrapper:
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes) and (w := decode(frame)).channel == channel:
                return w

    return await asyncio.wait_for(loop(), timeout)


async def http(method: str, url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    def fetch() -> tuple[int, Any]:
        req = urllib.request.Request(url, method=method, headers=dict(headers or {}))
        try:
            with _OPENER.open(req, timeout=5) as resp:
                return resp.status, orjson.loads(resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, orjson.loads(err.read())

    return await asyncio.to_thread(fetch)


def hand_signed(query: str, secret: str = SECRET) -> str:
    """The documented SIGNED query: ``&signature=`` lowercase hex HMAC-SHA256 of the query
    (there is no body), computed here rather than by our signing module."""
    digest = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={digest}"


async def listen_call(
    sim: MexcSpotSimulator, method: str, query: str = "", **sign: Any
) -> tuple[int, Any]:
    stamp = f"timestamp={int(time.time() * 1000)}"
    path = hand_signed(f"{query}&{stamp}" if query else stamp, **sign)
    return await http(
        method, f"{sim.rest_url}/api/v3/userDataStream?{path}", {"X-MEXC-APIKEY": KEY}
    )


async def new_listen_key(sim: MexcSpotSimulator) -> str:
    status, body = await listen_call(sim, "POST")
    assert status == 200, body
    return str(body["listenKey"])


def private_connect(sim: MexcSpotSimulator, listen_key: str) -> Any:
    from websockets.asyncio.client import connect

    return connect(
        f"{sim.ws_url}?listenKey={listen_key}",
        proxy=None,
        open_timeout=3,
        close_timeout=2,
        max_queue=None,
    )


def rebuild(snapshot: dict[str, Any], diffs: list[PushDataV3ApiWrapper]) -> tuple[dict, int]:
    """The docs' procedure: the snapshot must not be older than the first push; drop pushes
    with toVersion <= lastUpdateId; the first kept one must start at or before lastUpdateId
    + 1; then every fromVersion is the previous toVersion + 1.  Quantities are absolute, "0"
    deletes.  Returns ({"bids", "asks"} price -> qty, version)."""
    base = snapshot["lastUpdateId"]
    first = int(diffs[0].publicAggreDepths.fromVersion)
    assert base >= first - 1, "snapshot older than the buffered stream"
    book = {"bids": dict(snapshot["bids"]), "asks": dict(snapshot["asks"])}
    local = None
    for w in diffs:
        body = w.publicAggreDepths
        lo, hi = int(body.fromVersion), int(body.toVersion)
        if hi <= base:
            continue
        if local is None:
            assert lo <= base + 1, "gap between the snapshot and the stream"
        else:
            assert lo == local + 1, f"version gap: {local} then {lo}"
        for side in ("bids", "asks"):
            for item in getattr(body, side):
                if Decimal(item.quantity) == 0:
                    book[side].pop(item.price, None)
                else:
                    book[side][item.price] = item.quantity
        local = hi
    assert local is not None
    return book, local


def rows(levels: dict[str, str], bids: bool) -> list[list[str]]:
    return [list(kv) for kv in sorted(levels.items(), key=lambda kv: Decimal(kv[0]), reverse=bids)]


# -- requests, acks, refusals -------------------------------------------------------------------


def test_acks_pong_and_blocked_refusals_use_the_venue_wording() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            good = [DEPTH.format("100ms", "BTCUSDT"), "spot@public.limit.depth.v3.api.pb@ETHUSDT@5"]
            await request(ws, "SUBSCRIPTION", good, req_id=7)
            assert await ack(ws) == {"id": 7, "code": 0, "msg": ",".join(good)}
            await request(ws, "PING")
            assert await text(ws) == '{"id":0,"code":0,"msg":"PONG"}'

            # The docs' own example, byte for byte: a retired JSON channel is Blocked.
            await request(ws, "SUBSCRIPTION", ["spot@public.kline.v3.api@BTCUSDT@Min1"])
            assert await text(ws) == (
                '{"id":0,"code":0,"msg":"Not Subscribed successfully! '
                '[spot@public.kline.v3.api@BTCUSDT@Min1].  Reason\uff1a Blocked! "}'
            )
            blocked = [
                "spot@public.deals.v3.api@BTCUSDT",  # non-.pb
                "spot@public.aggre.deals.v3.api.pb@BTCUSDT",  # no interval segment
                "spot@public.aggre.bookTicker.v3.api.pb@100ms@DOGEXYZ",  # unknown symbol
                "spot@public.aggre.depth.v3.api.pb@100ms@btcusdt",  # lower case
                "spot@public.aggre.depth.v3.api.pb@50ms@BTCUSDT",  # no such interval
                "spot@public.limit.depth.v3.api.pb@BTCUSDT@50",  # no such level
                "spot@private.orders.v3.api.pb",  # private, on a connection without a listenKey
                "nonsense",
            ]
            fine = "spot@public.aggre.deals.v3.api.pb@10ms@BTCUSDT"
            await request(ws, "SUBSCRIPTION", [*blocked, fine], req_id=8)
            assert await ack(ws) == {"id": 8, "code": 0, "msg": fine}
            refusal = await ack(ws)
            assert refusal == {
                "id": 8,
                "code": 0,
                "msg": f"Not Subscribed successfully! [{','.join(blocked)}].  {BLOCKED}",
            }
            await request(ws, "SUBSCRIPTION", ["spot@public.kline.v3.api.pb@BTCUSDT@Min1"])
            assert (await ack(ws))["msg"].endswith("Reason\uff1a Not simulated! ")

            await request(ws, "UNSUBSCRIPTION", [fine], req_id=9)
            assert await ack(ws) == {"id": 9, "code": 0, "msg": fine}
            for bad in ("{not json", '{"method":"SUBSCRIPTION","params":"x"}', '{"method":"X"}'):
                await ws.send(bad)
                assert (await ack(ws))["msg"].startswith("Invalid request: ")
            stats = await control(sim, "stats")
            assert stats["rejected_channels"] == {"Blocked!": 9, "Not simulated!": 1}
            assert stats["subscriptions"] == {
                "public.aggre.depth.v3.api.pb": 1,
                "public.limit.depth.v3.api.pb": 1,
            }

    run(scenario())


def test_the_31st_subscription_of_a_connection_is_refused() -> None:
    zones = ["24H", *(f"UTC{s}{h}" for s in "+-" for h in (3, 4, 5, 6, 7, 8))]
    thirty = [f"spot@public.miniTicker.v3.api.pb@{p}@{z}" for p in PAIRS for z in zones]
    thirty += [DEPTH.format(i, p) for i in ("10ms", "100ms") for p in PAIRS][: 30 - len(thirty)]
    extra = "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"
    assert len(set(thirty)) == 30

    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await request(ws, "SUBSCRIPTION", thirty)
            assert (await ack(ws))["msg"] == ",".join(thirty)
            await request(ws, "SUBSCRIPTION", [thirty[0], extra], req_id=31)
            assert await ack(ws) == {"id": 31, "code": 0, "msg": thirty[0]}  # held: no new slot
            raw = await text(ws)
            assert orjson.loads(raw)["msg"] == (
                f"Not Subscribed successfully! [{extra}].  "
                "Reason\uff1a Over the limit of 30 subscriptions per connection! "
            )
            (error,) = MexcSpot().parse_frame(raw, 0)
            assert isinstance(error, SubscriptionError) and error.channel == extra
            await request(ws, "UNSUBSCRIPTION", [thirty[-1]])
            await ack(ws)
            await request(ws, "SUBSCRIPTION", [extra])
            assert (await ack(ws))["msg"] == extra  # a freed slot is usable again

    run(scenario())


def test_idle_silent_and_old_connections_are_closed() -> None:
    """No subscription for idle_timeout_s, no client message for traffic_timeout_s, or older
    than max_age_s (the venue's 30 s / 60 s / 24 h, shortened here)."""

    async def closed_after(ws: ClientConnection, start: float, ping: bool) -> tuple[float, str]:
        try:
            while True:
                if ping:
                    await request(ws, "PING")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.recv(), 0.1)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1000
            return time.monotonic() - start, closed.rcvd.reason

    async def scenario() -> None:
        options = {"idle_timeout_s": 0.3, "traffic_timeout_s": 0.6, "max_age_s": 1.2}
        async with (
            simulator(**options) as sim,
            ws_connect(sim) as idle,
            ws_connect(sim) as silent,
            ws_connect(sim) as chatty,
            ws_connect(sim) as emptied,
        ):
            start = time.monotonic()
            channel = DEPTH.format("100ms", "ETHUSDT")
            for ws in (silent, chatty, emptied):
                await request(ws, "SUBSCRIPTION", [channel])
                assert (await ack(ws))["msg"] == channel
            await request(emptied, "UNSUBSCRIPTION", [channel])  # no subscription again
            results = await asyncio.gather(
                closed_after(idle, start, ping=False),
                closed_after(silent, start, ping=False),
                closed_after(chatty, start, ping=True),
                closed_after(emptied, start, ping=True),
            )
            (t_idle, r_idle), (t_silent, r_silent), (t_old, r_old), (t_empty, r_empty) = results
            assert r_idle == r_empty == "no subscription" and 0.3 <= t_idle < 0.55
            assert 0.3 <= t_empty < 0.55
            assert r_silent == "no traffic" and 0.6 <= t_silent < 0.85
            assert r_old == "maximum connection age" and 1.2 <= t_old < 1.45
            stats = await control(sim, "stats")
            assert stats["closes"] == {
                "no subscription": 2,
                "no traffic": 1,
                "maximum connection age": 1,
            }

    run(scenario())


# -- the streams agree with the truth -----------------------------------------------------------


def test_aggre_depth_rebuilds_the_true_book_and_every_stream_agrees() -> None:
    channels = {
        "fast": DEPTH.format("10ms", "BTCUSDT"),
        "slow": DEPTH.format("100ms", "BTCUSDT"),
        "top": "spot@public.limit.depth.v3.api.pb@BTCUSDT@5",
        "ticker": "spot@public.aggre.bookTicker.v3.api.pb@10ms@BTCUSDT",
        "deals": "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT",
        "mini": "spot@public.miniTicker.v3.api.pb@BTCUSDT@UTC+8",
    }

    async def scenario() -> tuple[list[str | bytes], dict[str, Any], dict[str, Any], int]:
        async with simulator(mini_ticker_ms=200) as sim, ws_connect(sim) as ws:
            await request(ws, "SUBSCRIPTION", list(channels.values()))
            await ack(ws)
            first = await until_push(ws, channels["slow"])
            status, snapshot = await http_get(
                f"{sim.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5000"
            )
            assert status == 200
            frames: list[str | bytes] = [first.SerializeToString(), *await collect_raw(ws, 0.6)]
            version = (await control(sim, "pause"))["versions"]["BTCUSDT"]
            frames += await collect_raw(ws, 0.2)  # the pause delivered what was pending
            truth = await control(sim, "book?symbol=BTCUSDT")
            assert truth["version"] == version
            return frames, snapshot, truth, version

    frames, snapshot, truth, version = run(scenario())
    assert list(snapshot) == ["lastUpdateId", "bids", "asks", "timestamp"]
    for name in ("fast", "slow"):
        diffs = pushes(frames, channels[name])
        assert len(diffs) >= (30 if name == "fast" else 5)
        for a, b in itertools.pairwise(diffs):
            assert int(b.publicAggreDepths.fromVersion) == int(a.publicAggreDepths.toVersion) + 1
        book, local = rebuild(snapshot, diffs)
        assert local == version == truth["version"]
        assert (
            rows(book["bids"], True) == truth["bids"] and rows(book["asks"], False) == truth["asks"]
        )
        body = diffs[-1].publicAggreDepths
        assert body.eventType == channels[name].rpartition("@")[0]
        assert diffs[-1].symbol == "BTCUSDT" and diffs[-1].sendTime > 0

    top = pushes(frames, channels["top"])[-1]
    limit = top.publicLimitDepths
    assert int(limit.version) == version and limit.eventType == "spot@public.limit.depth.v3.api.pb"
    assert [[i.price, i.quantity] for i in limit.bids] == truth["bids"][:5]
    assert [[i.price, i.quantity] for i in limit.asks] == truth["asks"][:5]

    ticker = pushes(frames, channels["ticker"])[-1].publicAggreBookTicker
    assert [[ticker.bidPrice, ticker.bidQuantity], [ticker.askPrice, ticker.askQuantity]] == [
        truth["bids"][0],
        truth["asks"][0],
    ]
    assert int(ticker.version) <= version

    deals = [d for w in pushes(frames, channels["deals"]) for d in w.publicAggreDeals.deals]
    assert len(deals) >= 5 and {d.tradeType for d in deals} <= {1, 2}
    assert all(re.fullmatch(r"(\d+)X0_(\d+)X0", d.tradeId) for d in deals)
    assert all(a.time <= b.time for a, b in itertools.pairwise(deals))

    minis = pushes(frames, channels["mini"])
    assert len(minis) >= 2
    mini = minis[-1].publicMiniTicker
    assert mini.symbol == "BTCUSDT" and Decimal(mini.high) >= Decimal(mini.low) > 0
    assert Decimal(mini.volume) > Decimal(mini.quantity) > 0  # quote turnover vs base amount


def test_gap_skips_exactly_one_version() -> None:
    channel = DEPTH.format("10ms", "ETHUSDT")

    async def scenario() -> tuple[list[PushDataV3ApiWrapper], int]:
        async with simulator() as sim, ws_connect(sim) as ws:
            await request(ws, "SUBSCRIPTION", [channel])
            await ack(ws)
            frames = [(await until_push(ws, channel)).SerializeToString()]
            gap = await control(sim, "gap?symbol=ETHUSDT")
            frames += await collect_raw(ws, 0.3)
            status, body = await http_get(f"{sim.control_url}/gap?symbol=NOPE")
            assert status == 400 and body == {"code": -1121, "msg": "Invalid symbol."}
            return pushes(frames, channel), gap["skipped_version"]

    diffs, skipped = run(scenario())
    jumps = [
        (a.publicAggreDepths, b.publicAggreDepths)
        for a, b in itertools.pairwise(diffs)
        if int(b.publicAggreDepths.fromVersion) != int(a.publicAggreDepths.toVersion) + 1
    ]
    assert len(jumps) == 1
    before, after = jumps[0]
    assert int(before.toVersion) == skipped - 1 and int(after.fromVersion) == skipped + 1


def test_rest_depth_exchange_info_and_errors() -> None:
    async def scenario() -> None:
        async with simulator() as sim:
            await control(sim, "pause")
            status, body = await http_get(f"{sim.rest_url}/api/v3/depth?symbol=ETHUSDT")
            truth = await control(sim, "book?symbol=ETHUSDT")
            assert status == 200  # limit 100 (the default) >= the whole book
            assert (body["lastUpdateId"], body["bids"], body["asks"]) == (
                truth["version"],
                truth["bids"],
                truth["asks"],
            )
            assert Decimal(body["bids"][0][0]) < Decimal(body["asks"][0][0])
            status, body = await http_get(f"{sim.rest_url}/api/v3/depth?symbol=ETHUSDT&limit=3")
            assert len(body["asks"]) == 3
            snap = MexcSpot().parse_snapshot(orjson.dumps(body), "ETH/USDT", 0)
            assert snap.seq == body["lastUpdateId"] and snap.asks[0][0] == float(body["asks"][0][0])
            assert await http_get(f"{sim.rest_url}/api/v3/depth?symbol=DOGEXYZ") == (
                400,
                {"code": -1121, "msg": "Invalid symbol."},
            )
            status, info = await http_get(f"{sim.rest_url}/api/v3/exchangeInfo?symbol=ETHUSDT")
            (eth,) = info["symbols"]
            assert (eth["symbol"], eth["baseAsset"], eth["quoteAsset"]) == (
                "ETHUSDT",
                "ETH",
                "USDT",
            )
            assert (await http_get(f"{sim.rest_url}/api/v3/time"))[1]["serverTime"] > 0
            assert (await http_get(f"{sim.rest_url}/api/v3/nothing"))[0] == 404

    run(scenario())


# -- listenKey REST, signed ---------------------------------------------------------------------


def test_listen_key_calls_check_the_documented_signature() -> None:
    async def scenario() -> None:
        async with simulator() as sim:
            key = await new_listen_key(sim)
            assert re.fullmatch(r"[0-9a-f]{64}", key)
            assert await listen_call(sim, "GET") == (200, {"listenKey": [key]})
            assert await listen_call(sim, "PUT", f"listenKey={key}") == (200, {"listenKey": key})

            async def refused(status: int, code: int, *args: Any, **kwargs: Any) -> None:
                got_status, body = await (args[0] if args else listen_call(sim, "POST", **kwargs))
                assert (got_status, body["code"]) == (status, code), body

            await refused(400, 700002, secret="a-wrong-secret")
            now = int(time.time() * 1000)
            url = f"{sim.rest_url}/api/v3/userDataStream?"
            hdr = {"X-MEXC-APIKEY": KEY}
            for stamp in (now - 10_000, now + 5_000, "soon"):  # stale, early, not a time
                call = http("POST", url + hand_signed(f"timestamp={stamp}"), hdr)
                await refused(400, 700003, call)
            # recvWindow widens the window (and is signed like any parameter).
            call = http(
                "POST", url + hand_signed(f"recvWindow=20000&timestamp={now - 10_000}"), hdr
            )
            status, widened = await call
            assert status == 200
            await refused(
                400,
                700005,
                http("POST", url + hand_signed(f"recvWindow=70000&timestamp={now}"), hdr),
            )
            # The signature covers the parameters: a tampered listenKey fails.
            signed = hand_signed(f"listenKey={key}&timestamp={now}").replace(key, "0" * 64)
            await refused(400, 700002, http("PUT", url + signed, hdr))
            await refused(400, 700002, http("POST", url + f"timestamp={now}", hdr))  # unsigned
            unknown = {"X-MEXC-APIKEY": "mx0unknown"}
            await refused(400, 10072, http("POST", url + hand_signed(f"timestamp={now}"), unknown))
            status, body = await http("POST", url + hand_signed(f"timestamp={now}"))
            assert (status, body) == (400, {"code": 400, "msg": "api key required"})

            assert await listen_call(sim, "DELETE", f"listenKey={key}") == (200, {"listenKey": key})
            await refused(400, 730002, listen_call(sim, "PUT", f"listenKey={key}"))
            assert await listen_call(sim, "GET") == (200, {"listenKey": [widened["listenKey"]]})
            assert (await control(sim, "stats"))["auth_failures"] == 9

            # Our own signing module's requests are accepted as sent (the query in the path).
            def signed(verb: str, listen_key: str | None = None) -> Any:
                return user_data_stream_request(
                    verb,
                    api_key=KEY,
                    secret=SECRET,
                    timestamp_ms=int(time.time() * 1000),
                    listen_key=listen_key,
                    recv_window=10_000,
                )

            req = signed("POST")
            status, body = await http(req.method, sim.rest_url + req.path, req.headers)
            assert status == 200, body
            made = body["listenKey"]
            for verb in ("PUT", "DELETE"):
                req = signed(verb, made)
                got = await http(req.method, sim.rest_url + req.path, req.headers)
                assert got == (200, {"listenKey": made})

    run(scenario())


# -- private streams ----------------------------------------------------------------------------


PRIVATE = [
    "spot@private.account.v3.api.pb",
    "spot@private.orders.v3.api.pb",
    "spot@private.deals.v3.api.pb",
]


def test_private_connection_needs_a_live_listen_key() -> None:
    async def scenario() -> None:
        async with simulator() as sim:
            with pytest.raises(InvalidStatus) as refused:
                async with private_connect(sim, "f" * 64):
                    pass
            assert refused.value.response.status_code == 401
            key = await new_listen_key(sim)
            async with private_connect(sim, key) as ws:
                await request(ws, "SUBSCRIPTION", PRIVATE)
                assert (await ack(ws))["msg"] == ",".join(PRIVATE)
                expired = await control(sim, f"expire_listen_key?listen_key={key}")
                assert expired == {"expired": 1, "closed_connections": 1}
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 2)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.reason == "listenKey expired"
            with pytest.raises(InvalidStatus):
                async with private_connect(sim, key):
                    pass
            key = await new_listen_key(sim)  # DELETE closes its connections too
            async with private_connect(sim, key) as ws:
                await listen_call(sim, "DELETE", f"listenKey={key}")
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 2)

    run(scenario())


def test_private_pushes_agree_with_the_account_and_parse_with_our_client() -> None:
    """A market buy that walks the asks, a resting sell and its cancel: every private push
    matches the control reply, the last balance of each asset is the account's truth, our
    fills are public trades, and our MexcSpot parses every frame."""

    async def scenario() -> dict[str, Any]:
        async with simulator() as sim:
            key = await new_listen_key(sim)
            async with private_connect(sim, key) as ws, ws_connect(sim) as public:
                await request(ws, "SUBSCRIPTION", PRIVATE)
                await ack(ws)
                deals = "spot@public.aggre.deals.v3.api.pb@10ms@BTCUSDT"
                await request(public, "SUBSCRIPTION", [deals])
                await ack(public)
                await control(sim, "pause")  # nothing but our own trades from here
                await collect_raw(public, 0.1)  # what the pause delivered
                book = await control(sim, "book?symbol=BTCUSDT")
                need = Decimal(book["asks"][0][0]) * Decimal(book["asks"][0][1]) * 2
                bought = await control(
                    sim, f"order?symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty={need:.1f}"
                )
                far = Decimal(book["asks"][-1][0]) + 100
                rest = await control(
                    sim,
                    f"order?symbol=BTCUSDT&side=SELL&type=LIMIT&price={far}&quantity=0.01"
                    "&newClientOrderId=mine-1",
                )
                open_orders = (await control(sim, "account"))["orders"]
                cancelled = await control(sim, f"cancel?order_id={rest['orderId']}")
                status, err = await http_get(
                    f"{sim.control_url}/order?symbol=BTCUSDT&side=BUY&type=LIMIT&price=1&quantity=99999"
                )
                assert (status, err["code"]) == (400, 10101)
                frames = await collect_raw(ws, 0.3)
                public_frames = await collect_raw(public, 0.2)
                return {
                    "bought": bought,
                    "rest": rest,
                    "open": open_orders,
                    "cancelled": cancelled,
                    "frames": frames,
                    "public": public_frames,
                    "account": await control(sim, "account"),
                }

    s = run(scenario())
    frames = s["frames"]
    assert all(isinstance(f, bytes) for f in frames)
    got = [MessageToDict(decode(f)) for f in frames]
    expected = s["bought"]["pushes"] + s["rest"]["pushes"] + s["cancelled"]["pushes"]
    assert got == expected

    bought, cancelled = s["bought"], s["cancelled"]
    assert bought["status"] == 2 and bought["finish_as"] == "filled" and cancelled["status"] == 4
    orders = [w.privateOrders for w in map(decode, frames) if w.channel == PRIVATE[1]]
    assert [o.status for o in orders] == [1, 2, 1, 4]
    assert [o.orderType for o in orders] == [5, 5, 1, 1] and orders[2].clientId == "mine-1"
    assert s["open"][0]["id"] == orders[2].id and s["open"][0]["remainQuantity"] == "0.01"
    fills = [w.privateDeals for w in map(decode, frames) if w.channel == PRIVATE[2]]
    assert len(fills) >= 2 and all(not f.isMaker and f.tradeType == 1 for f in fills)
    assert sum(Decimal(f.quantity) for f in fills) == Decimal(orders[1].cumulativeQuantity)
    assert sum(Decimal(f.amount) for f in fills) == Decimal(orders[1].cumulativeAmount)
    # Our fills are the public trades, same numbers before the X.
    public = [
        d
        for w in map(decode, s["public"])
        if w.HasField("publicAggreDeals")
        for d in w.publicAggreDeals.deals
    ]
    assert [(d.tradeId.split("X")[0], d.price, d.quantity) for d in public] == [
        (f.tradeId.split("X")[0], f.price, f.quantity) for f in fills
    ]
    # The last push of each asset is the account's truth.
    latest: dict[str, Any] = {}
    for w in map(decode, frames):
        if w.channel == PRIVATE[0]:
            assert not w.symbol and w.createTime == w.sendTime
            latest[w.privateAccount.vcoinName] = w.privateAccount
    for asset, acc in latest.items():
        truth = s["account"]["balances"][asset]
        assert (acc.balanceAmount, acc.frozenAmount) == (truth["free"], truth["locked"])
    assert set(latest) == {"USDT", "BTC"}
    kinds = [w.privateAccount.type for w in map(decode, frames) if w.channel == PRIVATE[0]]
    assert kinds[0] == "ENTRUST_PLACE" and kinds[-1] == "ENTRUST_CANCEL" and "ENTRUST" in kinds

    # Interop: our client parses every frame; its events match.
    client = MexcSpot(credentials=(KEY, SECRET))
    events = [e for f in frames for e in client.parse_frame(f, 0)]
    parsed_orders = [e for e in events if isinstance(e, Order)]
    assert [o.status for o in parsed_orders] == ["open", "filled", "open", "cancelled"]
    assert parsed_orders[-1].client_id == "mine-1" and parsed_orders[-1].price == float(
        orders[-1].price
    )
    assert len([e for e in events if isinstance(e, Fill)]) == len(fills)
    balances = {e.asset: e for e in events if isinstance(e, Balance)}
    for asset, b in balances.items():
        truth = s["account"]["balances"][asset]
        assert (b.total, b.available, b.frozen) == (
            float(truth["total"]),
            float(truth["free"]),
            float(truth["locked"]),
        )


def test_every_frame_parses_with_our_client() -> None:
    """Acks, refusals, PONG and every public push parse with MexcSpot, no FrameError; the
    subscribe messages it builds are acked; malformed frames are FrameErrors."""
    from actors.venues.base import Subscription

    subs = [
        Subscription(channel, symbol)
        for channel in ("book_ticker", "trades", "order_book", "top_book", "tickers")
        for symbol in ("BTC/USDT", "ETH/USDT")
    ]

    async def scenario() -> tuple[list[str | bytes], list[str | bytes], bytes]:
        async with simulator(mini_ticker_ms=150) as sim, ws_connect(sim) as ws:
            client = MexcSpot({"interval": "10ms"})
            for message in client.subscribe_messages(subs, now_s=int(time.time())):
                await ws.send(message)
            await request(ws, "SUBSCRIPTION", ["spot@public.deals.v3.api@BTCUSDT"])
            await request(ws, "PING")
            frames = await collect_raw(ws, 0.5)
            await control(sim, "pause")
            frames += await collect_raw(ws, 0.1)
            await control(sim, "malformed?count=4")
            bad = await collect_raw(ws, 0.2)
            _, snapshot = await http_get(f"{sim.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5000")
            return frames, bad, orjson.dumps(snapshot)

    frames, bad, snapshot = run(scenario())
    client = MexcSpot({"interval": "10ms"})
    events = [e for f in frames for e in client.parse_frame(f, 0)]
    kinds = {type(e).__name__ for e in events}
    assert kinds >= {
        "SubscriptionAck",
        "SubscriptionError",
        "Pong",
        "BookDelta",
        "Trade",
        "BookTicker",
        "TopBook",
        "Ticker",
    }
    assert len([e for e in events if isinstance(e, SubscriptionAck)]) == 10
    deltas = [e for e in events if isinstance(e, BookDelta) and e.native == "BTCUSDT"]
    assert all(b.first_seq == a.seq + 1 for a, b in itertools.pairwise(deltas))
    assert client.parse_snapshot(snapshot, "BTC/USDT", 0).seq >= deltas[0].first_seq - 1
    unparsed = [f for f in bad if not _raises(client, f)]
    assert len(bad) == 4 and not unparsed


def _raises(client: MexcSpot, frame: str | bytes) -> bool:
    try:
        client.parse_frame(frame, 0)
    except FrameError:
        return True
    return False


def test_refuse_stale_and_drop() -> None:
    channel = "spot@public.aggre.bookTicker.v3.api.pb@10ms@BTCUSDT"

    async def scenario() -> None:
        async with simulator() as sim:
            await control(sim, "refuse?seconds=0.3")
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(sim):
                    pass
            assert refused.value.response.status_code == 503
            await asyncio.sleep(0.35)
            async with ws_connect(sim) as ws:
                await request(ws, "SUBSCRIPTION", [channel])
                await ack(ws)
                await until_push(ws, channel)
                await control(sim, "stale?seconds=0.4")
                await collect_raw(ws, 0.05)  # frames already on the wire
                await request(ws, "PING")  # unanswered while stale
                assert await collect_raw(ws, 0.25) == []
                assert pushes(await collect_raw(ws, 0.4), channel)
                await control(sim, "drop")
                with pytest.raises(ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 2)
                assert ws.close_code == 1006
            stats = await control(sim, "stats")
            assert stats["faults"] == {"refused": 1, "refuse": 1, "stale": 1, "drop": 1}
            assert stats["dropped_while_stale"] > 0

    run(scenario())
