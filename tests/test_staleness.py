"""Per-subscription staleness: the pure watchdog on tables, the venues' thresholds and their
topology overrides, and end to end: one symbol's order book goes silent on a live socket
(the simulator's ``/_sim/stale_sub``), and only that book is reset, renewed and resynced."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from typing import Any

import pytest

from actors.messages import BookDelta, BookReset, BookSnapshot, Event
from actors.simulators.gateio_spot import GateioSpotSimulator
from actors.staleness import (
    BACKOFF_CAP_S,
    FLOOR_S,
    Stale,
    Watchdog,
    periodic,
    thresholds,
)
from actors.topology import TopologyError, parse
from actors.venues import load_venue
from tests.harness import ROOT, Pipeline, running_pipeline, wait_until
from tests.simulators.wire import collect, http_get, pushes, reply, run, send, ws_connect

CONN = "v.connection.0"
OTHER = "v.connection.1"
BOOK = ("order_book", "BTC/USDT")
ETH_BOOK = ("order_book", "ETH/USDT")


# -- thresholds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_s", "threshold_s"),
    [(0.01, FLOOR_S), (0.02, FLOOR_S), (0.1, FLOOR_S), (0.25, 5.0), (1.0, 20.0), (3.0, 60.0)],
)
def test_a_periodic_channel_is_stale_after_twenty_periods_never_under_the_floor(
    period_s: float, threshold_s: float
) -> None:
    assert periodic(period_s) == threshold_s


@pytest.mark.parametrize("period_s", [0.0, -1.0])
def test_a_period_must_be_positive(period_s: float) -> None:
    with pytest.raises(ValueError, match="push period must be > 0"):
        periodic(period_s)


@pytest.mark.parametrize(
    ("venue", "expected"),
    [
        ("gateio_spot", {"order_book": 5.0, "tickers": 20.0}),
        ("gateio_futures", {"order_book": 5.0, "tickers": 60.0}),
        ("mexc_spot", {"order_book": 5.0, "tickers": 60.0}),
        ("mexc_futures", {"order_book": 30.0, "tickers": 20.0}),
    ],
)
def test_each_venue_watches_its_documented_periodic_channels_only(
    venue: str, expected: dict[str, float]
) -> None:
    # Trades, book tickers, top books and private channels are event driven: not watched.
    assert load_venue(venue).stale_after == expected


CHANNELS = {"order_book", "tickers", "trades", "book_ticker"}
DEFAULTS: dict[str, float | None] = {"order_book": 5.0, "tickers": 20.0, "trades": None}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (None, {"order_book": 5.0, "tickers": 20.0}),
        ({}, {"order_book": 5.0, "tickers": 20.0}),
        ({"order_book": 2}, {"order_book": 2.0, "tickers": 20.0}),
        ({"order_book": None}, {"tickers": 20.0}),  # null: not watched
        ({"trades": 120, "book_ticker": 30.5}, {**DEFAULTS, "trades": 120.0, "book_ticker": 30.5}),
    ],
)
def test_topology_overrides_the_venue_thresholds(override: Any, expected: dict[str, float]) -> None:
    assert thresholds(DEFAULTS, override, CHANNELS) == expected


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"candles": 5}, "stale_after.candles: unknown channel"),
        ({"order_book": 0.5}, "stale_after.order_book: 0.5 must be a number of seconds >= 1"),
        ({"order_book": "5s"}, "stale_after.order_book: '5s' must be a number"),
        ({"order_book": True}, "stale_after.order_book: True must be a number"),
        ({"order_book": float("inf")}, "stale_after.order_book: inf must be a number"),
        ([5], "stale_after must map channels to seconds"),
    ],
)
def test_a_bad_override_names_the_key_and_why(override: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        thresholds(DEFAULTS, override, CHANNELS)


def test_a_bad_override_in_a_topology_file_names_the_key_path() -> None:
    text = """
venues:
  mexc_futures:
    symbols: [BTC/USDT:USDT]
    channels: [order_book]
    publish: tcp://127.0.0.1:5999
    options: {stale_after: {order_book: -3}}
"""
    with pytest.raises(TopologyError) as err:
        parse(text, cores=1, environ={})
    assert err.value.path == "venues.mexc_futures.options"
    assert "stale_after.order_book: -3 must be a number of seconds" in str(err.value)


# -- the watchdog ------------------------------------------------------------------------------


def dog(**kw: Any) -> Watchdog:
    """A watchdog with a 5 s book and a 20 s ticker threshold; CONN holds BTC's book and
    ticker and a trades subscription (not watched), assigned at t=0 and alive throughout."""
    watchdog = Watchdog({"order_book": 5.0, "tickers": 20.0}, **kw)
    subs = [BOOK, ("tickers", "BTC/USDT"), ("trades", "BTC/USDT")]
    watchdog.assign(CONN, subs, 0.0)
    return watchdog


_clocks: dict[int, float] = {}  # id(watchdog) -> up to when its connections were alive


def live(watchdog: Watchdog, now: float) -> None:
    """Both connections deliver a frame every 0.1 s up to ``now`` (their sockets live)."""
    t = _clocks.get(id(watchdog), 0.0)
    while t < now:
        t = min(now, t + 0.1)
        watchdog.alive(CONN, t)
        watchdog.alive(OTHER, t)
    _clocks[id(watchdog)] = now


def due(watchdog: Watchdog, now: float) -> list[tuple[str, str, int]]:
    live(watchdog, now)
    return [(s.channel, s.symbol, s.attempt) for s in watchdog.due(now)]


def test_a_subscription_is_stale_only_after_its_threshold_of_silence() -> None:
    watchdog = dog()
    assert watchdog.watched() == 2  # trades are event driven
    assert due(watchdog, 4.9) == []
    assert due(watchdog, 5.0) == [("order_book", "BTC/USDT", 1)]
    assert watchdog.stale() == [BOOK]
    assert due(watchdog, 14.9) == []  # the renewed book waits twice as long
    assert due(watchdog, 15.0) == [("order_book", "BTC/USDT", 2)]
    assert due(watchdog, 20.0) == [("tickers", "BTC/USDT", 1)]


def test_every_event_restarts_the_clock() -> None:
    watchdog = dog()
    for now in (1.0, 4.0, 8.5, 13.0):
        assert watchdog.seen(*BOOK, now) is False
        assert due(watchdog, now) == []
    assert due(watchdog, 17.9) == []
    assert due(watchdog, 18.0) == [("order_book", "BTC/USDT", 1)]


def test_the_clock_starts_at_assignment_and_restarts_with_each_session() -> None:
    watchdog = Watchdog({"order_book": 5.0})
    watchdog.assign(CONN, [BOOK], 100.0)  # a run-time subscribe at t=100
    assert due(watchdog, 104.0) == []
    watchdog.session(CONN, 104.0)  # reconnected: it subscribes afresh
    assert due(watchdog, 108.0) == []
    assert due(watchdog, 109.0) == [("order_book", "BTC/USDT", 1)]


def test_a_renewal_that_brings_nothing_is_retried_with_doubling_waits_up_to_the_cap() -> None:
    watchdog = dog()
    at, found = 0.0, []
    now = 0.0
    while now < 2000:
        now += 0.5
        for channel, _, attempt in due(watchdog, now):
            if channel == "order_book":
                found.append((now - at, attempt))
                at = now
    waits = [wait for wait, _ in found]
    assert waits[:7] == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, BACKOFF_CAP_S]
    assert set(waits[6:]) == {BACKOFF_CAP_S}
    assert [attempt for _, attempt in found[:3]] == [1, 2, 3]


def test_data_after_a_renewal_ends_the_staleness_and_the_backoff() -> None:
    watchdog = dog()
    assert due(watchdog, 5.0) == [("order_book", "BTC/USDT", 1)]
    assert due(watchdog, 15.0) == [("order_book", "BTC/USDT", 2)]
    assert watchdog.seen(*BOOK, 16.0) is True  # recovered
    assert watchdog.stale() == []
    assert watchdog.seen(*BOOK, 16.1) is False
    assert due(watchdog, 21.0) == [("tickers", "BTC/USDT", 1)]
    assert due(watchdog, 21.1) == [("order_book", "BTC/USDT", 1)]  # a new episode


def test_a_silent_connection_is_left_to_the_connection_actor() -> None:
    watchdog = dog()
    watchdog.alive(CONN, 1.0)
    assert watchdog.due(30.0) == []  # nothing from CONN at all since t=1: whole-socket
    watchdog.alive(CONN, 30.0)  # the socket speaks again: its streams get a moment
    assert watchdog.due(30.0) == []
    watchdog.alive(CONN, 31.0)  # it lives; these two streams do not
    assert sorted(s.channel for s in watchdog.due(31.0)) == ["order_book", "tickers"]


def test_a_silent_socket_names_each_book_once_per_silence_past_its_threshold() -> None:
    watchdog = dog()
    watchdog.alive(CONN, 1.0)
    watchdog.seen(*BOOK, 1.0)
    assert watchdog.silenced(5.9) == []  # 4.9 s of silence: under the book's 5 s
    named = watchdog.silenced(6.1)
    assert [(s.channel, s.symbol, s.attempt) for s in named] == [("order_book", "BTC/USDT", 0)]
    assert named[0].silent_s == pytest.approx(5.1)
    assert watchdog.silenced(20.0) == []  # once per silence; the ticker's 20 s not yet over
    assert [s.channel for s in watchdog.silenced(21.5)] == ["tickers"]
    assert watchdog.due(21.5) == []  # and never renewed: the socket is the silent part
    watchdog.alive(CONN, 22.0)  # it speaks again; a later silence is a new episode
    watchdog.seen(*BOOK, 22.0)
    assert watchdog.silenced(26.0) == []
    assert [s.channel for s in watchdog.silenced(27.5)] == ["order_book"]


def test_a_socket_that_speaks_again_gives_its_streams_a_moment_before_judging_them() -> None:
    watchdog = dog()
    watchdog.alive(CONN, 1.0)
    watchdog.seen(*BOOK, 1.0)
    watchdog.alive(CONN, 9.0)  # the whole socket was silent for 8 s; one stream speaks first
    assert watchdog.due(9.0) == []
    watchdog.alive(CONN, 9.9)
    assert watchdog.due(9.9) == []
    watchdog.seen(*BOOK, 9.95)  # the book speaks too: nothing was stale
    for t in (10.5, 11.5, 12.5, 13.5, 14.5, 14.9):  # then goes silent on a live socket
        watchdog.alive(CONN, t)
    assert watchdog.due(14.9) == []
    watchdog.alive(CONN, 15.0)
    assert [s.channel for s in watchdog.due(15.0)] == ["order_book"]


def test_a_connection_whose_only_traffic_is_pongs_still_has_its_silent_stream_judged() -> None:
    watchdog = dog()
    for pong in (0.0, 10.0):  # the socket's only frames: a pong every 10 s
        watchdog.alive(CONN, pong)
    found = watchdog.due(11.0)
    assert [(s.channel, s.attempt) for s in found] == [("order_book", 1)]


def test_silent_for_counts_from_the_last_event_not_the_last_renewal() -> None:
    watchdog = dog()
    watchdog.seen(*BOOK, 2.0)
    live(watchdog, 7.0)
    assert watchdog.due(7.0) == [Stale(CONN, "order_book", "BTC/USDT", 5.0, 1)]
    live(watchdog, 17.0)
    assert watchdog.due(17.0)[0].silent_s == 15.0


def test_renewals_are_paced_per_connection() -> None:
    watchdog = Watchdog({"order_book": 5.0}, renewals_per_s=2.0)
    mine = [("order_book", f"S{i}/USDT") for i in range(5)]
    watchdog.assign(CONN, mine, 0.0)
    watchdog.assign(OTHER, [ETH_BOOK], 0.0)
    first = [(s.conn, s.symbol) for s in _due(watchdog, 5.0)]
    assert len([c for c, _ in first if c == CONN]) == 2  # the burst: 2 a second
    assert (OTHER, "ETH/USDT") in first  # another connection has its own budget
    assert len(first) == 3
    assert len(_due(watchdog, 5.4)) == 0
    assert len(_due(watchdog, 5.5)) == 1
    assert len(_due(watchdog, 6.0)) == 1
    assert len(_due(watchdog, 6.5)) == 1  # all five renewed within 1.5 s


def _due(watchdog: Watchdog, now: float) -> list[Stale]:
    live(watchdog, now)
    return watchdog.due(now)


def test_a_new_share_forgets_what_the_connection_no_longer_carries() -> None:
    watchdog = dog()
    watchdog.assign(CONN, [("tickers", "BTC/USDT")], 1.0)
    assert watchdog.watched() == 1
    assert due(watchdog, 10.0) == []
    assert watchdog.seen(*BOOK, 10.0) is False  # unknown: ignored


# -- the simulator's fault --------------------------------------------------------------------


def books_of(msgs: list[dict[str, Any]]) -> dict[str, int]:
    """Order book pushes per pair."""
    counts: dict[str, int] = {}
    for result in pushes(msgs, "spot.order_book_update"):
        counts[result["s"]] = counts.get(result["s"], 0) + 1
    return counts


def test_stale_sub_silences_one_stream_until_resubscribed_or_its_time_ends() -> None:
    async def scenario() -> None:
        sim = GateioSpotSimulator(["BTC_USDT", "ETH_USDT"], host="127.0.0.1", port=0, seed=1)
        async with sim, ws_connect(sim) as ws:
            for pair in ("BTC_USDT", "ETH_USDT"):
                await send(ws, "spot.order_book_update", [pair, "100ms"])
                assert (await reply(ws))["error"] is None
            await collect(ws, 0.3)
            base = sim.control_url
            # By the venue's channel name, for 1 s: only BTC's book goes silent.
            status, body = await http_get(
                f"{base}/stale_sub?channel=spot.order_book_update&symbol=BTC_USDT&seconds=1"
            )
            assert (status, body["muted"]) == (200, 1)
            await collect(ws, 0.2)  # what was already on its way
            silent = books_of(await collect(ws, 0.5))
            assert "BTC_USDT" not in silent and silent["ETH_USDT"] >= 3
            await collect(ws, 0.4)  # the second ends
            assert books_of(await collect(ws, 0.5)).get("BTC_USDT", 0) >= 3

            # By the normalized name, for the default 30 s: a re-subscribe ends it.
            status, body = await http_get(f"{base}/stale_sub?channel=order_book&symbol=ETH_USDT")
            assert (status, body["muted"], body["stale_seconds"]) == (200, 1, 30)
            await collect(ws, 0.2)
            silent = books_of(await collect(ws, 0.5))
            assert "ETH_USDT" not in silent and silent["BTC_USDT"] >= 3
            assert sim.stats()["muted_subscriptions"] == 1
            for event in ("unsubscribe", "subscribe"):
                await send(ws, "spot.order_book_update", ["ETH_USDT", "100ms"], event=event)
                assert (await reply(ws))["error"] is None
            assert books_of(await collect(ws, 0.5)).get("ETH_USDT", 0) >= 3

            status, body = await http_get(f"{base}/stale_sub?channel=trades&symbol=BTC_USDT")
            assert status == 404 and "no connection holds trades BTC_USDT" in body["message"]
            status, body = await http_get(f"{base}/stale_sub?channel=order_book")
            assert status == 400 and "channel and symbol are required" in body["message"]

    run(scenario(), timeout=20)


# -- end to end --------------------------------------------------------------------------------

# venue -> (symbols, natives, the simulator's symbol parameter, its pause key)
CASES: dict[str, tuple[list[str], list[str], str, str]] = {
    "gateio_spot": (
        ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        ["BTC_USDT", "ETH_USDT", "SOL_USDT"],
        "currency_pair",
        "ids",
    ),
    "gateio_futures": (
        ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        ["BTC_USDT", "ETH_USDT"],
        "contract",
        "ids",
    ),
    "mexc_spot": (["BTC/USDT", "ETH/USDT"], ["BTCUSDT", "ETHUSDT"], "symbol", "versions"),
    "mexc_futures": (
        ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        ["BTC_USDT", "ETH_USDT"],
        "symbol",
        "versions",
    ),
}
CHANNELS_OF = {
    "gateio_spot": ["book_ticker", "trades", "order_book", "tickers"],
    "gateio_futures": ["book_ticker", "trades", "order_book", "tickers"],
    "mexc_spot": ["book_ticker", "trades", "order_book", "top_book", "tickers"],
    "mexc_futures": ["trades", "order_book", "tickers"],
}


def book_events(events: list[Event], native: str) -> list[Event]:
    return [
        e
        for e in events
        if isinstance(e, BookReset | BookSnapshot | BookDelta) and e.native == native
    ]


def assert_continuous(events: list[Event], native: str) -> None:
    """Only deltas, each chaining onto the one before: the book stayed valid throughout."""
    chain = book_events(events, native)
    assert all(isinstance(e, BookDelta) for e in chain), [type(e).__name__ for e in chain]
    for before, after in itertools.pairwise(chain):
        assert isinstance(before, BookDelta) and isinstance(after, BookDelta)
        assert after.first_seq <= before.seq + 1 <= after.seq, (native, before, after)


def assert_books_match_truth(p: Pipeline, venue: str, natives: list[str]) -> None:
    _, _, param, pause_key = CASES[venue]
    ids = p.sim("pause", venue)[pause_key]
    for native in natives:
        p.pump_until(
            lambda n=native: p.valid(n, venue) and p.book(n, venue).seq == ids[n],
            15,
            f"{venue} {native} at {ids[native]}",
        )
        truth = p.sim("book", venue, **{param: native})
        book = p.book(native, venue)
        assert book.bids == {float(px): float(q) for px, q in truth["bids"]}, native
        assert book.asks == {float(px): float(q) for px, q in truth["asks"]}, native
    p.sim("resume", venue)


def pipeline_status(p: Pipeline, *flags: str) -> str:
    """What `pipeline status` prints."""
    command = [sys.executable, "-m", "actors.cli", "status", "-t", str(p.topology), *flags]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def connection(p: Pipeline, venue: str) -> dict[str, Any]:
    return p.actor(f"{venue}.connection.0")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("venue", "options"),
    [
        *((venue, {}) for venue in CASES),
        # A book whose snapshots come in the stream: the renewal itself brings the full push.
        ("gateio_spot", {"book_mode": "obu", "book_depth": 400}),
    ],
    ids=[*CASES, "gateio_spot-obu"],
)
def test_a_stale_book_is_reset_renewed_and_resynced_alone(
    venue: str, options: dict[str, Any]
) -> None:
    symbols, natives, _, _ = CASES[venue]
    stale, others = natives[1], [n for n in natives if n != natives[1]]
    body = {
        "symbols": symbols,
        "channels": CHANNELS_OF[venue],
        "options": {**options, "stale_after": {"order_book": 2}},
    }
    with running_pipeline(venues={venue: body}, parsers=1) as p:
        p.pump_until(lambda: all(p.valid(n, venue) for n in natives), 20, "books")
        p.pump(1.0)
        before = connection(p, venue)
        mark = len(p.events)

        muted = p.sim("stale_sub", venue, channel="order_book", symbol=stale, seconds="120")
        assert muted["muted"] == 1
        p.pump_until(
            lambda: (
                any(isinstance(e, BookReset) for e in p.events[mark:]) and p.valid(stale, venue)
            ),
            20,
            f"{stale} reset and resynced",
        )
        p.pump(1.0)  # the others keep streaming meanwhile

        after = p.events[mark:]
        resets = [e for e in after if isinstance(e, BookReset)]
        assert [r.native for r in resets] == [stale]
        assert resets[0].reason.startswith("stale: no update for")
        mine = book_events(after, stale)
        reset = next(i for i, e in enumerate(mine) if isinstance(e, BookReset))
        assert_continuous(mine[:reset], stale)  # what was in flight when it went silent
        snapshot = next(i for i, e in enumerate(mine) if isinstance(e, BookSnapshot))
        assert reset < snapshot, "the reset comes before the book is valid again"
        assert mine[reset + 1 : snapshot] == [], "no delta between the reset and the snapshot"
        for native in others:
            assert book_events(after, native), f"{native} stopped streaming"
            assert_continuous(after, native)

        def counted() -> bool:
            shown = p.status()["venues"][venue]
            return shown["stale_subscriptions"] == 1 and shown["stale_now"] == []

        wait_until(counted, 5, "the stale subscription in pipeline status", p)
        text, raw = (pipeline_status(p, *flag) for flag in ((), ("--json",)))
        assert "stale subscriptions: 1 (still silent: none now)" in text
        assert json.loads(raw)["venues"][venue]["stale_subscriptions"] == 1
        handler = p.actor(f"{venue}.handler")
        assert handler["counters"]["stale_renewals"] >= 1
        now = connection(p, venue)
        assert now["info"]["epoch"] == before["info"]["epoch"], "the socket was replaced"
        assert now["counters"].get("reconnects", 0) == before["counters"].get("reconnects", 0)
        assert now["counters"].get("stale_sessions", 0) == 0
        assert now["counters"]["renewals"] >= 1
        assert p.sim("stats", venue)["faults"]["stale_sub"] == 1
        assert_books_match_truth(p, venue, natives)


@pytest.mark.slow
def test_a_silent_socket_is_not_mistaken_for_stale_subscriptions() -> None:
    """Everything stops for 3 s (``/_sim/stale``): past the books' 2 s threshold each book is
    reset as silent (not trusted, not renewed), then resyncs when the socket speaks again; no
    subscription is counted stale or renewed: that silence was the socket's."""
    symbols, natives, _, _ = CASES["gateio_spot"]
    body = {
        "symbols": symbols,
        "channels": CHANNELS_OF["gateio_spot"],
        "options": {"stale_after": {"order_book": 2}},
    }
    with running_pipeline(venues={"gateio_spot": body}, parsers=1) as p:
        p.pump_until(lambda: all(p.valid(n) for n in natives), 20, "books")
        mark = len(p.events)
        p.sim("stale", seconds="3")
        p.pump(3.5)
        p.pump_until(lambda: all(p.valid(n) for n in natives), 20, "books after the pause")
        p.pump(2.0)
        reasons = [e.reason for e in p.events[mark:] if isinstance(e, BookReset)]
        assert not [r for r in reasons if r.startswith("stale")], reasons
        silent = {e.native for e in p.events[mark:] if isinstance(e, BookReset)
                  and e.reason.startswith("silent socket")}  # fmt: skip
        assert silent == set(natives), reasons
        handler = p.actor("gateio_spot.handler")
        assert handler["counters"].get("stale_subscriptions", 0) == 0
        assert handler["counters"].get("stale_renewals", 0) == 0
        assert handler["counters"].get("silent_socket_resets", 0) >= len(natives)
