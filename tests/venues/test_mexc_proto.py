"""Our MEXC .proto files against the official field table, and the recorded binary frames.

* The schema check reads ``shared/protocols/mexc-proto-fields.md`` (the field table of
  mexcdevelop/websocket-proto@7b8ac7a6) and compares every row with the descriptors compiled
  from ``proto/mexc/*.proto``: name, number, type, repeated/optional, and the wire key bytes
  of each ``oneof body`` member.
* The frame check decodes every ``.bin`` in ``shared/frames/mexc_spot_pb`` and compares each
  field with the decoded summary in ``shared/frames/PROVENANCE.md``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.unknown_fields import UnknownFieldSet

from actors.venues.mexc._pb import (
    PrivateAccountV3Api_pb2,
    PrivateDealsV3Api_pb2,
    PrivateOrdersV3Api_pb2,
    PublicAggreDepthsV3Api_pb2,
)
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper
from tests.conftest import SHARED

FIELDS_MD = SHARED / "protocols" / "mexc-proto-fields.md"
PROTO_DIR = Path(__file__).resolve().parents[2] / "proto" / "mexc"

_TYPE_NAMES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_BOOL: "bool",
}


# -- the field table, parsed from the markdown ----------------------------------------------

Row = tuple[str, int, str, str, str]  # message, number, field, type, label ("", repeated, optional)


def _table_rows() -> list[Row]:
    """Every field the reference names: table rows and inline ``N `field` type`` lists."""
    if not FIELDS_MD.is_file():
        pytest.fail(f"field table missing: {FIELDS_MD}")
    rows: list[Row] = []
    message = ""
    for para in FIELDS_MD.read_text().split("\n\n"):
        heading = re.match(r"#+ (?:`oneof body`|(\w+))", para)
        if heading:
            message = heading[1] or "PushDataV3ApiWrapper"
            if message.startswith("Fields"):  # the "added by commit" section: a diff, not a schema
                message = ""
            continue
        inline = re.match(r"`(\w+)`:(.*)", para, re.DOTALL)
        if inline:
            message = inline[1]
            for num, field, typ in re.findall(r"(\d+) `(\w+)` (\w+)", inline[2]):
                rows.append((message, int(num), field, typ, ""))
            if inline[2].strip():
                message = ""  # inline list done; a table would follow a bare "`Name`:" only
            continue
        if not message:
            continue
        for line in para.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3 or not cells[0].isdigit():
                continue
            label = cells[3].strip("`") if len(cells) > 3 else ""
            label = label if label in ("repeated", "optional") else ""
            rows.append((message, int(cells[0]), cells[1].strip("`"), cells[2].strip("`"), label))
    return rows


ROWS = _table_rows()
POOL = descriptor_pool.Default()


def _type_name(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return field.message_type.full_name
    return _TYPE_NAMES[field.type]


def test_table_parsed_completely() -> None:
    messages = {r[0] for r in ROWS}
    # 16 files: the wrapper plus 15 bodies, and 5 item messages inside them.
    assert len(messages) == 21, sorted(messages)
    assert len(ROWS) == 137


@pytest.mark.parametrize(("message", "number", "name", "typ", "label"), ROWS)
def test_field_matches_reference(message: str, number: int, name: str, typ: str, label: str):
    desc: Descriptor = POOL.FindMessageTypeByName(message)
    field = desc.fields_by_number.get(number)
    assert field is not None, f"{message} lacks field {number} {name}"
    assert field.name == name
    assert _type_name(field) == typ
    assert field.is_repeated == (label == "repeated")
    if field.type != FieldDescriptor.TYPE_MESSAGE and label != "repeated":
        # proto3: only `optional` scalars track presence.
        assert field.has_presence == (label == "optional"), f"{message}.{name}"


def test_no_field_beyond_reference() -> None:
    reference: dict[str, set[int]] = {}
    for message, number, *_ in ROWS:
        reference.setdefault(message, set()).add(number)
    for message, numbers in reference.items():
        ours = set(POOL.FindMessageTypeByName(message).fields_by_number)
        assert ours == numbers, message


def test_wrapper_oneof_and_wire_keys() -> None:
    desc = PushDataV3ApiWrapper.DESCRIPTOR
    assert 2 not in desc.fields_by_number  # unused upstream
    body = desc.oneofs_by_name["body"]
    assert sorted(f.number for f in body.fields) == list(range(301, 316))
    keys = dict(
        re.findall(r"\| (3\d\d) \| `\w+` \| `\w+` \| `([0-9A-F ]+)` \|", FIELDS_MD.read_text())
    )
    assert len(keys) == 15
    for field in body.fields:
        frame = PushDataV3ApiWrapper(**{field.name: field.message_type._concrete_class()})
        assert frame.SerializeToString() == bytes.fromhex(keys[str(field.number)]) + b"\x00"


def test_proto_files_follow_upstream_layout() -> None:
    files = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    assert len(files) == 16
    for path in PROTO_DIR.glob("*.proto"):
        text = path.read_text()
        assert 'syntax = "proto3";' in text
        assert not re.search(r"^package ", text, re.MULTILINE), path.name
        # one file per top-level body message, named after it
        assert re.search(rf"^message {path.stem} {{", text, re.MULTILINE), path.name


# -- recorded frames ------------------------------------------------------------------------

SHA256 = {
    "daxalgo_aggre_bookTicker_100ms_BTCUSDT.bin": (
        "1c4576ce9d06ee3422cc515507590111bfd56063c4dde60699f5d18a75094545"
    ),
    "daxalgo_aggre_deals_100ms_BTCUSDT.bin": (
        "6624ac4e0973a2141fc272990cbad88508992ccddf13383675a6425685ae4501"
    ),
    "daxalgo_limit_depth_BTCUSDT_5.bin": (
        "2998100797822a1f7faffa0452be10690dd0e17d20e9a915c823d247abbfce80"
    ),
    "daxalgo_kline_BTCUSDT_Min1.bin": (
        "9ebfd82d4d21ee3583dfcd5354764cd3b2d0cc94f76e26bf4d2c8be7aa0618bb"
    ),
    "osslabz_kline_BTCUSDT_Min1.bin": (
        "f9983fd1cb257e49ff9ba49b40ffdd867582ff4f4a537295ab5aeda36f8422bf"
    ),
}

# Decoded summaries from PROVENANCE.md, field by field (the limit-depth rows and the deal
# quantities/times come from the frame bytes, which the summary abbreviates).
EXPECTED: dict[str, dict[str, Any]] = {
    "daxalgo_aggre_bookTicker_100ms_BTCUSDT.bin": {
        "channel": "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT",
        "symbol": "BTCUSDT",
        "sendTime": 1790281243450,
        "publicAggreBookTicker": {
            "bidPrice": "84270",
            "bidQuantity": "0.006387",
            "askPrice": "84270.01",
            "askQuantity": "5.42169969",
            "version": "82164153436",
            "lastOrderCreateTime": 1790281240471,
        },
    },
    "daxalgo_aggre_deals_100ms_BTCUSDT.bin": {
        "channel": "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT",
        "symbol": "BTCUSDT",
        "sendTime": 1790281246250,
        "publicAggreDeals": {
            "deals": [
                {
                    "price": "84270",
                    "quantity": "0.00099829",
                    "tradeType": 2,
                    "time": 1790281246176,
                    "tradeId": "731901896985399296X0_731901896985399297X0",
                },
                {
                    "price": "84270",
                    "quantity": "0.00019169",
                    "tradeType": 1,
                    "time": 1790281246177,
                    "tradeId": "731901896985399298X0_731901896985399299X0",
                },
            ],
            "eventType": "spot@public.aggre.deals.v3.api.pb@100ms",
        },
    },
    "daxalgo_limit_depth_BTCUSDT_5.bin": {
        "channel": "spot@public.limit.depth.v3.api.pb@BTCUSDT@5",
        "symbol": "BTCUSDT",
        "sendTime": 1790281247251,
        "publicLimitDepths": {
            "asks": [
                {"price": "84270.01", "quantity": "5.42169969"},
                {"price": "84270.02", "quantity": "0.00117646"},
                {"price": "84270.03", "quantity": "0.00124397"},
                {"price": "84270.05", "quantity": "0.00122284"},
                {"price": "84270.26", "quantity": "0.00108947"},
            ],
            "bids": [
                {"price": "84270.00", "quantity": "0.00638700"},
                {"price": "84267.03", "quantity": "0.00234800"},
                {"price": "84264.15", "quantity": "0.04789506"},
                {"price": "84263.45", "quantity": "0.04789506"},
                {"price": "84263.40", "quantity": "2.07853100"},
            ],
            "eventType": "spot@public.limit.depth.v3.api.pb",
            "version": "82164155643",
            "lastOrderCreateTime": 1790281247239,
        },
    },
    "daxalgo_kline_BTCUSDT_Min1.bin": {
        "channel": "spot@public.kline.v3.api.pb@BTCUSDT@Min1",
        "symbol": "BTCUSDT",
        "symbolId": "2fb942154ef44a4ab2ef98c8afb6a4a7",
        "createTime": 1790281249008,
        "publicSpotKline": {
            "interval": "Min1",
            "windowStart": 1790281200,
            "openingPrice": "84300.14",
            "closingPrice": "84270",
            "highestPrice": "84300.15",
            "lowestPrice": "84270",
            "volume": "2.84044203",
            "amount": "239393.69",
            "windowEnd": 1790281260,
        },
    },
    "osslabz_kline_BTCUSDT_Min1.bin": {
        "channel": "spot@public.kline.v3.api.pb@BTCUSDT@Min1",
        "symbol": "BTCUSDT",
        "symbolId": "2fb942154ef44a4ab2ef98c8afb6a4a7",
        "createTime": 1790356766179,
        "publicSpotKline": {
            "interval": "Min1",
            "windowStart": 1790356740,
            "openingPrice": "83958.21",
            "closingPrice": "83961.21",
            "highestPrice": "83961.21",
            "lowestPrice": "83955.09",
            "volume": "0.35388633",
            "amount": "29711.41",
            "windowEnd": 1790356800,
        },
    },
}


def _as_dict(message: Any) -> dict[str, Any]:
    """Set fields only, native Python values (int64 stays int, unlike MessageToDict)."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            is_list = field.is_repeated
            out[field.name] = [_as_dict(v) for v in value] if is_list else _as_dict(value)
        else:
            out[field.name] = value
    return out


def _unknown_fields(message: Any) -> list[int]:
    found = [f.field_number for f in UnknownFieldSet(message)]
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for sub in value if field.is_repeated else [value]:
                found += _unknown_fields(sub)
    return found


def test_every_recorded_frame_is_covered(mexc_pb_frames: Path) -> None:
    assert sorted(p.name for p in mexc_pb_frames.glob("*.bin")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_frame_decodes_exactly(mexc_pb_frames: Path, name: str) -> None:
    data = (mexc_pb_frames / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256[name]  # the bytes PROVENANCE.md lists
    assert data[:1] == b"\x0a"  # field 1 (channel) first, as protocols.md §1.2 says
    wrapper = PushDataV3ApiWrapper.FromString(data)
    assert _as_dict(wrapper) == EXPECTED[name]
    assert _unknown_fields(wrapper) == []  # every field on the wire is in our schema
    assert wrapper.SerializeToString() == data  # and re-encodes byte for byte


def test_wrapper_presence_as_recorded(mexc_pb_frames: Path) -> None:
    ticker = PushDataV3ApiWrapper.FromString(
        (mexc_pb_frames / "daxalgo_aggre_bookTicker_100ms_BTCUSDT.bin").read_bytes()
    )
    kline = PushDataV3ApiWrapper.FromString(
        (mexc_pb_frames / "daxalgo_kline_BTCUSDT_Min1.bin").read_bytes()
    )
    assert ticker.HasField("sendTime") and not ticker.HasField("createTime")
    assert kline.HasField("createTime") and not kline.HasField("sendTime")


# -- bodies with no recording: built here, round-tripped through the wire format ------------


def test_private_and_depth_bodies_round_trip() -> None:
    wrappers = [
        PushDataV3ApiWrapper(
            channel="spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT",
            symbol="BTCUSDT",
            sendTime=1700000000123,
            publicAggreDepths=PublicAggreDepthsV3Api_pb2.PublicAggreDepthsV3Api(
                asks=[{"price": "50001.10", "quantity": "0.5"}],
                bids=[{"price": "50000.00", "quantity": "0"}],
                eventType="spot@public.aggre.depth.v3.api.pb@100ms",
                fromVersion="900001",
                toVersion="900004",
                lastOrderCreateTime=1700000000101,
            ),
        ),
        PushDataV3ApiWrapper(
            channel="spot@private.account.v3.api.pb",
            createTime=1700000000000,
            sendTime=1700000000001,
            privateAccount=PrivateAccountV3Api_pb2.PrivateAccountV3Api(
                vcoinName="USDT", balanceAmount="10", frozenAmount="1", type="ENTRUST", time=5
            ),
        ),
        PushDataV3ApiWrapper(
            channel="spot@private.orders.v3.api.pb",
            symbol="BTCUSDT",
            privateOrders=PrivateOrdersV3Api_pb2.PrivateOrdersV3Api(
                id="C02__1", lastDealQuantity="0", status=3, marketCurrencyId="x"
            ),
        ),
        PushDataV3ApiWrapper(
            channel="spot@private.deals.v3.api.pb",
            symbol="BTCUSDT",
            privateDeals=PrivateDealsV3Api_pb2.PrivateDealsV3Api(tradeId="1X1", isMaker=True),
        ),
    ]
    for wrapper in wrappers:
        again = PushDataV3ApiWrapper.FromString(wrapper.SerializeToString())
        assert again == wrapper
        assert again.WhichOneof("body") == wrapper.WhichOneof("body")
    # proto3 `optional`: an explicitly set empty value is still present on the wire.
    order = PushDataV3ApiWrapper.FromString(wrappers[2].SerializeToString()).privateOrders
    assert order.HasField("lastDealQuantity") and not order.HasField("triggerPrice")
