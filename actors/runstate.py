"""What a restarted coordinator needs to adopt a running pipeline.  [pure]

The coordinator rewrites this (as JSON, in the owner-only run directory) whenever an actor
starts or the subscription registry changes.  A new coordinator of the same topology reads
it, checks each listed actor against /proc (pid *and* start time, so a reused pid is never
adopted), and supervises the ones still running without restarting or resetting anything.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from actors.control import ActorSpec
from actors.topology import Topology, VenueSpec
from actors.venues import Subscription

VERSION = 1


class ActorRecord(Struct, frozen=True, kw_only=True):
    spec: ActorSpec  # as it was started: its endpoints, share and venue URLs
    pid: int  # 0: not running when the state was written (waiting for its restart)
    start_ticks: int  # /proc/<pid>/stat start time: tells this process from a pid reuse
    restarts: int = 0
    hung: int = 0


class RunState(Struct, frozen=True, kw_only=True):
    version: int = VERSION
    topology: Topology  # a new coordinator adopts only for the very same topology
    simulate: bool
    coordinator_pid: int
    venues: dict[str, VenueSpec]  # as run: under --simulate, pointed at the simulators
    groups: dict[str, list[str]]  # venue -> each connection's group, by index
    shares: dict[str, list[list[Subscription]]]  # venue -> each connection's subscriptions
    refused: dict[str, list[tuple[Subscription, str]]]  # venue -> (subscription, reason)
    actors: list[ActorRecord]
    # Under --simulate only: the made-up credentials the simulators accept (never real keys,
    # which stay in the environment); a restarted connection must sign with the same ones.
    issued_credentials: dict[str, str] = {}


class RunStateError(ValueError):
    pass


_DECODER = msgspec.json.Decoder(RunState)


def encode(state: RunState) -> bytes:
    return msgspec.json.encode(state)


def decode(data: bytes, where: str) -> RunState:
    """The state in ``data`` (read from ``where``); RunStateError says what is wrong."""
    try:
        state = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise RunStateError(f"{where}: not a coordinator state file: {exc}") from None
    if state.version != VERSION:
        raise RunStateError(
            f"{where}: state version {state.version}, this coordinator reads {VERSION}"
        )
    names = [record.spec.name for record in state.actors]
    if len(set(names)) != len(names):
        raise RunStateError(f"{where}: actors listed twice: {sorted(names)}")
    return state


def mismatch(state: RunState, topology: Topology, simulate: bool) -> str:
    """Why ``state`` cannot be adopted for ``topology`` (empty: it can)."""
    if state.simulate != simulate:
        run = "with" if state.simulate else "without"
        return f"the running pipeline was started {run} --simulate"
    if state.topology != topology:
        return "the running pipeline was started from a different topology"
    return ""
