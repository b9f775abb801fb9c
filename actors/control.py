"""Control traffic, kept apart from data: actor specs, actor <-> coordinator messages, and the
CLI's commands.  [pure]

Actors talk to the coordinator over one DEALER each (identity = "<actor name>#<pid>") to the
coordinator's ROUTER: reliable both ways, no slow-joiner loss, and a message for an actor that
is down is dropped by the ROUTER instead of piling up (zguide chapter 4).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from actors.topology import CurveSpec, VenueSpec
from actors.venues import Subscription


class ActorSpec(Struct, frozen=True, kw_only=True):
    """Everything an actor process needs to start; passed on its command line."""

    name: str  # gateio_spot.parser.1
    kind: str  # connection | parser | handler | simulator | replay | rest_replay
    venue: VenueSpec  # urls already pointed at a simulator under --simulate
    index: int = 0
    group: str = ""  # a connection's group (venues keep some streams on their own sockets)
    run_dir: str
    coordinator: str  # the coordinator's ROUTER for actors
    raw: list[str] = []  # connection actors' raw frame endpoints (bound by them)
    events: str = ""  # the handler's inbox (bound by it)
    subscriptions: list[Subscription] = []  # a connection's initial share of the registry
    log_level: str = "INFO"
    curve: CurveSpec | None = None  # key file paths, for a handler with a tcp private endpoint
    record: str = ""  # connection, handler: write a recording into this directory
    replay: list[str] = []  # replay, rest_replay: the recordings to play back, in order
    speed: float = 0.0  # replay: recorded pace x speed; 0 = as fast as the parsers take it
    origin_ns: int = 0  # replay: the recorded instant that maps to the replay's start
    coordinator_grace_s: float = 10.0  # how long to stream on without a coordinator
    data_hwm: int = 0  # parser, handler: batches queued per data peer (0: transport.DATA_HWM)


# -- actor -> coordinator ------------------------------------------------------------------


class Hello(Struct, tag="hello"):
    """Sent at start: the coordinator answers with the actor's current assignment."""

    name: str
    kind: str
    pid: int


class Report(Struct, tag="report"):
    """Sent every second: cumulative counters, recent latency percentiles, and state."""

    name: str
    pid: int
    counters: dict[str, int]
    latency_us: dict[str, float] = {}
    info: dict[str, Any] = {}


class Notice(Struct, tag="notice"):
    """Something an operator must hear about now: a rejected subscription, a gap, a crash."""

    name: str
    level: str  # info | warning | error
    what: str
    detail: str = ""


class Resubscribe(Struct, tag="resubscribe"):
    """Renew these subscriptions (unsubscribe, then subscribe) without touching the others.

    handler -> coordinator: a stream-synced book broke and needs the venue's fresh snapshot,
    or a subscription went stale; coordinator -> the connection that carries them."""

    subscriptions: list[Subscription]
    reason: str = ""


class Refused(Struct, tag="refused"):
    """The venue refused a subscription (e.g. MEXC "Blocked!"): the coordinator takes the
    matching subscriptions out of play until an operator subscribes them again.  From a
    connection, ``channel`` SESSION means the venue refused the session itself (a listenKey
    call with a bad key or signature): all of that connection's share is refused."""

    channel: str  # the venue's channel string, as its error named it
    message: str
    code: int = 0


SESSION = "<session>"


FromActor = Hello | Report | Notice | Resubscribe | Refused


# -- coordinator -> actor ------------------------------------------------------------------


class SetSubscriptions(Struct, tag="set_subscriptions"):
    """The connection's whole share of the registry; it subscribes/unsubscribes the difference.
    ``refused`` ones leave the share without an unsubscribe: the venue never accepted them."""

    subscriptions: list[Subscription]
    refused: list[Subscription] = []


class SetSources(Struct, tag="set_sources"):
    """A parser's raw frame endpoints: one per connection actor of its venue."""

    endpoints: list[str]


class Watch(Struct, tag="watch"):
    """coordinator -> handler: the whole share of connection ``conn``, so the handler's
    staleness watchdog knows which subscriptions that connection's stream must carry."""

    conn: str  # the connection actor's name, as its batches carry it
    subscriptions: list[Subscription]


class Stop(Struct, tag="stop"):
    pass


class Start(Struct, tag="start"):
    """A replay actor may begin pushing: the pipeline (and its consumers) are ready."""


ToActor = SetSubscriptions | SetSources | Resubscribe | Watch | Stop | Start

ENCODER = msgspec.msgpack.Encoder()
FROM_ACTOR = msgspec.msgpack.Decoder(FromActor)
TO_ACTOR = msgspec.msgpack.Decoder(ToActor)
SPEC_DECODER = msgspec.json.Decoder(ActorSpec)


# -- CLI <-> coordinator (JSON, so any tool can speak it) -----------------------------------


class Command(Struct, frozen=True, forbid_unknown_fields=True):
    cmd: str  # status | subscribe | unsubscribe | stop
    venue: str = ""
    symbols: list[str] = []
    channels: list[str] = []


class Reply(Struct):
    ok: bool
    error: str = ""
    data: Any = None


COMMAND_DECODER = msgspec.json.Decoder(Command)
REPLY_DECODER = msgspec.json.Decoder(Reply)
