"""Benchmark worker: the same frames through cryptofeed's own feed handlers.  [cryptofeed venv]

Run by ``scripts/bench_parse.py`` with the interpreter of a throwaway virtualenv that has
cryptofeed 2.4.x (never our dependency): ``python peer_cryptofeed.py DATASET_DIR``.

How the feeds are driven, with no network, as cryptofeed's own replay tests drive them:

* symbols: ``Symbols.set`` with the feed class's own ``_parse_symbol_data`` run over the
  recorded REST instrument lists (``cryptofeed_GATEIO*.0``, what cryptofeed fetched itself);
* the feed is constructed with no-op callbacks (one counter increment) for every data type;
* every frame goes through ``await feed.message_handler(frame, conn, timestamp)``, exactly
  what cryptofeed's connection handler does per websocket message (JSON decode with
  yapic/Decimal, normalization into its Cython types, book maintenance, callbacks);
* books: before every pass (untimed) ``feed._reset()`` and ``await feed._snapshot(pair)``,
  cryptofeed's own snapshot loader, with its HTTP client answering from the dataset's REST
  body (the transport is stubbed, not the parsing).  Nothing of cryptofeed's parsing or book
  logic is replaced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import harness

UNSUPPORTED_MEXC = "cryptofeed 2.4 has no MEXC feed (no MEXC module in cryptofeed.exchanges)"
UNSUPPORTED = {
    ("gateio_spot", "book_ticker"): "cryptofeed 2.4 Gateio handles no spot.book_ticker "
    "(its TICKER channel is spot.tickers; the frame is logged as unhandled)",
}


def _instrument_body(path: Path) -> Any:
    for line in path.read_text().splitlines():
        if " -> " in line:
            _, _, rest = line.partition(" -> ")
            return json.loads(rest.partition(": ")[2])
    raise ValueError(f"no REST line in {path}")


def main() -> None:
    logging.disable(logging.CRITICAL)
    from cryptofeed.defines import CANDLES, L2_BOOK, TICKER, TRADES
    from cryptofeed.exchanges import Gateio, GateioFutures
    from cryptofeed.symbols import Symbols

    datasets = harness.load_datasets(sys.argv[1])
    shared = Path(sys.argv[2])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    counter = [0]

    async def noop(obj: Any, receipt_timestamp: float) -> None:
        counter[0] += 1

    feeds: dict[str, Any] = {}
    for venue, cls, name in (
        ("gateio_spot", Gateio, "cryptofeed_GATEIO.0"),
        ("gateio_futures", GateioFutures, "cryptofeed_GATEIO_FUTURES.0"),
    ):
        syms, info = cls._parse_symbol_data(_instrument_body(shared / "frames/gateio" / name))
        Symbols.set(cls.id, syms, info)
        callbacks = {k: noop for k in (L2_BOOK, TRADES, TICKER, CANDLES)}
        feed = cls(callbacks=callbacks)
        feed._reset()
        feeds[venue] = feed

    cases: list[harness.Case] = []
    status: dict[str, dict[str, Any]] = {}
    for data in datasets:
        cid = data["id"] + "|cryptofeed"
        venue = data["venue"]
        if venue.startswith("mexc"):
            status[cid] = {"status": "unsupported", "reason": UNSUPPORTED_MEXC}
            continue
        reason = UNSUPPORTED.get((venue, data["channel"]))
        if reason:
            status[cid] = {"status": "unsupported", "reason": reason}
            continue
        case = harness.guarded(
            status, cid, lambda feed=feeds[venue], data=data: build(feed, data, loop, counter)
        )
        if case is None:
            continue
        try:
            status[cid] = {"status": "ok", "check": check(case, feeds[venue], data, counter)}
            cases.append(case)
        except Exception as exc:
            status[cid] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    meta = {
        "python": sys.version.split()[0],
        "versions": {
            "cryptofeed": version("cryptofeed"),
            "order_book": version("order_book"),
            "yapic.json": version("yapic.json"),
        },
    }
    harness.serve(cases, status, meta)


def build(feed: Any, data: dict[str, Any], loop: asyncio.AbstractEventLoop, counter: list[int]):
    frames = data["frames"]
    handler = feed.message_handler
    books = data["books"]

    async def read(url: str, **kwargs: Any) -> str:
        for native, body in books.items():
            if f"={native}&" in url:
                return body
        raise KeyError(f"no snapshot for {url}")

    async def one_pass() -> None:
        for frame in frames:
            await handler(frame, None, 1.0)

    async def load_books() -> None:
        feed.http_conn.read = read  # transport stub: the REST body comes from the dataset
        feed._reset()
        for native in books:
            await feed._snapshot(native)

    def run() -> None:
        loop.run_until_complete(one_pass())

    reset = (lambda: loop.run_until_complete(load_books())) if books else None
    if data["kind"] in ("book_unchained",):
        raise RuntimeError("not a sequence chain")
    return harness.Case(data["id"] + "|cryptofeed", len(frames), run, reset)


def check(case: harness.Case, feed: Any, data: dict[str, Any], counter: list[int]) -> dict:
    if case.reset:
        case.reset()
    counter[0] = 0
    unique = data["frames"][: data["unique"]]
    saved = case.frames_per_pass
    # one pass over the distinct frames, counting callbacks (books: a whole pass)
    if data["books"]:
        case.run()
    else:
        loop = asyncio.get_event_loop()

        async def go() -> None:
            for frame in unique:
                await feed.message_handler(frame, None, 1.0)

        loop.run_until_complete(go())
    out: dict[str, Any] = {
        "callbacks": counter[0],
        "frames": len(unique) if not data["books"] else saved,
    }
    if data["books"]:
        tops = {}
        for native in data["books"]:
            std = feed.exchange_symbol_to_std_symbol(native)
            book = feed._l2_book.get(std)
            if book is None:
                tops[native] = [None, None]
                continue
            bid = book.book.bids.index(0)[0] if len(book.book.bids) else None
            ask = book.book.asks.index(0)[0] if len(book.book.asks) else None
            tops[native] = [
                float(bid) if bid is not None else None,
                float(ask) if ask is not None else None,
            ]
        out["top"] = tops
    return out


if __name__ == "__main__":
    main()
