"""Gate.io private streams (spot and futures): signing, signed subscriptions, account frames.

No private frame has ever been published as a recording (``../shared/protocols/protocols.md``
section 5), so every account frame here is DOCS-BUILT: either a notification example from the
Gate.io WebSocket docs copied verbatim ("docs example"), or written from the docs' field list
with our own values ("docs fields").  Signature expectations are computed independently of the
code under test: by the ``openssl`` binary and by a from-scratch RFC 2104 HMAC, itself checked
against RFC 4231.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.messages import Balance, Event, Fill, Order, Position, SubscriptionError
from actors.venues import FrameError, Subscription, Venue
from actors.venues.gateio.futures import GateioFutures
from actors.venues.gateio.signing import auth_object, sign
from actors.venues.gateio.spot import GateioSpot
from tests.mutate import paths as _paths
from tests.mutate import replaced as _replaced
from tests.reference import hmac_openssl, hmac_rfc2104

# Shaped like real Gate credentials (32 and 64 hex digits), but made up.
KEY = "3f1c2b7a9d8e4f6a0b1c2d3e4f5a6b7c"
SECRET = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
CREDS = (KEY, SECRET)
USER = "20011"


# -- independent HMAC-SHA512 references ----------------------------------------------------


def expected_sign(secret: str, channel: str, event: str, time_s: int) -> str:
    message = f"channel={channel}&event={event}&time={time_s}"
    return hmac_rfc2104("sha512", secret.encode(), message.encode())


def test_reference_hmac_matches_rfc4231() -> None:
    """RFC 4231 test case 2 (key "Jefe") for both references."""
    want = (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    )
    assert hmac_rfc2104("sha512", b"Jefe", b"what do ya want for nothing?") == want
    assert hmac_openssl("sha512", "Jefe", "what do ya want for nothing?") == want


# -- signing -------------------------------------------------------------------------------

SIGN_CASES = [
    (SECRET, "spot.orders", "subscribe", 1700000000),
    (SECRET, "spot.balances", "unsubscribe", 1700000061),
    ("YOUR_API_SECRET", "futures.orders", "subscribe", 1545459681),
    ("s" * 200, "futures.usertrades", "subscribe", 0),  # a key longer than one block
]


@pytest.mark.parametrize(("secret", "channel", "event", "time_s"), SIGN_CASES)
def test_sign_matches_openssl_and_rfc2104(
    secret: str, channel: str, event: str, time_s: int
) -> None:
    message = f"channel={channel}&event={event}&time={time_s}"
    got = sign(secret, channel, event, time_s)
    assert got == hmac_openssl("sha512", secret, message)
    assert got == hmac_rfc2104("sha512", secret.encode(), message.encode())
    assert len(got) == 128 and got == got.lower()


def test_auth_object() -> None:
    assert auth_object(KEY, SECRET, "spot.orders", "subscribe", 1700000000) == {
        "method": "api_key",
        "KEY": KEY,
        "SIGN": hmac_openssl(
            "sha512", SECRET, "channel=spot.orders&event=subscribe&time=1700000000"
        ),
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sign("", "spot.orders", "subscribe", 1), "non-empty secret"),
        (lambda: sign(SECRET, "", "subscribe", 1), "non-empty channel and event"),
        (lambda: sign(SECRET, "spot.orders", "", 1), "non-empty channel and event"),
        (lambda: sign(SECRET, "spot.orders", "subscribe", -1), "non-negative int"),
        (lambda: sign(SECRET, "spot.orders", "subscribe", True), "non-negative int"),
        (lambda: sign(SECRET, "spot.orders", "subscribe", 1.5), "non-negative int"),
        (lambda: auth_object("", SECRET, "spot.orders", "subscribe", 1), "non-empty api key"),
    ],
)
def test_signing_rejects_without_echoing(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
    assert SECRET not in str(info.value)


# -- credentials on the venue --------------------------------------------------------------


@pytest.mark.parametrize("cls", [GateioSpot, GateioFutures])
def test_repr_never_shows_credentials(cls: type[Venue]) -> None:
    venue = cls({"user_id": USER} if cls is GateioFutures else None, credentials=CREDS)
    for text in (repr(venue), str(venue), f"{venue!r}"):
        assert SECRET not in text and KEY not in text
        assert "credentials=<redacted>" in text
    assert "credentials=None" in repr(cls())


@pytest.mark.parametrize(
    "creds",
    [("LEAKY-KEY-VALUE", ""), ("", "LEAKY-SECRET-VALUE"), ("LEAKY-KEY-VALUE",), "LEAKY-KEY-VALUE"],
)
def test_bad_credentials_are_not_echoed(creds: Any) -> None:
    with pytest.raises(ValueError, match="credentials must be a tuple") as info:
        GateioSpot(credentials=creds)
    assert "LEAKY" not in str(info.value)


def test_private_channels_declared() -> None:
    assert GateioSpot.private_channels == {"orders", "balances", "fills"}
    assert GateioSpot.channels == {"book_ticker", "trades", "order_book", "tickers"}
    assert GateioFutures.private_channels == {"orders", "positions", "balances", "fills"}
    assert Venue.private_channels == frozenset()
    assert Venue().handshake_headers() == {}


# -- signed subscriptions ------------------------------------------------------------------


def auth_json(channel: str, event: str, time_s: int) -> str:
    sign_hex = expected_sign(SECRET, channel, event, time_s)
    return f'"auth":{{"method":"api_key","KEY":"{KEY}","SIGN":"{sign_hex}"}}'


def test_spot_private_subscribe_exact() -> None:
    spot = GateioSpot(credentials=CREDS)
    subs = [
        Subscription("orders", "BTC/USDT"),
        Subscription("trades", "BTC/USDT"),
        Subscription("orders", "ETH/USDT"),
        Subscription("balances", "BTC/USDT"),  # per account: the symbol does not matter
        Subscription("balances", "ETH/USDT"),  # so this one is a duplicate
        Subscription("fills", "!all"),
    ]
    t = 1700000000
    assert spot.subscribe_messages(subs, now_s=t) == [
        '{"time":1700000000,"channel":"spot.orders","event":"subscribe",'
        f'"payload":["BTC_USDT","ETH_USDT"],{auth_json("spot.orders", "subscribe", t)}}}',
        '{"time":1700000000,"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT"]}',
        '{"time":1700000000,"channel":"spot.balances","event":"subscribe",'
        f"{auth_json('spot.balances', 'subscribe', t)}}}",
        '{"time":1700000000,"channel":"spot.usertrades","event":"subscribe",'
        f'"payload":["!all"],{auth_json("spot.usertrades", "subscribe", t)}}}',
    ]


def test_spot_all_pairs_wins_and_unsubscribe_is_signed() -> None:
    spot = GateioSpot(credentials=CREDS)
    subs = [Subscription("orders", "BTC/USDT"), Subscription("orders", "!all")]
    (msg,) = spot.unsubscribe_messages(subs, now_s=1700000061)
    assert msg == (
        '{"time":1700000061,"channel":"spot.orders","event":"unsubscribe","payload":["!all"],'
        f"{auth_json('spot.orders', 'unsubscribe', 1700000061)}}}"
    )


def test_futures_private_subscribe_exact() -> None:
    fut = GateioFutures({"user_id": USER}, credentials=CREDS)
    subs = [
        Subscription("orders", "BTC/USDT:USDT"),
        Subscription("orders", "ETH/USDT:USDT"),
        Subscription("positions", "!all"),
        Subscription("positions", "BTC/USDT:USDT"),  # covered by !all
        Subscription("balances", "BTC/USDT:USDT"),
        Subscription("fills", "ETH/USDT:USDT"),
        Subscription("book_ticker", "BTC/USDT:USDT"),
    ]
    t = 1545459681
    assert fut.subscribe_messages(subs, now_s=t) == [
        '{"time":1545459681,"channel":"futures.orders","event":"subscribe",'
        f'"payload":["20011","BTC_USDT"],{auth_json("futures.orders", "subscribe", t)}}}',
        '{"time":1545459681,"channel":"futures.orders","event":"subscribe",'
        f'"payload":["20011","ETH_USDT"],{auth_json("futures.orders", "subscribe", t)}}}',
        '{"time":1545459681,"channel":"futures.positions","event":"subscribe",'
        f'"payload":["20011","!all"],{auth_json("futures.positions", "subscribe", t)}}}',
        '{"time":1545459681,"channel":"futures.balances","event":"subscribe",'
        f'"payload":["20011"],{auth_json("futures.balances", "subscribe", t)}}}',
        '{"time":1545459681,"channel":"futures.usertrades","event":"subscribe",'
        f'"payload":["20011","ETH_USDT"],{auth_json("futures.usertrades", "subscribe", t)}}}',
        '{"time":1545459681,"channel":"futures.book_ticker","event":"subscribe",'
        '"payload":["BTC_USDT"]}',
    ]


@pytest.mark.parametrize(
    "venue",
    [
        GateioSpot(credentials=CREDS),
        GateioFutures({"user_id": USER, "settle": "btc"}, credentials=CREDS),
    ],
    ids=["spot", "futures"],
)
@pytest.mark.parametrize("event", ["subscribe", "unsubscribe"])
def test_every_auth_is_signed_with_the_request_time(venue: Venue, event: str) -> None:
    """For every private request: auth time == request time, channel and event as sent, and
    the secret itself never appears in what we send."""
    symbol = "BTC/USD:BTC" if isinstance(venue, GateioFutures) else "BTC/USDT"
    subs = [Subscription(c, symbol) for c in sorted(venue.private_channels)]
    build = venue.subscribe_messages if event == "subscribe" else venue.unsubscribe_messages
    for now_s in (1, 1700000000, 1700000059):
        messages = build(subs, now_s=now_s)
        assert len(messages) == len(subs)
        for text in messages:
            assert isinstance(text, str) and SECRET not in text
            msg = json.loads(text)
            assert (msg["time"], msg["event"]) == (now_s, event)
            assert msg["auth"] == {
                "method": "api_key",
                "KEY": KEY,
                "SIGN": hmac_openssl(
                    "sha512", SECRET, f"channel={msg['channel']}&event={event}&time={now_s}"
                ),
            }


@pytest.mark.parametrize(
    ("venue", "sub", "message"),
    [
        (
            GateioSpot(),
            Subscription("orders", "BTC/USDT"),
            "gateio_spot: unsupported channel 'orders' without API credentials: the private "
            "channels (balances, fills, orders) need an api key and secret",
        ),
        (
            GateioFutures({"user_id": USER}),
            Subscription("positions", "BTC/USDT:USDT"),
            "gateio_futures: unsupported channel 'positions' without API credentials",
        ),
        (
            GateioFutures(credentials=CREDS),
            Subscription("balances", "BTC/USDT:USDT"),
            "gateio_futures: private channel 'balances' needs the user_id option",
        ),
        (GateioSpot(credentials=CREDS), Subscription("orders", "btc"), "bad symbol 'btc'"),
        (
            GateioFutures({"user_id": USER}, credentials=CREDS),
            Subscription("orders", "BTC/USDT"),
            "(that is a spot symbol)",
        ),
        (GateioSpot(credentials=CREDS), Subscription("positions", "BTC/USDT"), "unsupported"),
    ],
)
def test_bad_private_subscriptions(venue: Venue, sub: Subscription, message: str) -> None:
    with pytest.raises(ValueError) as info:
        venue.subscribe_messages([sub], now_s=1)
    assert message in str(info.value)
    assert SECRET not in str(info.value) and KEY not in str(info.value)


# -- auth failures and other venue errors ----------------------------------------------------

AUTH_FAIL = '{"time":1700000000,"time_ms":1700000000456,"channel":"spot.orders","event":"subscribe","error":{"code":4,"message":"authentication fail"},"result":{"status":"fail"}}'  # noqa: E501


@pytest.mark.parametrize(
    ("venue", "frame"),
    [
        (GateioSpot(), AUTH_FAIL),
        (
            GateioFutures(),
            AUTH_FAIL.replace('"spot.orders"', '"futures.orders"'),
        ),
    ],
    ids=["spot", "futures"],
)
def test_auth_failure_is_a_subscription_error(venue: Venue, frame: str) -> None:
    # docs fields: the error object {code, message}; code 4 "authentication fail"
    (event,) = venue.parse_frame(frame, 7)
    assert event == SubscriptionError(
        venue=venue.name,
        symbol="",
        native="",
        ts=1700000000456,
        recv_ns=7,
        channel=orjson.loads(frame)["channel"],
        message="authentication fail",
        code=4,
    )


def _echo(message: str) -> str:
    return orjson.dumps(
        {
            "time": 1700000000,
            "channel": "spot.orders",
            "event": "subscribe",
            "error": {"code": 4, "message": message},
            "auth": {"method": "api_key", "KEY": KEY, "SIGN": "0" * 128},  # echoed request
        }
    ).decode()


SIGN_HEX = expected_sign(SECRET, "spot.orders", "subscribe", 1700000000)


@pytest.mark.parametrize(
    ("credentials", "message", "published"),
    [
        (None, f"invalid key {KEY}", "invalid key <redacted>"),
        (None, f"signature mismatch: {SIGN_HEX}", "signature mismatch: <redacted>"),
        (None, f"bad secret {SECRET}?", "bad secret <redacted>?"),
        (("not-hex-key", "not-hex-secret"), "key not-hex-key refused", "key <redacted> refused"),
        (None, "x" * 500, "x" * 200),
    ],
)
def test_errors_never_publish_credentials(
    credentials: tuple[str, str] | None, message: str, published: str
) -> None:
    """Even if the venue echoes a key, secret or signature, the published message has none
    (a parser may hold no credentials: hex runs as long as a key are removed regardless)."""
    for venue in (GateioSpot(credentials=credentials), GateioFutures(credentials=credentials)):
        (event,) = venue.parse_frame(_echo(message), 0)
        assert isinstance(event, SubscriptionError)
        assert (event.code, event.message) == (4, published)
        encoded = msgspec.msgpack.encode(event)
        for secret in (KEY, SECRET, SIGN_HEX, *(credentials or ())):
            assert secret.encode() not in encoded


# -- spot account frames -------------------------------------------------------------------

SPOT_ORDERS = {
    "time": 1694655226,
    "time_ms": 1694655226315,
    "channel": "spot.orders",
    "event": "update",
    "result": [
        {  # docs example (spot.orders_v2 notification) plus the spot.orders fee fields
            "id": "399123456",
            "text": "t-testtext",
            "create_time": "1694655225",
            "update_time": "1694655225",
            "currency_pair": "BTC_USDT",
            "type": "limit",
            "account": "spot",
            "side": "sell",
            "amount": "0.0001",
            "price": "26253.3",
            "time_in_force": "gtc",
            "left": "0.0001",
            "filled_total": "0",
            "filled_amount": "0",
            "avg_deal_price": "0",
            "fee": "0",
            "fee_currency": "USDT",
            "point_fee": "0",
            "gt_fee": "0",
            "rebated_fee_currency": "USDT",
            "create_time_ms": "1694655225315",
            "update_time_ms": "1694655225315",
            "user": 3497082,
            "event": "put",
            "stp_id": 0,
            "stp_act": "-",
            "finish_as": "open",
            "biz_info": "-",
            "amend_text": "-",
        },
        {  # docs fields: a second pair in the same push, partly filled post-only buy
            "id": "399123457",
            "text": "t-7",
            "currency_pair": "ETH_USDT",
            "type": "limit",
            "account": "unified",
            "side": "buy",
            "amount": "0.5",
            "price": "1600",
            "time_in_force": "poc",
            "left": "0.2",
            "filled_amount": "0.3",
            "avg_deal_price": "1599.5",
            "create_time_ms": "1694655225900",
            "update_time_ms": "1694655226001.25",
            "event": "update",
            "finish_as": "open",
        },
    ],
}


def spot_frame(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj).decode()


def test_spot_orders() -> None:
    assert GateioSpot().parse_frame(spot_frame(SPOT_ORDERS), 9) == [
        Order(
            venue="gateio_spot",
            symbol="BTC/USDT",
            native="BTC_USDT",
            ts=1694655225315,
            recv_ns=9,
            order_id="399123456",
            side="sell",
            order_type="limit",
            status="open",
            price=26253.3,
            qty=0.0001,
            client_id="t-testtext",
            filled_qty=0.0,
            avg_price=0.0,
        ),
        Order(
            venue="gateio_spot",
            symbol="ETH/USDT",
            native="ETH_USDT",
            ts=1694655226001,
            recv_ns=9,
            order_id="399123457",
            side="buy",
            order_type="post_only",
            status="partially_filled",
            price=1600.0,
            qty=0.5,
            client_id="t-7",
            filled_qty=0.3,
            avg_price=1599.5,
        ),
    ]


# (event, finish_as, filled_amount, left) -> status
SPOT_STATUS = [
    ("put", "open", "0", "0.5", "open"),
    ("update", "open", "0.3", "0.2", "partially_filled"),
    ("finish", "filled", "0.5", "0", "filled"),
    ("finish", "cancelled", "0", "0.5", "cancelled"),
    ("finish", "cancelled", "0.3", "0.2", "cancelled"),
    ("finish", "ioc", "0.3", "0.2", "cancelled"),
    ("finish", "stp", "0", "0.5", "cancelled"),
    ("finish", "-", "0.5", "0", "filled"),  # unknown finish, nothing left
]


@pytest.mark.parametrize(("event", "finish_as", "filled", "left", "status"), SPOT_STATUS)
def test_spot_order_status(event: str, finish_as: str, filled: str, left: str, status: str) -> None:
    order = {**SPOT_ORDERS["result"][1], "event": event, "finish_as": finish_as}  # type: ignore[index]
    order.update(filled_amount=filled, left=left)
    (parsed,) = GateioSpot().parse_frame(spot_frame({**SPOT_ORDERS, "result": [order]}), 0)
    assert isinstance(parsed, Order)
    assert parsed.status == status


@pytest.mark.parametrize(
    ("kind", "tif", "order_type"),
    [
        ("limit", "gtc", "limit"),
        ("limit", "poc", "post_only"),
        ("limit", "ioc", "ioc"),
        ("limit", "fok", "fok"),
        ("market", "ioc", "market"),
        ("limit_repay", "gtc", "limit_repay"),
    ],
)
def test_spot_order_type(kind: str, tif: str, order_type: str) -> None:
    order = {**SPOT_ORDERS["result"][0], "type": kind, "time_in_force": tif}  # type: ignore[index]
    (parsed,) = GateioSpot().parse_frame(spot_frame({**SPOT_ORDERS, "result": [order]}), 0)
    assert isinstance(parsed, Order)
    assert parsed.order_type == order_type


# docs example (as published in the docs' balance notification) plus freeze and change_type
SPOT_BALANCES = '{"time":1605248616,"time_ms":1605248616763,"channel":"spot.balances","event":"update","result":[{"timestamp":"1605248616","timestamp_ms":"1605248616123","user":"1000001","currency":"USDT","change":"100","total":"1032951.325075926","available":"1022943.325075926","freeze":"10008","freeze_change":"0","change_type":"deposit"}]}'  # noqa: E501
# docs example, verbatim (it carries no fee_currency)
SPOT_USERTRADES = '{"time":1605176741,"time_ms":1605176741763,"channel":"spot.usertrades","event":"update","result":[{"id":5736713,"user_id":1000001,"order_id":"30784428","currency_pair":"BTC_USDT","create_time":1605176741,"create_time_ms":"1605176741123.456","side":"sell","amount":"1.00000000","role":"taker","price":"10000.00000000","fee":"0.00200000000000","point_fee":"0","gt_fee":"0","text":"apiv4","id_market":5736713}]}'  # noqa: E501


def test_spot_balances() -> None:
    assert GateioSpot().parse_frame(SPOT_BALANCES, 1) == [
        Balance(
            venue="gateio_spot",
            symbol="USDT",
            native="USDT",
            ts=1605248616123,
            recv_ns=1,
            asset="USDT",
            total=1032951.325075926,
            available=1022943.325075926,
            frozen=10008.0,
            change=100.0,
            reason="deposit",
        )
    ]


def test_spot_usertrades() -> None:
    fills = GateioSpot().parse_frame(SPOT_USERTRADES, 2)
    assert fills == [
        Fill(
            venue="gateio_spot",
            symbol="BTC/USDT",
            native="BTC_USDT",
            ts=1605176741123,
            recv_ns=2,
            order_id="30784428",
            trade_id="5736713",
            side="sell",
            price=10000.0,
            qty=1.0,
            fee=0.002,
            fee_asset="",
            maker=False,
        )
    ]
    maker = orjson.loads(SPOT_USERTRADES)  # docs fields: with fee_currency, as a maker
    maker["result"][0].update(role="maker", fee_currency="BTC")
    (fill,) = GateioSpot().parse_frame(orjson.dumps(maker), 2)
    assert isinstance(fill, Fill)
    assert (fill.maker, fill.fee_asset) == (True, "BTC")


# -- futures account frames ----------------------------------------------------------------

# docs examples, verbatim (BTC-settled: contract BTC_USD)
FUT_ORDERS = '{"channel":"futures.orders","event":"update","time":1541505434,"time_ms":1541505434123,"result":[{"contract":"BTC_USD","create_time":1628736847,"create_time_ms":1628736847325,"fill_price":40000.4,"finish_as":"filled","finish_time":1628736848,"finish_time_ms":1628736848321,"iceberg":0,"id":4872460,"is_close":false,"is_liq":false,"is_reduce_only":false,"left":0,"mkfr":-0.00025,"price":40000.4,"refr":0,"refu":0,"size":1,"status":"finished","text":"-","tif":"gtc","tkfr":0.0005,"user":"110xxxxx","update_id":1,"update_time":1541505434123,"stop_loss_price":"","stop_profit_price":""}]}'  # noqa: E501
FUT_USERTRADES = '{"time":1543205083,"time_ms":1543205083123,"channel":"futures.usertrades","event":"update","result":[{"id":"3335259","create_time":1628736848,"create_time_ms":1628736848321,"contract":"BTC_USD","order_id":"4872460","size":1,"price":"40000.4","role":"maker","text":"api","fee":0.0009290592,"point_fee":0}]}'  # noqa: E501
FUT_POSITIONS = '{"time":1588212926,"time_ms":1588212926123,"channel":"futures.positions","event":"update","result":[{"contract":"BTC_USD","cross_leverage_limit":0,"entry_price":40000.36666661111,"history_pnl":-0.000108569505,"history_point":0,"last_close_pnl":-0.000050123368,"leverage":0,"leverage_max":100,"liq_price":0.1,"maintenance_rate":0.005,"margin":49.999890611186,"mode":"single","realised_pnl":-1.25e-8,"realised_point":0,"risk_limit":100,"size":3,"time":1628736848,"time_ms":1628736848321,"user":"110xxxxx","update_id":170919}]}'  # noqa: E501
FUT_BALANCES = '{"channel":"futures.balances","event":"update","time":1541505434,"time_ms":1541505434123,"result":[{"balance":9.998739899488,"change":-0.000002074115,"text":"BTC_USD:3914424","time":1547199246,"time_ms":1547199246123,"type":"fee","user":"211xxx","currency":"btc"}]}'  # noqa: E501
# docs fields, USDT-settled with decimal sizes (X-Gate-Size-Decimal): an open post-only sell,
# partly filled, and a market (price 0, ioc) buy that filled
FUT_ORDERS_DECIMAL = '{"channel":"futures.orders","event":"update","time":1766000000,"time_ms":1766000000500,"result":[{"contract":"ETH_USDT","create_time_ms":1766000000100,"fill_price":"3000.5","finish_as":"","finish_time_ms":0,"id":88,"is_reduce_only":true,"left":"-1","price":"3001","size":"-2.5","status":"open","text":"t-abc","tif":"poc","update_time":1766000000400},{"contract":"ETH_USDT","create_time_ms":1766000000200,"fill_price":"3000.2","finish_as":"ioc","finish_time_ms":1766000000300,"id":89,"left":0,"price":"0","size":3,"status":"finished","text":"-","tif":"ioc","update_time":1766000000300}]}'  # noqa: E501
FUT_POSITIONS_DECIMAL = '{"time":1766000000,"time_ms":1766000000500,"channel":"futures.positions","event":"update","result":[{"contract":"ETH_USDT","entry_price":"3000.25","leverage":"10","liq_price":"3300","margin":"450.1","mode":"dual_short","realised_pnl":"-0.5","size":"-1.5","time_ms":1766000000499}]}'  # noqa: E501

BTC_FUT = GateioFutures({"settle": "btc"})
USDT_FUT = GateioFutures()

FUTURES_PRIVATE: list[tuple[GateioFutures, str, list[Event]]] = [
    (
        BTC_FUT,
        FUT_ORDERS,
        [
            Order(
                venue="gateio_futures",
                symbol="BTC/USD:BTC",
                native="BTC_USD",
                ts=1541505434123,
                order_id="4872460",
                side="buy",
                order_type="limit",
                status="filled",
                price=40000.4,
                qty=1.0,
                client_id="-",
                filled_qty=1.0,
                avg_price=40000.4,
            )
        ],
    ),
    (
        USDT_FUT,
        FUT_ORDERS_DECIMAL,
        [
            Order(
                venue="gateio_futures",
                symbol="ETH/USDT:USDT",
                native="ETH_USDT",
                ts=1766000000400,
                order_id="88",
                side="sell",
                order_type="post_only",
                status="partially_filled",
                price=3001.0,
                qty=2.5,
                client_id="t-abc",
                filled_qty=1.5,
                avg_price=3000.5,
                reduce_only=True,
            ),
            Order(
                venue="gateio_futures",
                symbol="ETH/USDT:USDT",
                native="ETH_USDT",
                ts=1766000000300,
                order_id="89",
                side="buy",
                order_type="market",
                status="filled",  # finish_as ioc, but nothing left
                price=0.0,
                qty=3.0,
                client_id="-",
                filled_qty=3.0,
                avg_price=3000.2,
            ),
        ],
    ),
    (
        BTC_FUT,
        FUT_USERTRADES,
        [
            Fill(
                venue="gateio_futures",
                symbol="BTC/USD:BTC",
                native="BTC_USD",
                ts=1628736848321,
                order_id="4872460",
                trade_id="3335259",
                side="buy",
                price=40000.4,
                qty=1.0,
                fee=0.0009290592,
                fee_asset="BTC",
                maker=True,
            )
        ],
    ),
    (
        BTC_FUT,
        FUT_POSITIONS,
        [
            Position(
                venue="gateio_futures",
                symbol="BTC/USD:BTC",
                native="BTC_USD",
                ts=1628736848321,
                size=3.0,
                entry_price=40000.36666661111,
                leverage=0.0,
                liquidation_price=0.1,
                margin=49.999890611186,
                realized_pnl=-1.25e-8,
                mode="single",
            )
        ],
    ),
    (
        USDT_FUT,
        FUT_POSITIONS_DECIMAL,
        [
            Position(
                venue="gateio_futures",
                symbol="ETH/USDT:USDT",
                native="ETH_USDT",
                ts=1766000000499,
                size=-1.5,
                entry_price=3000.25,
                leverage=10.0,
                liquidation_price=3300.0,
                margin=450.1,
                realized_pnl=-0.5,
                mode="dual_short",
            )
        ],
    ),
    (
        BTC_FUT,
        FUT_BALANCES,
        [
            Balance(
                venue="gateio_futures",
                symbol="BTC",
                native="btc",
                ts=1547199246123,
                asset="BTC",
                total=9.998739899488,
                available=9.998739899488,  # the channel carries only the balance
                change=-0.000002074115,
                reason="fee",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("venue", "frame", "expected"), FUTURES_PRIVATE, ids=lambda v: str(v)[13:40]
)
def test_futures_private_frames(venue: GateioFutures, frame: str, expected: list[Event]) -> None:
    assert venue.parse_frame(frame, 4) == [msgspec.structs.replace(e, recv_ns=4) for e in expected]


def test_futures_balance_without_currency_is_the_settle_asset() -> None:
    obj = orjson.loads(FUT_BALANCES)
    del obj["result"][0]["currency"]  # docs fields: currency is not in every field table
    (balance,) = GateioFutures({"settle": "btc"}).parse_frame(orjson.dumps(obj), 0)
    assert isinstance(balance, Balance)
    assert (balance.asset, balance.native) == ("BTC", "btc")


# -- bad private frames --------------------------------------------------------------------


def changed(frame: str | dict[str, Any], path: str, value: Any = ...) -> str:
    """docs frame with one deliberate change at a dotted path (``...`` deletes the key)."""
    obj = orjson.loads(frame) if isinstance(frame, str) else json.loads(json.dumps(frame))
    *parents, last = path.split(".")
    node = obj
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return orjson.dumps(obj).decode()


BAD_PRIVATE: list[tuple[Venue, str, str]] = [
    (
        GateioSpot(),
        changed(SPOT_ORDERS, "result", {}),
        "spot.orders: expected `array`, got `object`",
    ),
    (GateioSpot(), changed(SPOT_ORDERS, "result.0.event", "bogus"), "field '[0].event'"),
    (
        GateioSpot(),
        changed(SPOT_ORDERS, "result.1.amount", "x"),
        "spot.orders ETH_USDT: not a number: 'x'",
    ),
    (
        GateioSpot(),
        changed(SPOT_ORDERS, "result.1.update_time_ms", "soon"),
        "bad update_time_ms 'soon'",
    ),
    (GateioSpot(), changed(SPOT_ORDERS, "result.0.side"), "missing field '[0].side'"),
    (
        GateioSpot(),
        changed(SPOT_ORDERS, "result.0.currency_pair", "BTCUSDT"),
        "spot.orders: bad currency pair 'BTCUSDT'",
    ),
    (
        GateioSpot(),
        changed(SPOT_BALANCES, "result.0.currency", ""),
        "spot.balances: empty currency",
    ),
    (
        GateioSpot(),
        changed(SPOT_BALANCES, "result.0.total", None),
        "expected `float | str`, got `null`",
    ),
    (GateioSpot(), changed(SPOT_USERTRADES, "result.0.role", "both"), "field '[0].role'"),
    (GateioSpot(), changed(SPOT_USERTRADES, "result.0.price", "inf"), "not a finite number: 'inf'"),
    (
        BTC_FUT,
        changed(FUT_ORDERS, "result.0.size", 0),
        "futures.orders BTC_USD: size is 0, so the side is unknown",
    ),
    (BTC_FUT, changed(FUT_ORDERS, "result.0.status", "closed"), "field '[0].status'"),
    (BTC_FUT, changed(FUT_ORDERS, "result.0.contract", "BTC_USDT"), "not a btc-settled perpetual"),
    (BTC_FUT, changed(FUT_POSITIONS, "result.0.size", "three"), "not a number: 'three'"),
    (BTC_FUT, changed(FUT_USERTRADES, "result.0.size", -0.0), "size is 0"),
    (
        BTC_FUT,
        changed(FUT_BALANCES, "result.0.balance", None),
        "expected `float | str`, got `null`",
    ),
    (USDT_FUT, FUT_BALANCES.replace('"futures.', '"spot.'), "unknown channel 'spot.balances'"),
]


@pytest.mark.parametrize(("venue", "frame", "message"), BAD_PRIVATE, ids=lambda v: str(v)[:40])
def test_bad_private_frames(venue: Venue, frame: str, message: str) -> None:
    with pytest.raises(FrameError) as info:
        venue.parse_frame(frame, 0)
    assert message in str(info.value)


# -- fuzz: nothing but FrameError escapes ----------------------------------------------------

PRIVATE_SAMPLES = [
    spot_frame(SPOT_ORDERS),
    SPOT_BALANCES,
    SPOT_USERTRADES,
    AUTH_FAIL,
    FUT_ORDERS,
    FUT_ORDERS_DECIMAL,
    FUT_USERTRADES,
    FUT_POSITIONS,
    FUT_POSITIONS_DECIMAL,
    FUT_BALANCES,
]
FUZZ_VENUES: list[Venue] = [
    GateioSpot(credentials=CREDS),
    GateioFutures({"user_id": USER}, credentials=CREDS),
    GateioFutures({"settle": "btc"}),
]


def _leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from(["", "0", "-0", "1e400", "nan", "BTC_USD", "finish", "!all", KEY]),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )


@st.composite
def private_frames(draw: st.DrawFn) -> str | bytes:
    text = draw(st.sampled_from(PRIVATE_SAMPLES))
    if draw(st.booleans()):  # cut, insert or overwrite raw bytes
        data = text.encode()
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 16)))
        return data[:start] + draw(st.binary(max_size=8)) + data[end:]
    obj = orjson.loads(text)
    path = draw(st.sampled_from(_paths(obj)))
    return json.dumps(_replaced(obj, path, draw(_leaf())))


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(frame=private_frames(), which=st.integers(0, len(FUZZ_VENUES) - 1))
def test_fuzz_private_only_frame_errors(frame: str | bytes, which: int) -> None:
    try:
        events = FUZZ_VENUES[which].parse_frame(frame, 1)
    except FrameError as exc:
        assert str(exc)
        assert SECRET not in str(exc)
        return
    for event in events:
        encoded = msgspec.msgpack.encode(event)  # what parses must also be publishable
        if isinstance(event, SubscriptionError):  # and a venue error never carries a credential
            assert SECRET.encode() not in encoded and KEY.encode() not in encoded
