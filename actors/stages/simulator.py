"""Simulator actor: a venue simulator supervised like any other actor (under --simulate).

Sockets:
    TCP     binds 127.0.0.1:<port> from the venue's ws_url: the venue's WebSocket and REST
    DEALER  connects to the coordinator (hello, reports)

It accepts exactly the credentials the topology names (from the environment), and when the
topology streams private channels it runs a demo trader, so account streams have activity.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from typing import Any
from urllib.parse import urlsplit

from actors.runtime.actor import Actor
from actors.simulators import activity
from actors.topology import VenueSpec
from actors.venues import Venue, load_venue

# A real venue lists far more markets than a topology streams, so run-time subscribes work
# offline too; these are simulated beside the topology's own symbols.
EXTRA_SYMBOLS = {
    "gateio_spot": (
        "BTC/USDT",
        "ETH/USDT",
        "SOL/USDT",
        "XRP/USDT",
        "DOGE/USDT",
        "ADA/USDT",
        "LTC/USDT",
        "ETH/BTC",
    ),
    "gateio_futures/usdt": ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"),
    "gateio_futures/btc": ("BTC/USD:BTC",),
    "mexc_spot": (
        "BTC/USDT",
        "ETH/USDT",
        "SOL/USDT",
        "XRP/USDT",
        "DOGE/USDT",
        "ADA/USDT",
        "LTC/USDT",
        "DOT/USDT",
        "LINK/USDT",
        "AVAX/USDT",
    ),
    "mexc_futures": ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"),
}
DEMO_TRADE_EVERY_S = 2.0


def build_simulator(spec: VenueSpec, port: int, seed: int = 0) -> Any:
    """The simulator for ``spec``'s venue on ``port``, simulating its symbols and more."""
    venue = load_venue(spec.name, spec.options)
    settle = str(spec.options.get("settle", "usdt"))
    extra = EXTRA_SYMBOLS.get(spec.name) or EXTRA_SYMBOLS.get(f"{spec.name}/{settle}", ())
    natives = [venue.native_symbol(s) for s in dict.fromkeys([*spec.symbols, *extra])]
    common: dict[str, Any] = {"port": port, "seed": seed}
    if spec.credentials:
        key, secret = spec.credentials.resolve(os.environ)
        common["credentials"] = {key: secret}
        common["user_id"] = str(spec.options.get("user_id", "10001"))
    match spec.name:
        case "gateio_spot":
            from actors.simulators.gateio_spot import GateioSpotSimulator

            return GateioSpotSimulator(natives, **common)
        case "gateio_futures":
            from actors.simulators.gateio_futures import GateioFuturesSimulator

            return GateioFuturesSimulator(natives, settle=settle, **common)
        case "mexc_spot":
            from actors.simulators.mexc_spot import MexcSpotSimulator

            return MexcSpotSimulator(natives, **common)
        case "mexc_futures":
            from actors.simulators.mexc_futures import MexcFuturesSimulator

            return MexcFuturesSimulator(natives, **common)
    raise KeyError(f"no simulator for venue {spec.name!r}")


class SimulatorActor(Actor):
    kind = "simulator"

    def main(self) -> None:
        try:
            import uvloop

            uvloop.run(self.amain())
        except ImportError:
            asyncio.run(self.amain())

    async def amain(self) -> None:
        spec = self.spec.venue
        port = urlsplit(spec.ws_url).port or 0
        self.sim = build_simulator(spec, port, seed=self.spec.index)
        await self.sim.start()
        control = self.open_control()
        venue = load_venue(spec.name, spec.options)
        trading = any(c in venue.private_channels for c in spec.channels)
        rng = random.Random(self.spec.index)
        loop = asyncio.get_running_loop()
        next_trade = loop.time() + DEMO_TRADE_EVERY_S
        while not self.stopping:
            while control.poll(0):
                self.read_command(control.recv())
            now = loop.time()
            self.tick(control, time.monotonic())  # the actor's clock, not the loop's
            if trading and now >= next_trade and not self.sim.paused:
                next_trade = now + DEMO_TRADE_EVERY_S
                self.demo_trade(venue, rng)
            await asyncio.sleep(0.1)
        await self.sim.stop()

    def demo_trade(self, venue: Venue, rng: random.Random) -> None:
        symbol = venue.native_symbol(rng.choice(self.spec.venue.symbols))
        name = self.spec.venue.name
        if name == "gateio_futures":
            params = activity.futures_order(rng, symbol, size=rng.randint(1, 5))
        elif name == "mexc_futures":
            params = activity.mexc_futures_order(rng, symbol, vol=rng.randint(1, 5))
        elif name == "mexc_spot":
            lots = self.sim.market.spec(symbol).amount_decimals
            params = activity.mexc_spot_order(rng, symbol, str(10 ** -min(lots, 3)))
        else:
            top = self.sim.market.best(symbol)
            lots = self.sim.market.spec(symbol).amount_decimals
            amount = str(10 ** -min(lots, 3)) if lots else "1"
            params = activity.spot_order(rng, symbol, top.bid, top.ask, amount)
        try:
            self.sim.control("order", params)
            self.count("demo_orders")
        except Exception as exc:  # an order the account cannot afford is just skipped
            self.count("demo_orders_refused")
            self.log.debug("demo order %s refused: %s", params, exc)

    def info(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.sim.stats()
        return stats


def run_simulator(venue: str, symbols: list[str], port: int, seed: int) -> None:
    """`pipeline simulate`: one simulator in the foreground until Ctrl-C."""
    spec = VenueSpec(
        name=venue,
        symbols=tuple(symbols),
        channels=(),
        publish="",
        private_publish="",
        parsers=1,
        groups=("default",),
    )

    async def serve() -> None:
        sim = build_simulator(spec, port, seed)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await sim.start()
        print(
            f"{venue} simulator: ws {sim.ws_url}  rest {sim.rest_url}  control {sim.control_url}",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            await sim.stop()

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        asyncio.run(serve())
    else:
        uvloop.run(serve())
