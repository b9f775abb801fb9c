"""The `pipeline` command: run a topology, watch it, steer it, simulate venues."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import click
import orjson

from actors.client import ControlError, request
from actors.control import Command
from actors.topology import Topology, TopologyError, load

TOPOLOGY_OPTION = click.option(
    "-t",
    "--topology",
    "topology_path",
    default="topology.yaml",
    show_default=True,
    help="The topology file of the running pipeline.",
)


def _load(path: str, environ: Mapping[str, str] | None = None) -> Topology:
    """Read a topology.  Commands that only need its endpoints don't need the secrets: by
    default a missing credential variable is not an error here (`run` and `check` pass the
    real environment to insist)."""
    if environ is None:
        environ = IssuedCredentials(os.environ)
    try:
        return load(path, cores=os.cpu_count() or 1, environ=environ)
    except TopologyError as exc:
        raise click.ClickException(f"{path}: {exc}") from None


class IssuedCredentials(Mapping[str, str]):
    """The environment, plus made-up credentials for every variable a topology names but the
    shell does not set: under --simulate the simulators accept exactly these, so private
    channels run offline without anyone's real keys.  Nothing issued here reaches a venue."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.issued: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name in self.environ:
            return self.environ[name]
        if name not in self.issued:
            self.issued[name] = secrets.token_hex(32)
        return self.issued[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self.environ, **self.issued})

    def __len__(self) -> int:
        return len({**self.environ, **self.issued})


def _ask(topology: Topology, command: Command) -> Any:
    try:
        reply = request(topology.control, command)
    except ControlError as exc:
        raise click.ClickException(f"{exc} -- is `pipeline run` running?") from None
    if not reply.ok:
        raise click.ClickException(reply.error)
    return reply.data


@click.group()
def main() -> None:
    """marketpipe: MEXC and Gate.io market and account data through a process pipeline."""


@main.command()
@click.argument("topology_path", metavar="TOPOLOGY")
@click.option("--simulate", is_flag=True, help="Run against local venue simulators (offline).")
@click.option("--log-level", default="INFO", show_default=True)
def run(topology_path: str, simulate: bool, log_level: str) -> None:
    """Start the coordinator and every actor of TOPOLOGY; Ctrl-C stops them all."""
    from actors.coordinator import AdoptionRefused, Coordinator
    from actors.runtime.rundir import CoordinatorRunning

    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    environ: Mapping[str, str] = IssuedCredentials(os.environ) if simulate else os.environ
    topology = _load(topology_path, environ)
    if simulate:
        from actors.simulators import SIMULATOR_PATHS

        missing = [v.name for v in topology.venues if v.name not in SIMULATOR_PATHS]
        if missing:
            raise click.ClickException(
                f"--simulate: no simulator for {', '.join(missing)} yet "
                f"(simulated: {', '.join(sorted(SIMULATOR_PATHS))})"
            )
    if isinstance(environ, IssuedCredentials) and environ.issued:
        os.environ.update(environ.issued)  # children inherit them; the simulator checks them
        logging.getLogger("pipeline").info(
            "simulate: %s not set; the simulators issued credentials for them",
            ", ".join(sorted(environ.issued)),
        )
    try:
        request(topology.control, Command("status"), timeout_s=0.3)
    except ControlError:
        pass
    else:
        raise click.ClickException(f"a pipeline is already running with run_dir {topology.run_dir}")
    coordinator = Coordinator(
        topology,
        source=topology_path,
        simulate=simulate,
        log_level=log_level.upper(),
        issued_credentials=environ.issued if isinstance(environ, IssuedCredentials) else {},
    )
    try:
        code = coordinator.run()
    except (CoordinatorRunning, AdoptionRefused) as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(code)


@main.command()
@click.argument("topology_path", metavar="TOPOLOGY")
@click.option("--simulate", is_flag=True, help="Check it as `run --simulate` would.")
def check(topology_path: str, simulate: bool) -> None:
    """Validate TOPOLOGY without starting anything; print the actors it would run."""
    topology = _load(topology_path, IssuedCredentials(os.environ) if simulate else os.environ)
    click.echo(f"{topology_path}: ok (run_dir {topology.run_dir})")
    for venue in topology.venues:
        subs = len(venue.symbols) * len(venue.channels)
        click.echo(
            f"  {venue.name}: {len(venue.symbols)} symbols x {len(venue.channels)} channels "
            f"= {subs} subscriptions; {len(venue.groups)} connection(s), {venue.parsers} "
            f"parser(s), 1 handler; publish {venue.publish}"
        )


@main.command()
@TOPOLOGY_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the raw status as JSON.")
def status(topology_path: str, as_json: bool) -> None:
    """Actors, connections and per-stage counters of the running pipeline."""
    data = _ask(_load(topology_path), Command("status"))
    if as_json:
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    from actors.status_view import render

    click.echo(render(data))


@main.command()
@click.argument("venue")
@click.argument("symbols", nargs=-1, required=True)
@click.option("--channel", "channels", multiple=True, help="Only these channels (repeatable).")
@TOPOLOGY_OPTION
def subscribe(
    venue: str, symbols: tuple[str, ...], channels: tuple[str, ...], topology_path: str
) -> None:
    """Add SYMBOLS of VENUE to the running pipeline."""
    data = _ask(_load(topology_path), Command("subscribe", venue, list(symbols), list(channels)))
    click.echo(f"{data['venue']}: {data['subscriptions']} subscriptions")


@main.command()
@click.argument("venue")
@click.argument("symbols", nargs=-1, required=True)
@click.option("--channel", "channels", multiple=True, help="Only these channels (repeatable).")
@TOPOLOGY_OPTION
def unsubscribe(
    venue: str, symbols: tuple[str, ...], channels: tuple[str, ...], topology_path: str
) -> None:
    """Remove SYMBOLS of VENUE from the running pipeline."""
    data = _ask(_load(topology_path), Command("unsubscribe", venue, list(symbols), list(channels)))
    click.echo(f"{data['venue']}: {data['subscriptions']} subscriptions")


@main.command()
@click.argument("prefixes", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--count", type=int, default=0, help="Stop after N events (0: never).")
@click.option("--private", is_flag=True, help="Also the private (account) streams.")
@TOPOLOGY_OPTION
def tail(
    prefixes: tuple[str, ...], as_json: bool, count: int, private: bool, topology_path: str
) -> None:
    """Print the published stream; PREFIXES filter topics (e.g. book_ticker. trade.gateio_spot)."""
    import zmq

    from actors.messages import EVENT_DECODER

    topology = _load(topology_path)
    endpoints = [v.publish for v in topology.venues]
    if private:
        endpoints += [v.private_publish for v in topology.venues]
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    for endpoint in endpoints:
        sub.connect(endpoint)
    for prefix in prefixes or ("",):
        sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    seen = 0
    try:
        while count == 0 or seen < count:
            _topic, payload = sub.recv_multipart()
            event = EVENT_DECODER.decode(payload)
            if as_json:
                click.echo(orjson.dumps(event, default=_default).decode())
            else:
                click.echo(format_event(event))
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        sub.close()


def _default(obj: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(obj)


def format_event(event: Any) -> str:
    import msgspec

    data = msgspec.to_builtins(event)
    kind = data.pop("type")
    stamp = dt.datetime.fromtimestamp(event.recv_ns / 1e9 if event.recv_ns else 0).strftime(
        "%H:%M:%S.%f"
    )[:-3]
    for key in ("venue", "symbol", "native", "recv_ns"):
        data.pop(key, None)
    if kind in ("book_snapshot", "book_delta"):
        bids, asks = data.pop("bids"), data.pop("asks")
        data["levels"] = f"{len(bids)} bids {len(asks)} asks"
        if kind == "book_snapshot" and bids and asks:  # snapshots are best first
            data["best"] = f"{bids[0][1]}@{bids[0][0]} / {asks[0][1]}@{asks[0][0]}"
    fields = " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", 0, False))
    return f"{stamp} {kind:<13} {event.venue:<12} {event.symbol:<12} {fields}"


@main.command()
@click.argument("venue")
@click.option("--port", type=int, default=0, help="Loopback port (0: any free port).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--symbols", default="BTC/USDT,ETH/USDT,SOL/USDT", show_default=True)
def simulate(venue: str, port: int, seed: int, symbols: str) -> None:
    """Run one venue simulator alone on 127.0.0.1 (WebSocket and REST on one port)."""
    from actors.stages.simulator import run_simulator

    run_simulator(venue, [s.strip() for s in symbols.split(",") if s.strip()], port, seed)


if __name__ == "__main__":
    main()
