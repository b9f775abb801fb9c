"""What every venue implements: its wire protocol as pure functions.  [pure]

A venue knows how to spell subscriptions, pings and REST requests, and how to turn a frame
into normalized events.  It owns no socket, no event loop and no clock: time comes in as an
argument (``now_s``, ``recv_ns``), so each function is tested on plain values and recorded
frames.  The actors in ``actors/stages`` are the I/O shells that call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from msgspec import Struct

from actors.messages import BookSnapshot, Event

BookSync = Literal["rest_snapshot", "stream"]
"""How a venue's order book is synchronized: a REST snapshot aligned with the diff stream's
sequence ids, or snapshots that arrive in the stream itself (Gate.io obu, MEXC limit depth)."""


class FrameError(ValueError):
    """A frame that cannot be parsed.  The message says what is wrong; the parser actor adds
    where (connection, sequence) and counts it.  Never raised for a frame that is merely of a
    kind we do not publish (those parse to no events)."""


class Subscription(Struct, frozen=True, order=True):
    """One stream: a normalized channel for one normalized symbol."""

    channel: str  # book_ticker | trades | order_book | tickers | orders | balances | fills ...
    symbol: str  # BTC/USDT


class RestRequest(Struct, frozen=True):
    """A REST call described as data; the handler actor performs it."""

    method: str
    path: str  # appended to the venue's REST base URL
    params: dict[str, str] = {}
    headers: dict[str, str] = {}


class Venue:
    """Base for one venue's protocol.  Subclasses set the class attributes and implement the
    methods; ``options`` are the venue's section of the topology (already validated)."""

    name: ClassVar[str]
    ws_url: ClassVar[str]
    rest_url: ClassVar[str]
    channels: ClassVar[frozenset[str]]  # normalized channels this venue supports
    book_sync: ClassVar[BookSync] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 10.0
    max_subscriptions_per_connection: ClassVar[int | None] = None

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: Mapping[str, Any] = options or {}

    # -- symbols ----------------------------------------------------------------------------

    def native_symbol(self, symbol: str) -> str:
        """``BTC/USDT`` -> the venue's name; raises ValueError saying why a symbol is bad."""
        raise NotImplementedError

    def normalize_symbol(self, native: str) -> str:
        raise NotImplementedError

    # -- requests we send -------------------------------------------------------------------

    def subscribe_messages(self, subs: Sequence[Subscription], *, now_s: int) -> list[str | bytes]:
        raise NotImplementedError

    def unsubscribe_messages(
        self, subs: Sequence[Subscription], *, now_s: int
    ) -> list[str | bytes]:
        raise NotImplementedError

    def ping_message(self, *, now_s: int) -> str | bytes | None:
        """The application-level keep-alive, or None when protocol pings suffice."""
        return None

    # -- frames we receive ------------------------------------------------------------------

    def parse_frame(self, frame: str | bytes, recv_ns: int) -> list[Event]:
        """One websocket message -> events, in order.  Raises FrameError on malformed input."""
        raise NotImplementedError

    # -- order book snapshots ---------------------------------------------------------------

    def snapshot_request(self, symbol: str) -> RestRequest:
        raise NotImplementedError

    def parse_snapshot(self, body: bytes, symbol: str, recv_ns: int) -> BookSnapshot:
        """A REST order book body -> snapshot with ``seq`` = the venue's book id."""
        raise NotImplementedError
