"""topology.yaml -> a validated, frozen Topology.  [pure]

The file says what to stream and where to publish it; the actors are derived from it:
per venue, connection actors (as many per group as the venue's subscription limit needs),
``parsers`` parser actors and one handler.

    run_dir: /tmp/marketpipe        # ipc sockets live here (created owner-only)
    parsers: auto                   # parser processes per venue; auto = one per core
    coordinator_grace_s: 10         # actors outlive a dead coordinator this long, waiting
                                    # for a new one to adopt them (then they exit)
    hung_after_reports: 3           # an actor missing this many 1 s reports is hung: killed
                                    # and restarted
    venues:
      gateio_spot:
        symbols: [BTC/USDT, ETH/USDT]
        channels: [book_ticker, trades, order_book, tickers]
        publish: tcp://127.0.0.1:5601
        options: {book_interval: 100ms, book_depth: 100}
        ws_url: wss://api.gateio.ws/ws/v4/       # optional override (testnet, proxy, local)
        rest_url: https://api.gateio.ws/api/v4   # optional override
        credentials: {key: GATE_KEY, secret: GATE_SECRET}   # names of environment variables
    control: tcp://127.0.0.1:5700   # optional; default ipc://<run_dir>/control
    curve:                          # required once control or a private_publish is tcp
      server_public: keys/server.key             # files from `pipeline keys`, relative to
      server_secret: keys/server.key_secret      # this file's directory
      authorized_clients: keys/clients           # the client public keys (*.key) let in
      client_secret: keys/client.key_secret      # optional: what `pipeline status/tail` use

Every error names the key path and the reason, e.g.
``venues.gateio_spot.symbols[1]: 'btcusdt' is not a symbol: expected BASE/QUOTE``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from msgspec import Struct

from actors.venues import Subscription, Venue, venue_class

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
ENDPOINT = re.compile(r"^(tcp://[^\s:]+:\d+|ipc://\S+)$")
# A CURVE key written into the file instead of a key file's path: 40 Z85 characters.
Z85_KEY = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
VENUE_KEYS = frozenset(
    {
        "symbols",
        "channels",
        "publish",
        "private_publish",
        "options",
        "ws_url",
        "rest_url",
        "credentials",
        "parsers",
        "rotate_after_s",
        "max_frame_bytes",
        "publish_hwm",
    }
)
TOP_KEYS = frozenset(
    {"run_dir", "parsers", "venues", "control", "curve"}
    | {"coordinator_grace_s", "hung_after_reports"}
)
DEFAULT_HUNG_AFTER_REPORTS = 3
CURVE_KEYS = ("server_public", "server_secret", "authorized_clients", "client_secret")
CURVE_HOW = (
    "add a curve: section (server_public, server_secret, authorized_clients; "
    "`pipeline keys` makes the key files)"
)
DEFAULT_GRACE_S = 10.0


class TopologyError(ValueError):
    """An invalid topology: ``path`` is the key path, the message says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class Credentials(Struct, frozen=True):
    key_env: str  # names of environment variables, never the secrets themselves
    secret_env: str

    def resolve(self, environ: Mapping[str, str]) -> tuple[str, str]:
        """The (key, secret) values; only the connection actor that signs ever calls this."""
        return environ[self.key_env], environ[self.secret_env]


class CurveSpec(Struct, frozen=True):
    """Paths of CURVE key files (never keys): the server's pair, the directory of client
    public keys it lets in, and optionally the pair local clients (the CLI) use."""

    server_public: str
    server_secret: str
    authorized_clients: str
    client_secret: str = ""


def needs_curve(endpoint: str) -> bool:
    """tcp control and private endpoints are CURVE-only; ipc ones are protected by the
    owner-only run directory."""
    return endpoint.startswith("tcp://")


class VenueSpec(Struct, frozen=True):
    name: str
    symbols: tuple[str, ...]
    channels: tuple[str, ...]
    publish: str
    private_publish: str  # orders, fills, balances, positions: never on the public endpoint
    parsers: int
    groups: tuple[str, ...]  # the connection group of each connection actor, by index
    options: dict[str, Any] = {}
    ws_url: str = ""
    rest_url: str = ""
    credentials: Credentials | None = None
    rotate_after_s: float = 0.0  # replace each connection after this long (0: venue default)
    max_frame_bytes: int = 2**24  # a bigger frame closes the socket (1009) and resyncs
    publish_hwm: int = 100_000  # events queued per consumer; past it that consumer loses

    def subscriptions(self) -> list[Subscription]:
        return [Subscription(c, s) for s in self.symbols for c in self.channels]


class Topology(Struct, frozen=True):
    run_dir: str
    venues: tuple[VenueSpec, ...]
    control: str  # where `pipeline status/subscribe/...` reach the coordinator
    curve: CurveSpec | None = None  # keys for the tcp control and private endpoints
    coordinator_grace_s: float = DEFAULT_GRACE_S
    hung_after_reports: int = DEFAULT_HUNG_AFTER_REPORTS  # missed 1 s reports: hung

    def venue(self, name: str) -> VenueSpec:
        for spec in self.venues:
            if spec.name == name:
                return spec
        raise KeyError(f"venue {name!r} is not in this topology")


def load(path: str, *, cores: int, environ: Mapping[str, str]) -> Topology:
    """Read and validate a topology file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise TopologyError(path, f"cannot read: {exc.strerror}") from None
    return parse(text, cores=cores, environ=environ, base_dir=os.path.dirname(path))


def parse(text: str, *, cores: int, environ: Mapping[str, str], base_dir: str = "") -> Topology:
    """``base_dir``: where relative key file paths start (the topology file's directory)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError("<file>", f"not valid YAML: {exc}") from None
    top = _mapping(doc, "<file>")
    _no_unknown(top, TOP_KEYS, "")
    run_dir = _string(top.get("run_dir", "/tmp/marketpipe"), "run_dir")
    if not run_dir.startswith("/"):
        raise TopologyError("run_dir", f"{run_dir!r} must be an absolute path")
    default_parsers = _parsers(top.get("parsers", "auto"), "parsers", cores)
    grace_s = _seconds(top.get("coordinator_grace_s", DEFAULT_GRACE_S), "coordinator_grace_s")
    if grace_s < 1:
        # Shorter than a few report intervals, actors would leave during any restart.
        raise TopologyError("coordinator_grace_s", f"{grace_s!r} must be at least 1 second")
    hung_after = _whole(
        top.get("hung_after_reports", DEFAULT_HUNG_AFTER_REPORTS), "hung_after_reports", 2
    )
    venues_doc = _mapping(top.get("venues"), "venues")
    if not venues_doc:
        raise TopologyError("venues", "at least one venue is required")
    run_dir = run_dir.rstrip("/")
    venues = tuple(
        _venue(
            str(name),
            _mapping(body, f"venues.{name}"),
            run_dir=run_dir,
            default_parsers=default_parsers,
            cores=cores,
            environ=environ,
        )
        for name, body in venues_doc.items()
    )
    control = _endpoint(top.get("control", f"ipc://{run_dir}/control"), "control")
    curve = _curve(top.get("curve"), "curve", base_dir)
    for path, endpoint in [
        ("control", control),
        *((f"venues.{v.name}.private_publish", v.private_publish) for v in venues),
    ]:
        if needs_curve(endpoint) and curve is None:
            # Anyone who reaches a tcp port could steer the pipeline or read account data.
            raise TopologyError(path, f"{endpoint!r} is tcp, which needs CURVE keys: {CURVE_HOW}")
    _unique([control, *(e for v in venues for e in (v.publish, v.private_publish))], "endpoints")
    return Topology(
        run_dir=run_dir,
        venues=venues,
        control=control,
        curve=curve,
        coordinator_grace_s=grace_s,
        hung_after_reports=hung_after,
    )


def _venue(
    name: str,
    doc: dict[str, Any],
    *,
    run_dir: str,
    default_parsers: int,
    cores: int,
    environ: Mapping[str, str],
) -> VenueSpec:
    path = f"venues.{name}"
    try:
        cls = venue_class(name)
    except KeyError as exc:
        raise TopologyError(path, str(exc.args[0])) from None
    _no_unknown(doc, VENUE_KEYS, path)
    options = _mapping(doc.get("options", {}), f"{path}.options")
    try:
        venue = cls(options)
    except ValueError as exc:
        raise TopologyError(f"{path}.options", str(exc)) from None
    symbols = tuple(_symbols(venue, doc.get("symbols"), f"{path}.symbols"))
    channels = tuple(_channels(cls, doc.get("channels"), f"{path}.channels"))
    private = [c for c in channels if c in cls.private_channels]
    publish = _endpoint(doc.get("publish"), f"{path}.publish")
    private_publish = _endpoint(
        doc.get("private_publish", f"ipc://{run_dir}/{name}.private"), f"{path}.private_publish"
    )
    parsers = _parsers(doc.get("parsers", default_parsers), f"{path}.parsers", cores)
    credentials = _credentials(doc.get("credentials"), f"{path}.credentials", environ)
    if private and credentials is None:
        raise TopologyError(
            f"{path}.credentials",
            f"private channels ({', '.join(private)}) need credentials: "
            "{key: ENV_VAR_WITH_KEY, secret: ENV_VAR_WITH_SECRET}",
        )
    groups = connection_groups(venue, symbols, channels)
    return VenueSpec(
        name=name,
        symbols=symbols,
        channels=channels,
        publish=publish,
        private_publish=private_publish,
        parsers=parsers,
        groups=groups,
        options=options,
        ws_url=_url(doc.get("ws_url", ""), f"{path}.ws_url", ("ws://", "wss://")),
        rest_url=_url(doc.get("rest_url", ""), f"{path}.rest_url", ("http://", "https://")),
        credentials=credentials,
        rotate_after_s=_seconds(doc.get("rotate_after_s", 0.0), f"{path}.rotate_after_s"),
        max_frame_bytes=_whole(doc.get("max_frame_bytes", 2**24), f"{path}.max_frame_bytes", 1024),
        publish_hwm=_whole(doc.get("publish_hwm", 100_000), f"{path}.publish_hwm", 1),
    )


def connection_groups(
    venue: Venue, symbols: Sequence[str], channels: Sequence[str]
) -> tuple[str, ...]:
    """One entry per connection actor: each group gets as many as its subscriptions need."""
    counts: dict[str, int] = {}
    for channel in channels:
        group = venue.connection_group(channel)
        counts[group] = counts.get(group, 0) + len(symbols)
    return tuple(
        group
        for group, count in counts.items()
        for _ in range(_needed(count, venue.connection_limit(group)))
    )


def _needed(count: int, limit: int | None) -> int:
    return math.ceil(count / limit) if limit else 1


def _symbols(venue: Venue, value: Any, path: str) -> list[str]:
    items = _list(value, path)
    if not items:
        raise TopologyError(path, "at least one symbol is required")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TopologyError(f"{path}[{i}]", f"{item!r} is not a symbol string")
        try:
            venue.native_symbol(item)
        except ValueError as exc:
            raise TopologyError(f"{path}[{i}]", f"{item!r} is not a symbol: {exc}") from None
    _unique(items, path)
    return items


def _channels(cls: type[Venue], value: Any, path: str) -> list[str]:
    items = _list(value, path)
    if not items:
        raise TopologyError(path, "at least one channel is required")
    known_channels = cls.channels | cls.private_channels
    for i, item in enumerate(items):
        if item not in known_channels:
            known = ", ".join(sorted(known_channels))
            raise TopologyError(
                f"{path}[{i}]", f"unknown channel {item!r} for {cls.name} (known: {known})"
            )
    _unique(items, path)
    return items


def _credentials(value: Any, path: str, environ: Mapping[str, str]) -> Credentials | None:
    if value is None:
        return None
    doc = _mapping(value, path)
    _no_unknown(doc, frozenset({"key", "secret"}), path)
    names = {}
    for field in ("key", "secret"):
        name = doc.get(field)
        if not isinstance(name, str) or not ENV_NAME.match(name):
            # Never echo the value: it may be the secret itself, pasted by mistake.
            raise TopologyError(
                f"{path}.{field}",
                "must name an environment variable (UPPER_CASE); literal secrets are refused",
            )
        if not environ.get(name):
            raise TopologyError(f"{path}.{field}", f"environment variable {name} is not set")
        names[field] = name
    return Credentials(key_env=names["key"], secret_env=names["secret"])


def _parsers(value: Any, path: str, cores: int) -> int:
    if value == "auto":
        return max(1, cores)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64:
        return value
    raise TopologyError(path, f"{value!r} must be 'auto' or a whole number from 1 to 64")


def _seconds(value: Any, path: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise TopologyError(path, f"{value!r} must be a number of seconds >= 0")


def _whole(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise TopologyError(path, f"{value!r} must be a whole number >= {minimum}")


def _endpoint(value: Any, path: str) -> str:
    if not isinstance(value, str) or not ENDPOINT.match(value):
        raise TopologyError(path, f"{value!r} must be tcp://HOST:PORT or ipc://PATH")
    return value


def _curve(value: Any, path: str, base_dir: str) -> CurveSpec | None:
    if value is None:
        return None
    doc = _mapping(value, path)
    _no_unknown(doc, frozenset(CURVE_KEYS), path)
    paths: dict[str, str] = {}
    for field in CURVE_KEYS:
        item = doc.get(field)
        if item is None:
            if field == "client_secret":
                continue
            raise TopologyError(f"{path}.{field}", f"required ({CURVE_HOW})")
        if not isinstance(item, str) or not item or Z85_KEY.match(item):
            # Never echo the value: it may be a key pasted in by mistake.
            raise TopologyError(
                f"{path}.{field}",
                "must be the path of a key file (`pipeline keys` makes them); "
                "literal keys are refused",
            )
        paths[field] = os.path.join(base_dir, item) if base_dir else item
    return CurveSpec(**paths)


def _url(value: Any, path: str, schemes: tuple[str, ...]) -> str:
    if value == "":
        return ""
    if not isinstance(value, str) or not value.startswith(schemes):
        raise TopologyError(path, f"{value!r} must start with {' or '.join(schemes)}")
    return value


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TopologyError(path, f"expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise TopologyError(path, f"expected a list, got {type(value).__name__}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise TopologyError(path, f"expected a non-empty string, got {value!r}")
    return value


def _no_unknown(doc: dict[str, Any], known: frozenset[str], path: str) -> None:
    for key in doc:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise TopologyError(where, f"unknown key (known: {', '.join(sorted(known))})")


def _unique(items: list[Any], path: str) -> None:
    seen: set[Any] = set()
    for i, item in enumerate(items):
        if item in seen:
            raise TopologyError(f"{path}[{i}]" if "." in path else path, f"duplicate {item!r}")
        seen.add(item)
