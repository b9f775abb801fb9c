"""The benchmark's frames: recorded where recordings exist, simulated for volume.  [our venv]

Every dataset is one venue channel: a list of wire frames exactly as the websocket delivers
them (text as str, MEXC spot pushes as bytes), plus, for order-book channels, one REST
snapshot body per symbol.  The driver writes them to a folder as JSON so that the peer
runners (cryptofeed, ccxt, in their own virtualenvs) read the very same bytes.

Recorded frames come from ``../shared/frames`` (see its PROVENANCE.md).  Simulated frames
come from ``actors.simulators.market.Market`` and the Gate.io simulators' own frame builders
(``push_frame``, ``*_result``); MEXC frames are built here from the same Market with our
generated protobuf classes (spot) or the documented JSON (futures), the wire format the MEXC
simulators (written later) speak too.

Book datasets: a recorded REST snapshot is re-based to ``id = first update's U - 1`` (its
levels are untouched) so that every recorded update applies; a simulated snapshot is the
Market's book just before the first simulated change, so it chains exactly.
"""

from __future__ import annotations

import base64
import json
import os
import random
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MIN_FRAMES = 256  # a pass shorter than this would time the timer: small sets are repeated
T0_MS = 1_760_000_000_000
TICK_MS = 10  # one Market step = 10 ms, as the simulators step
PUSH_STEPS = 10  # 100 ms aggregation (Gate 100ms order_book_update, MEXC @100ms streams)


def shared_dir() -> Path:
    return Path(os.environ.get("MARKETPIPE_SHARED", ROOT.parent / "shared"))


# -- recorded files ------------------------------------------------------------------------


def _cryptofeed_ws(path: Path) -> list[str]:
    """Frames received in a cryptofeed ``*.ws.1.0`` recording (sent frames skipped)."""
    out = []
    for line in path.read_text().splitlines():
        if not line or " <-> " in line or " <- " in line:
            continue
        _, _, text = line.partition(": ")
        out.append(text)
    return out


def _cryptofeed_http(path: Path) -> dict[str, tuple[float, str]]:
    """REST order-book bodies of a ``*.http.0.0`` recording, by pair/contract, with the
    receive time (epoch s)."""
    out = {}
    for line in path.read_text().splitlines():
        if not line:
            continue
        url, _, rest = line.partition(" -> ")
        stamp, _, body = rest.partition(": ")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
        out[query.get("currency_pair") or query["contract"]] = (float(stamp), body)
    return out


def _channel_frames(frames: list[str], channel: str) -> list[str]:
    keep = []
    for text in frames:
        msg = json.loads(text)
        if msg.get("channel") == channel and msg.get("event") == "update":
            keep.append(text)
    return keep


def _repeat(frames: list[Any]) -> list[Any]:
    if not frames:
        return frames
    times = max(1, -(-MIN_FRAMES // len(frames)))
    return frames * times


def _rebased_books(
    frames: list[str], bodies: dict[str, tuple[float, str]], spot: bool
) -> dict[str, str]:
    """Gate REST bodies with ``id`` = the first recorded update's ``U - 1`` per symbol.  The
    2021 spot bodies predate ``current``; it is added (the recording's receive time, ms) as
    today's venue sends it, because ccxt refuses a book without it."""
    first: dict[str, int] = {}
    for text in frames:
        result = json.loads(text)["result"]
        first.setdefault(result["s"], result["U"])
    out = {}
    for native, start in first.items():
        stamp, text = bodies[native]
        body = json.loads(text)
        body["id"] = start - 1
        if "current" not in body:
            body["current"] = round(stamp * 1000) if spot else stamp
        out[native] = json.dumps(body, separators=(",", ":"))
    return out


def _dataset(
    venue: str,
    channel: str,
    source: str,
    kind: str,
    frames: list[Any],
    note: str,
    books: dict[str, str] | None = None,
    unique: int | None = None,
) -> dict[str, Any]:
    return {
        "id": f"{venue}.{channel}.{source}",
        "venue": venue,
        "channel": channel,
        "source": source,
        "kind": kind,  # ticker | trades | book | top_book | book_unchained
        "binary": bool(frames) and isinstance(frames[0], bytes),
        "frames": frames,
        "unique": unique if unique is not None else len(frames),
        "books": books or {},
        "note": note,
    }


def recorded() -> list[dict[str, Any]]:
    shared = shared_dir() / "frames"
    gate = shared / "gateio"
    crawler = shared / "crypto_crawler"
    mexc_pb = shared / "mexc_spot_pb"
    out = []

    spot = _cryptofeed_ws(gate / "cryptofeed_GATEIO.ws.1.0")
    fut = _cryptofeed_ws(gate / "cryptofeed_GATEIO_FUTURES.ws.1.0")
    cc_gate = (crawler / "gateio_frames.jsonl").read_text().splitlines()
    cc_mexc = (crawler / "mexc_frames.jsonl").read_text().splitlines()

    def cc(channel: str, lines: list[str], pred=lambda m: True) -> list[str]:
        keep = []
        for text in lines:
            msg = json.loads(text)
            if isinstance(msg, dict) and msg.get("channel") == channel and pred(msg):
                keep.append(text)
        return keep

    # Gate.io spot
    bt = cc("spot.book_ticker", cc_gate)
    out.append(
        _dataset(
            "gateio_spot",
            "book_ticker",
            "recorded",
            "ticker",
            _repeat(bt),
            "crypto-crawler gate.rs (2022)",
            unique=len(bt),
        )
    )
    tr = _channel_frames(spot, "spot.trades") + cc("spot.trades", cc_gate)
    out.append(
        _dataset(
            "gateio_spot",
            "trades",
            "recorded",
            "trades",
            _repeat(tr),
            "cryptofeed GATEIO.ws (2021) + crypto-crawler",
            unique=len(tr),
        )
    )
    ob = _channel_frames(spot, "spot.order_book_update")
    books = _rebased_books(ob, _cryptofeed_http(gate / "cryptofeed_GATEIO.http.0.0"), True)
    out.append(
        _dataset(
            "gateio_spot",
            "order_book_update",
            "recorded",
            "book",
            ob,
            "cryptofeed GATEIO.ws (2021), 10 pairs; REST snapshots re-based",
            books,
        )
    )

    # Gate.io USDT futures (the BTC-settled and delivery captures are another venue instance)
    def usdt_perp(msg: dict) -> bool:
        result = msg["result"]
        names = [r["contract"] for r in result] if isinstance(result, list) else [result["s"]]
        return all(n.endswith("_USDT") for n in names)

    bt = _channel_frames(fut, "futures.book_ticker") + cc("futures.book_ticker", cc_gate, usdt_perp)
    out.append(
        _dataset(
            "gateio_futures",
            "book_ticker",
            "recorded",
            "ticker",
            _repeat(bt),
            "cryptofeed GATEIO_FUTURES.ws (2023) + crypto-crawler",
            unique=len(bt),
        )
    )
    tr = cc("futures.trades", cc_gate, usdt_perp)
    out.append(
        _dataset(
            "gateio_futures",
            "trades",
            "recorded",
            "trades",
            _repeat(tr),
            "crypto-crawler gate.rs BTC_USDT (2021)",
            unique=len(tr),
        )
    )
    ob = _channel_frames(fut, "futures.order_book_update")
    books = _rebased_books(ob, _cryptofeed_http(gate / "cryptofeed_GATEIO_FUTURES.http.0.0"), False)
    out.append(
        _dataset(
            "gateio_futures",
            "order_book_update",
            "recorded",
            "book",
            ob,
            "cryptofeed GATEIO_FUTURES.ws (2023), 10 contracts; REST re-based",
            books,
        )
    )

    # MEXC spot protobuf
    def pb(name: str) -> list[bytes]:
        return [(mexc_pb / name).read_bytes()]

    for channel, name, kind in (
        ("aggre.bookTicker", "daxalgo_aggre_bookTicker_100ms_BTCUSDT.bin", "ticker"),
        ("aggre.deals", "daxalgo_aggre_deals_100ms_BTCUSDT.bin", "trades"),
        ("limit.depth", "daxalgo_limit_depth_BTCUSDT_5.bin", "top_book"),
    ):
        out.append(
            _dataset(
                "mexc_spot",
                channel,
                "recorded",
                kind,
                _repeat(pb(name)),
                "DaxAlgo-Terminal capture (2026), 1 frame",
                unique=1,
            )
        )

    # MEXC futures JSON (only the frames today's protocol still has)
    def modern_depth(msg: dict) -> bool:
        return isinstance(msg.get("data", {}).get("version"), int)

    def modern_deal(msg: dict) -> bool:
        return "ts" in msg

    dp = cc("push.depth", cc_mexc, modern_depth)
    out.append(
        _dataset(
            "mexc_futures",
            "depth",
            "recorded",
            "book_unchained",
            _repeat(dp),
            "crypto-crawler mexc.rs (2022), not a version chain: parse only",
            unique=len(dp),
        )
    )
    dl = cc("push.deal", cc_mexc, modern_deal)
    out.append(
        _dataset(
            "mexc_futures",
            "deal",
            "recorded",
            "trades",
            _repeat(dl),
            "crypto-crawler mexc.rs (2022), single-object form",
            unique=len(dl),
        )
    )
    tk = cc("push.ticker", cc_mexc)
    out.append(
        _dataset(
            "mexc_futures",
            "ticker",
            "recorded",
            "ticker",
            _repeat(tk),
            "crypto-crawler mexc.rs (2022)",
            unique=len(tk),
        )
    )
    return out


# -- simulated -----------------------------------------------------------------------------


SPOT_SYMBOLS = ["BTC_USDT", "ETH_USDT", "SOL_USDT", "XRP_USDT"]


def _walk(market: Any, symbols: list[str], steps: int):
    """Yield (t_ms, StepResult) for ``steps`` rounds over every symbol."""
    t_ms = T0_MS
    for _ in range(steps):
        t_ms += TICK_MS
        for symbol in symbols:
            yield t_ms, market.step(symbol, t_ms)


def gate_spot(steps: int, cap: int) -> list[dict[str, Any]]:
    from actors.simulators import gateio_spot as sim
    from actors.simulators.gateio_common import push_frame
    from actors.simulators.market import DiffStream, Market

    market = Market(SPOT_SYMBOLS, seed=11, depth=100)
    books = {}
    for s in SPOT_SYMBOLS:
        snap = market.snapshot(s, 100)
        books[s] = json.dumps(
            {
                "id": snap.id,
                "current": T0_MS,
                "update": snap.update_ms,
                "asks": snap.asks,
                "bids": snap.bids,
            },
            separators=(",", ":"),
        )
    diffs = {s: DiffStream(market, s, 100) for s in SPOT_SYMBOLS}
    tickers, trades, updates = [], [], []
    for n, (t_ms, step) in enumerate(_walk(market, SPOT_SYMBOLS, steps), 1):
        for change in step.changes:
            if change.trade:
                trades.append(
                    push_frame(sim.TRADES, sim.trade_result(step.symbol, change.trade), t_ms)
                )
            if change.top:
                tickers.append(
                    push_frame(
                        sim.BOOK_TICKER, sim.book_ticker_result(step.symbol, change.top, t_ms), t_ms
                    )
                )
        diffs[step.symbol].add(step)
        if n % (PUSH_STEPS * len(SPOT_SYMBOLS)) == 0:
            for s in SPOT_SYMBOLS:
                push = diffs[s].flush()
                if push is not None:
                    updates.append(
                        push_frame(sim.ORDER_BOOK_UPDATE, sim.diff_result(push, t_ms), t_ms)
                    )
    note = "actors.simulators.gateio_spot frame builders over Market(seed=11), 4 pairs"
    text = lambda frames: [f.decode() for f in frames]  # noqa: E731
    return [
        _dataset("gateio_spot", "book_ticker", "simulated", "ticker", text(tickers[:cap]), note),
        _dataset("gateio_spot", "trades", "simulated", "trades", text(trades[:cap]), note),
        _dataset(
            "gateio_spot",
            "order_book_update",
            "simulated",
            "book",
            text(updates),
            note + ", 100ms pushes, 100-level books",
            books,
        ),
    ]


def gate_futures(steps: int, cap: int) -> list[dict[str, Any]]:
    from actors.simulators import gateio_futures as sim
    from actors.simulators.gateio_common import push_frame
    from actors.simulators.market import DiffStream, Market

    prices = {"BTC_USDT": 65_000.0, "ETH_USDT": 3_500.0, "SOL_USDT": 150.0, "XRP_USDT": 0.6}
    sizes = {c: float(sim.default_multiplier(c, p)) for c, p in prices.items()}
    symbols = list(prices)
    market = Market(symbols, seed=12, depth=100, start_prices=prices, contract_sizes=sizes)
    variant = sim.INT_SIZES  # integer sizes: what the recordings and every peer understand
    books = {}
    for s in symbols:
        snap = market.snapshot(s, 100)
        books[s] = json.dumps(
            {
                "id": snap.id,
                "current": T0_MS / 1000,
                "update": snap.update_ms / 1000,
                "asks": sim.size_levels(snap.asks, variant),
                "bids": sim.size_levels(snap.bids, variant),
            },
            separators=(",", ":"),
        )
    diffs = {s: DiffStream(market, s, 100) for s in symbols}
    tickers, trades, updates = [], [], []
    for n, (t_ms, step) in enumerate(_walk(market, symbols, steps), 1):
        for change in step.changes:
            if change.trade:
                result = sim.trades_result(step.symbol, change.trade, variant)
                trades.append(push_frame(sim.TRADES, result, t_ms))
            if change.top:
                result = sim.book_ticker_result(step.symbol, change.top, t_ms, variant)
                tickers.append(push_frame(sim.BOOK_TICKER, result, t_ms))
        diffs[step.symbol].add(step)
        if n % (PUSH_STEPS * len(symbols)) == 0:
            for s in symbols:
                push = diffs[s].flush()
                if push is not None:
                    result = sim.diff_result(push, t_ms, variant)
                    updates.append(push_frame(sim.ORDER_BOOK_UPDATE, result, t_ms))
    note = "actors.simulators.gateio_futures frame builders over Market(seed=12), 4 contracts"
    text = lambda frames: [f.decode() for f in frames]  # noqa: E731
    return [
        _dataset("gateio_futures", "book_ticker", "simulated", "ticker", text(tickers[:cap]), note),
        _dataset("gateio_futures", "trades", "simulated", "trades", text(trades[:cap]), note),
        _dataset(
            "gateio_futures",
            "order_book_update",
            "simulated",
            "book",
            text(updates),
            note + ", 100ms pushes, 100-level books",
            books,
        ),
    ]


def mexc_spot(steps: int, cap: int) -> list[dict[str, Any]]:
    from actors.simulators.market import ASK, BID, DiffStream, Market
    from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper

    market = Market(SPOT_SYMBOLS, seed=13, depth=100)
    native = {s: s.replace("_", "") for s in SPOT_SYMBOLS}
    books = {}
    for s in SPOT_SYMBOLS:
        snap = market.snapshot(s, 100)
        books[native[s]] = json.dumps(
            {"lastUpdateId": snap.id, "bids": snap.bids, "asks": snap.asks, "timestamp": T0_MS},
            separators=(",", ":"),
        )
    diffs = {s: DiffStream(market, s, 100) for s in SPOT_SYMBOLS}
    window_trades: dict[str, list[Any]] = {s: [] for s in SPOT_SYMBOLS}
    last_top: dict[str, Any] = {}
    tickers, deals, depths, limits = [], [], [], []

    def wrapper(channel: str, symbol: str, t_ms: int, **body: Any) -> bytes:
        return PushDataV3ApiWrapper(
            channel=channel, symbol=symbol, sendTime=t_ms, **body
        ).SerializeToString()

    def items(levels: list[list[str]]) -> list[dict[str, str]]:
        return [{"price": p, "quantity": q} for p, q in levels]

    for n, (t_ms, step) in enumerate(_walk(market, SPOT_SYMBOLS, steps), 1):
        for change in step.changes:
            if change.trade:
                window_trades[step.symbol].append(change.trade)
        diffs[step.symbol].add(step)
        if n % (PUSH_STEPS * len(SPOT_SYMBOLS)):
            continue
        for s in SPOT_SYMBOLS:
            sym = native[s]
            push = diffs[s].flush()
            if push is not None:
                depths.append(
                    wrapper(
                        f"spot@public.aggre.depth.v3.api.pb@100ms@{sym}",
                        sym,
                        t_ms,
                        publicAggreDepths={
                            "asks": items(push.asks),
                            "bids": items(push.bids),
                            "eventType": "spot@public.aggre.depth.v3.api.pb@100ms",
                            "fromVersion": str(push.first_id),
                            "toVersion": str(push.last_id),
                        },
                    )
                )
            top = market.best(s)
            if last_top.get(s) != top[1:]:
                last_top[s] = top[1:]
                tickers.append(
                    wrapper(
                        f"spot@public.aggre.bookTicker.v3.api.pb@100ms@{sym}",
                        sym,
                        t_ms,
                        publicAggreBookTicker={
                            "bidPrice": top.bid,
                            "bidQuantity": top.bid_size,
                            "askPrice": top.ask,
                            "askQuantity": top.ask_size,
                            "version": str(top.id),
                        },
                    )
                )
            if window_trades[s]:
                deals.append(
                    wrapper(
                        f"spot@public.aggre.deals.v3.api.pb@100ms@{sym}",
                        sym,
                        t_ms,
                        publicAggreDeals={
                            "deals": [
                                {
                                    "price": tr.price,
                                    "quantity": tr.amount,
                                    "tradeType": 1 if tr.side == "buy" else 2,
                                    "time": tr.time_ms,
                                    "tradeId": f"{tr.id}X0_{tr.id + 1}X0",
                                }
                                for tr in window_trades[s]
                            ],
                            "eventType": "spot@public.aggre.deals.v3.api.pb@100ms",
                        },
                    )
                )
                window_trades[s] = []
            bids = market.render_levels(s, market.top_levels(s, BID, 20))
            asks = market.render_levels(s, market.top_levels(s, ASK, 20))
            limits.append(
                wrapper(
                    f"spot@public.limit.depth.v3.api.pb@{sym}@20",
                    sym,
                    t_ms,
                    publicLimitDepths={
                        "asks": items(asks),
                        "bids": items(bids),
                        "eventType": "spot@public.limit.depth.v3.api.pb",
                        "version": str(market.book_id(s)),
                    },
                )
            )
    note = "built here with our generated protobuf classes over Market(seed=13), 4 pairs"
    return [
        _dataset("mexc_spot", "aggre.bookTicker", "simulated", "ticker", tickers[:cap], note),
        _dataset("mexc_spot", "aggre.deals", "simulated", "trades", deals[:cap], note),
        _dataset(
            "mexc_spot",
            "aggre.depth",
            "simulated",
            "book",
            depths,
            note + ", 100ms pushes, 100-level books",
            books,
        ),
        _dataset(
            "mexc_spot", "limit.depth", "simulated", "top_book", limits[:cap], note + ", 20 levels"
        ),
    ]


def mexc_futures(steps: int, cap: int) -> list[dict[str, Any]]:
    from actors.simulators.market import BID, Market

    prices = {"BTC_USDT": 65_000.0, "ETH_USDT": 3_500.0, "SOL_USDT": 150.0, "XRP_USDT": 0.6}
    symbols = list(prices)
    sizes = {"BTC_USDT": 0.0001, "ETH_USDT": 0.01, "SOL_USDT": 1.0, "XRP_USDT": 10.0}
    market = Market(symbols, seed=14, depth=100, start_prices=prices, contract_sizes=sizes)
    rng = random.Random(14)
    dumps = lambda obj: json.dumps(obj, separators=(",", ":"))  # noqa: E731

    def rows(symbol: str, levels: list[list[str]]) -> list[list[float | int]]:
        return [[float(p), int(q), rng.randint(1, 9)] for p, q in levels]

    books = {}
    for s in symbols:
        snap = market.snapshot(s, 100)
        books[s] = dumps(
            {
                "success": True,
                "code": 0,
                "data": {
                    "asks": rows(s, snap.asks),
                    "bids": rows(s, snap.bids),
                    "version": snap.id,
                    "timestamp": T0_MS,
                },
            }
        )
    deals, depths = [], []
    for t_ms, step in _walk(market, symbols, steps):
        s = step.symbol
        for change in step.changes:
            # Unmerged depth (compress=false): one push per book version.
            asks, bids = [], []
            for side, tick, lots in change.levels:
                row = [float(market.price_str(s, tick)), lots, rng.randint(1, 9) if lots else 0]
                (bids if side == BID else asks).append(row)
            depths.append(
                dumps(
                    {
                        "channel": "push.depth",
                        "data": {"asks": asks, "bids": bids, "version": change.id},
                        "symbol": s,
                        "ts": t_ms,
                    }
                )
            )
            if change.trade:
                tr = change.trade
                deals.append(
                    dumps(
                        {
                            "channel": "push.deal",
                            "data": [
                                {
                                    "p": float(tr.price),
                                    "v": int(tr.amount),
                                    "T": 1 if tr.side == "buy" else 2,
                                    "O": 3,
                                    "M": 2,
                                    "t": tr.time_ms,
                                    "i": str(tr.id),
                                }
                            ],
                            "symbol": s,
                            "ts": t_ms,
                        }
                    )
                )
    note = "built here from the documented JSON over Market(seed=14), 4 contracts"
    return [
        _dataset(
            "mexc_futures",
            "depth",
            "simulated",
            "book",
            depths[: 2 * cap],
            note + ", unmerged (one version per push), 100-level books",
            books,
        ),
        _dataset("mexc_futures", "deal", "simulated", "trades", deals[:cap], note + ", array form"),
    ]


def build(quick: bool) -> list[dict[str, Any]]:
    steps, cap = (400, 400) if quick else (2500, 3000)
    sets = recorded() + gate_spot(steps, cap) + gate_futures(steps, cap)
    sets += mexc_spot(steps, cap) + mexc_futures(steps // 2, cap)
    order = {"gateio_spot": 0, "gateio_futures": 1, "mexc_spot": 2, "mexc_futures": 3}
    sets.sort(key=lambda d: (order[d["venue"]], d["channel"], d["source"]))
    return sets


def write(sets: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(sets):
        out = dict(data)
        if data["binary"]:
            out["frames"] = [base64.b64encode(f).decode() for f in data["frames"]]
        (directory / f"{i:02d}_{data['id']}.json").write_text(json.dumps(out))
