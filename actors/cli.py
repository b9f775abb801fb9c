"""The `pipeline` command: run a topology, watch it, steer it, simulate venues, record
sessions and replay them."""

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
from actors.runtime.curve import ClientKeys, CurveKeyError, client_keys
from actors.topology import Topology, TopologyError, load, needs_curve

TOPOLOGY_OPTION = click.option(
    "-t",
    "--topology",
    "topology_path",
    default="topology.yaml",
    show_default=True,
    help="The topology file of the running pipeline.",
)
CLIENT_KEY_OPTION = click.option(
    "--client-key",
    default="",
    envvar="MARKETPIPE_CLIENT_KEY",
    help="CURVE keypair (NAME.key_secret) for tcp control/private endpoints "
    "[default: the topology's curve.client_secret].",
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


def _client_keys(topology: Topology, client_key: str, endpoints: list[str]) -> ClientKeys | None:
    """The CURVE keys for ``endpoints``, loaded only if one of them is tcp."""
    if not any(needs_curve(e) for e in endpoints):
        return None
    try:
        return client_keys(topology.curve, client_key)
    except CurveKeyError as exc:
        raise click.ClickException(str(exc)) from None


def _ask(topology: Topology, command: Command, client_key: str = "") -> Any:
    keys = _client_keys(topology, client_key, [topology.control])
    try:
        reply = request(topology.control, command, keys=keys)
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
    sys.exit(_run(topology_path, simulate, log_level))


@main.command()
@click.argument("topology_path", metavar="TOPOLOGY")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for the recordings (created if missing).",
)
@click.option("--simulate", is_flag=True, help="Record the local venue simulators (offline).")
@click.option("--seconds", type=float, default=0.0, help="Stop after N seconds (0: at Ctrl-C).")
@click.option("--log-level", default="INFO", show_default=True)
def record(
    topology_path: str, out_dir: str, simulate: bool, seconds: float, log_level: str
) -> None:
    """Run TOPOLOGY like `run`, recording what every connection reads and every REST answer
    the handlers use into OUT (one .mprec.zst file per actor; see docs/RECORDING.md)."""
    if seconds < 0:
        raise click.BadParameter("must be >= 0", param_hint="--seconds")
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    code = _run(
        topology_path,
        simulate,
        log_level,
        record_dir=os.path.abspath(out_dir),
        stop_after_s=seconds,
    )
    files = sorted(f for f in os.listdir(out_dir) if f.endswith(".mprec.zst"))
    click.echo(f"{len(files)} recording(s) in {out_dir}")
    for name in files:
        click.echo(f"  {name}")
    sys.exit(code)


def _run(topology_path: str, simulate: bool, log_level: str, **options: Any) -> int:
    from actors.coordinator import AdoptionRefused, ControlBindError, Coordinator
    from actors.runtime.rundir import CoordinatorRunning

    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    from actors.runtime.launch import no_core_dumps

    no_core_dumps()  # the coordinator holds credentials too (and issues them under --simulate)
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
    if not needs_curve(topology.control):  # a tcp control endpoint in use fails to bind
        try:
            request(topology.control, Command("status"), timeout_s=0.3)
        except ControlError:
            pass
        else:
            raise click.ClickException(
                f"a pipeline is already running with run_dir {topology.run_dir}"
            )
    coordinator = Coordinator(
        topology,
        source=topology_path,
        simulate=simulate,
        log_level=log_level.upper(),
        issued_credentials=environ.issued if isinstance(environ, IssuedCredentials) else {},
        **options,
    )
    try:
        code = coordinator.run()
    except (CurveKeyError, ControlBindError) as exc:
        raise click.ClickException(f"{topology_path}: {exc}") from None
    except (CoordinatorRunning, AdoptionRefused) as exc:
        raise click.ClickException(str(exc)) from None
    return code


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Play at the recorded pace times this.",
)
@click.option(
    "--as-fast-as-possible",
    "fastest",
    is_flag=True,
    help="Push frames as fast as the parsers take them (a benchmark).",
)
@click.option(
    "--publish",
    "publish",
    multiple=True,
    help="Publish endpoint, one per venue in name order (default tcp://127.0.0.1:5701, 5702, ...).",
)
@click.option("--parsers", type=int, default=0, help="Parsers per venue (0: one per core).")
@click.option("--run-dir", default="", help="Directory for the ipc sockets (default: a fresh one).")
@click.option(
    "--wait-for-subscribers",
    "wait_subscribers",
    type=int,
    default=0,
    help="Start pushing once each venue's publisher has heard N subscriptions.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--log-level", default="WARNING", show_default=True)
def replay(
    files: tuple[str, ...],
    speed: float,
    fastest: bool,
    publish: tuple[str, ...],
    parsers: int,
    run_dir: str,
    wait_subscribers: int,
    as_json: bool,
    log_level: str,
) -> None:
    """Push recorded FILES through the real parsers and handlers and publish the result, as
    the recorded session did; stop when everything is pushed and handled, print a summary."""
    from actors.coordinator import Coordinator
    from actors.recording import RecordingError, plan_replay, read_header
    from actors.topology import ENDPOINT, Topology, VenueSpec
    from actors.venues import venue_class

    if speed <= 0:
        raise click.BadParameter("must be > 0 (or use --as-fast-as-possible)", param_hint="--speed")
    if not 0 <= parsers <= 64:
        raise click.BadParameter("must be from 0 to 64", param_hint="--parsers")
    headers = []
    for path in files:
        try:
            with open(path, "rb") as stream:
                headers.append((os.path.abspath(path), read_header(stream, path)))
        except (OSError, RecordingError) as exc:
            raise click.ClickException(str(exc)) from None
    try:
        plans = plan_replay(headers)
        for plan in plans:
            venue_class(plan.venue.name)
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc.args[0] if exc.args else exc)) from None
    if publish and len(publish) != len(plans):
        names = ", ".join(p.venue.name for p in plans)
        raise click.BadParameter(
            f"{len(publish)} endpoint(s) for {len(plans)} venue(s) ({names})",
            param_hint="--publish",
        )
    for endpoint in publish:
        if not ENDPOINT.match(endpoint):
            raise click.BadParameter(f"{endpoint!r} is not tcp://HOST:PORT or ipc://PATH")
    run_dir = (run_dir or f"/tmp/marketpipe-replay-{os.getpid()}").rstrip("/")
    venues = tuple(
        VenueSpec(
            name=plan.venue.name,
            symbols=plan.venue.symbols,
            channels=plan.venue.channels,
            publish=publish[i] if publish else f"tcp://127.0.0.1:{5701 + i}",
            private_publish=f"ipc://{run_dir}/{plan.venue.name}.private",
            parsers=parsers or max(1, os.cpu_count() or 1),
            groups=plan.groups,
            options=plan.venue.options,
        )
        for i, plan in enumerate(plans)
    )
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    for venue in venues:
        click.echo(f"replaying {venue.name}: publishing on {venue.publish}", err=True)
    coordinator = Coordinator(
        Topology(run_dir=run_dir, venues=venues, control=f"ipc://{run_dir}/control"),
        source="replay",
        log_level=log_level.upper(),
        replay={p.venue.name: p for p in plans},
        speed=0.0 if fastest else speed,
        wait_subscribers=wait_subscribers,
    )
    coordinator.run()
    summary = coordinator.summary
    if summary is None:
        raise click.ClickException("replay stopped before the end")
    if as_json:
        click.echo(orjson.dumps(summary).decode())
    else:
        _print_summary(summary)
    if summary["damaged_files"]:
        # Played up to the damage; the notices above say which file, where and why.
        sys.exit(1)


def _print_summary(summary: dict[str, Any]) -> None:
    from actors.coordinator import SUMMARY_COUNTERS

    click.echo(
        f"replayed {summary['frames']} frames in {summary['seconds']} s "
        f"({summary['frames_per_s']} frames/s); {summary['events_published']} events published"
    )
    for name, v in summary["venues"].items():
        counters = ", ".join(f"{k.replace('_', ' ')} {v[k]}" for k in SUMMARY_COUNTERS)
        click.echo(
            f"  {name}: {v['frames_pushed']} frames pushed, {v['frames_handled']} handled, "
            f"{v['events_published']} events; {counters}"
        )
    if summary["damaged_files"]:
        click.echo(f"{summary['damaged_files']} recording(s) damaged: played up to the damage")


@main.command()
@click.argument("topology_path", metavar="TOPOLOGY")
@click.option("--simulate", is_flag=True, help="Check it as `run --simulate` would.")
def check(topology_path: str, simulate: bool) -> None:
    """Validate TOPOLOGY without starting anything; print the actors it would run."""
    topology = _load(topology_path, IssuedCredentials(os.environ) if simulate else os.environ)
    secured = [topology.control, *(v.private_publish for v in topology.venues)]
    if topology.curve is not None and any(needs_curve(e) for e in secured):
        from actors.runtime.curve import ServerKeys

        try:
            ServerKeys.load(topology.curve)
        except CurveKeyError as exc:
            raise click.ClickException(f"{topology_path}: {exc}") from None
    click.echo(f"{topology_path}: ok (run_dir {topology.run_dir}, control {topology.control})")
    for venue in topology.venues:
        subs = len(venue.symbols) * len(venue.channels)
        click.echo(
            f"  {venue.name}: {len(venue.symbols)} symbols x {len(venue.channels)} channels "
            f"= {subs} subscriptions; {len(venue.groups)} connection(s), {venue.parsers} "
            f"parser(s), 1 handler; publish {venue.publish}"
        )


@main.command()
@TOPOLOGY_OPTION
@CLIENT_KEY_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the raw status as JSON.")
def status(topology_path: str, client_key: str, as_json: bool) -> None:
    """Actors, connections and per-stage counters of the running pipeline."""
    data = _ask(_load(topology_path), Command("status"), client_key)
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
@CLIENT_KEY_OPTION
def subscribe(
    venue: str,
    symbols: tuple[str, ...],
    channels: tuple[str, ...],
    topology_path: str,
    client_key: str,
) -> None:
    """Add SYMBOLS of VENUE to the running pipeline."""
    command = Command("subscribe", venue, list(symbols), list(channels))
    data = _ask(_load(topology_path), command, client_key)
    click.echo(f"{data['venue']}: {data['subscriptions']} subscriptions")


@main.command()
@click.argument("venue")
@click.argument("symbols", nargs=-1, required=True)
@click.option("--channel", "channels", multiple=True, help="Only these channels (repeatable).")
@TOPOLOGY_OPTION
@CLIENT_KEY_OPTION
def unsubscribe(
    venue: str,
    symbols: tuple[str, ...],
    channels: tuple[str, ...],
    topology_path: str,
    client_key: str,
) -> None:
    """Remove SYMBOLS of VENUE from the running pipeline."""
    command = Command("unsubscribe", venue, list(symbols), list(channels))
    data = _ask(_load(topology_path), command, client_key)
    click.echo(f"{data['venue']}: {data['subscriptions']} subscriptions")


@main.command()
@click.argument("prefixes", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--count", type=int, default=0, help="Stop after N events (0: never).")
@click.option("--private", is_flag=True, help="Also the private (account) streams.")
@TOPOLOGY_OPTION
@CLIENT_KEY_OPTION
def tail(
    prefixes: tuple[str, ...],
    as_json: bool,
    count: int,
    private: bool,
    topology_path: str,
    client_key: str,
) -> None:
    """Print the published stream; PREFIXES filter topics (e.g. book_ticker. trade.gateio_spot)."""
    import zmq

    from actors.messages import EVENT_DECODER
    from actors.runtime.curve import connect_curve

    topology = _load(topology_path)
    private_endpoints = [v.private_publish for v in topology.venues] if private else []
    curved = [e for e in private_endpoints if needs_curve(e)]
    keys = _client_keys(topology, client_key, curved)
    ctx = zmq.Context.instance()
    # One SUB for the plain endpoints, one CURVE client for the tcp private ones.
    groups = [
        (
            [v.publish for v in topology.venues]
            + [e for e in private_endpoints if e not in curved],
            None,
        ),
        (curved, keys),
    ]
    subs = []
    for endpoints, curve in groups:
        if not endpoints:
            continue
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        if curve is not None:
            connect_curve(sub, curve)
        for endpoint in endpoints:
            sub.connect(endpoint)
        for prefix in prefixes or ("",):
            sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        subs.append(sub)
    poller = zmq.Poller()
    for sub in subs:
        poller.register(sub, zmq.POLLIN)
    seen = 0
    try:
        while count == 0 or seen < count:
            for sub, _ in poller.poll():
                _topic, payload = sub.recv_multipart()
                event = EVENT_DECODER.decode(payload)
                if as_json:
                    click.echo(orjson.dumps(event, default=_default).decode())
                else:
                    click.echo(format_event(event))
                seen += 1
                if seen == count:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        for sub in subs:
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
@click.option("--out", "out_dir", required=True, help="Directory for the key files.")
@click.option("--name", default="marketpipe", show_default=True, help="File name stem.")
def keys(out_dir: str, name: str) -> None:
    """Make a CURVE keypair: NAME.key (public, 0644) and NAME.key_secret (owner-only)."""
    from actors.runtime.curve import write_keypair

    try:
        public_path, secret_path, public = write_keypair(out_dir, name)
    except CurveKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"public key  {public_path}  (share it: {public.decode()})")
    click.echo(f"secret key  {secret_path}  (owner-only; never share or commit it)")


@main.command()
@click.argument("venue")
@click.option("--port", type=int, default=0, help="Loopback port (0: any free port).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--symbols",
    default="",
    help="Comma-separated symbols [default: BTC, ETH and SOL against USDT, perpetuals on futures].",
)
def simulate(venue: str, port: int, seed: int, symbols: str) -> None:
    """Run one venue simulator alone on 127.0.0.1 (WebSocket and REST on one port)."""
    from actors.stages.simulator import run_simulator

    names = [s.strip() for s in symbols.split(",") if s.strip()]
    if not names:
        settle = ":USDT" if venue.endswith("_futures") else ""
        names = [f"{base}/USDT{settle}" for base in ("BTC", "ETH", "SOL")]
    run_simulator(venue, names, port, seed)


if __name__ == "__main__":
    main()
