"""MexcSpot: requests, recorded and built frames -> events, acks, bad input, fuzz, signing.

Recorded frames come from ``shared/frames/mexc_spot_pb`` (see PROVENANCE.md).  Every JSON ack
and every protobuf push below that is not one of those files is **built in this test** from
the documented wire format (``shared/protocols/protocols.md`` §1), never a recording.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.messages import (
    Balance,
    BookDelta,
    BookSnapshot,
    BookTicker,
    Fill,
    Order,
    Pong,
    SubscriptionAck,
    SubscriptionError,
    Ticker,
    TopBook,
    Trade,
)
from actors.venues.base import FrameError, RestRequest, Subscription
from actors.venues.mexc import signing
from actors.venues.mexc._pb.PrivateAccountV3Api_pb2 import PrivateAccountV3Api
from actors.venues.mexc._pb.PrivateDealsV3Api_pb2 import PrivateDealsV3Api
from actors.venues.mexc._pb.PrivateOrdersV3Api_pb2 import PrivateOrdersV3Api
from actors.venues.mexc._pb.PublicAggreBookTickerV3Api_pb2 import PublicAggreBookTickerV3Api
from actors.venues.mexc._pb.PublicAggreDealsV3Api_pb2 import PublicAggreDealsV3Api
from actors.venues.mexc._pb.PublicAggreDepthsV3Api_pb2 import PublicAggreDepthsV3Api
from actors.venues.mexc._pb.PublicLimitDepthsV3Api_pb2 import PublicLimitDepthsV3Api
from actors.venues.mexc._pb.PublicMiniTickersV3Api_pb2 import PublicMiniTickersV3Api
from actors.venues.mexc._pb.PublicMiniTickerV3Api_pb2 import PublicMiniTickerV3Api
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper
from actors.venues.mexc.spot import MexcSpot
from tests.reference import hmac_openssl

V = MexcSpot()
RECV = 1_790_281_243_999_000_000
CH_DEPTH = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"


def frame(name: str, frames: Path) -> bytes:
    return (frames / name).read_bytes()


def push(**fields: Any) -> bytes:
    """A PushDataV3ApiWrapper built here (not recorded), serialized as the venue would."""
    return PushDataV3ApiWrapper(**fields).SerializeToString()


# -- class attributes and options -----------------------------------------------------------


def test_venue_attributes() -> None:
    assert MexcSpot.name == "mexc_spot"
    assert MexcSpot.ws_url == "wss://wbs-api.mexc.com/ws"
    assert MexcSpot.rest_url == "https://api.mexc.com"
    assert MexcSpot.channels == {"book_ticker", "trades", "order_book", "top_book", "tickers"}
    assert MexcSpot.private_channels == {"orders", "balances", "fills"}
    assert MexcSpot.book_sync == "rest_snapshot"
    assert MexcSpot.max_subscriptions_per_connection == 30
    assert MexcSpot.ping_interval_s == 20
    assert (V.interval, V.top_depth, V.ticker_tz, V.book_depth) == ("100ms", 20, "24H", 5000)


def test_valid_options() -> None:
    v = MexcSpot({"interval": "10ms", "top_depth": 5, "ticker_tz": "UTC+5:30", "book_depth": 1000})
    assert (v.interval, v.top_depth, v.ticker_tz, v.book_depth) == ("10ms", 5, "UTC+5:30", 1000)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"interval": "1000ms"}, r"interval='1000ms' must be one of \['100ms', '10ms'\]"),
        ({"top_depth": 50}, r"top_depth=50 must be one of \[5, 10, 20\]"),
        ({"top_depth": "20"}, "top_depth='20'"),
        ({"top_depth": 20.0}, "top_depth=20.0"),
        ({"top_depth": True}, "top_depth=True"),
        ({"ticker_tz": "UTC+14"}, "ticker_tz='UTC\\+14'"),
        ({"book_depth": 5001}, r"book_depth=5001 must be an int in 1..5000"),
        ({"book_depth": 0}, "book_depth=0"),
        ({"book_depth": "100"}, "book_depth='100'"),
        ({"quote_assets": "USD1"}, "must be a list"),
        ({"quote_assets": ["usd1"]}, "upper-case"),
        ({"intervall": "10ms"}, r"unknown options \['intervall'\]"),
    ],
)
def test_invalid_options(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MexcSpot(options)


# -- symbols ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "native"),
    [
        ("BTC/USDT", "BTCUSDT"),
        ("USDC/USDT", "USDCUSDT"),  # longest suffix: USDT, not the shorter quotes inside it
        ("BTC/USDC", "BTCUSDC"),
        ("ETH/BTC", "ETHBTC"),
        ("MX/USDT", "MXUSDT"),
        ("BTC/MX", "BTCMX"),
        ("1INCH/USDT", "1INCHUSDT"),
        ("USDT/BRL", "USDTBRL"),
        ("BTC/EUR", "BTCEUR"),
        ("ETH/USDE", "ETHUSDE"),
        ("BTC/TRY", "BTCTRY"),
    ],
)
def test_symbols_round_trip(symbol: str, native: str) -> None:
    assert V.native_symbol(symbol) == native
    assert V.normalize_symbol(native) == symbol


@pytest.mark.parametrize(
    ("symbol", "match"),
    [
        ("BTCUSDT", "not BASE/QUOTE"),
        ("btc/usdt", "not BASE/QUOTE"),
        ("BTC/USDT:USDT", "not BASE/QUOTE"),
        ("BTC_USDT", "not BASE/QUOTE"),
        ("/USDT", "not BASE/QUOTE"),
        ("BTC/XYZ", "quote asset 'XYZ'.*quote_assets option"),
    ],
)
def test_bad_symbols(symbol: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        V.native_symbol(symbol)


@pytest.mark.parametrize("native", ["USDT", "BTCXYZ", "btcusdt", "BTC-USDT", ""])
def test_unnormalizable_natives(native: str) -> None:
    with pytest.raises(ValueError, match="mexc_spot"):
        V.normalize_symbol(native)


def test_extra_quote_assets() -> None:
    v = MexcSpot({"quote_assets": ["USD1"]})
    assert v.native_symbol("WLFI/USD1") == "WLFIUSD1"
    assert v.normalize_symbol("WLFIUSD1") == "WLFI/USD1"


# -- requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "options", "name"),
    [
        ("order_book", {}, "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"),
        ("order_book", {"interval": "10ms"}, "spot@public.aggre.depth.v3.api.pb@10ms@BTCUSDT"),
        ("top_book", {}, "spot@public.limit.depth.v3.api.pb@BTCUSDT@20"),
        ("top_book", {"top_depth": 5}, "spot@public.limit.depth.v3.api.pb@BTCUSDT@5"),
        ("trades", {}, "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"),
        ("book_ticker", {}, "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"),
        ("tickers", {}, "spot@public.miniTicker.v3.api.pb@BTCUSDT@24H"),
        ("tickers", {"ticker_tz": "UTC+8"}, "spot@public.miniTicker.v3.api.pb@BTCUSDT@UTC+8"),
        ("orders", {}, "spot@private.orders.v3.api.pb"),
        ("balances", {}, "spot@private.account.v3.api.pb"),
        ("fills", {}, "spot@private.deals.v3.api.pb"),
    ],
)
def test_channel_names(channel: str, options: dict[str, Any], name: str) -> None:
    assert MexcSpot(options).channel_name(Subscription(channel, "BTC/USDT")) == name


def test_unknown_channel() -> None:
    with pytest.raises(ValueError, match=r"unknown channel 'klines'"):
        V.channel_name(Subscription("klines", "BTC/USDT"))


def test_subscribe_json_exact() -> None:
    subs = [Subscription("order_book", "BTC/USDT"), Subscription("book_ticker", "ETH/USDT")]
    assert V.subscribe_messages(subs, now_s=0) == [
        '{"method":"SUBSCRIPTION","params":['
        '"spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT",'
        '"spot@public.aggre.bookTicker.v3.api.pb@100ms@ETHUSDT"]}'
    ]
    assert V.unsubscribe_messages(subs[:1], now_s=0) == [
        '{"method":"UNSUBSCRIPTION","params":["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"]}'
    ]
    assert V.ping_message(now_s=0) == '{"method":"PING"}'


def test_subscribe_dedupes_and_splits_at_30() -> None:
    subs = [Subscription("trades", f"C{i}/USDT") for i in range(31)]
    subs += [Subscription("orders", "BTC/USDT"), Subscription("orders", "ETH/USDT")]
    messages = [msgspec.json.decode(m) for m in V.subscribe_messages(subs, now_s=0)]
    assert [len(m["params"]) for m in messages] == [30, 2]
    assert messages[1]["params"] == [
        "spot@public.aggre.deals.v3.api.pb@100ms@C30USDT",
        "spot@private.orders.v3.api.pb",
    ]
    assert V.subscribe_messages([], now_s=0) == []


def test_snapshot_request() -> None:
    assert V.snapshot_request("BTC/USDT") == RestRequest(
        "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": "5000"}
    )
    assert MexcSpot({"book_depth": 100}).snapshot_request("ETH/BTC").params == {
        "symbol": "ETHBTC",
        "limit": "100",
    }


# -- recorded frames -> events ---------------------------------------------------------------


def test_recorded_book_ticker(mexc_pb_frames: Path) -> None:
    events = V.parse_frame(
        frame("daxalgo_aggre_bookTicker_100ms_BTCUSDT.bin", mexc_pb_frames), RECV
    )
    assert events == [
        BookTicker(
            venue="mexc_spot",
            symbol="BTC/USDT",
            native="BTCUSDT",
            ts=1790281243450,
            recv_ns=RECV,
            bid_price=84270.0,
            bid_qty=0.006387,
            ask_price=84270.01,
            ask_qty=5.42169969,
            seq=82164153436,
        )
    ]


def test_recorded_deals(mexc_pb_frames: Path) -> None:
    events = V.parse_frame(frame("daxalgo_aggre_deals_100ms_BTCUSDT.bin", mexc_pb_frames), RECV)
    common = {"venue": "mexc_spot", "symbol": "BTC/USDT", "native": "BTCUSDT", "recv_ns": RECV}
    assert events == [
        Trade(
            **common,
            ts=1790281246176,
            price=84270.0,
            qty=0.00099829,
            side="sell",
            trade_id="731901896985399296X0_731901896985399297X0",
        ),
        Trade(
            **common,
            ts=1790281246177,
            price=84270.0,
            qty=0.00019169,
            side="buy",
            trade_id="731901896985399298X0_731901896985399299X0",
        ),
    ]


def test_recorded_limit_depth(mexc_pb_frames: Path) -> None:
    events = V.parse_frame(frame("daxalgo_limit_depth_BTCUSDT_5.bin", mexc_pb_frames), RECV)
    assert events == [
        TopBook(
            venue="mexc_spot",
            symbol="BTC/USDT",
            native="BTCUSDT",
            ts=1790281247251,
            recv_ns=RECV,
            bids=[
                (84270.0, 0.006387),
                (84267.03, 0.002348),
                (84264.15, 0.04789506),
                (84263.45, 0.04789506),
                (84263.4, 2.078531),
            ],
            asks=[
                (84270.01, 5.42169969),
                (84270.02, 0.00117646),
                (84270.03, 0.00124397),
                (84270.05, 0.00122284),
                (84270.26, 0.00108947),
            ],
            seq=82164155643,
        )
    ]


@pytest.mark.parametrize(
    "name", ["daxalgo_kline_BTCUSDT_Min1.bin", "osslabz_kline_BTCUSDT_Min1.bin"]
)
def test_recorded_klines_are_known_but_not_published(mexc_pb_frames: Path, name: str) -> None:
    assert V.parse_frame(frame(name, mexc_pb_frames), RECV) == []


def test_recorded_frame_as_text_kind_is_rejected(mexc_pb_frames: Path) -> None:
    """A binary push delivered as str (wrong opcode handling upstream) is a clear error."""
    data = frame("daxalgo_aggre_bookTicker_100ms_BTCUSDT.bin", mexc_pb_frames)
    with pytest.raises(FrameError, match="not a MEXC JSON ack"):
        V.parse_frame(data.decode("latin-1"), RECV)


# -- bodies with no recording, built here -> events ------------------------------------------


def test_built_aggre_depth() -> None:
    data = push(
        channel=CH_DEPTH,
        symbol="BTCUSDT",
        sendTime=1700000000123,
        publicAggreDepths=PublicAggreDepthsV3Api(
            asks=[{"price": "50001.10", "quantity": "0.5"}],
            bids=[{"price": "50000.00", "quantity": "0"}, {"price": "49999.5", "quantity": "2"}],
            eventType="spot@public.aggre.depth.v3.api.pb@100ms",
            fromVersion="900001",
            toVersion="900004",
            lastOrderCreateTime=1700000000101,
        ),
    )
    assert V.parse_frame(data, RECV) == [
        BookDelta(
            venue="mexc_spot",
            symbol="BTC/USDT",
            native="BTCUSDT",
            ts=1700000000123,
            recv_ns=RECV,
            bids=[(50000.0, 0.0), (49999.5, 2.0)],
            asks=[(50001.1, 0.5)],
            first_seq=900001,
            seq=900004,
        )
    ]


def test_built_book_ticker_empty_side_and_old_schema() -> None:
    """Docs 2026 sample: an empty side is sent as empty strings.  A push from before the
    2026-06 fields has no version: seq 0.  No symbol field: taken from the channel."""
    data = push(
        channel="spot@public.aggre.bookTicker.v3.api.pb@10ms@ETHBTC",
        createTime=1700000000000,
        publicAggreBookTicker=PublicAggreBookTickerV3Api(
            bidPrice="", bidQuantity="", askPrice="0.05", askQuantity="3"
        ),
    )
    [event] = V.parse_frame(data, RECV)
    assert event == BookTicker(
        venue="mexc_spot",
        symbol="ETH/BTC",
        native="ETHBTC",
        ts=1700000000000,
        recv_ns=RECV,
        bid_price=0.0,
        bid_qty=0.0,
        ask_price=0.05,
        ask_qty=3.0,
        seq=0,
    )


def test_built_mini_ticker() -> None:
    data = push(
        channel="spot@public.miniTicker.v3.api.pb@BTCUSDT@24H",
        symbol="BTCUSDT",
        sendTime=1700000003000,
        publicMiniTicker=PublicMiniTickerV3Api(
            symbol="BTCUSDT",
            price="84270.01",
            rate="0.0123",
            zonedRate="-0.0069",
            high="85000",
            low="83000.5",
            volume="123456789.12",  # quote turnover
            quantity="1500.25",  # base quantity
        ),
    )
    assert V.parse_frame(data, RECV) == [
        Ticker(
            venue="mexc_spot",
            symbol="BTC/USDT",
            native="BTCUSDT",
            ts=1700000003000,
            recv_ns=RECV,
            last=84270.01,
            high=85000.0,
            low=83000.5,
            base_volume=1500.25,
            quote_volume=123456789.12,
            change_pct=-0.69,  # the subscribed window's zonedRate, exactly, in percent
        )
    ]


def test_mini_ticker_falls_back_to_rate() -> None:
    body = PublicMiniTickerV3Api(price="1", rate="0.0069")
    [event] = V.parse_frame(push(channel="x", symbol="BTCUSDT", publicMiniTicker=body), RECV)
    assert isinstance(event, Ticker)
    assert event.change_pct == 0.69
    assert (event.high, event.low, event.base_volume, event.quote_volume) == (None,) * 4


def test_built_private_account() -> None:
    """Account pushes carry createTime and sendTime and no symbol (protocols.md §1.6)."""
    data = push(
        channel="spot@private.account.v3.api.pb",
        createTime=1736417034280,
        sendTime=1736417034332,
        privateAccount=PrivateAccountV3Api(
            vcoinName="USDT",
            coinId="128f589271cb4951b03e71e6323eb7be",
            balanceAmount="21.94210356004384",
            balanceAmountChange="10",
            frozenAmount="0.5",
            frozenAmountChange="0",
            type="CONTRACT_TRANSFER",
            time=1736416910000,
        ),
    )
    assert V.parse_frame(data, RECV) == [
        Balance(
            venue="mexc_spot",
            symbol="USDT",
            native="USDT",
            ts=1736416910000,
            recv_ns=RECV,
            asset="USDT",
            total=21.94210356004384 + 0.5,
            available=21.94210356004384,
            frozen=0.5,
            change=10.0,
            reason="CONTRACT_TRANSFER",
        )
    ]


def test_balance_change_is_the_change_of_the_total() -> None:
    """BUILT from the documented fields: placing an order freezes 500 USDT of 1000."""
    data = push(
        channel="spot@private.account.v3.api.pb",
        sendTime=1736417034332,
        privateAccount=PrivateAccountV3Api(
            vcoinName="USDT",
            balanceAmount="500",
            balanceAmountChange="-500",
            frozenAmount="500",
            frozenAmountChange="500",
            type="ENTRUST_PLACE",
            time=1736416910000,
        ),
    )
    (balance,) = V.parse_frame(data, RECV)
    assert isinstance(balance, Balance)
    assert (balance.total, balance.available, balance.frozen, balance.change) == (
        1000.0,
        500.0,
        500.0,
        0.0,
    )


@pytest.mark.parametrize(
    ("status", "order_type", "expected_status", "expected_type"),
    [
        (1, 1, "open", "limit"),
        (2, 2, "filled", "post_only"),
        (3, 3, "partially_filled", "ioc"),
        (4, 4, "cancelled", "fok"),
        (5, 5, "partially_cancelled", "market"),
        (2, 100, "filled", "stop"),
        (9, 7, "unknown:9", "unknown:7"),
    ],
)
def test_built_private_order(
    status: int, order_type: int, expected_status: str, expected_type: str
) -> None:
    data = push(
        channel="spot@private.orders.v3.api.pb",
        symbol="BTCUSDT",
        sendTime=1661938138193,
        privateOrders=PrivateOrdersV3Api(
            id="C02__505979017439002624115",
            clientId="cid-1",
            price="30000",
            quantity="0.0003",
            amount="9",
            avgPrice="29999.5",
            orderType=order_type,
            tradeType=2,
            isMaker=False,
            remainAmount="0",
            remainQuantity="0.0001",
            cumulativeQuantity="0.0002",
            cumulativeAmount="6",
            status=status,
            createTime=1661938138000,
        ),
    )
    assert V.parse_frame(data, RECV) == [
        Order(
            venue="mexc_spot",
            symbol="BTC/USDT",
            native="BTCUSDT",
            ts=1661938138193,
            recv_ns=RECV,
            order_id="C02__505979017439002624115",
            side="sell",
            order_type=expected_type,
            status=expected_status,
            price=30000.0,
            qty=0.0003,
            client_id="cid-1",
            filled_qty=0.0002,
            avg_price=29999.5,
        )
    ]


def test_market_order_with_empty_price() -> None:
    body = PrivateOrdersV3Api(id="1", tradeType=1, orderType=5, status=1, quantity="", amount="5")
    data = push(channel="spot@private.orders.v3.api.pb", symbol="BTCUSDT", privateOrders=body)
    [event] = V.parse_frame(data, RECV)
    assert isinstance(event, Order)
    assert (event.price, event.qty, event.side, event.ts) == (0.0, 0.0, "buy", 0)


def test_built_private_deal() -> None:
    data = push(
        channel="spot@private.deals.v3.api.pb",
        symbol="MXUSDT",
        sendTime=1736417034332,
        privateDeals=PrivateDealsV3Api(
            price="3.6962",
            quantity="1",
            amount="3.6962",
            tradeType=2,
            isMaker=True,
            isSelfTrade=False,
            tradeId="505979017439002624X1",
            clientOrderId="c1",
            orderId="C02__505979017439002624115",
            feeAmount="0.0003998377369698171",
            feeCurrency="USDT",
            time=1736417034280,
        ),
    )
    assert V.parse_frame(data, RECV) == [
        Fill(
            venue="mexc_spot",
            symbol="MX/USDT",
            native="MXUSDT",
            ts=1736417034280,
            recv_ns=RECV,
            order_id="C02__505979017439002624115",
            trade_id="505979017439002624X1",
            side="sell",
            price=3.6962,
            qty=1.0,
            fee=0.0003998377369698171,
            fee_asset="USDT",
            maker=True,
        )
    ]


def test_all_symbol_tickers_are_known_but_not_published() -> None:
    items = PublicMiniTickersV3Api(items=[PublicMiniTickerV3Api(symbol="BTCUSDT", price="1")])
    data = push(channel="spot@public.miniTickers.v3.api.pb@24H", publicMiniTickers=items)
    assert V.parse_frame(data, RECV) == []


# -- JSON acks, built from the documented texts (protocols.md §1.3, §1.7) --------------------

BLOCKED_ONE = (
    '{"id":0,"code":0,"msg":"Not Subscribed successfully! '
    '[spot@public.kline.v3.api@BTCUSDT@Min1].  Reason\uff1a Blocked! "}'
)
BLOCKED_TWO = (
    '{"id":0,"code":0,"msg":"Not Subscribed successfully! '
    "[spot@public.aggre.deals.v3.api.pb@BTCUSDT,spot@public.aggre.bookTicker.v3.api.pb@BTCUSDT]."
    '  Reason\uff1a Blocked! "}'
)


def _err(channel: str, message: str, code: int = 0, symbol: str = "", native: str = ""):
    return SubscriptionError(
        venue="mexc_spot",
        symbol=symbol,
        native=native,
        recv_ns=RECV,
        channel=channel,
        message=message,
        code=code,
    )


def _ack(channel: str, symbol: str, native: str) -> SubscriptionAck:
    return SubscriptionAck(
        venue="mexc_spot", symbol=symbol, native=native, recv_ns=RECV, channel=channel
    )


@pytest.mark.parametrize(
    ("text", "events"),
    [
        (
            '{"id":0,"code":0,"msg":"PONG"}',
            [Pong(venue="mexc_spot", symbol="", native="", recv_ns=RECV)],
        ),
        (
            f'{{"id":0,"code":0,"msg":"{CH_DEPTH}"}}',
            [_ack(CH_DEPTH, "BTC/USDT", "BTCUSDT")],
        ),
        (
            '{"id":7,"code":0,"msg":"spot@public.limit.depth.v3.api.pb@ETHBTC@5,'
            'spot@public.miniTicker.v3.api.pb@MXUSDT@UTC+8,spot@private.orders.v3.api.pb"}',
            [
                _ack("spot@public.limit.depth.v3.api.pb@ETHBTC@5", "ETH/BTC", "ETHBTC"),
                _ack("spot@public.miniTicker.v3.api.pb@MXUSDT@UTC+8", "MX/USDT", "MXUSDT"),
                _ack("spot@private.orders.v3.api.pb", "", ""),
            ],
        ),
        (
            BLOCKED_ONE,
            [_err("spot@public.kline.v3.api@BTCUSDT@Min1", "Blocked!", 0, "BTC/USDT", "BTCUSDT")],
        ),
        (
            BLOCKED_TWO,
            [
                _err(
                    "spot@public.aggre.deals.v3.api.pb@BTCUSDT",
                    "Blocked!",
                    0,
                    "BTC/USDT",
                    "BTCUSDT",
                ),
                _err(
                    "spot@public.aggre.bookTicker.v3.api.pb@BTCUSDT",
                    "Blocked!",
                    0,
                    "BTC/USDT",
                    "BTCUSDT",
                ),
            ],
        ),
        # Not an echo of a channel: a refusal that names none (docs: success only on echo).
        ('{"id":0,"code":0,"msg":"Invalid request"}', [_err("", "Invalid request")]),
        # A non-zero code is an error whatever msg says; the channel is kept when named.
        ('{"code":30001,"msg":"no such symbol"}', [_err("", "no such symbol", 30001)]),
        (
            f'{{"code":1,"msg":"{CH_DEPTH}"}}',
            [_err(CH_DEPTH, CH_DEPTH, 1, "BTC/USDT", "BTCUSDT")],
        ),
        ('{"code":2}', [_err("", "code 2", 2)]),
        # An ack for a symbol we cannot normalize still reports it, under its native name.
        (
            '{"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@FOOXYZ"}',
            [_ack("spot@public.aggre.deals.v3.api.pb@100ms@FOOXYZ", "FOOXYZ", "FOOXYZ")],
        ),
    ],
)
def test_text_frames(text: str, events: list[Any]) -> None:
    assert V.parse_frame(text, RECV) == events
    assert V.parse_frame(text.encode(), RECV) == events  # JSON delivered as a binary frame


# -- bad input: a clear FrameError, nothing else ---------------------------------------------

_GOOD_DEPTH = {
    "asks": [{"price": "1", "quantity": "1"}],
    "fromVersion": "10",
    "toVersion": "12",
}


def _depth(**overrides: Any) -> bytes:
    body = PublicAggreDepthsV3Api(**{**_GOOD_DEPTH, **overrides})
    return push(channel=CH_DEPTH, symbol="BTCUSDT", publicAggreDepths=body)


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("empty bytes", b"", "empty frame"),
    ("empty text", "", "empty frame"),
    ("not protobuf", b"\x0a\xff\xff\xff", "not a PushDataV3ApiWrapper"),
    (
        "truncated",
        push(channel=CH_DEPTH, publicAggreDepths=PublicAggreDepthsV3Api())[:-1] + b"\x0a\x05",
        "not a PushDataV3ApiWrapper",
    ),
    ("bad utf-8 string", b"\x0a\x02\xc3\x28", "not a PushDataV3ApiWrapper"),
    (
        "no body",
        push(channel=CH_DEPTH, symbol="BTCUSDT"),
        r"no known body \(unknown field numbers: none\)",
    ),
    (
        "unknown oneof 316",
        push(channel=CH_DEPTH) + b"\xe2\x13\x00",
        r"unknown field numbers: \[316\]",
    ),
    ("bad JSON", "{not json", "not a MEXC JSON ack"),
    ("JSON list", "[1,2]", "not a MEXC JSON ack"),
    ("JSON msg not str", '{"code":0,"msg":5}', "not a MEXC JSON ack"),
    ("JSON bad utf-8", b'{"msg":"\xff"}', "not a MEXC JSON ack"),
    ("ack without msg", '{"id":0,"code":0}', "JSON ack without msg"),
    (
        "bad price",
        _depth(asks=[{"price": "1,5", "quantity": "1"}]),
        r"publicAggreDepths.asks.price: not a decimal number: '1,5'",
    ),
    (
        "empty qty",
        _depth(bids=[{"price": "1", "quantity": ""}]),
        "publicAggreDepths.bids.quantity: not a decimal",
    ),
    ("nan", _depth(asks=[{"price": "nan", "quantity": "1"}]), "not a decimal"),
    ("underscore", _depth(asks=[{"price": "1_0", "quantity": "1"}]), "not a decimal"),
    ("overflow", _depth(asks=[{"price": "1e999", "quantity": "1"}]), "out of range"),
    ("bad fromVersion", _depth(fromVersion="x1"), r"fromVersion: not a version number: 'x1'"),
    ("missing toVersion", _depth(toVersion=""), "toVersion: not a version number"),
    ("huge version", _depth(toVersion="9" * 5000), "toVersion: not a version number"),
    ("unicode digits", _depth(toVersion="\u0663"), "toVersion: not a version number"),
    ("from > to", _depth(fromVersion="13"), "fromVersion 13 > toVersion 12"),
    (
        "no symbol",
        push(
            channel="spot@private.orders.v3.api.pb", privateOrders=PrivateOrdersV3Api(tradeType=1)
        ),
        "names no symbol",
    ),
    (
        "unknown quote",
        push(channel="c", symbol="BTCXYZ", publicAggreDeals=PublicAggreDealsV3Api()),
        "BTCXYZ.*quote_assets",
    ),
    (
        "bad tradeType",
        push(
            channel="c",
            symbol="BTCUSDT",
            publicAggreDeals=PublicAggreDealsV3Api(
                deals=[{"price": "1", "quantity": "1", "tradeType": 3}]
            ),
        ),
        r"tradeType 3 \(1 buy, 2 sell\)",
    ),
    (
        "account without asset",
        push(
            channel="spot@private.account.v3.api.pb",
            privateAccount=PrivateAccountV3Api(balanceAmount="1"),
        ),
        "no vcoinName",
    ),
    (
        "limit depth without version",
        push(channel="c", symbol="BTCUSDT", publicLimitDepths=PublicLimitDepthsV3Api()),
        "publicLimitDepths.version",
    ),
    (
        "ticker without price",
        push(channel="c", symbol="BTCUSDT", publicMiniTicker=PublicMiniTickerV3Api()),
        "publicMiniTicker.price",
    ),
    (
        "bad rate",
        push(
            channel="c",
            symbol="BTCUSDT",
            publicMiniTicker=PublicMiniTickerV3Api(price="1", rate="1%"),
        ),
        "publicMiniTicker.rate",
    ),
]


@pytest.mark.parametrize(
    ("frame_", "match"), [b[1:] for b in BAD_FRAMES], ids=[b[0] for b in BAD_FRAMES]
)
def test_bad_frames(frame_: str | bytes, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        V.parse_frame(frame_, RECV)


def _mutations(data: st.DataObject, original: bytes) -> bytes:
    out = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del out[pos:]
        elif op == "insert":
            out[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del out[pos : pos + data.draw(st.integers(1, 8))]
    return bytes(out)


@pytest.fixture(scope="module")
def seed_frames(mexc_pb_frames: Path) -> list[bytes]:
    built = [
        _depth(),
        push(
            channel="spot@private.account.v3.api.pb",
            privateAccount=PrivateAccountV3Api(vcoinName="USDT", balanceAmount="1"),
        ),
        push(
            channel="c", symbol="BTCUSDT", privateOrders=PrivateOrdersV3Api(tradeType=1, price="1")
        ),
        push(
            channel="c",
            symbol="BTCUSDT",
            privateDeals=PrivateDealsV3Api(tradeType=2, price="1", quantity="2"),
        ),
        push(
            channel="c",
            symbol="BTCUSDT",
            publicMiniTicker=PublicMiniTickerV3Api(price="1", rate="0.1"),
        ),
        BLOCKED_TWO.encode(),
        b'{"id":0,"code":0,"msg":"PONG"}',
    ]
    return [p.read_bytes() for p in sorted(mexc_pb_frames.glob("*.bin"))] + built


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data())
def test_fuzz_only_frame_errors(seed_frames: list[bytes], data: st.DataObject) -> None:
    """Mutated real and built frames, random bytes and random text: events or FrameError."""
    kind = data.draw(st.sampled_from(["mutated", "bytes", "text"]))
    if kind == "mutated":
        candidate: str | bytes = _mutations(data, data.draw(st.sampled_from(seed_frames)))
    elif kind == "bytes":
        candidate = data.draw(st.binary(max_size=300))
    else:
        candidate = data.draw(st.text(max_size=200))
    try:
        events = V.parse_frame(candidate, RECV)
    except FrameError:
        return
    assert isinstance(events, list)
    for event in events:
        msgspec.msgpack.encode(event)  # whatever came out can be published


# -- REST snapshot ---------------------------------------------------------------------------


def test_parse_snapshot() -> None:
    body = (
        b'{"lastUpdateId":82164155643,"bids":[["84270.00","0.006387"],["84267.03","0.002348"]],'
        b'"asks":[["84270.01","5.42169969"]],"timestamp":1790281247300}'
    )
    assert V.parse_snapshot(body, "BTC/USDT", RECV) == BookSnapshot(
        venue="mexc_spot",
        symbol="BTC/USDT",
        native="BTCUSDT",
        ts=1790281247300,
        recv_ns=RECV,
        bids=[(84270.0, 0.006387), (84267.03, 0.002348)],
        asks=[(84270.01, 5.42169969)],
        seq=82164155643,
    )


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            b'{"code":-1121,"msg":"Invalid symbol."}',
            r"no lastUpdateId: code -1121 'Invalid symbol.'",
        ),
        (b"<html>", "malformed"),
        (b'{"lastUpdateId":"x","bids":[],"asks":[]}', "malformed"),
        (b'{"lastUpdateId":1,"bids":[["1"]],"asks":[]}', "malformed"),
        (b'{"lastUpdateId":1,"bids":[["a","1"]],"asks":[]}', r"depth.bids.price: not a decimal"),
        (b'{"lastUpdateId":1,"bids":[],"asks":[["1","\xff"]]}', "malformed"),
    ],
)
def test_bad_snapshots(body: bytes, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        V.parse_snapshot(body, "BTC/USDT", RECV)


# -- signing: vectors computed independently ------------------------------------------------


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")


def test_hmac_matches_rfc4231_case_2() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert (
        signing.spot_signature("Jefe", "what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@needs_openssl
def test_spot_signature_against_openssl() -> None:
    secret = "45d0b3c26f2644f19bfb98b07741b2f5"
    query = (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000"
        "&timestamp=1644489390087"
    )
    body = '{"note":"x"}'
    # totalParams = query + body, concatenated with no "&" between them.
    assert signing.spot_signature(secret, query + body) == hmac_openssl(
        "sha256", secret, query + body
    )
    assert signing.spot_signature(secret, query) == hmac_openssl("sha256", secret, query)


@needs_openssl
def test_signed_query_for_listen_key() -> None:
    query, headers = signing.signed_query(
        {"listenKey": "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"},
        api_key="mx0vglTestKey",
        secret="test-secret",
        timestamp_ms=1700000000000,
        recv_window=5000,
    )
    unsigned = (
        "listenKey=pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
        "&recvWindow=5000&timestamp=1700000000000"
    )
    assert query == f"{unsigned}&signature={hmac_openssl('sha256', 'test-secret', unsigned)}"
    assert headers == {"X-MEXC-APIKEY": "mx0vglTestKey"}


def test_signed_query_encodes_with_uppercase_hex_and_signs_the_body() -> None:
    query, headers = signing.signed_query(
        {"symbols": "BTCUSDT,ETHUSDT"},
        api_key="k",
        secret="s",
        timestamp_ms=1,
        body='{"a":1}',
    )
    unsigned = "symbols=BTCUSDT%2CETHUSDT&timestamp=1"
    expected = hmac.new(b"s", (unsigned + '{"a":1}').encode(), hashlib.sha256).hexdigest()
    assert query == f"{unsigned}&signature={expected}"
    assert headers == {"X-MEXC-APIKEY": "k", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"api_key": ""}, "non-empty api_key"),
        ({"secret": ""}, "non-empty api_key and secret"),
        ({"timestamp_ms": 0}, "positive int"),
        ({"recv_window": 60001}, r"recv_window must be 1..60000"),
        ({"params": {"timestamp": "1"}}, "must not contain"),
    ],
)
def test_signed_query_rejects(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"params": {}, "api_key": "k", "secret": "s", "timestamp_ms": 1}
    args.update(kwargs)
    params = args.pop("params")
    with pytest.raises(ValueError, match=match):
        signing.signed_query(params, **args)


def test_user_data_stream_requests() -> None:
    create = signing.user_data_stream_request(
        "POST", api_key="k", secret="s", timestamp_ms=1700000000000
    )
    sig = hmac.new(b"s", b"timestamp=1700000000000", hashlib.sha256).hexdigest()
    assert create == RestRequest(
        "POST",
        f"/api/v3/userDataStream?timestamp=1700000000000&signature={sig}",
        {},
        {"X-MEXC-APIKEY": "k"},
    )
    keep = signing.user_data_stream_request(
        "put", api_key="k", secret="s", timestamp_ms=1700000000000, listen_key="LK"
    )
    assert keep.method == "PUT"
    assert keep.path.startswith("/api/v3/userDataStream?listenKey=LK&timestamp=1700000000000&")
    with pytest.raises(ValueError, match="DELETE /api/v3/userDataStream needs listen_key"):
        signing.user_data_stream_request("DELETE", api_key="k", secret="s", timestamp_ms=1)
    with pytest.raises(ValueError, match="POST /api/v3/userDataStream takes no listen_key"):
        signing.user_data_stream_request(
            "POST", api_key="k", secret="s", timestamp_ms=1, listen_key="LK"
        )
    with pytest.raises(ValueError, match="must be one of"):
        signing.user_data_stream_request("PATCH", api_key="k", secret="s", timestamp_ms=1)


@needs_openssl
def test_futures_login_signature() -> None:
    api_key, secret, req_time = (
        "mx0aBYs33eIilxBWC5",
        "45d0b3c26f2644f19bfb98b07741b2f5",
        1611038237237,
    )
    expected = hmac_openssl("sha256", secret, f"{api_key}{req_time}")
    assert signing.futures_login_signature(api_key, secret, req_time) == expected
    assert expected == expected.lower() and len(expected) == 64
