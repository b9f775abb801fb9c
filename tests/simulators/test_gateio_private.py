"""The Gate.io spot simulator's private channels: the documented per-subscribe signature,
and order, fill and balance pushes that agree with the one true account and book.  Real
websockets and urllib clients on 127.0.0.1, port 0; each test stops its own simulator."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from actors.messages import Balance, Fill, Order, SubscriptionAck, SubscriptionError
from actors.simulators.gateio_spot import GateioSpotSimulator
from actors.venues.base import Subscription
from actors.venues.gateio.spot import GateioSpot
from tests.simulators.wire import (
    apply,
    book_from,
    collect,
    collect_raw,
    control,
    hand_sign,
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

KEY, SECRET = "0123456789abcdef0123456789abcdef", "not-the-real-secret-" + "9" * 44
PAIRS = ["BTC_USDT", "ETH_USDT"]


def simulator(**options: Any) -> GateioSpotSimulator:
    options.setdefault("seed", 4)
    options.setdefault("tick_ms", 5)
    return GateioSpotSimulator(
        PAIRS, host="127.0.0.1", port=0, credentials={KEY: SECRET}, **options
    )


async def subscribe_private(ws: Any, pairs: list[str] | None = None) -> None:
    """spot.orders (all pairs), spot.usertrades (``pairs``), spot.balances, each signed."""
    await send_signed(ws, "spot.orders", ["!all"], KEY, SECRET)
    await send_signed(ws, "spot.usertrades", pairs or PAIRS, KEY, SECRET)
    await send_signed(ws, "spot.balances", None, KEY, SECRET)
    for _ in range(3):
        ack = await reply(ws)
        assert ack["error"] is None and ack["result"] == {"status": "success"}, ack


def test_private_subscribe_checks_the_documented_signature() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            now = int(time.time())
            await send_signed(ws, "spot.orders", ["BTC_USDT"], KEY, SECRET, time_s=now)
            ok = await reply(ws)
            assert ok["error"] is None and ok["result"] == {"status": "success"}
            assert ok["channel"] == "spot.orders" and ok["payload"] == ["BTC_USDT"]

            wrong = hand_sign("a-wrong-secret", "spot.orders", "subscribe", now)
            bad_auth = [
                {"method": "api_key", "KEY": KEY, "SIGN": wrong},  # wrong secret
                {"method": "api_key", "KEY": "f" * 32, "SIGN": wrong},  # unknown key
                None,  # no auth at all
                # signed for another channel: the signature covers the channel name
                {
                    "method": "api_key",
                    "KEY": KEY,
                    "SIGN": hand_sign(SECRET, "spot.balances", "subscribe", now),
                },
            ]
            for auth in bad_auth:
                extra = {} if auth is None else {"auth": auth}
                await send(ws, "spot.usertrades", ["BTC_USDT"], id=9, **extra)
                err = await reply(ws)
                assert err["error"]["code"] == 4 and err["result"] == {"status": "fail"}, err
                assert err["id"] == 9 and err["channel"] == "spot.usertrades"
                assert wrong not in err["error"]["message"] and SECRET not in str(err)
            # Right signature, but over a time more than 60 s off: refused as well.
            await send_signed(ws, "spot.balances", None, KEY, SECRET, time_s=now - 120)
            assert (await reply(ws))["error"]["code"] == 4

            # The signature covers the event: an unsubscribe is signed for "unsubscribe".
            await send_signed(ws, "spot.orders", ["BTC_USDT"], KEY, SECRET, event="unsubscribe")
            assert (await reply(ws))["error"] is None
            stats = await control(sim, "stats")
            assert stats["auth_failures"] == 5
            assert stats["subscriptions"].get("spot.orders", 0) == 0

    run(scenario())


async def order_session(sim: GateioSpotSimulator) -> dict[str, Any]:
    """Subscribe privately and to the public book and trades, sync the book, pause, place a
    buy that crosses three ask levels, and collect what follows."""
    async with ws_connect(sim) as ws:
        await subscribe_private(ws, ["BTC_USDT"])
        for channel, payload in (
            ("spot.order_book_update", ["BTC_USDT", "100ms"]),
            ("spot.trades", ["BTC_USDT"]),
        ):
            await send(ws, channel, payload)
            assert (await reply(ws))["error"] is None
        first = await recv_until(ws, lambda m: m["channel"] == "spot.order_book_update")
        _, snapshot = await http_get(
            f"{sim.rest_url}/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true"
        )
        msgs = [first, *await collect(ws, 0.3)]
        paused = (await control(sim, "pause"))["ids"]["BTC_USDT"]
        msgs += await collect(ws, 0.2)
        before = await control(sim, "book?currency_pair=BTC_USDT")
        assert before["id"] == paused
        price = before["asks"][2][0]
        amount = Decimal(before["asks"][0][1]) + Decimal(before["asks"][1][1])
        amount += Decimal(before["asks"][2][1]) / 2
        amount = amount.quantize(Decimal("1e-6"))
        placed = await control(
            sim, f"order?currency_pair=BTC_USDT&side=buy&type=limit&price={price}&amount={amount}"
        )
        eth = await control(sim, "order?currency_pair=ETH_USDT&side=sell&type=market&amount=0.01")
        after = await collect(ws, 0.3)
        return {
            "snapshot": snapshot,
            "before": before,
            "placed": placed,
            "eth": eth,
            "msgs": msgs,
            "after": after,
            "truth": await control(sim, "book?currency_pair=BTC_USDT"),
            "account": await control(sim, "account"),
        }


def test_order_pushes_agree_with_the_account_and_the_book() -> None:
    async def scenario() -> dict[str, Any]:
        async with simulator() as sim:
            return await order_session(sim)

    s = run(scenario())
    before, placed, after = s["before"], s["placed"], s["after"]
    assert placed["status"] == "finished" and placed["finish_as"] == "filled"

    # What the subscriber got is what the control reply says was pushed (BTC order first).
    private = ("spot.orders", "spot.usertrades", "spot.balances")
    got = [(m["channel"], m["result"]) for m in after if m["channel"] in private]
    expected = [(p["channel"], p["result"]) for p in placed["pushes"]]
    assert expected and got[: len(expected)] == expected

    orders = [o for r in pushes(after, "spot.orders") for o in r if o["id"] == placed["order_id"]]
    assert [o["event"] for o in orders] == ["put", "finish"]
    final = orders[-1]
    assert final["finish_as"] == "filled" and final["left"] == "0"
    assert final["user"] == 10001 and final["account"] == "spot" and final["type"] == "limit"
    fills = [f for r in pushes(after, "spot.usertrades") for f in r]
    assert {f["currency_pair"] for f in fills} == {"BTC_USDT"}  # ETH fills: not subscribed
    assert [f["price"] for f in fills] == [a[0] for a in before["asks"][:3]]
    assert sum(Decimal(f["amount"]) for f in fills) == Decimal(final["filled_amount"])
    assert sum(Decimal(f["fee"]) for f in fills) == Decimal(final["fee"])
    assert Decimal(final["filled_total"]) == sum(
        Decimal(f["price"]) * Decimal(f["amount"]) for f in fills
    )
    # Our fills are public trades too, with the same ids, taker side buy.
    public = pushes(after, "spot.trades")
    assert [(t["id"], t["side"], t["amount"]) for t in public] == [
        (f["id"], "buy", f["amount"]) for f in fills
    ]
    # The ETH order appears on spot.orders (subscribed with !all).
    eth = [o for r in pushes(after, "spot.orders") for o in r if o["currency_pair"] == "ETH_USDT"]
    assert eth and eth[-1]["event"] == "finish" and eth[-1]["type"] == "market"

    # The last pushed balance of each asset is the account's truth.
    latest: dict[str, dict[str, str]] = {}
    for r in pushes(after, "spot.balances"):
        for b in r:
            latest[b["currency"]] = b
    for asset, b in latest.items():
        truth = s["account"]["balances"][asset]
        assert (b["total"], b["available"], b["freeze"]) == (
            truth["total"],
            truth["available"],
            truth["freeze"],
        )
    assert set(latest) == {"USDT", "BTC", "ETH"}

    # The fill consumed the book: the diff stream rebuilds it, two ask levels gone.
    book, book_id = sync_from_snapshot(
        s["snapshot"], pushes(s["msgs"] + after, "spot.order_book_update")
    )
    truth = s["truth"]
    assert book_id == truth["id"] == placed["book_ids"][-1]
    assert rows(book, "b") == truth["bids"] and rows(book, "a") == truth["asks"]
    assert truth["asks"][0][0] == before["asks"][2][0]
    assert Decimal(truth["asks"][0][1]) == Decimal(before["asks"][2][1]) - Decimal(
        fills[-1]["amount"]
    )


def test_resting_order_fills_as_maker_and_cancel_releases_it() -> None:
    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await subscribe_private(ws)
            book = await control(sim, "book?currency_pair=BTC_USDT")
            bid, ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
            price = bid + Decimal("0.1") if ask - bid > Decimal("0.1") else bid
            placed = await control(
                sim, f"order?currency_pair=BTC_USDT&side=buy&type=limit&price={price}&amount=0.001"
            )
            assert placed["status"] == "open" and placed["finish_as"] == "open"
            oid = placed["order_id"]
            open_orders = (await control(sim, "account"))["orders"]
            assert [o["id"] for o in open_orders] == [oid] and open_orders[0]["left"] == "0.001"

            def finished(m: dict[str, Any]) -> bool:
                return m["channel"] == "spot.orders" and any(
                    o["id"] == oid and o["event"] == "finish" for o in m["result"]
                )

            msgs: list[dict[str, Any]] = []
            done = await recv_until(ws, lambda m: msgs.append(m) or finished(m), timeout=6)
            fills = [f for r in pushes(msgs, "spot.usertrades") for f in r]
            assert fills and all(f["role"] == "maker" and f["order_id"] == oid for f in fills)
            assert sum(Decimal(f["amount"]) for f in fills) == Decimal("0.001")
            assert done["result"][-1]["finish_as"] == "filled"

            far = bid - 500
            placed = await control(
                sim, f"order?currency_pair=BTC_USDT&side=buy&type=limit&price={far}&amount=0.01"
            )
            cancelled = await control(sim, f"cancel?order_id={placed['order_id']}")
            assert cancelled["finish_as"] == "cancelled"
            channels = [p["channel"] for p in cancelled["pushes"]]
            assert channels == ["spot.orders", "spot.balances"]
            release = cancelled["pushes"][1]["result"][0]
            assert release["change_type"] == "order-update"
            assert Decimal(release["freeze_change"]) == -far * Decimal("0.01")
            account = await control(sim, "account")
            assert account["orders"] == [] and account["balances"]["USDT"]["freeze"] == "0"
            status, body = await http_get(f"{sim.control_url}/cancel?order_id=1")
            assert status == 404 and body["label"] == "ORDER_NOT_FOUND"
            status, body = await http_get(
                f"{sim.control_url}/order?currency_pair=BTC_USDT&side=buy&price=1&amount=999999"
            )
            assert status == 400 and body["label"] == "BALANCE_NOT_ENOUGH"

    run(scenario(), timeout=15)


def test_private_frames_parse_with_our_client() -> None:
    """Our GateioSpot signs the requests (signing.py) and parses every frame the simulator
    sends back with no FrameError; the events match the account."""

    async def scenario() -> tuple[list[str | bytes], dict[str, Any]]:
        async with simulator() as sim, ws_connect(sim) as ws:
            client = GateioSpot(credentials=(KEY, SECRET))
            subs = [
                Subscription(channel, symbol)
                for channel, symbol in (
                    ("orders", "!all"),
                    ("fills", "BTC/USDT"),
                    ("fills", "ETH/USDT"),
                    ("balances", "BTC/USDT"),
                    ("book_ticker", "BTC/USDT"),
                    ("order_book", "BTC/USDT"),
                )
            ]
            for message in client.subscribe_messages(subs, now_s=int(time.time())):
                await ws.send(message)
            await send_signed(ws, "spot.orders", ["BTC_USDT"], KEY, "wrong")  # an error frame
            await asyncio.sleep(0.1)
            await control(sim, "order?currency_pair=BTC_USDT&side=buy&type=market&amount=500")
            await control(
                sim, "order?currency_pair=ETH_USDT&side=sell&type=limit&amount=0.05&price=1&tif=ioc"
            )
            book = await control(sim, "book?currency_pair=BTC_USDT")
            far = Decimal(book["asks"][-1][0]) + 100
            rest = await control(
                sim, f"order?currency_pair=BTC_USDT&side=sell&type=limit&price={far}&amount=0.01"
            )
            await control(sim, f"cancel?order_id={rest['order_id']}")
            frames = await collect_raw(ws, 0.4)
            return frames, await control(sim, "account")

    frames, account = run(scenario())
    client = GateioSpot(credentials=(KEY, SECRET))
    events = [e for f in frames for e in client.parse_frame(f, 0)]  # no FrameError
    acks = [e for e in events if isinstance(e, SubscriptionAck)]
    assert len(acks) == 5  # fills for both pairs went in one spot.usertrades request
    (error,) = [e for e in events if isinstance(e, SubscriptionError)]
    assert error.code == 4 and error.channel == "spot.orders"
    orders = [e for e in events if isinstance(e, Order)]
    assert [o.status for o in orders if o.symbol == "BTC/USDT"][:2] == ["open", "filled"]
    assert orders[-1].status == "cancelled" and orders[-1].order_id == str(1_000_000_003)
    eth = [o for o in orders if o.symbol == "ETH/USDT"]
    assert eth[-1].status == "filled" and eth[-1].filled_qty == 0.05
    fills = [e for e in events if isinstance(e, Fill)]
    assert {f.symbol for f in fills} == {"BTC/USDT", "ETH/USDT"} and all(not f.maker for f in fills)
    balances: dict[str, Balance] = {}
    for e in events:
        if isinstance(e, Balance):
            balances[e.asset] = e
    for asset, b in balances.items():
        truth = account["balances"][asset]
        assert (b.total, b.available, b.frozen) == (
            float(truth["total"]),
            float(truth["available"]),
            float(truth["freeze"]),
        )


def test_spot_public_book_rebuilds_after_an_own_sweep() -> None:
    """A market sell walks the bids; a client syncing the public diff stream sees it."""

    async def scenario() -> None:
        async with simulator() as sim, ws_connect(sim) as ws:
            await send(ws, "spot.order_book_update", ["ETH_USDT", "20ms"])
            await reply(ws)
            await control(sim, "pause")
            _, snapshot = await http_get(
                f"{sim.rest_url}/spot/order_book?currency_pair=ETH_USDT&limit=20&with_id=true"
            )
            local = book_from(snapshot["bids"], snapshot["asks"])
            sold = await control(sim, "order?currency_pair=ETH_USDT&side=sell&type=market&amount=5")
            base = snapshot["id"]
            push = (await recv_until(ws, lambda m: m.get("result", {}).get("u", 0) > base))[
                "result"
            ]
            assert push["U"] == snapshot["id"] + 1 and push["u"] == sold["book_ids"][-1]
            apply(local, push)
            truth = await control(sim, "book?currency_pair=ETH_USDT")
            assert rows(local, "b", 20) == truth["bids"][:20]

    run(scenario())
