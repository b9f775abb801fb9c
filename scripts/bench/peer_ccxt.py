"""Benchmark worker: the same frames through ccxt pro's websocket handlers.  [ccxt venv]

Run by ``scripts/bench_parse.py`` with the interpreter of a throwaway virtualenv that has
ccxt (and protobuf, which ccxt needs for MEXC spot): ``python peer_ccxt.py DATASET_DIR``.

How the exchanges are driven, with no network:

* ``ccxt.pro.gate()`` / ``ccxt.pro.mexc()`` with ``set_markets`` given unified markets for
  the dataset's symbols (ccxt's own market-structure defaults fill the rest);
* one real ``ccxt`` websocket ``Client`` per venue URL (``exchange.client(url)``), never
  opened; every frame goes through ``client.handle_text_or_binary_message(frame)``, which is
  what the client's receive loop does per websocket message: orjson decode (JSON) or
  protobuf ``MessageToDict`` (MEXC spot, via ``exchange.handle_message``), then the
  exchange's ``handle_message`` dispatch, parsing, caches and order books;
* books: before every pass (untimed), what ccxt's ``load_order_book`` does after its REST
  call: ``fetch_rest_order_book_safe`` (the exchange's own REST order-book parsing, with
  ``exchange.fetch`` answering from the dataset's body: transport stubbed, not parsing) and
  ``order_book().reset(snapshot)``.  Nothing of ccxt's parsing or book logic is replaced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from importlib.metadata import version
from typing import Any

import harness

UNSUPPORTED = {
    ("mexc_spot", "limit.depth"): "ccxt pro mexc handles no spot@public.limit.depth pushes "
    "(handle_protobuf_message has no branch for it; watch_order_book uses aggre.depth)",
    ("mexc_futures", "depth.recorded"): "recorded frames are not a version chain; ccxt "
    "caches unsynced deltas and then fetches a REST snapshot (network): see the simulated row",
}

GATE_FUTURES_SIZES = {"BTC_USDT": 0.0001, "ETH_USDT": 0.01, "SOL_USDT": 1.0, "XRP_USDT": 10.0}


def unified(
    mid: str,
    base: str,
    quote: str,
    kind: str,
    settle: str | None = None,
    contract_size: float | None = None,
    inverse: bool = False,
) -> dict[str, Any]:
    swap = kind == "swap"
    symbol = f"{base}/{quote}" + (f":{settle}" if swap else "")
    return {
        "id": mid,
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "settle": settle,
        "baseId": base,
        "quoteId": quote,
        "settleId": settle.lower() if settle else None,
        "type": kind,
        "spot": not swap,
        "margin": False,
        "swap": swap,
        "future": False,
        "option": False,
        "active": True,
        "contract": swap,
        "linear": (not inverse) if swap else None,
        "inverse": inverse if swap else None,
        "contractSize": contract_size,
        "precision": {"amount": 1e-8 if not swap else 1, "price": 1e-8},
    }


def main() -> None:
    logging.disable(logging.CRITICAL)
    import ccxt.pro as ccxtpro

    datasets = harness.load_datasets(sys.argv[1])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    # markets: every symbol any dataset names
    gate_spot, gate_swap, mexc_spot, mexc_swap = set(), set(), set(), set()
    for data in datasets:
        for text in data["frames"][: data["unique"]]:
            if data["venue"] == "gateio_spot":
                result = json.loads(text)["result"]
                gate_spot.add(result.get("s") or result.get("currency_pair"))
            elif data["venue"] == "gateio_futures":
                result = json.loads(text)["result"]
                for r in result if isinstance(result, list) else [result]:
                    gate_swap.add(r.get("s") or r.get("contract"))
            elif data["venue"] == "mexc_futures":
                mexc_swap.add(json.loads(text)["symbol"])
        if data["venue"] == "mexc_spot":
            mexc_spot.update(data["books"])
    mexc_spot.update({"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"})

    async def make() -> tuple[Any, Any]:
        gate = ccxtpro.gate()
        markets = [unified(m, *m.split("_"), "spot") for m in sorted(gate_spot)]
        markets += [
            unified(
                m,
                *m.split("_"),
                "swap",
                settle="USDT",
                contract_size=GATE_FUTURES_SIZES.get(m, 1.0),
            )
            for m in sorted(gate_swap)
        ]
        gate.set_markets(markets)
        mexc = ccxtpro.mexc()
        markets = [unified(m, m[:-4], "USDT", "spot") for m in sorted(mexc_spot)]
        for m in sorted(mexc_swap):
            base, quote = m.split("_")
            inverse = quote == "USD"
            markets.append(
                unified(
                    m,
                    base,
                    quote,
                    "swap",
                    settle=base if inverse else quote,
                    contract_size=GATE_FUTURES_SIZES.get(m, 1.0),
                    inverse=inverse,
                )
            )
        mexc.set_markets(markets)
        return gate, mexc

    gate, mexc = loop.run_until_complete(make())
    exchanges = {
        "gateio_spot": gate,
        "gateio_futures": gate,
        "mexc_spot": mexc,
        "mexc_futures": mexc,
    }
    urls = {
        "gateio_spot": gate.urls["api"]["spot"],
        "gateio_futures": gate.urls["api"]["swap"]["usdt"],
        "mexc_spot": mexc.urls["api"]["ws"]["spot"],
        "mexc_futures": mexc.urls["api"]["ws"]["swap"],
    }
    clients = loop.run_until_complete(_clients(exchanges, urls))

    cases: list[harness.Case] = []
    status: dict[str, dict[str, Any]] = {}
    for data in datasets:
        cid = data["id"] + "|ccxt"
        reason = UNSUPPORTED.get((data["venue"], data["channel"])) or UNSUPPORTED.get(
            (data["venue"], f"{data['channel']}.{data['source']}")
        )
        if reason:
            status[cid] = {"status": "unsupported", "reason": reason}
            continue
        ex, client = exchanges[data["venue"]], clients[data["venue"]]
        case = harness.guarded(
            status, cid, lambda ex=ex, client=client, data=data: build(ex, client, data, loop)
        )
        if case is None:
            continue
        try:
            status[cid] = {"status": "ok", "check": check(case, ex, client, data)}
            cases.append(case)
        except Exception as exc:
            status[cid] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    import google.protobuf
    from google.protobuf.internal import api_implementation

    meta = {
        "python": sys.version.split()[0],
        "versions": {
            "ccxt": version("ccxt"),
            "orjson": version("orjson"),
            "protobuf": f"{google.protobuf.__version__} ({api_implementation.Type()})",
        },
    }
    harness.serve(cases, status, meta)


async def _clients(exchanges: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
    return {venue: exchanges[venue].client(urls[venue]) for venue in exchanges}


def _symbol_for(ex: Any, venue: str, native: str) -> str:
    kind = "spot" if venue.endswith("spot") else "swap"
    for market in ex.markets_by_id[native]:
        if market["type"] == kind:
            return market["symbol"]
    raise KeyError(native)


def build(ex: Any, client: Any, data: dict[str, Any], loop: asyncio.AbstractEventLoop):
    frames = data["frames"]
    handle = client.handle_text_or_binary_message
    venue = data["venue"]
    books = {_symbol_for(ex, venue, native): body for native, body in data["books"].items()}
    by_native = dict(data["books"])

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None):
        for native, text in by_native.items():
            if re.search(rf"(=|/){re.escape(native)}(&|$|\?)", url):
                return json.loads(text)
        raise KeyError(f"no snapshot for {url}")

    async def load_books() -> None:
        ex.fetch = fetch  # transport stub: the REST body comes from the dataset
        for symbol in books:
            snapshot = await ex.fetch_rest_order_book_safe(symbol, 100)
            stored = ex.order_book()
            stored.reset(snapshot)
            ex.orderbooks[symbol] = stored
            client.subscriptions["orderbook:" + symbol] = {"limit": 100}

    def run() -> None:
        for frame in frames:
            handle(frame)

    reset = (lambda: loop.run_until_complete(load_books())) if books else None
    return harness.Case(data["id"] + "|ccxt", len(frames), run, reset)


def check(case: harness.Case, ex: Any, client: Any, data: dict[str, Any]) -> dict[str, Any]:
    """One pass over the distinct frames (books: a whole pass) from a fresh state, counting
    what ccxt produced: resolved futures, cached trades, tickers, book tops."""
    ex.trades = {}
    ex.tickers = {}
    ex.bidsasks = {}
    if case.reset:
        case.reset()
    frames = data["frames"] if data["books"] else data["frames"][: data["unique"]]
    resolved = [0]
    original = client.resolve

    def counting(result: Any, message_hash: Any) -> Any:
        resolved[0] += 1
        return original(result, message_hash)

    client.resolve = counting
    try:
        for frame in frames:
            client.handle_text_or_binary_message(frame)
    finally:
        del client.resolve
    out: dict[str, Any] = {
        "frames": len(frames),
        "resolved": resolved[0],
        "trades": sum(len(v) for v in ex.trades.values()),
        "tickers": len(ex.tickers) + len(ex.bidsasks),
    }
    if data["books"]:
        tops = {}
        for native in data["books"]:
            book = ex.orderbooks[_symbol_for(ex, data["venue"], native)]
            bids, asks = book["bids"], book["asks"]
            tops[native] = [bids[0][0] if len(bids) else None, asks[0][0] if len(asks) else None]
        out["top"] = tops
    return out


if __name__ == "__main__":
    main()
