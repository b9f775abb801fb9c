"""topology.yaml -> a validated, frozen Topology.  [pure]

The file says what to stream and where to publish it; the actors are derived from it:
per venue, connection actors (as many per group as the venue's subscription limit needs),
``parsers`` parser actors and one handler.

    run_dir: /tmp/marketpipe        # ipc sockets live here (created owner-only)
    parsers: auto                   # parser processes per venue; auto = one per core
    venues:
      gateio_spot:
        symbols: [BTC/USDT, ETH/USDT]
        channels: [book_ticker, trades, order_book, tickers]
        publish: tcp://127.0.0.1:5601
        options: {book_interval: 100ms, book_depth: 100}
        ws_url: wss://api.gateio.ws/ws/v4/       # optional override (testnet, proxy, local)
        rest_url: https://api.gateio.ws/api/v4   # optional override
        credentials: {key: GATE_KEY, secret: GATE_SECRET}   # names of environment variables

Every error names the key path and the reason, e.g.
``venues.gateio_spot.symbols[1]: 'btcusdt' is not a symbol: expected BASE/QUOTE``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from msgspec import Struct

from actors.venues import Subscription, Venue, venue_class

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
ENDPOINT = re.compile(r"^(tcp://[^\s:]+:\d+|ipc://\S+)$")
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
TOP_KEYS = frozenset({"run_dir", "parsers", "venues"})


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

    @property
    def control(self) -> str:
        """Where `pipeline status/subscribe/...` reach the coordinator."""
        return f"ipc://{self.run_dir}/control"

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
    return parse(text, cores=cores, environ=environ)


def parse(text: str, *, cores: int, environ: Mapping[str, str]) -> Topology:
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
    _unique([e for v in venues for e in (v.publish, v.private_publish)], "publish")
    return Topology(run_dir=run_dir, venues=venues)


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
    private_publish = _private_endpoint(
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


def _private_endpoint(value: Any, path: str) -> str:
    endpoint = _endpoint(value, path)
    if not endpoint.startswith("ipc://"):
        # A tcp endpoint would let anyone who reaches the port read account data.
        raise TopologyError(path, f"{endpoint!r}: private data is published on ipc:// only")
    return endpoint


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
