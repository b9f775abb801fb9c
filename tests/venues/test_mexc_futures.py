"""mexc_futures (contract v1 JSON) against real recorded frames and the docs.

RECORDED: crypto-crawler's 2021-2022 captures (``../shared/frames/crypto_crawler/
mexc_frames.jsonl``), read in place and never retyped: contract ``push.deal`` (the old
single-object form), ``push.depth``, ``push.depth.full``, ``push.kline``, ``push.ticker`` and
two contract REST depth bodies, next to obsolete spot v2 frames that this venue must refuse.

DOCS-BUILT: nothing else was ever published as a recording (no array-form deal, no merged
depth, no ack, no private push), so those inputs are written here from the field lists in
``../shared/protocols/protocols.md`` section 2 with our own values, and say so.

Signatures are checked against two computations independent of the code under test: the
``openssl`` binary and an HMAC written out from RFC 2104.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.messages import (
    EVENT_DECODER,
    Balance,
    BookDelta,
    BookReset,
    BookSnapshot,
    BookTicker,
    Event,
    Fill,
    Order,
    Pong,
    Position,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    TopBook,
    Trade,
)
from actors.venues import VENUES, FrameError, RestRequest, Subscription, load_venue
from actors.venues.contracts import with_contract_size
from actors.venues.mexc.futures import MexcFutures
from tests.conftest import FRAMES
from tests.mutate import json_values
from tests.mutate import paths as _paths
from tests.mutate import replaced as _replaced
from tests.reference import hmac_openssl, hmac_rfc2104
from tests.test_book import Handler, consumer_book
from tests.test_purity import FORBIDDEN, imported

V = "mexc_futures"
CRAWLER_MEXC = FRAMES / "crypto_crawler" / "mexc_frames.jsonl"
USDT, USD = "BTC/USDT:USDT", "BTC/USD:BTC"

# Shaped like MEXC credentials ("mx0" key, 32-hex-digit secret), but made up.
KEY = "mx0vglTestKey7Q2a"
SECRET = "5f1e2d3c4b5a69788796a5b4c3d2e1f0"
CREDS = (KEY, SECRET)


def crawler_lines() -> list[str]:
    if not CRAWLER_MEXC.is_file():
        pytest.fail(f"recorded frames missing: {CRAWLER_MEXC} (set MARKETPIPE_SHARED)")
    return CRAWLER_MEXC.read_text().splitlines()


def frame(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


@pytest.fixture
def venue() -> MexcFutures:
    return MexcFutures()


@pytest.fixture
def private() -> MexcFutures:
    return MexcFutures(credentials=CREDS)


# -- independent HMAC-SHA256 references ----------------------------------------------------


def test_reference_hmac_matches_rfc4231() -> None:
    """RFC 4231 test case 2, so the reference itself is right."""
    assert hmac_rfc2104("sha256", b"Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


# -- class attributes, registry, options -----------------------------------------------------


def test_registered_and_described() -> None:
    assert VENUES["mexc_futures"] == "actors.venues.mexc.futures:MexcFutures"
    assert VENUES["mexc_spot"] == "actors.venues.mexc.spot:MexcSpot"
    fut = load_venue("mexc_futures")
    assert isinstance(fut, MexcFutures)
    assert fut.name == V
    assert fut.ws_url == "wss://contract.mexc.com/edge"
    assert fut.rest_url == "https://contract.mexc.com"
    # No book ticker: push.ticker's bid1/ask1 carry no sizes (they are in the Ticker).
    assert fut.channels == {"trades", "order_book", "tickers"}
    assert fut.private_channels == {"orders", "positions", "balances", "fills"}
    assert fut.book_sync == "rest_snapshot"
    assert fut.ping_interval_s == 15
    assert fut.max_subscriptions_per_connection is None
    assert fut.handshake_headers() == {}
    assert fut.ping_message(now_s=1) == '{"method":"ping"}'
    assert isinstance(load_venue("mexc_futures", credentials=CREDS), MexcFutures)


def test_contracts_helper_is_pure() -> None:
    """``actors/venues/contracts.py`` sits outside test_purity's ``venues/*/*.py`` glob."""
    path = Path(__file__).resolve().parents[2] / "actors" / "venues" / "contracts.py"
    names = imported(path)
    assert not {n for n in names for f in FORBIDDEN if n == f or n.startswith(f + ".")}


@pytest.mark.parametrize(
    ("options", "depth"), [({}, 1000), ({"book_depth": 1}, 1), ({"book_depth": 5000}, 5000)]
)
def test_book_depth_option(options: dict[str, Any], depth: int) -> None:
    fut = MexcFutures(options)
    assert fut.book_depth == depth
    assert fut.snapshot_request(USDT) == RestRequest(
        "GET", "/api/v1/contract/depth/BTC_USDT", {"limit": str(depth)}
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"book_depth": 0}, "book_depth=0 must be an int in 1..5000"),
        ({"book_depth": 5001}, "book_depth=5001 must be an int in 1..5000"),
        ({"book_depth": True}, "book_depth=True must be an int"),
        ({"book_depth": 20.0}, "book_depth=20.0 must be an int"),
        ({"book_depth": "100"}, "book_depth='100' must be an int"),
        ({"depth": 5}, "unknown options ['depth']; known: ['book_depth', 'stale_after']"),
    ],
)
def test_options_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        MexcFutures(options)
    assert str(info.value).startswith("mexc_futures: ")
    assert message in str(info.value)


# -- symbols -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "native"),
    [
        (USDT, "BTC_USDT"),
        (USD, "BTC_USD"),
        ("ETH/USD:ETH", "ETH_USD"),
        ("1000PEPE/USDT:USDT", "1000PEPE_USDT"),
        ("BTC/USDC:USDC", "BTC_USDC"),
    ],
)
def test_symbols_round_trip(venue: MexcFutures, symbol: str, native: str) -> None:
    assert venue.native_symbol(symbol) == native
    assert venue.normalize_symbol(native) == symbol


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("BTC/USDT", "bad symbol 'BTC/USDT' (that is a spot symbol): a MEXC perpetual is"),
        ("btc/usdt:usdt", "bad symbol 'btc/usdt:usdt': a MEXC perpetual is BASE/QUOTE:SETTLE"),
        ("BTC_USDT", "bad symbol 'BTC_USDT'"),
        ("", "bad symbol ''"),
        ("BTC/USDT:BTC", "BTC/USDT:BTC': USDT-quoted contracts settle in USDT, e.g. BTC/USDT:USDT"),
        ("BTC/USD:USDT", "coin-margined) contracts settle in their base coin, e.g. BTC/USD:BTC"),
        ("BTC/USD:ETH", "settle in their base coin"),
    ],
)
def test_bad_symbols(venue: MexcFutures, symbol: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        venue.native_symbol(symbol)


@pytest.mark.parametrize("native", ["BTCUSDT", "BTC_USDT_20220624", "btc_usdt", "", "BTC-USDT"])
def test_bad_natives(venue: MexcFutures, native: str) -> None:
    with pytest.raises(ValueError, match=r"bad contract .* expected BASE_QUOTE"):
        venue.normalize_symbol(native)


# -- public requests -------------------------------------------------------------------------


def test_subscribe_messages_exact(venue: MexcFutures) -> None:
    subs = [
        Subscription("order_book", USDT),
        Subscription("trades", USDT),
        Subscription("tickers", USD),
        Subscription("trades", USDT),  # a duplicate is sent once
    ]
    assert venue.subscribe_messages(subs, now_s=1700000000) == [
        '{"method":"sub.depth","param":{"symbol":"BTC_USDT","compress":false},"gzip":false}',
        '{"method":"sub.deal","param":{"symbol":"BTC_USDT"},"gzip":false}',
        '{"method":"sub.ticker","param":{"symbol":"BTC_USD"},"gzip":false}',
    ]
    assert venue.unsubscribe_messages(subs, now_s=1700000000) == [
        '{"method":"unsub.depth","param":{"symbol":"BTC_USDT"},"gzip":false}',
        '{"method":"unsub.deal","param":{"symbol":"BTC_USDT"},"gzip":false}',
        '{"method":"unsub.ticker","param":{"symbol":"BTC_USD"},"gzip":false}',
    ]
    assert venue.subscribe_messages([], now_s=1) == []


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        (Subscription("book_ticker", USDT), "unsupported channel 'book_ticker'"),
        (Subscription("top_book", USDT), "unsupported channel 'top_book'"),
        (Subscription("trades", "BTC/USDT"), "(that is a spot symbol)"),
        (Subscription("orders", USDT), r"private channels \(orders\) need credentials"),
        (Subscription("balances", "!all"), r"private channels \(balances\) need credentials"),
    ],
)
def test_bad_subscriptions(venue: MexcFutures, sub: Subscription, message: str) -> None:
    for build in (venue.subscribe_messages, venue.unsubscribe_messages):
        with pytest.raises(ValueError, match=message):
            build([Subscription("trades", USDT), sub], now_s=1700000000)


# -- private requests: login and personal.filter --------------------------------------------


def login_of(text: str | bytes) -> dict[str, Any]:
    msg = json.loads(text)
    assert msg["method"] == "login"
    return msg


def test_login_message_exact_and_signed(private: MexcFutures) -> None:
    messages = private.subscribe_messages([Subscription("orders", USDT)], now_s=1700000000)
    signature = hmac_openssl("sha256", SECRET, KEY + "1700000000000")
    assert signature == hmac_rfc2104("sha256", SECRET.encode(), f"{KEY}1700000000000".encode())
    assert messages == [
        '{"method":"login","param":{"apiKey":"' + KEY + '","reqTime":"1700000000000",'
        '"signature":"' + signature + '","subscribe":false},"subscribe":false}',
        '{"method":"personal.filter","param":{"filters":[{"filter":"order","rules":["BTC_USDT"]}]}}',
    ]


@pytest.mark.parametrize(
    ("now_s", "now_ms", "req_time"),
    [
        (1700000000, None, "1700000000000"),
        (1700000000, 1700000000123, "1700000000123"),
        (1, None, "1000"),
    ],
)
def test_login_time_and_signature(now_s: int, now_ms: int | None, req_time: str) -> None:
    fut = MexcFutures(credentials=CREDS)
    sub = [Subscription("balances", USDT)]
    for build in (fut.subscribe_messages, fut.unsubscribe_messages):
        login = login_of(build(sub, now_s=now_s, now_ms=now_ms)[0])
        param = login["param"]
        assert param["reqTime"] == req_time
        assert param["apiKey"] == KEY
        assert param["signature"] == hmac_openssl("sha256", SECRET, KEY + req_time)
        assert param["signature"] == hmac_rfc2104(
            "sha256", SECRET.encode(), (KEY + req_time).encode()
        )
        assert param["subscribe"] is False and login["subscribe"] is False


@pytest.mark.parametrize("now_ms", [0, -5, True, 1.5])
def test_login_rejects_bad_times(private: MexcFutures, now_ms: Any) -> None:
    with pytest.raises(ValueError, match="login needs a positive time in ms"):
        private.subscribe_messages([Subscription("orders", USDT)], now_s=1, now_ms=now_ms)
    # Nothing was remembered: the next filter has only what later calls add.
    out = private.subscribe_messages([Subscription("fills", USDT)], now_s=1)
    assert json.loads(out[1])["param"]["filters"] == [
        {"filter": "order.deal", "rules": ["BTC_USDT"]}
    ]


def filters_of(messages: list[str | bytes]) -> list[dict[str, Any]]:
    msg = json.loads(messages[-1])
    assert msg["method"] == "personal.filter"
    return msg["param"]["filters"]


def test_filter_covers_every_private_subscription(private: MexcFutures) -> None:
    """Each filter message replaces the last, so each one names everything asked so far."""
    eth = "ETH/USDT:USDT"
    first = private.subscribe_messages(
        [
            Subscription("trades", USDT),
            Subscription("orders", USDT),
            Subscription("balances", USDT),
            Subscription("balances", eth),  # asset is per account: one filter, no rules
        ],
        now_s=1700000000,
    )
    assert [json.loads(m)["method"] for m in first] == ["sub.deal", "login", "personal.filter"]
    assert filters_of(first) == [
        {"filter": "order", "rules": ["BTC_USDT"]},
        {"filter": "asset"},
    ]
    second = private.subscribe_messages(
        [Subscription("orders", eth), Subscription("fills", eth), Subscription("positions", USD)],
        now_s=1700000001,
    )
    assert filters_of(second) == [
        {"filter": "order", "rules": ["BTC_USDT", "ETH_USDT"]},
        {"filter": "order.deal", "rules": ["ETH_USDT"]},
        {"filter": "position", "rules": ["BTC_USD"]},
        {"filter": "asset"},
    ]
    removed = private.unsubscribe_messages(
        [Subscription("orders", USDT), Subscription("balances", USDT)], now_s=1700000002
    )
    assert len(removed) == 1  # no new login to narrow a filter
    assert filters_of(removed) == [
        {"filter": "order", "rules": ["ETH_USDT"]},
        {"filter": "order.deal", "rules": ["ETH_USDT"]},
        {"filter": "position", "rules": ["BTC_USD"]},
        {"filter": "asset"},  # still wanted for ETH
    ]
    last = private.unsubscribe_messages(
        [
            Subscription("orders", eth),
            Subscription("fills", eth),
            Subscription("positions", USD),
            Subscription("balances", eth),
        ],
        now_s=1700000003,
    )
    # Nothing private left: log in again with "subscribe": false, i.e. no personal pushes.
    assert len(last) == 1
    assert login_of(last[0])["param"]["reqTime"] == "1700000003000"


def test_all_contracts_filter_has_no_rules(private: MexcFutures) -> None:
    out = private.subscribe_messages(
        [Subscription("fills", USDT), Subscription("fills", "!all")], now_s=1700000000
    )
    assert filters_of(out) == [{"filter": "order.deal"}]


def test_secrets_stay_out_of_repr_and_errors(private: MexcFutures) -> None:
    for text in (repr(private), repr(load_venue(V, credentials=CREDS))):
        assert KEY not in text and SECRET not in text
        assert "<redacted>" in text
    for bad in [("", SECRET), (KEY,), "x"]:
        with pytest.raises(ValueError) as info:
            MexcFutures(credentials=bad)  # type: ignore[arg-type]
        assert SECRET not in str(info.value) and KEY not in str(info.value)
    with pytest.raises(ValueError) as info:
        private.subscribe_messages([Subscription("orders", "BTC/USDT")], now_s=1)
    assert SECRET not in str(info.value) and KEY not in str(info.value)
    # The secret itself is never sent: only the key and the signature.
    for text in private.subscribe_messages([Subscription("orders", USDT)], now_s=1700000000):
        assert SECRET not in text


# -- recorded frames (crypto-crawler 2021-2022) ----------------------------------------------


def T(native: str, ts: int, price: float, qty: float, side: str, trade_id: str = "") -> Trade:
    symbol = USD if native == "BTC_USD" else USDT
    return Trade(
        venue=V,
        symbol=symbol,
        native=native,
        ts=ts,
        price=price,
        qty=qty,
        side=side,  # type: ignore[arg-type]
        trade_id=trade_id,
    )


def D(native: str, ts: int, version: int, bids: list[Any], asks: list[Any]) -> BookDelta:
    symbol = USD if native == "BTC_USD" else USDT
    return BookDelta(
        venue=V,
        symbol=symbol,
        native=native,
        ts=ts,
        bids=bids,
        asks=asks,
        first_seq=version,
        seq=version,
    )


def S(native: str, ts: int, version: int, bids: list[Any], asks: list[Any]) -> TopBook:
    symbol = USD if native == "BTC_USD" else USDT
    return TopBook(venue=V, symbol=symbol, native=native, ts=ts, bids=bids, asks=asks, seq=version)


# line -> (events, or the FrameError text expected; why)
CRAWLER: dict[int, tuple[list[Event] | str, str]] = {
    1: (
        "push.deal BTC_USDT: data.deals is the obsolete MEXC spot v2 shape, not a contract deal",
        "skip: obsolete spot v2 push.deal (data.deals, base-unit strings)",
    ),
    2: ([T("BTC_USDT", 1646999591755, 39766.5, 32.0, "sell")], "contract push.deal, object form"),
    3: ([T("BTC_USD", 1647000043904, 39885.5, 8.0, "sell")], "contract push.deal, inverse"),
    4: (
        "push.depth: field 'data.version': expected `int`, got `str`",
        "skip: obsolete spot v2 push.depth (string version, {p,q,a} levels)",
    ),
    5: (
        [
            D(
                "BTC_USDT",
                1647000258746,
                4702740808,
                bids=[(39962.5, 58272.0)],
                asks=[(39961.0, 0.0), (39961.5, 0.0)],  # 0 deletes the level
            )
        ],
        "contract push.depth with deletions",
    ),
    6: (
        [D("BTC_USD", 1647000870946, 2768205529, bids=[(39944.0, 943.0)], asks=[])],
        "contract push.depth, inverse",
    ),
    7: ("unknown channel 'push.limit.depth'", "skip: obsolete spot v2 push.limit.depth"),
    8: (
        [
            S(
                "BTC_USD",
                1653994948112,
                3087532764,
                bids=[(31647.0, 154.0), (31646.5, 1470.0), (31646.0, 140.0)],
                asks=[(31647.5, 1029.0), (31648.0, 378.0), (31648.5, 357.0)],
            )
        ],
        "contract push.depth.full (top N), inverse",
    ),
    9: (
        [
            S(
                "BTC_USDT",
                1653995843510,
                5194972869,
                bids=[(31708.0, 3210.0), (31706.0, 184756.0), (31705.5, 10412.0)],
                asks=[(31708.5, 74950.0), (31709.0, 8817.0), (31709.5, 22296.0)],
            )
        ],
        "contract push.depth.full (top N)",
    ),
    10: (
        "not a MEXC contract frame: expected `object`, got `array`",
        'skip: obsolete spot v2 ["push.symbol", ...] deal',
    ),
    11: ([T("BTC_USDT", 1616370338806, 57602.0, 14.0, "sell")], "contract push.deal, 2021"),
    12: ([T("BTC_USD", 1616370470356, 57476.5, 79.0, "buy")], "contract push.deal, taker buy"),
    13: (
        "not a MEXC contract frame: expected `object`, got `array`",
        'skip: obsolete spot v2 ["push.symbol", ...] depth',
    ),
    14: (
        [D("BTC_USDT", 1622722473816, 2427341830, bids=[], asks=[(38704.5, 138686.0)])],
        "contract push.depth, 2021",
    ),
    15: (
        [D("BTC_USD", 1622723010000, 1151578213, bids=[], asks=[(38758.5, 4172.0)])],
        "contract push.depth, inverse, 2021",
    ),
    16: ([], "skip: obsolete spot v2 kline; push.kline is known and its data never read"),
    17: ([], "contract push.kline: known, not published"),
    18: ([], "contract push.kline: known, not published"),
    19: (
        [
            Ticker(
                venue=V,
                symbol=USD,
                native="BTC_USD",
                ts=1654165977028,
                last=29902.0,
                bid=29901.5,
                ask=29902.5,
                high=31873.0,
                low=29275.5,
                base_volume=21030740.0,  # contracts
                quote_volume=None,  # amount24 is in BTC on an inverse contract
                change_pct=-2.64,
                mark_price=29903.13,
                index_price=29926.05,
                funding_rate=-0.000012,
            )
        ],
        "contract push.ticker, inverse (amount24 in the settle coin)",
    ),
    20: (
        [
            Ticker(
                venue=V,
                symbol=USDT,
                native="BTC_USDT",
                ts=1654165943014,
                last=29911.5,
                bid=29911.0,
                ask=29911.5,
                high=31905.5,
                low=29316.0,
                base_volume=295146577.0,  # contracts
                quote_volume=898120149.6331,  # amount24, USDT
                change_pct=-2.75,
                mark_price=29911.1,
                index_price=29926.9,
                funding_rate=0.000072,
            )
        ],
        "contract push.ticker with amount24",
    ),
    21: ("missing field 'channel'", "skip: a spot v2 REST depth body, not a frame"),
    22: ("missing field 'channel'", "a contract REST depth body, not a frame (see below)"),
    23: ("missing field 'channel'", "a contract REST depth body, not a frame (see below)"),
}


def test_crawler_table_covers_the_file() -> None:
    assert len(crawler_lines()) == 23
    assert set(CRAWLER) == set(range(1, 24))


@pytest.mark.parametrize("line", sorted(CRAWLER), ids=lambda n: f"{n}: {CRAWLER[n][1]}")
def test_crypto_crawler_frames(venue: MexcFutures, line: int) -> None:
    expected, _why = CRAWLER[line]
    text = crawler_lines()[line - 1]
    if isinstance(expected, str):
        with pytest.raises(FrameError) as info:
            venue.parse_frame(text, 3)
        assert expected in str(info.value)
    else:
        want = [msgspec.structs.replace(e, recv_ns=3) for e in expected]
        assert venue.parse_frame(text, 3) == want
        assert venue.parse_frame(text.encode(), 3) == want  # bytes and text alike


def test_crypto_crawler_rest_depth_bodies(venue: MexcFutures) -> None:
    """Lines 22 and 23 are contract ``/api/v1/contract/depth`` bodies (their versions sit
    next to the BTC_USD and BTC_USDT push versions); line 21 is the spot v2 body."""
    lines = crawler_lines()
    assert venue.parse_snapshot(lines[21].encode(), USD, 5) == BookSnapshot(
        venue=V,
        symbol=USD,
        native="BTC_USD",
        ts=1654326901060,
        recv_ns=5,
        bids=[(29618.0, 357.0), (29617.5, 357.0), (29617.0, 581.0)],
        asks=[(29625.0, 630.0), (29625.5, 371.0), (29626.0, 581.0)],
        seq=3094693618,
    )
    snap = venue.parse_snapshot(lines[22].encode(), USDT, 5)
    assert (snap.seq, snap.ts, snap.native) == (5216820883, 1654328706778, "BTC_USDT")
    assert snap.bids == [(29675.5, 59944.0), (29675.0, 29676.0), (29674.5, 15455.0)]
    assert snap.asks == [(29676.5, 20696.0), (29677.0, 19821.0), (29677.5, 50122.0)]
    with pytest.raises(
        FrameError,
        match=r"/api/v1/contract/depth/BTC_USDT: not a MEXC contract API body \(no 'success'",
    ):
        venue.parse_snapshot(lines[20].encode(), USDT, 5)


def test_recorded_frames_round_trip_through_msgpack(venue: MexcFutures) -> None:
    for line, (expected, _) in CRAWLER.items():
        if isinstance(expected, list):
            for event in venue.parse_frame(crawler_lines()[line - 1], 9):
                assert EVENT_DECODER.decode(msgspec.msgpack.encode(event)) == event


def test_parsing_has_no_hidden_state(venue: MexcFutures) -> None:
    lines = crawler_lines()
    first = [venue.parse_frame(lines[i], 1) for i in (1, 4, 7, 18)]
    again = [venue.parse_frame(lines[i], 1) for i in (18, 7, 4, 1)][::-1]
    assert first == again


# -- docs-built frames ---------------------------------------------------------------------------

# DOCS-BUILT: push.deal as an array (2025 docs), with the trade id `i` newer pushes carry.
DEALS_ARRAY = frame(
    {
        "channel": "push.deal",
        "data": [
            {"p": 115309.8, "v": 55, "T": 2, "O": 3, "M": 2, "t": 1755487578276, "i": "1234567"},
            {"p": 115310.1, "v": 3, "T": 1, "O": 1, "M": 2, "t": 1755487578279, "i": 1234568},
        ],
        "symbol": "BTC_USDT",
        "ts": 1755487578280,
    }
)
# DOCS-BUILT: a merged (compress=true) depth push covers begin..end.
DEPTH_MERGED = frame(
    {
        "channel": "push.depth",
        "data": {
            "asks": [[103116.1, 89918, 2]],
            "bids": [[103115.4, 0, 0]],
            "begin": 25133684085,
            "end": 25133684088,
            "version": 25133684088,
        },
        "symbol": "BTC_USDT",
        "ts": 1747645131820,
    }
)
PONG = '{"channel":"pong","data":1700000000123}'
# DOCS-BUILT: private pushes from the docs' field lists, our own values.
ORDER_PUSH = frame(
    {
        "channel": "push.personal.order",
        "data": {
            "orderId": "739113577038255616",
            "symbol": "ETH_USDT",
            "positionId": 1397818,
            "price": 3150.5,
            "vol": 20,
            "leverage": 10,
            "side": 4,
            "category": 1,
            "orderType": 1,
            "dealAvgPrice": 3150.6,
            "dealVol": 5,
            "orderMargin": 0,
            "usedMargin": 0,
            "takerFee": 0.01,
            "makerFee": 0,
            "profit": 1.2,
            "feeCurrency": "USDT",
            "openType": 2,
            "state": 2,
            "errorCode": 0,
            "externalOid": "mp-42",
            "createTime": 1700000000100,
            "updateTime": 1700000000200,
            "remainVol": 15,
            "version": 2,
        },
        "ts": 1700000000250,
    }
)
FILL_PUSH = frame(
    {
        "channel": "push.personal.order.deal",
        "data": {
            "id": 987654321,
            "symbol": "ETH_USDT",
            "side": 3,
            "vol": 5,
            "price": 3150.6,
            "feeCurrency": "USDT",
            "fee": 0.0063,
            "timestamp": 1700000000300,
            "profit": 0,
            "isTaker": False,
            "category": 1,
            "orderId": 739113577038255616,
            "isSelf": False,
            "externalOid": "mp-42",
            "positionMode": 1,
            "reduceOnly": False,
        },
        "ts": 1700000000310,
    }
)
POSITION_PUSH = frame(
    {
        "channel": "push.personal.position",
        "data": {
            "positionId": 1397818,
            "symbol": "BTC_USD",
            "holdVol": 120,
            "positionType": 2,
            "openType": 1,
            "state": 1,
            "frozenVol": 0,
            "closeVol": 0,
            "holdAvgPrice": 29950.5,
            "closeAvgPrice": 0,
            "openAvgPrice": 29940,
            "liquidatePrice": 33000.5,
            "oim": 0.004,
            "im": 0.0041,
            "adlLevel": 2,
            "holdFee": 0,
            "realised": -0.00001,
            "leverage": 10,
            "autoAddIm": False,
            "createTime": 1700000000000,
            "updateTime": 1700000000400,
        },
        "ts": 1700000000410,
    }
)
ASSET_PUSH = frame(
    {
        "channel": "push.personal.asset",
        "data": {
            "currency": "USDT",
            "positionMargin": 30.5,
            "frozenBalance": 12.25,
            "availableBalance": 957.25,
            "cashBalance": 969.5,
            "bonus": 0,
        },
        "ts": 1700000000500,
    }
)

DOCS_BUILT: list[tuple[str, str, list[Event]]] = [
    (
        "deals array with ids",
        DEALS_ARRAY,
        [
            T("BTC_USDT", 1755487578276, 115309.8, 55.0, "sell", "1234567"),
            T("BTC_USDT", 1755487578279, 115310.1, 3.0, "buy", "1234568"),
        ],
    ),
    (
        "merged depth push",
        DEPTH_MERGED,
        [
            BookDelta(
                venue=V,
                symbol=USDT,
                native="BTC_USDT",
                ts=1747645131820,
                bids=[(103115.4, 0.0)],
                asks=[(103116.1, 89918.0)],
                first_seq=25133684085,
                seq=25133684088,
            )
        ],
    ),
    ("pong", PONG, [Pong(venue=V, symbol="", native="", ts=1700000000123)]),
    (
        "subscribe ack",
        '{"channel":"rs.sub.depth","data":"success","ts":1700000000000}',
        [SubscriptionAck(venue=V, symbol="", native="", ts=1700000000000, channel="sub.depth")],
    ),
    (
        "unsubscribe ack, ts as a string (docs example style)",
        '{"channel":"rs.unsub.deal","data":"success","ts":"1587442022003"}',
        [
            SubscriptionAck(
                venue=V,
                symbol="",
                native="",
                ts=1587442022003,
                channel="unsub.deal",
                event="unsubscribe",
            )
        ],
    ),
    (
        "login ack",
        '{"channel":"rs.login","data":"success","ts":1700000000001}',
        [SubscriptionAck(venue=V, symbol="", native="", ts=1700000000001, channel="login")],
    ),
    (
        "personal.filter ack",
        '{"channel":"rs.personal.filter","data":"success","ts":1700000000002}',
        [
            SubscriptionAck(
                venue=V, symbol="", native="", ts=1700000000002, channel="personal.filter"
            )
        ],
    ),
    (
        "refused subscription (docs example text)",
        '{"channel":"rs.error","data":"Contract doesn\'t exist!","ts":1700000000003}',
        [
            SubscriptionError(
                venue=V,
                symbol="",
                native="",
                ts=1700000000003,
                channel="",
                message="Contract doesn't exist!",
            )
        ],
    ),
    (
        "login refused on rs.error, with a code",
        '{"channel":"rs.error","data":"signature verification failed","code":602,"ts":4}',
        [
            SubscriptionError(
                venue=V,
                symbol="",
                native="",
                ts=4,
                channel="login",
                message="signature verification failed",
                code=602,
            )
        ],
    ),
    (
        "login answered with something other than success",
        '{"channel":"rs.login","data":"api key expired","ts":5}',
        [
            SubscriptionError(
                venue=V, symbol="", native="", ts=5, channel="login", message="api key expired"
            )
        ],
    ),
    (
        "a refusal whose data is not a string",
        '{"channel":"rs.sub.ticker","data":{"code":1002,"msg":"bad"},"ts":6}',
        [
            SubscriptionError(
                venue=V,
                symbol="",
                native="",
                ts=6,
                channel="sub.ticker",
                message='{"code":1002,"msg":"bad"}',
            )
        ],
    ),
    (
        "order, partially filled close-long",
        ORDER_PUSH,
        [
            Order(
                venue=V,
                symbol="ETH/USDT:USDT",
                native="ETH_USDT",
                ts=1700000000200,
                order_id="739113577038255616",
                side="sell",
                order_type="limit",
                status="partially_filled",
                price=3150.5,
                qty=20.0,
                client_id="mp-42",
                filled_qty=5.0,
                avg_price=3150.6,
                reduce_only=True,
            )
        ],
    ),
    (
        "own fill, maker",
        FILL_PUSH,
        [
            Fill(
                venue=V,
                symbol="ETH/USDT:USDT",
                native="ETH_USDT",
                ts=1700000000300,
                order_id="739113577038255616",
                trade_id="987654321",
                side="sell",
                price=3150.6,
                qty=5.0,
                fee=0.0063,
                fee_asset="USDT",
                maker=True,
            )
        ],
    ),
    (
        "short position, inverse, isolated",
        POSITION_PUSH,
        [
            Position(
                venue=V,
                symbol=USD,
                native="BTC_USD",
                ts=1700000000400,
                size=-120.0,
                entry_price=29950.5,
                leverage=10.0,
                liquidation_price=33000.5,
                margin=0.0041,
                realized_pnl=-0.00001,
                mode="isolated",
            )
        ],
    ),
    (
        "asset: total = available + frozen + position margin",
        ASSET_PUSH,
        [
            Balance(
                venue=V,
                symbol="USDT",
                native="USDT",
                ts=1700000000500,
                asset="USDT",
                total=1000.0,
                available=957.25,
                frozen=12.25,
            )
        ],
    ),
    (
        "risk limit push: known, not published",
        '{"channel":"push.personal.risk.limit","data":{"symbol":"BTC_USDT","level":1},"ts":1}',
        [],
    ),
    (
        "plan order push: known, not published",
        '{"channel":"push.personal.plan.order","data":{},"ts":1}',
        [],
    ),
    (
        "all-contract tickers: known, not published",
        '{"channel":"push.tickers","data":[{"symbol":"BTC_USDT","lastPrice":1}],"ts":1}',
        [],
    ),
    (
        "funding rate: known, not published",
        '{"channel":"push.funding.rate","data":{"symbol":"BTC_USDT","rate":0.0001},"symbol":"BTC_USDT","ts":1}',
        [],
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), DOCS_BUILT, ids=[c[0] for c in DOCS_BUILT])
def test_docs_built_frames(
    private: MexcFutures, name: str, text: str, expected: list[Event]
) -> None:
    want = [msgspec.structs.replace(e, recv_ns=11) for e in expected]
    assert private.parse_frame(text, 11) == want
    assert MexcFutures().parse_frame(text.encode(), 11) == want  # credentials change nothing
    for event in want:
        assert EVENT_DECODER.decode(msgspec.msgpack.encode(event)) == event


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"side": 1, "state": 1, "dealVol": 0}, ("buy", False, "open")),
        ({"side": 2, "state": 3, "dealVol": 20}, ("buy", True, "filled")),
        ({"side": 3, "state": 4}, ("sell", False, "cancelled")),
        ({"side": 4, "state": 5}, ("sell", True, "rejected")),
        ({"state": 9}, ("sell", True, "unknown:9")),
    ],
)
def test_order_sides_and_states(
    venue: MexcFutures, change: dict[str, Any], expected: tuple[str, bool, str]
) -> None:
    obj = orjson.loads(ORDER_PUSH)
    obj["data"].update(change)
    (order,) = venue.parse_frame(frame(obj), 0)
    assert isinstance(order, Order)
    assert (order.side, order.reduce_only, order.status) == expected


@pytest.mark.parametrize(
    ("order_type", "name"),
    [(1, "limit"), (2, "post_only"), (3, "ioc"), (4, "fok"), (5, "market"), (6, "unknown:6")],
)
def test_order_types(venue: MexcFutures, order_type: int, name: str) -> None:
    obj = orjson.loads(ORDER_PUSH)
    obj["data"]["orderType"] = order_type
    (order,) = venue.parse_frame(frame(obj), 0)
    assert isinstance(order, Order) and order.order_type == name


def test_position_long_closed_and_cross(venue: MexcFutures) -> None:
    obj = orjson.loads(POSITION_PUSH)
    obj["data"].update(positionType=1, openType=2, holdVol=7)
    (pos,) = venue.parse_frame(frame(obj), 0)
    assert isinstance(pos, Position) and (pos.size, pos.mode) == (7.0, "cross")
    obj["data"].update(positionType=2, holdVol=0, state=3)  # closed: size 0, not -0.0
    (pos,) = venue.parse_frame(frame(obj), 0)
    assert isinstance(pos, Position) and str(pos.size) == "0.0"
    del obj["data"]["holdAvgPrice"]  # falls back on openAvgPrice
    (pos,) = venue.parse_frame(frame(obj), 0)
    assert isinstance(pos, Position) and pos.entry_price == 29940.0


def test_ticker_empty_book_side_and_missing_fields(venue: MexcFutures) -> None:
    text = frame(
        {
            "channel": "push.ticker",
            "data": {
                "symbol": "BTC_USDT",
                "lastPrice": "30000.5",
                "bid1": 0,
                "riseFallRate": "0.0069",
            },
            "symbol": "BTC_USDT",
            "ts": 7,
        }
    )  # DOCS-BUILT: prices as strings, an empty bid side, no 24 h fields
    (ticker,) = venue.parse_frame(text, 0)
    assert ticker == Ticker(
        venue=V, symbol=USDT, native="BTC_USDT", ts=7, last=30000.5, change_pct=0.69
    )


# -- the version chain through BookSync ---------------------------------------------------------


def depth_push(version: int, bids: list[list[float]], asks: list[list[float]]) -> str:
    """DOCS-BUILT: an unmerged (compress=false) push: one version."""
    return frame(
        {
            "channel": "push.depth",
            "data": {"asks": asks, "bids": bids, "version": version},
            "symbol": "BTC_USDT",
            "ts": 1700000000000 + version,
        }
    )


def depth_body(version: int, bids: list[list[float]], asks: list[list[float]]) -> bytes:
    """DOCS-BUILT: a ``GET /api/v1/contract/depth/BTC_USDT`` body."""
    data = {"asks": asks, "bids": bids, "version": version, "timestamp": 1700000000000}
    return orjson.dumps({"success": True, "code": 0, "data": data})


def test_version_chain_with_a_gap_resets_once(venue: MexcFutures) -> None:
    handler = Handler(V)

    def push(version: int, bids: list[list[float]], asks: list[list[float]]) -> None:
        (event,) = venue.parse_frame(depth_push(version, bids, asks), version)
        assert isinstance(event, BookDelta) and event.first_seq == event.seq == version
        handler.feed(event)

    push(100, [[29990.0, 9, 1]], [])  # in the snapshot already
    push(101, [[29999.5, 40, 2]], [])
    assert handler.fetches[USDT] == 1  # buffered: a snapshot is wanted
    handler.feed(
        venue.parse_snapshot(
            depth_body(
                100, [[29999.0, 10, 1], [29990.0, 9, 1]], [[30000.5, 5, 1], [30001.0, 7, 3]]
            ),
            USDT,
            1,
        )
    )
    sync = handler.syncs[USDT]
    assert sync.live and sync.seq == 101
    push(102, [], [[30000.5, 0, 0]])  # deletes the best ask
    push(102, [], [[30000.5, 0, 0]])  # a duplicate is ignored
    push(104, [[29999.0, 0, 0]], [])  # 103 never came: a gap
    push(105, [[29998.0, 1, 1]], [])
    published = handler.published[USDT]
    kinds = [type(e).__name__ for e in published]
    assert kinds == ["BookSnapshot", "BookDelta", "BookReset"]
    resets = [e for e in published if isinstance(e, BookReset)]
    assert len(resets) == 1 and resets[0].reason == "gap: expected U=103, got U=104"
    assert (sync.gaps, sync.resyncs, sync.live) == (1, 1, False)
    assert handler.fetches[USDT] == 2  # the rebuild asked for a new snapshot
    handler.feed(
        venue.parse_snapshot(depth_body(104, [[29999.5, 40, 2]], [[30001.0, 7, 3]]), USDT, 2)
    )
    assert sync.live and sync.seq == 105
    assert sync.book.levels() == ([(29999.5, 40.0), (29998.0, 1.0)], [(30001.0, 7.0)])
    assert consumer_book(handler.published[USDT]) == sync.book
    assert sync.resyncs == 1


def test_merged_pushes_chain_by_begin_and_end(venue: MexcFutures) -> None:
    handler = Handler(V)
    handler.feed(venue.parse_snapshot(depth_body(200, [[1.0, 1, 1]], [[2.0, 1, 1]]), USDT, 0))
    for begin, end in [(199, 201), (202, 205), (206, 206)]:  # the first overlaps the snapshot
        (event,) = venue.parse_frame(
            frame(
                {
                    "channel": "push.depth",
                    "data": {
                        "asks": [[2.0, end, 1]],
                        "bids": [],
                        "begin": begin,
                        "end": end,
                        "version": end,
                    },
                    "symbol": "BTC_USDT",
                    "ts": end,
                }
            ),
            0,
        )
        handler.feed(event)
    sync = handler.syncs[USDT]
    assert sync.live and sync.seq == 206 and sync.gaps == 0
    assert sync.book.levels() == ([(1.0, 1.0)], [(2.0, 206.0)])


# -- REST -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"success":false,"code":1001,"message":"Contract does not exist"}',
            "the venue refused: code 1001 'Contract does not exist'",
        ),
        (
            b'{"success":false,"code":401,"message":"bad key mx0vglTestKey7Q2a"}',
            "the venue refused: code 401 'bad key <redacted>'",
        ),
        (b'{"success":true,"code":0}', "missing field 'data'"),
        (b'{"success":true,"code":0,"data":{"asks":[],"bids":[]}}', "missing field 'data.version'"),
        (
            b'{"success":true,"code":0,"data":{"asks":[[1,-2,1]],"bids":[],"version":1}}',
            "asks: must not be negative",
        ),
        (
            b'{"success":true,"code":0,"data":{"asks":[[1]],"bids":[],"version":1}}',
            "asks: a level is not [price, volume, orderCount]",
        ),
        (
            b'{"success":true,"code":0,"data":{"asks":[],"bids":[],"version":-1}}',
            "field 'data.version'",
        ),
        (b"[]", "expected `object`, got `array`"),
        (b"", "not valid JSON"),
        (b"\xff", "not valid JSON"),
    ],
)
def test_parse_snapshot_rejects(venue: MexcFutures, body: bytes, message: str) -> None:
    with pytest.raises(FrameError) as info:
        venue.parse_snapshot(body, USDT, 0)
    assert str(info.value).startswith("/api/v1/contract/depth/BTC_USDT")
    assert message in str(info.value)
    assert KEY not in str(info.value)


def test_snapshot_drops_empty_levels_and_orders_best_first(venue: MexcFutures) -> None:
    body = depth_body(7, [[1.0, 1, 1], [3.0, 0, 0], [2.0, 2, 1]], [[5.0, 1, 1], [4.0, 4, 1]])
    snap = venue.parse_snapshot(body, USDT, 0)
    assert (snap.bids, snap.asks, snap.seq) == (
        [(2.0, 2.0), (1.0, 1.0)],
        [(4.0, 4.0), (5.0, 1.0)],
        7,
    )


CONTRACTS_BODY = orjson.dumps(
    {
        "success": True,
        "code": 0,
        "data": [  # DOCS-BUILT: the fields of GET /api/v1/contract/detail that we read
            {
                "symbol": "BTC_USDT",
                "baseCoin": "BTC",
                "quoteCoin": "USDT",
                "settleCoin": "USDT",
                "contractSize": 0.0001,
                "maxLeverage": 125,
            },
            {
                "symbol": "BTC_USD",
                "baseCoin": "BTC",
                "quoteCoin": "USD",
                "settleCoin": "BTC",
                "contractSize": 100,
            },
            {"symbol": "XRP_USDT", "contractSize": "1"},
            {"symbol": "ETH_USD", "contractSize": 10},
        ],
    }
)


def test_contracts(venue: MexcFutures) -> None:
    assert venue.contracts_request() == RestRequest("GET", "/api/v1/contract/detail")
    assert venue.parse_contracts(CONTRACTS_BODY) == {
        "BTC_USDT": 0.0001,
        "BTC_USD": 0.0,  # inverse: a 100 USD face value, no fixed base size
        "XRP_USDT": 1.0,
        "ETH_USD": 0.0,  # no coin fields: the _USD suffix says inverse
    }
    one = b'{"success":true,"code":0,"data":{"symbol":"ETH_USDT","contractSize":0.01}}'
    assert venue.parse_contracts(one) == {"ETH_USDT": 0.01}
    for body, message in [
        (b'{"success":false,"code":500,"message":"busy"}', "refused: code 500 'busy'"),
        (
            b'{"success":true,"code":0,"data":[{"symbol":""}]}',
            "missing field 'data[0].contractSize'",
        ),
        (b'{"success":true,"code":0,"data":[{"symbol":"","contractSize":1}]}', "empty symbol"),
        (b'{"success":true,"code":0,"data":[{"symbol":"A_USDT","contractSize":-1}]}', "negative"),
    ]:
        with pytest.raises(FrameError, match=re.escape(message)):
            venue.parse_contracts(body)


def test_with_contract_size(venue: MexcFutures) -> None:
    (trade,) = venue.parse_frame(crawler_lines()[1], 0)
    sized = venue.with_contract_size(trade, 0.0001)
    assert isinstance(sized, Trade)
    assert (sized.contract_size, sized.qty, sized.qty_base) == (0.0001, 32.0, 32 * 0.0001)
    inverse = with_contract_size(trade, 0.0)
    assert isinstance(inverse, Trade) and (inverse.contract_size, inverse.qty_base) == (0.0, None)
    (delta,) = venue.parse_frame(crawler_lines()[4], 0)
    assert with_contract_size(delta, 0.0001).contract_size == 0.0001  # type: ignore[union-attr]
    (ticker,) = venue.parse_frame(crawler_lines()[19], 0)
    assert with_contract_size(ticker, 0.0001) is ticker  # no contract quantities to convert
    bt = BookTicker(
        venue=V, symbol=USDT, native="BTC_USDT", bid_price=1, bid_qty=2, ask_price=3, ask_qty=4
    )
    assert with_contract_size(bt, 0.5).bid_qty_base == 1.0  # type: ignore[union-attr]
    for bad in (-1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="contract size must be a finite number >= 0"):
            with_contract_size(trade, bad)  # type: ignore[arg-type]


# -- bad input ----------------------------------------------------------------------------------


def swap(text: str, old: str, new: str) -> str:
    """SYNTHETIC: a frame with one deliberate change."""
    assert old in text
    return text.replace(old, new, 1)


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("empty", "", "not a MEXC contract frame: not valid JSON"),
    ("not JSON", "hello", "not a MEXC contract frame: not valid JSON"),
    ("binary garbage", b"\x08\x96\x01", "not a MEXC contract frame"),
    (
        "bad UTF-8 in data",
        b'{"channel":"push.deal","symbol":"BTC_USDT","data":{"p":"\xff"}}',
        "push.deal",
    ),
    ("a JSON string", '"push.deal"', "expected `object`, got `str`"),
    ("no channel", '{"data":{}}', "missing field 'channel'"),
    ("channel not a string", '{"channel":7}', "field 'channel': expected `str`, got `int`"),
    ("unknown channel", '{"channel":"push.nope","data":{}}', "unknown channel 'push.nope'"),
    ("bad ts", '{"channel":"pong","data":1,"ts":"soon"}', "pong ts: bad time 'soon'"),
    ("negative ts", '{"channel":"pong","data":1,"ts":-1}', "field 'ts'"),
    (
        "push without data",
        '{"channel":"push.deal","symbol":"BTC_USDT","ts":1}',
        "push.deal: missing field 'data'",
    ),
    (
        "push without symbol",
        '{"channel":"push.depth","data":{"version":1},"ts":1}',
        "push.depth: missing field 'symbol'",
    ),
    (
        "spot symbol in a push",
        '{"channel":"push.depth","symbol":"BTCUSDT","data":{"version":1}}',
        "bad contract 'BTCUSDT'",
    ),
    ("deal side 3", swap(DEALS_ARRAY, '"T":2', '"T":3'), "unknown taker side T=3 (1 buy, 2 sell)"),
    ("deal price 0", swap(DEALS_ARRAY, '"p":115309.8', '"p":0'), "p: price must be positive"),
    ("deal price text", swap(DEALS_ARRAY, '"p":115309.8', '"p":"abc"'), "p: not a number: 'abc'"),
    ("deal price nan", swap(DEALS_ARRAY, '"p":115309.8', '"p":"nan"'), "not a number: 'nan'"),
    ("deal price 1e999", swap(DEALS_ARRAY, '"p":115309.8', '"p":"1e999"'), "not a finite number"),
    ("deal volume negative", swap(DEALS_ARRAY, '"v":55', '"v":-55'), "v: must not be negative"),
    ("deal without t", swap(DEALS_ARRAY, '"t":1755487578276,', ""), "missing field 'data[0].t'"),
    (
        "deal data a number",
        '{"channel":"push.deal","symbol":"BTC_USDT","data":5}',
        "field 'data': expected `object | array`, got `int`",
    ),
    (
        "depth version text",
        depth_push(1, [], []).replace('"version":1', '"version":"1"'),
        "field 'data.version': expected `int`, got `str`",
    ),
    (
        "depth version too big",
        depth_push(1, [], []).replace('"version":1', '"version":9223372036854775808'),
        "field 'data.version': expected `int` <= 9223372036854775807",
    ),
    (
        "depth level short",
        depth_push(1, [[1.0]], []),
        "bids: a level is not [price, volume, orderCount]",
    ),
    ("depth level long", depth_push(1, [[1.0, 1, 1, 1]], []), "a level is not"),
    ("depth level price 0", depth_push(1, [], [[0, 1, 1]]), "asks: price must be positive"),
    ("depth level bool", depth_push(1, [], [[True, 1, 1]]), "expected `float | str`, got `bool`"),
    (
        "depth level count negative",
        depth_push(1, [], [[1, 1, -1]]),
        "orderCount: must not be negative",
    ),
    (
        "merged without end",
        swap(DEPTH_MERGED, ',"end":25133684088', ""),
        "needs both begin and end",
    ),
    (
        "merged begin after end",
        swap(DEPTH_MERGED, '"begin":25133684085', '"begin":25133684090'),
        "outside begin..end",
    ),
    (
        "ticker symbols disagree",
        swap(
            crawler_lines()[19],
            '"symbol":"BTC_USDT","timestamp"',
            '"symbol":"ETH_USDT","timestamp"',
        ),
        "frame names 'BTC_USDT', data 'ETH_USDT'",
    ),
    (
        "ticker without lastPrice",
        swap(crawler_lines()[19], '"lastPrice":29911.5,', ""),
        "missing field 'data.lastPrice'",
    ),
    ("order side 7", swap(ORDER_PUSH, '"side":4', '"side":7'), "unknown side 7 (1 open long"),
    ("order empty id", swap(ORDER_PUSH, '"739113577038255616"', '""'), "orderId: empty id"),
    (
        "position type 3",
        swap(POSITION_PUSH, '"positionType":2', '"positionType":3'),
        "unknown positionType 3",
    ),
    ("asset no currency", swap(ASSET_PUSH, '"currency":"USDT"', '"currency":""'), "empty currency"),
    ("fill without price", swap(FILL_PUSH, '"price":3150.6,', ""), "missing field 'data.price'"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_bad_frames(venue: MexcFutures, name: str, text: str | bytes, message: str) -> None:
    with pytest.raises(FrameError) as info:
        venue.parse_frame(text, 0)
    assert message in str(info.value)


def test_venue_errors_never_echo_secrets(private: MexcFutures) -> None:
    signature = hmac_rfc2104("sha256", SECRET.encode(), f"{KEY}1700000000000".encode())
    text = frame(
        {
            "channel": "rs.error",
            "data": f"login failed for apiKey {KEY}, signature {signature}, secret {SECRET}",
            "ts": 1,
        }
    )
    for fut in (private, MexcFutures()):  # parsers have no credentials: patterns still catch
        (error,) = fut.parse_frame(text, 0)
        assert isinstance(error, SubscriptionError) and error.channel == "login"
        for secret in (KEY, SECRET, signature):
            assert secret not in error.message
        assert error.message.startswith("login failed for apiKey <redacted>")
    long = frame({"channel": "rs.error", "data": "x" * 1000, "ts": 1})
    (error,) = private.parse_frame(long, 0)
    assert isinstance(error, SubscriptionError) and len(error.message) == 200


# -- fuzz: nothing but FrameError escapes --------------------------------------------------------


SAMPLES = [
    *(line for line in crawler_lines() if line.startswith('{"channel":"push.')),
    *(text for _, text, _ in DOCS_BUILT),
]
FUZZ_VENUES = [MexcFutures(), MexcFutures(credentials=CREDS)]


@st.composite
def frames(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.sampled_from(["bytes", "text", "splice", "json", "json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200))
    text = draw(st.sampled_from(SAMPLES))
    if kind == "splice":
        data = text.encode()
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 16)))
        return data[:start] + draw(st.binary(max_size=8)) + data[end:]
    obj = orjson.loads(text)
    path = draw(st.sampled_from(_paths(obj)))
    return json.dumps(
        _replaced(obj, path, draw(json_values("BTC_USDT", "success", "push.deal")))
    )  # orjson stops at 64 bits


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(text=frames(), which=st.integers(0, 1))
def test_fuzz_only_frame_errors(text: str | bytes, which: int) -> None:
    try:
        events = FUZZ_VENUES[which].parse_frame(text, 1)
    except FrameError as exc:
        assert str(exc)
        return
    for event in events:  # what parses must also be publishable
        assert EVENT_DECODER.decode(msgspec.msgpack.encode(event)) == event


REST_SAMPLES = [
    crawler_lines()[21],
    crawler_lines()[22],
    CONTRACTS_BODY.decode(),
    '{"success":false,"code":1001,"message":"no"}',
]


@st.composite
def rest_bodies(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=120) | st.text(max_size=120).map(str.encode))
    obj = orjson.loads(draw(st.sampled_from(REST_SAMPLES)))
    path = draw(st.sampled_from(_paths(obj)))
    return json.dumps(
        _replaced(obj, path, draw(json_values("BTC_USDT", "success", "push.deal")))
    ).encode()


@settings(max_examples=150, deadline=None, database=None)
@given(body=rest_bodies())
def test_fuzz_rest_only_frame_errors(body: bytes) -> None:
    fut = FUZZ_VENUES[0]
    try:
        snap = fut.parse_snapshot(body, USDT, 0)
        msgspec.msgpack.encode(snap)
    except FrameError as exc:
        assert str(exc)
    try:
        sizes = fut.parse_contracts(body)
        assert all(size >= 0 for size in sizes.values())
    except FrameError as exc:
        assert str(exc)
