"""Socket setup in one place: options every pipeline socket shares.

Rules: the stable side binds, the dynamic side connects (an actor binds its own inbox, so a
restarted sender never changes an address); every socket has linger 0, so a stopping actor
never hangs on undelivered messages; ipc endpoints live in the run directory, which is
created owner-only, so nobody else on the machine can connect.
"""

from __future__ import annotations

import os
from typing import TypeVar

import zmq

S = TypeVar("S", bound=zmq.Socket)  # type: ignore[type-arg]

DATA_HWM = 1000  # batches queued per peer before a sender sees back-pressure
# Replay pushes as fast as the parsers take batches.  With DATA_HWM queued on each hop, one
# parser's batches can run a thousand ahead of another's (the PUSH skips a parser that is
# full), and the handler's reorder declares the ones it waits for lost.  A few batches per
# hop keep every stage busy and the parsers' outputs close together.
REPLAY_HWM = 4


def prepare_run_dir(path: str) -> None:
    """Create the run directory owner-only (0700): its ipc sockets are private to us."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def ipc_file(endpoint: str) -> str | None:
    return endpoint[len("ipc://") :] if endpoint.startswith("ipc://") else None


def configure(sock: S, *, hwm: int = DATA_HWM) -> S:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.RCVHWM, hwm)
    return sock


def bind(sock: S, endpoint: str) -> S:
    path = ipc_file(endpoint)
    if path and os.path.exists(path):
        os.unlink(path)  # a leftover from a killed predecessor; we own this address
    sock.bind(endpoint)
    if path:
        os.chmod(path, 0o600)
    return sock


def dealer(ctx: zmq.Context, identity: str, endpoint: str) -> zmq.Socket:  # type: ignore[type-arg]
    """An actor's control socket to the coordinator's ROUTER."""
    return watched_dealer(ctx, identity, endpoint, events=0)[0]


def watched_dealer(
    ctx: zmq.Context,  # type: ignore[type-arg]
    identity: str,
    endpoint: str,
    events: int = zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED,
) -> tuple[zmq.Socket, zmq.Socket | None]:  # type: ignore[type-arg]
    """The control socket and a monitor of its ``events``, set up before the connect so the
    first connection is never missed."""
    sock = configure(ctx.socket(zmq.DEALER), hwm=100)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    monitor = sock.get_monitor_socket(events) if events else None
    sock.connect(endpoint)
    return sock, monitor
