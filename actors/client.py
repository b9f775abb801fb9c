"""For programs outside the pipeline: talk to the coordinator, follow the stream.

import zmq
from actors.client import LocalBook
from actors.messages import EVENT_DECODER

sub = zmq.Context().socket(zmq.SUB)
sub.connect("tcp://127.0.0.1:5601")                 # a venue's publish endpoint
sub.setsockopt(zmq.SUBSCRIBE, b"book_")             # topic prefix
books: dict[str, LocalBook] = {}
while True:
    topic, payload = sub.recv_multipart()
    event = EVENT_DECODER.decode(payload)
    book = books.setdefault(event.symbol, LocalBook())
    book.apply(event)
    if book.valid:
        print(event.symbol, book.best())

A book is only as fresh as its publisher: a handler that dies or stops cannot announce it.
``watch_publishers(sub)`` (before ``connect``) makes the SUB ping its publishers and returns
a monitor that reports each lost one within ``PUBLISHER_TIMEOUT_MS``; a consumer then
treats that publisher's books as invalid until their next snapshot (a restarted handler
sends one, or a reset, to every subscriber that joins).

tcp control and private endpoints are CURVE servers: connect with ``curve.client_keys`` and
``curve.secure`` (see docs/SECURITY.md); ipc ones need only the run directory's owner.
"""

from __future__ import annotations

import msgspec
import zmq

from actors.control import REPLY_DECODER, Command, Reply
from actors.messages import BookDelta, BookReset, BookSnapshot, Event
from actors.runtime.curve import ClientKeys, secure


class ControlError(RuntimeError):
    pass


def request(
    endpoint: str, command: Command, *, timeout_s: float = 2.0, keys: ClientKeys | None = None
) -> Reply:
    """One command to the coordinator; ControlError when nobody answers in time (which is
    also all a client with a wrong or missing CURVE key ever gets)."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
    try:
        secure(sock, endpoint, keys)
        sock.connect(endpoint)
        sock.send(msgspec.json.encode(command))
        try:
            return REPLY_DECODER.decode(sock.recv())
        except zmq.Again:
            hint = " (or it does not accept our CURVE key)" if keys else ""
            raise ControlError(
                f"no coordinator answered on {endpoint} within {timeout_s} s{hint}"
            ) from None
    finally:
        sock.close()


PUBLISHER_HEARTBEAT_MS = 1000
PUBLISHER_TIMEOUT_MS = 3000  # no answer to our pings for this long: the publisher is lost


def watch_publishers(sub: zmq.Socket) -> zmq.Socket:  # type: ignore[type-arg]
    """ZMTP heartbeats on ``sub`` (call before ``connect``: they apply to new connections),
    and a monitor socket whose events say a publisher was lost (``publisher_lost``): killed,
    or stopped so that even its I/O thread no longer answers."""
    sub.setsockopt(zmq.HEARTBEAT_IVL, PUBLISHER_HEARTBEAT_MS)
    sub.setsockopt(zmq.HEARTBEAT_TIMEOUT, PUBLISHER_TIMEOUT_MS)
    return sub.get_monitor_socket(zmq.EVENT_DISCONNECTED)


def publisher_lost(monitor: zmq.Socket) -> list[str]:  # type: ignore[type-arg]
    """The endpoints whose connection was lost since the last call (never blocks)."""
    from zmq.utils.monitor import recv_monitor_message

    lost = []
    while monitor.poll(0):
        event = recv_monitor_message(monitor)
        if event["event"] == zmq.EVENT_DISCONNECTED:
            lost.append(event["endpoint"].decode())
    return lost


class LocalBook:
    """A consumer's copy of one book, rebuilt from the published events.

    ``valid`` is False from a BookReset until the next BookSnapshot; deltas only arrive for
    valid books, so applying them is all there is to it.
    """

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.valid = False
        self.seq = 0

    def apply(self, event: Event) -> None:
        match event:
            case BookSnapshot():
                self.bids = dict(event.bids)
                self.asks = dict(event.asks)
                self.valid, self.seq = True, event.seq
            case BookDelta() if self.valid:
                for side, levels in ((self.bids, event.bids), (self.asks, event.asks)):
                    for price, qty in levels:
                        if qty == 0:
                            side.pop(price, None)
                        else:
                            side[price] = qty
                self.seq = event.seq
            case BookReset():
                self.valid = False

    def distrust(self) -> None:
        """Its publisher was lost: valid again only from the next snapshot."""
        self.valid = False

    def best(self) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        bid = max(self.bids.items()) if self.bids else None
        ask = min(self.asks.items()) if self.asks else None
        return bid, ask
