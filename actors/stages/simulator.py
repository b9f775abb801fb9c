"""Simulator actor: a venue simulator supervised like any other actor (under --simulate).

Sockets:
    TCP     binds 127.0.0.1:<port> from the venue's ws_url: the venue's WebSocket and REST
    DEALER  connects to the coordinator (hello, reports)
"""

from __future__ import annotations

import asyncio
import importlib
import signal
from typing import Any
from urllib.parse import urlsplit

from actors.runtime.actor import Actor
from actors.runtime.transport import dealer
from actors.venues import load_venue

# A real venue lists far more markets than a topology streams, so run-time subscribes work
# offline too; these are simulated beside the topology's own symbols.
EXTRA_SYMBOLS = (
    "BTC/USDT",
    "ETH/USDT",
    "SOL/USDT",
    "XRP/USDT",
    "DOGE/USDT",
    "ADA/USDT",
    "LTC/USDT",
    "ETH/BTC",
)

SIMULATOR_CLASSES = {
    "gateio_spot": "actors.simulators.gateio_spot:GateioSpotSimulator",
}


def simulator_class(venue: str) -> Any:
    try:
        module_name, _, name = SIMULATOR_CLASSES[venue].partition(":")
    except KeyError:
        raise KeyError(
            f"no simulator for venue {venue!r} (have: {', '.join(SIMULATOR_CLASSES)})"
        ) from None
    return getattr(importlib.import_module(module_name), name)


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
        venue = load_venue(spec.name, spec.options)
        symbols = dict.fromkeys([*spec.symbols, *EXTRA_SYMBOLS])
        natives = [venue.native_symbol(s) for s in symbols]
        port = urlsplit(spec.ws_url).port or 0
        self.sim = simulator_class(spec.name)(natives, port=port, seed=self.spec.index)
        await self.sim.start()
        control = dealer(self.ctx, self.name, self.spec.coordinator)
        self.hello(control)
        loop = asyncio.get_running_loop()
        while not self.stopping:
            while control.poll(0):
                self.read_command(control.recv())
            self.tick(control, loop.time())
            await asyncio.sleep(0.1)
        await self.sim.stop()

    def info(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.sim.stats()
        return stats


def run_simulator(venue: str, symbols: list[str], port: int, seed: int) -> None:
    """`pipeline simulate`: one simulator in the foreground until Ctrl-C."""
    protocol = load_venue(venue)
    natives = [protocol.native_symbol(s) for s in symbols]

    async def serve() -> None:
        sim = simulator_class(venue)(natives, port=port, seed=seed)
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

    asyncio.run(serve())
