"""MEXC futures (contract) v1 wire payloads as msgspec Structs.  [pure]

The venue's own keys, a trailing comment saying what each means, only the fields we use,
decoders built once.  Sources: ``shared/protocols/protocols.md`` section 2 and the captured
frames in ``shared/frames/crypto_crawler/mexc_frames.jsonl``.

MEXC sends prices and quantities as JSON numbers; ``Num`` also takes a decimal string so a
venue-side switch to strings (as on other MEXC APIs) is not a parse failure.  Quantities
(``v``, ``vol``, ``holdVol``, depth levels, ``volume24``) are **contracts**.
"""

from __future__ import annotations

import sys
from typing import Annotated

import msgspec
from msgspec import Struct

Num = float | str
"""A number as sent (JSON int or float), or a decimal string."""
Version = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""A depth version or id: the venue's long (int64)."""
Time = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""Milliseconds since the epoch."""
Ms = Time | str
"""Milliseconds as an int or, in the docs' examples of acks, a string of digits."""
Code = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Id = int | str
"""An id the venue sends as a long or as a string (``orderId`` "102067003631907840")."""
Price = Annotated[float, msgspec.Meta(gt=0.0, le=sys.float_info.max)]
Qty = Annotated[float, msgspec.Meta(ge=0.0, le=sys.float_info.max)]


class Envelope(Struct):
    """Every server frame: ``{"channel": ..., "data": ..., "symbol": ..., "ts": ...}``."""

    channel: str = ""  # push.<x> | rs.<method> | rs.error | pong
    data: msgspec.Raw = msgspec.Raw()  # decoded per channel
    symbol: str = ""  # the contract, on public pushes only
    ts: Ms = 0  # ms; absent on some acks
    code: Code = 0  # an error code some rs.error frames carry


# -- public pushes ----------------------------------------------------------------------------


class Deal(Struct):
    """One ``push.deal`` trade (``data`` is an array of these now, one object in 2022)."""

    p: Num  # price
    v: Num  # volume, contracts
    T: int  # taker side: 1 buy, 2 sell
    t: Time  # trade time, ms
    i: Id = ""  # trade id (newer pushes only)
    O: int = 0  # noqa: E741 # 1 open, 2 close, 3 position unchanged (not published)
    M: int = 0  # 1 self-trade (auto-transact), 2 not (not published)


class Depth(Struct):
    """``push.depth`` (one version, or ``begin..end`` when merged) and ``push.depth.full``."""

    version: Version  # the book version after this push
    asks: list[list[Num]] = []  # [price, volume (contracts, absolute; 0 deletes), orderCount]
    bids: list[list[Num]] = []
    begin: Version | None = None  # first version a merged (compress=true) push covers
    end: Version | None = None  # last version it covers


class TickerData(Struct):
    """``push.ticker``: one contract's rolling 24 h statistics, about once a second."""

    lastPrice: Num
    symbol: str = ""
    bid1: Num | None = None  # best bid price (no size is sent)
    ask1: Num | None = None  # best ask price
    high24Price: Num | None = None
    lower24Price: Num | None = None
    volume24: Num | None = None  # 24 h volume in contracts
    amount24: Num | None = None  # 24 h turnover: quote (linear) or settle coin (inverse)
    riseFallRate: Num | None = None  # 24 h change as a ratio (-0.0264 = -2.64 %)
    fairPrice: Num | None = None  # mark price
    indexPrice: Num | None = None
    fundingRate: Num | None = None
    timestamp: Time = 0  # ms


# -- the fast path: hot pushes decoded in one pass ----------------------------------------------


class Push(Struct, tag_field="channel", kw_only=True):
    """A whole push, tagged on ``channel``, numbers as JSON numbers only: the fast path for
    the hot channels.  ``Envelope`` and the data decoders stay the exact path, which every
    other frame takes (a decimal string or a 2-element level fails this decode and goes
    there)."""

    symbol: str = ""
    ts: Time = 0
    code: Code = 0


class FastDeal(Struct):
    """``Deal`` with its numbers read and checked by the decoder."""

    p: Price
    v: Qty
    T: int
    t: Time
    i: Id = ""
    O: int = 0  # noqa: E741
    M: int = 0


class FastDepth(Struct):
    """``Depth`` with ``[price, volume, orderCount]`` rows read and checked by the decoder."""

    version: Version
    asks: list[tuple[Price, Qty, Qty]] = []
    bids: list[tuple[Price, Qty, Qty]] = []
    begin: Version | None = None
    end: Version | None = None


class FastTicker(Struct):
    """``TickerData`` with JSON numbers only (so finite); the best prices are >= 0."""

    lastPrice: float
    symbol: str = ""
    bid1: Qty | None = None
    ask1: Qty | None = None
    high24Price: float | None = None
    lower24Price: float | None = None
    volume24: float | None = None
    amount24: float | None = None
    riseFallRate: float | None = None
    fairPrice: float | None = None
    indexPrice: float | None = None
    fundingRate: float | None = None
    timestamp: Time = 0


class DealPush(Push, tag="push.deal"):
    data: list[FastDeal] | FastDeal


class DepthPush(Push, tag="push.depth"):
    data: FastDepth


class TickerPush(Push, tag="push.ticker"):
    data: FastTicker


# -- private pushes ---------------------------------------------------------------------------


class PersonalOrder(Struct):
    """``push.personal.order``."""

    orderId: Id
    symbol: str
    side: int  # 1 open long, 2 close short, 3 open short, 4 close long
    price: Num = 0  # order price (0 on market orders)
    vol: Num = 0  # order volume, contracts
    dealVol: Num = 0  # filled volume
    dealAvgPrice: Num = 0
    orderType: int = 0  # 1 limit, 2 post only, 3 IOC, 4 FOK, 5 market
    state: int = 0  # 1 uninformed, 2 uncompleted, 3 completed, 4 cancelled, 5 invalid
    externalOid: str = ""  # our client order id
    createTime: Time = 0  # ms
    updateTime: Time = 0  # ms


class PersonalDeal(Struct):
    """``push.personal.order.deal``: one of our fills."""

    id: Id  # trade id
    orderId: Id
    symbol: str
    side: int  # as on orders
    vol: Num  # contracts
    price: Num
    fee: Num = 0
    feeCurrency: str = ""
    isTaker: bool = True
    timestamp: Time = 0  # ms


class PersonalPosition(Struct):
    """``push.personal.position``: one position (hedge mode holds a long and a short)."""

    symbol: str
    holdVol: Num  # contracts held (unsigned)
    positionType: int  # 1 long, 2 short
    openType: int = 0  # 1 isolated, 2 cross
    holdAvgPrice: Num | None = None  # average price of what is held
    openAvgPrice: Num | None = None  # average opening price
    liquidatePrice: Num = 0
    im: Num = 0  # initial margin
    realised: Num = 0  # realised PnL
    leverage: Num = 0
    state: int = 0  # 1 holding, 2 system holding, 3 closed
    updateTime: Time = 0  # ms


class PersonalAsset(Struct):
    """``push.personal.asset``: the futures account in one currency."""

    currency: str
    availableBalance: Num
    frozenBalance: Num = 0  # frozen for open orders
    positionMargin: Num = 0  # margin held by positions
    cashBalance: Num | None = None  # "drawable" (withdrawable) balance, per the docs


# -- REST -------------------------------------------------------------------------------------


class RestEnvelope(Struct):
    """``{"success": true, "code": 0, "data": ...}`` or ``{"success": false, "code": ...,
    "message": ...}``."""

    success: bool | None = None  # None: not a contract API body at all
    code: Code = 0
    message: str = ""
    data: msgspec.Raw = msgspec.Raw()


class RestDepth(Struct):
    """``GET /api/v1/contract/depth/{symbol}`` data."""

    version: Version  # the book version
    asks: list[list[Num]] = []  # [price, volume (contracts), orderCount], best first
    bids: list[list[Num]] = []
    timestamp: Time = 0  # ms


class Contract(Struct):
    """One element of ``GET /api/v1/contract/detail``."""

    symbol: str  # BTC_USDT
    contractSize: Num  # linear: base units per contract; inverse: face value in quote
    baseCoin: str = ""
    quoteCoin: str = ""
    settleCoin: str = ""


# -- decoders, built once ---------------------------------------------------------------------

ENVELOPE = msgspec.json.Decoder(Envelope)
ANY = msgspec.json.Decoder()
DEALS = msgspec.json.Decoder(list[Deal] | Deal)
DEPTH = msgspec.json.Decoder(Depth)
TICKER = msgspec.json.Decoder(TickerData)
ORDER = msgspec.json.Decoder(PersonalOrder)
DEAL = msgspec.json.Decoder(PersonalDeal)
POSITION = msgspec.json.Decoder(PersonalPosition)
ASSET = msgspec.json.Decoder(PersonalAsset)
REST = msgspec.json.Decoder(RestEnvelope)
REST_DEPTH = msgspec.json.Decoder(RestDepth)
CONTRACTS = msgspec.json.Decoder(list[Contract] | Contract)
PUSH = msgspec.json.Decoder(DealPush | DepthPush | TickerPush)
