"""What every venue implements: its wire protocol as pure functions.  [pure]

A venue knows how to spell subscriptions, pings and REST requests, and how to turn a frame
into normalized events.  It owns no socket, no event loop and no clock: time comes in as an
argument (``now_s``, ``recv_ns``), so each function is tested on plain values and recorded
frames.  The actors in ``actors/stages`` are the I/O shells that call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from msgspec import Struct

from actors import staleness
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
    channels: ClassVar[frozenset[str]]  # normalized public channels this venue supports
    # Account channels (orders, balances, fills, positions): they need ``credentials``.
    private_channels: ClassVar[frozenset[str]] = frozenset()
    book_sync: ClassVar[BookSync] = "rest_snapshot"
    ping_interval_s: ClassVar[float] = 10.0
    max_subscriptions_per_connection: ClassVar[int | None] = None
    max_session_s: ClassVar[float | None] = None  # the venue cuts older connections (MEXC: 24 h)
    # Seconds of silence after which a subscription of a channel is stale, from what the venue
    # documents (see actors/staleness.py); None or absent: the channel is not watched.
    # Topology ``options.stale_after`` overrides them per channel.
    STALE_AFTER: ClassVar[Mapping[str, float | None]] = {}

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.options: Mapping[str, Any] = options or {}
        self._credentials = _checked_credentials(credentials)
        # The bare base (tests of the interface) declares no channels.
        known = getattr(self, "channels", frozenset()) | self.private_channels
        try:
            self.stale_after: dict[str, float] = staleness.thresholds(
                self.STALE_AFTER, self.options.get("stale_after"), known
            )
        except ValueError as exc:
            raise ValueError(f"{getattr(self, 'name', type(self).__name__)}: {exc}") from None

    def __repr__(self) -> str:
        # Never the secret (nor the key): reprs end up in logs and `pipeline status`.
        creds = "<redacted>" if self._credentials else None
        return f"{type(self).__name__}(options={dict(self.options)!r}, credentials={creds})"

    # -- connection -------------------------------------------------------------------------

    def handshake_headers(self) -> dict[str, str]:
        """Extra HTTP headers for the WebSocket opening handshake (none by default)."""
        return {}

    # -- sessions: what a connection does around its socket ----------------------------------

    def connection_group(self, channel: str) -> str:
        """Subscriptions of different groups never share a connection.  By default all do;
        MEXC spot's account streams need a listenKey socket of their own."""
        return "main"

    def connection_limit(self, group: str) -> int | None:
        """At most this many subscriptions per connection of ``group`` (None: no limit)."""
        return self.max_subscriptions_per_connection

    def session_open(self, group: str, *, now_ms: int) -> RestRequest | None:
        """A REST call to make before opening a socket for ``group`` (a listenKey), or None."""
        return None

    def session_url(self, ws_url: str, group: str, opened: bytes | None) -> str:
        """The socket URL for ``group``, given the body session_open's call answered."""
        return ws_url

    def session_keepalive(
        self, group: str, opened: bytes, *, now_ms: int
    ) -> tuple[float, RestRequest] | None:
        """(every how many seconds, which call) keeps the session's REST state alive."""
        return None

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

    def refused(
        self, channel: str, code: int, message: str, subs: Iterable[Subscription]
    ) -> list[Subscription]:
        """Which of ``subs`` a venue error (channel, code, message) refuses.  The default can
        tell none apart; venues whose errors name the stream, the pair or the key say."""
        return []

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


def _checked_credentials(credentials: Any) -> tuple[str, str] | None:
    """(api key, secret) as given, or None; never echoes the values in an error."""
    if credentials is None:
        return None
    if (
        not isinstance(credentials, tuple | list)
        or len(credentials) != 2
        or not all(isinstance(part, str) and part for part in credentials)
    ):
        raise ValueError("credentials must be a tuple (api key, secret) of two non-empty strings")
    return credentials[0], credentials[1]
