"""Per-subscription staleness: which streams went quiet while their connection did not.  [pure]

A socket can stay open, answer pings and keep streaming every other subscription while one
of them has silently stopped (a venue-side hiccup).  Whole-socket silence is the connection
actor's job (``STALE_PINGS``); this module finds the single silent subscription, so the
handler can reset its book and renew just that one.  No clock is read: every method takes
``now`` (monotonic seconds).

Thresholds, per normalized channel, come from what each venue documents (the defaults live
with the venue's protocol code, ``Venue.STALE_AFTER``; topology ``options.stale_after``
overrides them):

=====================  ===========================  =========================================
kind of channel        threshold                    why
=====================  ===========================  =========================================
periodic push          ``periodic(period)`` =        the venue promises a push every period
(book diffs, tickers)  max(FLOOR_S, PERIODS x       (Gate order_book_update 100/20 ms, tickers
                       period)                      1 s; MEXC aggre.depth 100/10 ms, ticker
                                                    1 s, miniTicker 3 s).  Missing PERIODS of
                                                    them is no jitter; the floor keeps a busy
                                                    host's hiccup from counting as staleness
continuous, but no     an explicit long threshold   the docs give no period, yet a listed
documented period      (Gate futures tickers 60 s,  market pushes many times a second: long
                       MEXC futures depth 30 s)     silence on a live socket is a broken stream
event driven           not watched (None)           pushes only when something happens:
(trades, book ticker,                               trades, a best bid/ask that did not move,
top book, private)                                  an idle account.  Silence there is normal
                                                    for minutes to hours, so a watchdog would
                                                    only invent staleness; the socket's pings
                                                    still prove the connection alive
=====================  ===========================  =========================================

A subscription's clock starts when it is assigned or its connection opens a new session
(the connection subscribes then), restarts at every event, and restarts again when it is
renewed.  A renewal that brings nothing is retried after twice the previous wait (capped at
BACKOFF_CAP_S), and each connection gets at most RENEWALS_PER_S renewals a second: a renewal
is an unsubscribe plus a subscribe, so that is 10 requests a second, a tenth of MEXC's
documented 100 messages per second per connection (Gate.io documents no subscribe limit).
A subscription whose connection delivered nothing at all within the threshold is not renewed:
that is whole-socket staleness, and the connection replaces the socket after STALE_PINGS
ping intervals.  Its book is no longer trusted all the same: ``silenced`` names it once per
silence, so the handler can reset it long before the socket is replaced.  When such a socket speaks
again, each of its subscriptions gets RESUME_GRACE_S to speak too before it is judged: the
first frames after a hiccup are some streams', and the rest follow within a push period.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from actors.messages import BookDelta, BookTicker, Event, Ticker, TopBook, Trade

FLOOR_S = 5.0  # never stale sooner than this, whatever the period
PERIODS = 20  # missed periods that make a periodic push stale
MIN_THRESHOLD_S = 1.0  # the smallest override accepted
BACKOFF_CAP_S = 300.0  # the longest wait between renewals of a subscription that stays silent
RENEWALS_PER_S = 5.0  # per connection; each renewal is two requests
RESUME_GRACE_S = 1.0  # a socket silent this long was the silent part; then its streams get this

# The normalized channel whose subscription an event proves alive.
CHANNEL_OF: dict[type[Event], str] = {
    BookDelta: "order_book",
    BookTicker: "book_ticker",
    Trade: "trades",
    Ticker: "tickers",
    TopBook: "top_book",
}

Key = tuple[str, str]  # (normalized channel, normalized symbol)


def periodic(period_s: float) -> float:
    """The threshold of a channel the venue pushes every ``period_s``."""
    if not period_s > 0:
        raise ValueError(f"a push period must be > 0 s, got {period_s!r}")
    return max(FLOOR_S, PERIODS * period_s)


def thresholds(
    defaults: Mapping[str, float | None], override: Any, channels: Collection[str]
) -> dict[str, float]:
    """The watched channels and their thresholds: the venue's ``defaults`` with the topology's
    ``stale_after`` mapping applied (seconds, or null to not watch a channel).  Raises
    ValueError naming ``stale_after.<channel>`` and why."""
    out = {channel: s for channel, s in defaults.items() if s is not None}
    if override is None:
        return out
    if not isinstance(override, Mapping):
        raise ValueError(
            f"stale_after must map channels to seconds, e.g. {{order_book: 5}}, "
            f"got {type(override).__name__}"
        )
    for channel, value in override.items():
        if channel not in channels:
            known = ", ".join(sorted(channels))
            raise ValueError(f"stale_after.{channel}: unknown channel (known: {known})")
        if value is None:
            out.pop(channel, None)
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= MIN_THRESHOLD_S
        ):
            out[channel] = float(value)
        else:
            raise ValueError(
                f"stale_after.{channel}: {value!r} must be a number of seconds >= "
                f"{MIN_THRESHOLD_S:g}, or null to not watch the channel"
            )
    return out


@dataclass(frozen=True, slots=True)
class Stale:
    """A subscription to renew now."""

    conn: str
    channel: str
    symbol: str
    silent_s: float  # since its last event (or since it was armed)
    attempt: int  # 1: newly stale; 2, 3, ...: earlier renewals brought nothing; 0: silent socket


@dataclass(slots=True)
class _Watch:
    conn: str
    threshold: float
    since: float  # last event, arming or renewal
    last_event: float  # last event or arming, for silent_s
    renewals: int = 0  # since the last event
    silenced: bool = False  # named by ``silenced`` during the current whole-socket silence


class Watchdog:
    """Watches the subscriptions of the channels in ``thresholds`` (channel -> seconds)."""

    def __init__(
        self,
        thresholds: Mapping[str, float],
        *,
        renewals_per_s: float = RENEWALS_PER_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
    ) -> None:
        self.thresholds = dict(thresholds)
        self.renewals_per_s = renewals_per_s
        self.backoff_cap_s = backoff_cap_s
        self._watches: dict[Key, _Watch] = {}
        self._alive: dict[str, float] = {}  # connection -> when it last delivered anything
        self._silenced: set[str] = set()  # connections with books named by ``silenced``
        self._tokens: dict[str, tuple[float, float]] = {}  # connection -> (tokens, as of)

    # -- what the handler tells us ------------------------------------------------------------

    def assign(self, conn: str, subs: Iterable[Key], now: float) -> None:
        """``conn``'s whole share: new watched subscriptions start their clock now, the ones
        it no longer carries are forgotten."""
        wanted = {key for key in subs if key[0] in self.thresholds}
        for key in [k for k, w in self._watches.items() if w.conn == conn and k not in wanted]:
            del self._watches[key]
        for key in wanted:
            watch = self._watches.get(key)
            if watch is None or watch.conn != conn:
                self._watches[key] = _Watch(conn, self.thresholds[key[0]], now, now)

    def session(self, conn: str, now: float) -> None:
        """``conn`` opened a new session and subscribes afresh: every clock restarts."""
        for watch in self._watches.values():
            if watch.conn == conn:
                watch.since = watch.last_event = now
                watch.renewals = 0

    def alive(self, conn: str, now: float) -> None:
        """``conn`` delivered something (any frame): its socket is not the silent part."""
        last = self._alive.get(conn)
        self._alive[conn] = now
        if conn in self._silenced:  # the socket speaks again: a new silence is a new episode
            self._silenced.discard(conn)
            for watch in self._watches.values():
                if watch.conn == conn:
                    watch.silenced = False
        if last is not None and now - last > RESUME_GRACE_S:
            # The whole socket was silent; its streams are judged from RESUME_GRACE_S on.
            for watch in self._watches.values():
                if watch.conn == conn:
                    watch.since = max(watch.since, now - self._wait(watch) + RESUME_GRACE_S)

    def seen(self, channel: str, symbol: str, now: float) -> bool:
        """An event of (channel, symbol); True if it ends a staleness (the renewal worked)."""
        watch = self._watches.get((channel, symbol))
        if watch is None:
            return False
        watch.since = watch.last_event = now
        if watch.renewals:
            watch.renewals = 0
            return True
        return False

    # -- what the handler asks ----------------------------------------------------------------

    def due(self, now: float) -> list[Stale]:
        """The subscriptions to renew now; each is counted as renewed at ``now``."""
        out: list[Stale] = []
        for (channel, symbol), watch in self._watches.items():
            if now - watch.since < self._wait(watch):
                continue
            if now - self._alive.get(watch.conn, -math.inf) > watch.threshold:
                continue  # the whole socket is silent: the connection's business
            if not self._take_token(watch.conn, now):
                continue  # over this connection's renewal budget: next time
            watch.renewals += 1
            watch.since = now
            out.append(Stale(watch.conn, channel, symbol, now - watch.last_event, watch.renewals))
        return out

    def silenced(self, now: float) -> list[Stale]:
        """Watched subscriptions whose whole connection has said nothing for longer than
        their threshold, each once per silence: not worth a renewal on a silent socket, but
        their books can no longer be trusted."""
        out: list[Stale] = []
        for (channel, symbol), watch in self._watches.items():
            if watch.silenced:
                continue
            heard = max(self._alive.get(watch.conn, -math.inf), watch.last_event)
            if now - heard <= watch.threshold:
                continue
            watch.silenced = True
            self._silenced.add(watch.conn)
            out.append(Stale(watch.conn, channel, symbol, now - watch.last_event, 0))
        return out

    def stale(self) -> list[Key]:
        """The subscriptions renewed for staleness that have not delivered since."""
        return sorted(key for key, watch in self._watches.items() if watch.renewals)

    def watched(self) -> int:
        return len(self._watches)

    def _wait(self, watch: _Watch) -> float:
        """The threshold, doubled for each renewal that brought nothing, capped."""
        if not watch.renewals:
            return watch.threshold
        cap = max(watch.threshold, self.backoff_cap_s)
        return min(cap, watch.threshold * 2.0 ** min(watch.renewals, 30))

    def _take_token(self, conn: str, now: float) -> bool:
        rate = self.renewals_per_s
        burst = max(1.0, rate)
        tokens, at = self._tokens.get(conn, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens < 1.0:
            self._tokens[conn] = (tokens, now)
            return False
        self._tokens[conn] = (tokens - 1.0, now)
        return True
