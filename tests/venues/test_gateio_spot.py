"""gateio_spot against real recorded frames (``../shared/frames``, see PROVENANCE.md).

Recorded frames are read in place and never retyped here.  Inputs built in a test for edge
cases are marked SYNTHETIC, and are either derived from a recorded frame by one named change
or written from the docs example shapes.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.messages import (
    BookDelta,
    BookTicker,
    Event,
    Pong,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    Trade,
)
from actors.venues import FrameError, RestRequest, Subscription, load_venue
from actors.venues.gateio.spot import GateioSpot
from tests.conftest import FRAMES, read_cryptofeed_http, read_cryptofeed_ws
from tests.mutate import json_values
from tests.mutate import paths as _paths
from tests.mutate import replaced as _replaced
from tests.test_book import Handler

SPOT_WS = "cryptofeed_GATEIO.ws.1.0"
SPOT_HTTP = "cryptofeed_GATEIO.http.0.0"
SPOT_PAIRS = "cryptofeed_GATEIO.0"
CRAWLER_GATE = FRAMES / "crypto_crawler" / "gateio_frames.jsonl"


def ns(stamp: float) -> int:
    """Recorded receive time (float s) -> our recv_ns."""
    return round(stamp * 1_000_000_000)


@pytest.fixture(scope="module")
def venue() -> GateioSpot:
    return GateioSpot()


@pytest.fixture(scope="module")
def received(gateio_frames: Path) -> list[tuple[float, str]]:
    return read_cryptofeed_ws(gateio_frames / SPOT_WS)[0]


@pytest.fixture(scope="module")
def sent(gateio_frames: Path) -> list[tuple[float, str]]:
    return read_cryptofeed_ws(gateio_frames / SPOT_WS)[1]


@pytest.fixture(scope="module")
def snapshots(gateio_frames: Path) -> list[tuple[str, float, str]]:
    return read_cryptofeed_http(gateio_frames / SPOT_HTTP)


def recorded(received: list[tuple[float, str]], needle: str) -> tuple[float, str]:
    """The one recorded frame containing ``needle``."""
    hits = [(stamp, text) for stamp, text in received if needle in text]
    assert len(hits) == 1, f"{needle!r} matches {len(hits)} recorded frames"
    return hits[0]


def synthetic(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """SYNTHETIC: a recorded frame with one deliberate change."""
    obj = orjson.loads(text)
    change(obj)
    return orjson.dumps(obj).decode()


# -- class attributes and registry ---------------------------------------------------------


def test_registered_and_described() -> None:
    spot = load_venue("gateio_spot")
    assert isinstance(spot, GateioSpot)
    assert spot.name == "gateio_spot"
    assert spot.ws_url == "wss://api.gateio.ws/ws/v4/"
    assert spot.rest_url == "https://api.gateio.ws/api/v4"
    assert spot.channels == {"book_ticker", "trades", "order_book", "tickers"}
    assert spot.book_sync == "rest_snapshot"
    assert spot.ping_interval_s == 10


# -- options -------------------------------------------------------------------------------

GOOD_OPTIONS = [
    ({}, "100ms", 100),
    ({"book_interval": "100ms"}, "100ms", 100),
    ({"book_interval": "100ms", "book_depth": 100}, "100ms", 100),
    ({"book_interval": "20ms"}, "20ms", 20),
    ({"book_interval": "20ms", "book_depth": 20}, "20ms", 20),
    ({"unrelated": 1}, "100ms", 100),
]


@pytest.mark.parametrize(("options", "interval", "depth"), GOOD_OPTIONS)
def test_options_accepted(options: dict[str, Any], interval: str, depth: int) -> None:
    spot = GateioSpot(options)
    assert (spot.book_interval, spot.book_depth) == (interval, depth)
    assert spot.snapshot_request("BTC/USDT").params["limit"] == str(depth)


BAD_OPTIONS = [
    ({"book_interval": "1000ms"}, "book_interval '1000ms' is not one of '100ms', '20ms'"),
    ({"book_interval": 100}, "book_interval 100 is not one of"),
    ({"book_interval": ["100ms"]}, "book_interval ['100ms'] is not one of"),
    ({"book_interval": "20ms", "book_depth": 100}, "the REST snapshot limit must be 20"),
    ({"book_depth": 50}, "the REST snapshot limit must be 100"),
    ({"book_depth": "100"}, "book_depth must be an integer, got '100'"),
    ({"book_depth": True}, "book_depth must be an integer"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_options_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="gateio_spot") as info:
        GateioSpot(options)
    assert message in str(info.value)


OBU_OPTIONS = [
    ({"book_mode": "obu"}, "100ms", 400),
    ({"book_mode": "obu", "book_depth": 400}, "100ms", 400),
    ({"book_mode": "obu", "book_interval": "100ms", "book_depth": 400}, "100ms", 400),
    ({"book_mode": "obu", "book_interval": "20ms"}, "20ms", 50),
    ({"book_mode": "obu", "book_interval": "20ms", "book_depth": 50}, "20ms", 50),
]


@pytest.mark.parametrize(("options", "interval", "depth"), OBU_OPTIONS)
def test_obu_options_accepted(options: dict[str, Any], interval: str, depth: int) -> None:
    spot = GateioSpot(options)
    assert (spot.book_mode, spot.book_interval, spot.book_depth) == ("obu", interval, depth)
    assert spot.book_sync == "stream"
    assert GateioSpot.book_sync == "rest_snapshot"  # the class default is untouched
    with pytest.raises(ValueError, match="book_mode 'obu' takes its snapshots from the stream"):
        spot.snapshot_request("BTC/USDT")


def test_update_mode_is_the_default() -> None:
    for spot in (GateioSpot(), GateioSpot({"book_mode": "update"})):
        assert (spot.book_mode, spot.book_sync) == ("update", "rest_snapshot")


BAD_OBU_OPTIONS = [
    ({"book_mode": "full"}, "book_mode 'full' is not one of 'update', 'obu'"),
    ({"book_mode": None}, "book_mode None is not one of 'update', 'obu'"),
    ({"book_mode": "obu", "book_depth": 100}, "does not fit book_mode 'obu' with book_interval "),
    ({"book_mode": "obu", "book_depth": 50}, "'100ms', which streams 400 levels"),
    ({"book_mode": "obu", "book_interval": "20ms", "book_depth": 400}, "which streams 50 levels"),
    ({"book_mode": "obu", "book_interval": "1000ms"}, "book_interval '1000ms' is not one of"),
    ({"book_mode": "obu", "book_depth": "400"}, "book_depth must be an integer, got '400'"),
    ({"book_mode": "update", "book_depth": 400}, "the REST snapshot limit must be 100"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OBU_OPTIONS)
def test_obu_options_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="gateio_spot") as info:
        GateioSpot(options)
    assert message in str(info.value)


# -- symbols -------------------------------------------------------------------------------


def test_symbols_round_trip(venue: GateioSpot) -> None:
    assert venue.native_symbol("BTC/USDT") == "BTC_USDT"
    assert venue.normalize_symbol("BTC_USDT") == "BTC/USDT"
    assert venue.native_symbol("QTUM3S/USDT") == "QTUM3S_USDT"


def test_every_recorded_currency_pair_round_trips(venue: GateioSpot, gateio_frames: Path) -> None:
    line = next(
        line
        for line in (gateio_frames / SPOT_PAIRS).read_text().splitlines()
        if "/spot/currency_pairs ->" in line
    )
    pairs = [p["id"] for p in orjson.loads(line.partition(": ")[2])]
    assert len(pairs) == 1458
    for native in pairs:
        assert venue.native_symbol(venue.normalize_symbol(native)) == native


@pytest.mark.parametrize(
    "symbol", ["BTCUSDT", "btc/usdt", "BTC/USDT:USDT", "BTC-USDT", "/USDT", "BTC/", "BTC/US/DT", ""]
)
def test_bad_symbols(venue: GateioSpot, symbol: str) -> None:
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        venue.native_symbol(symbol)


@pytest.mark.parametrize("native", ["BTCUSDT", "btc_usdt", "BTC_USDT_20210625", "BTC/USDT", ""])
def test_bad_natives(venue: GateioSpot, native: str) -> None:
    with pytest.raises(ValueError, match="BASE_QUOTE"):
        venue.normalize_symbol(native)


# -- requests ------------------------------------------------------------------------------


def test_subscribe_matches_recorded_requests(
    venue: GateioSpot, sent: list[tuple[float, str]]
) -> None:
    """Byte-for-byte the requests cryptofeed sent (minus candlesticks, which we do not use)."""
    wanted = [text for _, text in sent if '"spot.candlesticks"' not in text]
    trades = orjson.loads(wanted[0])
    assert trades["channel"] == "spot.trades"
    pairs = [venue.normalize_symbol(p) for p in trades["payload"]]
    subs = [Subscription("trades", s) for s in pairs]
    subs += [Subscription("order_book", s) for s in pairs]
    subs += [Subscription("tickers", s) for s in pairs]
    assert venue.subscribe_messages(subs, now_s=trades["time"]) == wanted


def test_subscribe_messages_exact(venue: GateioSpot) -> None:
    subs = [
        Subscription("book_ticker", "BTC/USDT"),
        Subscription("order_book", "ETH/USDT"),
        Subscription("book_ticker", "ETH/USDT"),
        Subscription("order_book", "BTC/USDT"),
        Subscription("book_ticker", "BTC/USDT"),  # duplicate: dropped
    ]
    assert venue.subscribe_messages(subs, now_s=1700000000) == [
        '{"time":1700000000,"channel":"spot.book_ticker","event":"subscribe",'
        '"payload":["BTC_USDT","ETH_USDT"]}',
        '{"time":1700000000,"channel":"spot.order_book_update","event":"subscribe",'
        '"payload":["ETH_USDT","100ms"]}',
        '{"time":1700000000,"channel":"spot.order_book_update","event":"subscribe",'
        '"payload":["BTC_USDT","100ms"]}',
    ]
    assert venue.unsubscribe_messages(subs[:2], now_s=1700000001) == [
        '{"time":1700000001,"channel":"spot.book_ticker","event":"unsubscribe",'
        '"payload":["BTC_USDT"]}',
        '{"time":1700000001,"channel":"spot.order_book_update","event":"unsubscribe",'
        '"payload":["ETH_USDT","100ms"]}',
    ]
    assert venue.subscribe_messages([], now_s=1) == []


def test_subscribe_20ms_book() -> None:
    spot = GateioSpot({"book_interval": "20ms"})
    assert spot.subscribe_messages([Subscription("order_book", "BTC/USDT")], now_s=5) == [
        '{"time":5,"channel":"spot.order_book_update","event":"subscribe",'
        '"payload":["BTC_USDT","20ms"]}'
    ]


def test_subscribe_obu_exact() -> None:
    """One stream per request, as ``["ob.<PAIR>.<depth>"]``; the other channels as before."""
    spot = GateioSpot({"book_mode": "obu"})
    subs = [
        Subscription("order_book", "BTC/USDT"),
        Subscription("book_ticker", "BTC/USDT"),
        Subscription("order_book", "ETH/USDT"),
        Subscription("order_book", "BTC/USDT"),  # duplicate: dropped
    ]
    assert spot.subscribe_messages(subs, now_s=123456) == [
        '{"time":123456,"channel":"spot.obu","event":"subscribe","payload":["ob.BTC_USDT.400"]}',
        '{"time":123456,"channel":"spot.obu","event":"subscribe","payload":["ob.ETH_USDT.400"]}',
        '{"time":123456,"channel":"spot.book_ticker","event":"subscribe","payload":["BTC_USDT"]}',
    ]
    fast = GateioSpot({"book_mode": "obu", "book_interval": "20ms"})
    # the docs' own subscribe and unsubscribe examples, byte for byte apart from spacing
    assert fast.subscribe_messages([subs[0]], now_s=123456) == [
        '{"time":123456,"channel":"spot.obu","event":"subscribe","payload":["ob.BTC_USDT.50"]}'
    ]
    assert fast.unsubscribe_messages([subs[0]], now_s=123456) == [
        '{"time":123456,"channel":"spot.obu","event":"unsubscribe","payload":["ob.BTC_USDT.50"]}'
    ]


def test_requests_are_text_frames(venue: GateioSpot) -> None:
    """websockets sends bytes as binary frames; Gate.io expects text."""
    msgs = venue.subscribe_messages([Subscription("trades", "BTC/USDT")], now_s=1)
    assert all(isinstance(m, str) for m in msgs)
    assert isinstance(venue.ping_message(now_s=1), str)


def test_ping_message(venue: GateioSpot) -> None:
    assert venue.ping_message(now_s=1700000000) == '{"time":1700000000,"channel":"spot.ping"}'


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        (Subscription("orders", "BTC/USDT"), "unsupported channel 'orders'"),
        (Subscription("trades", "BTC-USDT"), "bad symbol 'BTC-USDT'"),
    ],
)
def test_bad_subscriptions(venue: GateioSpot, sub: Subscription, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        venue.subscribe_messages([sub], now_s=1)


def test_snapshot_request_matches_recorded_urls(
    venue: GateioSpot, snapshots: list[tuple[str, float, str]]
) -> None:
    for url, _, _ in snapshots:
        native = url.partition("currency_pair=")[2].partition("&")[0]
        req = venue.snapshot_request(venue.normalize_symbol(native))
        assert req == RestRequest(
            "GET",
            "/spot/order_book",
            params={"currency_pair": native, "limit": "100", "with_id": "true"},
        )
        assert f"{venue.rest_url}{req.path}?{urlencode(req.params)}" == url


# -- the recorded session ------------------------------------------------------------------

# (channel, event type or None for a frame that gives no events) -> frames
RECORDED_COUNTS: dict[tuple[str, str | None], int] = {
    ("spot.order_book_update", "BookDelta"): 172,
    ("spot.order_book_update", "SubscriptionAck"): 10,
    ("spot.trades", "Trade"): 9,
    ("spot.trades", "SubscriptionAck"): 1,
    ("spot.tickers", "Ticker"): 22,
    ("spot.tickers", "SubscriptionAck"): 1,
    ("spot.candlesticks", "SubscriptionAck"): 10,
    ("spot.candlesticks", None): 14,  # known channel we do not publish
}


def test_every_recorded_frame_parses(venue: GateioSpot, received: list[tuple[float, str]]) -> None:
    counts: collections.Counter[tuple[str, str | None]] = collections.Counter()
    for stamp, text in received:
        events = venue.parse_frame(text, ns(stamp))
        assert len(events) <= 1, text
        channel = orjson.loads(text)["channel"]
        counts[channel, type(events[0]).__name__ if events else None] += 1
        for event in events:
            assert event.venue == "gateio_spot"
            assert event.recv_ns == ns(stamp)
    assert dict(counts) == RECORDED_COUNTS
    assert sum(RECORDED_COUNTS.values()) == len(received) == 239


def test_parsing_has_no_hidden_state(received: list[tuple[float, str]]) -> None:
    """Twice, and in reverse order with a fresh venue, every frame gives equal events."""
    first, second = GateioSpot(), GateioSpot()
    once = [first.parse_frame(text, ns(stamp)) for stamp, text in received]
    again = [first.parse_frame(text.encode(), ns(stamp)) for stamp, text in received]
    backwards = [second.parse_frame(text, ns(stamp)) for stamp, text in reversed(received)]
    assert once == again == backwards[::-1]


def test_events_encode_and_decode(venue: GateioSpot, received: list[tuple[float, str]]) -> None:
    """What we parse survives the msgpack hop to the handler and consumers unchanged."""
    from actors.messages import EVENT_DECODER

    for stamp, text in received:
        for event in venue.parse_frame(text, ns(stamp)):
            assert EVENT_DECODER.decode(msgspec.msgpack.encode(event)) == event


# needle (unique in the recording) -> the event it must give; recv_ns is filled in
EXACT: list[tuple[str, Event | None]] = [
    (
        '{"time":1619093532,"channel":"spot.trades","event":"subscribe"',
        SubscriptionAck(
            venue="gateio_spot",
            symbol="",
            native="",
            ts=1619093532000,
            channel="spot.trades",
            event="subscribe",
        ),
    ),
    (
        '"U":2691447,"u":2691448',
        BookDelta(
            venue="gateio_spot",
            symbol="HAI/ETH",
            native="HAI_ETH",
            ts=1619093538766,
            bids=[(0.00010322, 0.0)],
            asks=[(0.00010396, 0.0)],
            first_seq=2691447,
            seq=2691448,
        ),
    ),
    (
        '"U":1138118,"u":1138120',
        BookDelta(
            venue="gateio_spot",
            symbol="FAST/USDT",
            native="FAST_USDT",
            ts=1619093538656,
            bids=[(10.01, 0.0), (10.0, 18.8414)],
            asks=[(11.36, 28.27455094)],
            first_seq=1138118,
            seq=1138120,
        ),
    ),
    (
        '"id":816995772',
        Trade(
            venue="gateio_spot",
            symbol="DIS/USDT",
            native="DIS_USDT",
            ts=1619093543708,  # from create_time_ms "1619093543708.2642"
            price=121.58,
            qty=0.201,
            side="sell",
            trade_id="816995772",
        ),
    ),
    (
        '{"time":1619093533,"channel":"spot.tickers","event":"update"',
        Ticker(
            venue="gateio_spot",
            symbol="NEO/BTC",
            native="NEO_BTC",
            ts=1619093533000,  # no time_ms in 2021: time * 1000
            last=0.0018716,
            bid=0.0018697,
            ask=0.0018734,
            high=0.0018754,
            low=0.0017148,
            base_volume=1138.01640718,
            quote_volume=2.048263365803126,
            change_pct=2.9256,
        ),
    ),
    ('"n":"1m_DIS_USDT"}}', None),  # the first candlestick: known, not published
]


@pytest.mark.parametrize(("needle", "expected"), EXACT, ids=lambda v: str(v)[:30])
def test_exact_values(
    venue: GateioSpot, received: list[tuple[float, str]], needle: str, expected: Event | None
) -> None:
    hits = [(stamp, text) for stamp, text in received if needle in text]
    stamp, text = hits[0]
    events = venue.parse_frame(text, ns(stamp))
    if expected is None:
        assert events == []
    else:
        assert events == [msgspec.structs.replace(expected, recv_ns=ns(stamp))]


def test_book_ticker_exact(venue: GateioSpot) -> None:
    """No book_ticker in the cryptofeed session: this one is crypto-crawler's 2022 capture."""
    line = next(
        line for line in CRAWLER_GATE.read_text().splitlines() if "spot.book_ticker" in line
    )
    assert venue.parse_frame(line, 7) == [
        BookTicker(
            venue="gateio_spot",
            symbol="BTC/USDT",
            native="BTC_USDT",
            ts=1654029559473,
            recv_ns=7,
            bid_price=31738.93,
            bid_qty=2.3039,
            ask_price=31738.94,
            ask_qty=0.335,
            seq=6765708346,
        )
    ]


def test_crypto_crawler_gate_frames(venue: GateioSpot) -> None:
    """Every spot v4 frame parses; legacy v3 and futures frames are clear FrameErrors."""
    kinds: collections.Counter[str] = collections.Counter()
    for line in CRAWLER_GATE.read_text().splitlines():
        obj = orjson.loads(line)
        channel = obj.get("channel", "") if isinstance(obj, dict) else ""
        if channel.startswith("spot."):
            kinds[", ".join(type(e).__name__ for e in venue.parse_frame(line, 0)) or "-"] += 1
        elif "channel" in obj:
            with pytest.raises(FrameError, match=r"unknown channel 'futures\."):
                venue.parse_frame(line, 0)
        else:  # REST bodies and v3 {"method": ...} frames
            with pytest.raises(FrameError, match="missing field 'channel'"):
                venue.parse_frame(line, 0)
    assert kinds == {"Trade": 1, "BookDelta": 1, "BookTicker": 1, "Ticker": 1, "-": 2}


def test_parse_snapshot_exact(venue: GateioSpot, snapshots: list[tuple[str, float, str]]) -> None:
    _, stamp, body = next(s for s in snapshots if "HAI_ETH" in s[0])
    snap = venue.parse_snapshot(body.encode(), "HAI/ETH", ns(stamp))
    assert (snap.venue, snap.symbol, snap.native) == ("gateio_spot", "HAI/ETH", "HAI_ETH")
    assert (snap.seq, snap.ts, snap.recv_ns) == (2691446, 0, ns(stamp))  # 2021: no `current`
    assert (len(snap.bids), len(snap.asks)) == (35, 38)
    assert snap.bids[:2] == [(0.00010322, 5360.209), (0.00010276, 20.80412499)]
    assert snap.asks[:2] == [(0.00010396, 5876.967), (0.0001052, 16944.291)]


def test_every_recorded_snapshot_is_best_first(
    venue: GateioSpot, snapshots: list[tuple[str, float, str]]
) -> None:
    for url, stamp, body in snapshots:
        native = url.partition("currency_pair=")[2].partition("&")[0]
        snap = venue.parse_snapshot(body, venue.normalize_symbol(native), ns(stamp))
        prices = [p for p, _ in snap.bids]
        assert prices == sorted(prices, reverse=True)
        prices = [p for p, _ in snap.asks]
        assert prices == sorted(prices)
        assert snap.bids[0][0] < snap.asks[0][0], native


def test_parse_snapshot_current_is_ts(venue: GateioSpot) -> None:
    # SYNTHETIC, the docs' shape: with_id=true also returns `current`/`update` in ms
    body = b'{"id":5,"current":1700000000123,"update":1700000000100,"asks":[],"bids":[]}'
    assert venue.parse_snapshot(body, "BTC/USDT", 1).ts == 1700000000123


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"asks":[],"bids":[]}', "missing field 'id' (request it with with_id=true)"),
        (b'{"id":1,"asks":[]}', "missing field 'bids'"),
        (b'{"id":"1","asks":[],"bids":[]}', "field 'id': expected `int | null`, got `str`"),
        (b'{"id":1,"asks":[["1","x"]],"bids":[]}', "a level is not [price, amount]"),
        (b'{"id":1,"asks":[],"bids":[["-1","1"]]}', "bad level"),
        (b"<html>502 Bad Gateway</html>", "not valid JSON"),
        (b'{"label":"INVALID_CURRENCY","message":"x"}', "missing field 'asks'"),
    ],
)
def test_parse_snapshot_rejects(venue: GateioSpot, body: bytes, message: str) -> None:
    with pytest.raises(FrameError, match="spot order book snapshot BTC_USDT") as info:
        venue.parse_snapshot(body, "BTC/USDT", 0)
    assert message in str(info.value)


# -- protocol status frames ----------------------------------------------------------------


def test_error_frame_is_subscription_error(venue: GateioSpot) -> None:
    # SYNTHETIC, from the docs' error example (code 2) on a subscribe request
    frame = (
        '{"time":1700000000,"time_ms":1700000000123,"channel":"spot.trades",'
        '"event":"subscribe","error":{"code":2,"message":"unknown currency pair GIBBERISH_USD"},'
        '"result":{"status":"fail"}}'
    )
    assert venue.parse_frame(frame, 9) == [
        SubscriptionError(
            venue="gateio_spot",
            symbol="",
            native="",
            ts=1700000000123,
            recv_ns=9,
            channel="spot.trades",
            message="unknown currency pair GIBBERISH_USD",
            code=2,
        )
    ]


def test_pong_and_unsubscribe_ack(venue: GateioSpot) -> None:
    # SYNTHETIC, the docs' shapes for spot.pong and an unsubscribe ack
    pong = '{"time":1700000000,"time_ms":1700000000123,"channel":"spot.pong","event":"","error":null,"result":null}'  # noqa: E501
    ack = '{"time":1700000001,"channel":"spot.book_ticker","event":"unsubscribe","error":null,"result":{"status":"success"}}'  # noqa: E501
    assert venue.parse_frame(pong, 1) == [
        Pong(venue="gateio_spot", symbol="", native="", ts=1700000000123, recv_ns=1)
    ]
    assert venue.parse_frame(ack, 2) == [
        SubscriptionAck(
            venue="gateio_spot",
            symbol="",
            native="",
            ts=1700000001000,
            recv_ns=2,
            channel="spot.book_ticker",
            event="unsubscribe",
        )
    ]


def test_full_flag_and_empty_sides(venue: GateioSpot, received: list[tuple[float, str]]) -> None:
    _, text = recorded(received, '"U":1138118,"u":1138120')

    def full_no_asks(obj: dict[str, Any]) -> None:
        obj["result"]["full"] = True
        del obj["result"]["a"]

    (delta,) = venue.parse_frame(synthetic(text, full_no_asks), 0)
    assert isinstance(delta, BookDelta)
    assert delta.full is True
    assert delta.asks == []
    assert delta.bids == [(10.01, 0.0), (10.0, 18.8414)]


def test_trade_without_create_time_ms(venue: GateioSpot, received: list[tuple[float, str]]) -> None:
    _, text = recorded(received, '"id":816995772')
    frame = synthetic(text, lambda o: o["result"].pop("create_time_ms"))
    (trade,) = venue.parse_frame(frame, 0)
    assert isinstance(trade, Trade)
    assert trade.ts == 1619093543000


# -- bad input -----------------------------------------------------------------------------

OBU = '"U":1138118,"u":1138120'  # a recorded spot.order_book_update to derive from


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            obj = obj[key]
        obj[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            obj = obj[key]
        del obj[last]

    return change


# name -> (how to build the frame from the recorded OBU frame, expected FrameError text)
BAD_FRAMES: dict[str, tuple[Callable[[str], str | bytes], str]] = {
    "not json": (lambda t: "hello", "envelope: not valid JSON"),
    "empty": (lambda t: b"", "envelope: not valid JSON (Input data was truncated)"),
    "truncated": (lambda t: t[: len(t) // 2], "envelope: not valid JSON"),
    "not utf-8": (lambda t: b"\xff" + t.encode(), "envelope: not valid JSON"),
    "array": (lambda t: "[1,2]", "envelope: expected `object`, got `array`"),
    "missing U": (
        lambda t: synthetic(t, _drop("result.U")),
        "spot.order_book_update: missing field 'U'",
    ),
    "U wrong type": (
        lambda t: synthetic(t, _set("result.U", "1138118")),
        "spot.order_book_update: field 'U': expected `int`, got `str`",
    ),
    "U after u": (
        lambda t: synthetic(t, _set("result.U", 1138121)),
        "first update id U=1138121 is after last u=1138120",
    ),
    "negative id": (lambda t: synthetic(t, _set("result.u", -1)), "field 'u': expected `int` >= 0"),
    "level arity": (
        lambda t: synthetic(t, _set("result.b", [["10", "1", "2"]])),
        "field 'b[0]': expected `array` of length 2",
    ),
    "level not a number": (
        lambda t: synthetic(t, _set("result.b", [["ten", "1"]])),
        "spot.order_book_update FAST_USDT: a level is not [price, amount] as numbers",
    ),
    "level nan": (lambda t: synthetic(t, _set("result.a", [["nan", "1"]])), "bad level [nan, 1.0]"),
    "level negative": (
        lambda t: synthetic(t, _set("result.a", [["1", "-2"]])),
        "bad level [1.0, -2.0]",
    ),
    "bad pair": (
        lambda t: synthetic(t, _set("result.s", "fast_usdt")),
        "spot.order_book_update: bad currency pair 'fast_usdt'",
    ),
    "result null": (
        lambda t: synthetic(t, _set("result", None)),
        "spot.order_book_update: expected `object`, got `null`",
    ),
    "no result": (
        lambda t: synthetic(t, _drop("result")),
        "spot.order_book_update: missing field 'result'",
    ),
    "unknown channel": (
        lambda t: synthetic(t, _set("channel", "spot.bogus")),
        "unknown channel 'spot.bogus'",
    ),
    "missing channel": (lambda t: synthetic(t, _drop("channel")), "missing field 'channel'"),
    "odd event": (
        lambda t: synthetic(t, _set("event", "all")),
        "spot.order_book_update: unexpected event 'all'",
    ),
    "time wrong type": (
        lambda t: synthetic(t, _set("time", "now")),
        "envelope: field 'time': expected `int`, got `str`",
    ),
    "error wrong type": (
        lambda t: synthetic(t, _set("error", "boom")),
        "envelope: field 'error': expected `object | null`, got `str`",
    ),
}


@pytest.mark.parametrize("name", BAD_FRAMES)
def test_bad_frames(venue: GateioSpot, received: list[tuple[float, str]], name: str) -> None:
    build, message = BAD_FRAMES[name]
    _, text = recorded(received, OBU)
    with pytest.raises(FrameError) as info:
        venue.parse_frame(build(text), 0)
    assert message in str(info.value)


# -- DOCS-BUILT: spot.obu ------------------------------------------------------------------
# No recorded spot.obu frame is public (protocols.md section 5): these are the Gate.io spot
# v4 docs' examples ("Order book V2 update notification", the obu subscribe ack and the
# duplicate-subscription failure), values verbatim, whitespace removed.

SPOT_OBU_FULL = '{"channel":"spot.obu","result":{"t":1747054612673,"full":true,"s":"ob.BTC_USDT.50","u":73777715168,"b":[["104027.1","509392"],["104027","477932"]],"a":[["104027.2","44617"],["104027.4","39322"]]},"time_ms":1747054612848}'  # noqa: E501
SPOT_OBU_DIFF = '{"channel":"spot.obu","result":{"t":1747054612695,"s":"ob.BTC_USDT.50","U":73777715169,"u":73777715212,"b":[["104024.5","10343"],["104014.5","509392"]],"a":[["104027.2","0"],["104027.4","0"]]},"time_ms":1747054612925}'  # noqa: E501
SPOT_OBU_ACK = '{"time":1747054611,"time_ms":1747054611614,"conn_id":"d7de96c024f2a5b2","trace_id":"e6fd9bdd617fcdb80d0762ffa33e71f6","channel":"spot.obu","event":"subscribe","payload":["ob.BTC_USDT.50"],"result":{"status":"success"}}'  # noqa: E501
SPOT_OBU_DUPLICATE = '{"time":1747391482,"time_ms":1747391482960,"id":1,"conn_id":"d9db9373dc5e081e","trace_id":"ee001938590e183db957bd5ba71651c0","channel":"spot.obu","event":"subscribe","payload":["ob.BTC_USDT.400"],"error":{"code":2,"message":"Alert sub ob.BTC_USDT.400"},"result":{"status":"fail"}}'  # noqa: E501
SPOT_OBU_DOCS = [SPOT_OBU_FULL, SPOT_OBU_DIFF, SPOT_OBU_ACK, SPOT_OBU_DUPLICATE]

OBU_BTC = {"venue": "gateio_spot", "symbol": "BTC/USDT", "native": "BTC_USDT"}


@pytest.mark.parametrize("options", [{}, {"book_mode": "obu"}])
def test_docs_obu_frames_exact(options: dict[str, Any]) -> None:
    """spot.obu parses in either book mode: parsing never depends on what we asked."""
    spot = GateioSpot(options)
    assert spot.parse_frame(SPOT_OBU_FULL, 7) == [
        BookDelta(
            **OBU_BTC,
            ts=1747054612673,
            recv_ns=7,
            bids=[(104027.1, 509392.0), (104027.0, 477932.0)],
            asks=[(104027.2, 44617.0), (104027.4, 39322.0)],
            first_seq=73777715168,  # a full push without U: the book at u
            seq=73777715168,
            full=True,
        )
    ]
    assert spot.parse_frame(SPOT_OBU_DIFF, 8) == [
        BookDelta(
            **OBU_BTC,
            ts=1747054612695,
            recv_ns=8,
            bids=[(104024.5, 10343.0), (104014.5, 509392.0)],
            asks=[(104027.2, 0.0), (104027.4, 0.0)],
            first_seq=73777715169,
            seq=73777715212,
            full=False,
        )
    ]
    assert spot.parse_frame(SPOT_OBU_ACK, 9) == [
        SubscriptionAck(
            venue="gateio_spot",
            symbol="",
            native="",
            ts=1747054611614,
            recv_ns=9,
            channel="spot.obu",
            event="subscribe",
        )
    ]
    assert spot.parse_frame(SPOT_OBU_DUPLICATE, 10) == [
        SubscriptionError(
            venue="gateio_spot",
            symbol="",
            native="",
            ts=1747391482960,
            recv_ns=10,
            channel="spot.obu",
            message="Alert sub ob.BTC_USDT.400",
            code=2,
        )
    ]
    refused = spot.refused(
        "spot.obu", 2, "Alert sub ob.BTC_USDT.400", [Subscription("order_book", "BTC/USDT")]
    )
    assert refused == []  # a duplicate leaves the stream we already hold in play


def test_full_obu_push_with_U_keeps_it() -> None:
    """SYNTHETIC, the docs' full push plus a ``U``: first_seq is that U."""
    frame = synthetic(SPOT_OBU_FULL, _set("result.U", 73777715100))
    (delta,) = GateioSpot({"book_mode": "obu"}).parse_frame(frame, 0)
    assert isinstance(delta, BookDelta)
    assert (delta.first_seq, delta.seq, delta.full) == (73777715100, 73777715168, True)


def test_obu_stream_goes_live_without_rest() -> None:
    """obu: the full push is the snapshot; the docs' increment chains onto it (U = u + 1),
    deletes the two best asks, and no REST snapshot is ever wanted."""
    spot = GateioSpot({"book_mode": "obu", "book_interval": "20ms"})
    handler = Handler("gateio_spot")
    for frame in (SPOT_OBU_FULL, SPOT_OBU_DIFF):
        (delta,) = spot.parse_frame(frame, 0)
        assert isinstance(delta, BookDelta)
        handler.feed(delta)
    sync = handler.syncs["BTC/USDT"]
    assert (sync.live, sync.seq, sync.gaps, handler.fetches["BTC/USDT"]) == (
        True,
        73777715212,
        0,
        0,
    )
    bids, asks = sync.book.top(5)
    assert bids == [
        (104027.1, 509392.0),
        (104027.0, 477932.0),
        (104024.5, 10343.0),
        (104014.5, 509392.0),
    ]
    assert asks == []  # the increment deleted both asks the full push had


BAD_OBU_FRAMES = [
    (SPOT_OBU_DIFF, _set("result.s", "BTC_USDT"), "spot.obu: bad stream name 'BTC_USDT'"),
    (SPOT_OBU_DIFF, _set("result.s", "ob.btc_usdt.50"), "spot.obu: bad stream name"),
    (SPOT_OBU_DIFF, _drop("result.U"), "spot.obu BTC_USDT: missing field 'U' on an incremental"),
    (SPOT_OBU_DIFF, _set("result.U", 73777715213), "first update id U=73777715213 is after last"),
    (SPOT_OBU_DIFF, _drop("result.u"), "spot.obu: missing field 'u'"),
    (SPOT_OBU_DIFF, _set("result.U", -1), "spot.obu: field 'U': expected `int` >= 0"),
    (SPOT_OBU_DIFF, _set("result.b", [["1", "2", "3"]]), "field 'b[0]': expected `array` of"),
    (SPOT_OBU_DIFF, _set("result.a", [[1, 2]]), "field 'a[0][0]': expected `str`, got `int`"),
    (SPOT_OBU_DIFF, _set("result.a", [["x", "1"]]), "spot.obu BTC_USDT: a level is not"),
    (SPOT_OBU_FULL, _set("result.full", "yes"), "field 'full': expected `bool`"),
    (SPOT_OBU_FULL, _set("result", None), "spot.obu: expected `object`, got `null`"),
    (SPOT_OBU_FULL, _drop("result"), "spot.obu: missing field 'result'"),
    (SPOT_OBU_FULL, _set("event", "all"), "spot.obu: unexpected event 'all'"),
    (SPOT_OBU_FULL, _set("channel", "spot.order_book_update"), "unexpected event ''"),
]


@pytest.mark.parametrize(("frame", "change", "message"), BAD_OBU_FRAMES)
def test_bad_obu_frames(frame: str, change: Callable[[dict[str, Any]], None], message: str) -> None:
    """SYNTHETIC: the docs' obu pushes, each with one deliberate change."""
    with pytest.raises(FrameError) as info:
        GateioSpot({"book_mode": "obu"}).parse_frame(synthetic(frame, change), 0)
    assert message in str(info.value)


def test_bad_trade_and_ticker_fields(venue: GateioSpot, received: list[tuple[float, str]]) -> None:
    _, trade = recorded(received, '"id":816995772')
    cases = [
        (synthetic(trade, _set("result.side", "ask")), "spot.trades: field 'side'"),
        (synthetic(trade, _set("result.price", "")), "spot.trades DIS_USDT: not a number: ''"),
        (synthetic(trade, _set("result.create_time_ms", "1e12")), "bad create_time_ms '1e12'"),
        (synthetic(trade, _drop("result.amount")), "spot.trades: missing field 'amount'"),
    ]
    _, ticker = recorded(received, '{"time":1619093533,"channel":"spot.tickers"')
    cases += [
        (synthetic(ticker, _drop("result.last")), "spot.tickers: missing field 'last'"),
        (synthetic(ticker, _set("result.high_24h", "inf")), "not a finite number: 'inf'"),
    ]
    for frame, message in cases:
        with pytest.raises(FrameError) as info:
            venue.parse_frame(frame, 0)
        assert message in str(info.value)


def test_ticker_blank_optional_fields(venue: GateioSpot, received: list[tuple[float, str]]) -> None:
    _, ticker = recorded(received, '{"time":1619093533,"channel":"spot.tickers"')
    (event,) = venue.parse_frame(synthetic(ticker, _set("result.lowest_ask", "")), 0)
    assert isinstance(event, Ticker)
    assert event.ask is None
    assert event.bid == 0.0018697


# -- fuzz: nothing but FrameError escapes ----------------------------------------------------


def _sample_frames() -> list[str]:
    received, _ = read_cryptofeed_ws(FRAMES / "gateio" / SPOT_WS)
    # one of each kind of frame, plus the crypto-crawler spot frames
    seen: dict[str, str] = {}
    for _, text in received:
        obj = orjson.loads(text)
        seen.setdefault(f"{obj['channel']} {obj['event']}", text)
    crawler = [line for line in CRAWLER_GATE.read_text().splitlines() if '"spot.' in line]
    return [*seen.values(), *crawler, *SPOT_OBU_DOCS]


SAMPLES = _sample_frames()


@st.composite
def frames(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.sampled_from(["bytes", "text", "splice", "json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200))
    text = draw(st.sampled_from(SAMPLES))
    if kind == "splice":  # cut, insert or overwrite raw bytes
        data = text.encode()
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 16)))
        return data[:start] + draw(st.binary(max_size=8)) + data[end:]
    obj = orjson.loads(text)  # replace one value anywhere with another JSON value
    path = draw(st.sampled_from(_paths(obj)))
    return json.dumps(
        _replaced(obj, path, draw(json_values("NaN", "BTC_USDT", "1.5", "update")))
    )  # orjson stops at 64 bits


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(frame=frames())
def test_fuzz_only_frame_errors(frame: str | bytes) -> None:
    venue = GateioSpot()
    try:
        events = venue.parse_frame(frame, 1)
    except FrameError as exc:
        assert str(exc)
        return
    for event in events:  # what parses must also be publishable
        msgspec.msgpack.encode(event)


@settings(max_examples=100, deadline=None, database=None)
@given(body=st.binary(max_size=120) | st.text(max_size=120).map(str.encode))
def test_fuzz_snapshot_only_frame_errors(body: bytes) -> None:
    try:
        GateioSpot().parse_snapshot(body, "BTC/USDT", 0)
    except FrameError as exc:
        assert str(exc)
