"""The fast paths change no output: the same events and the same errors, frame for frame.

Gate.io spot and futures and MEXC futures first try their hot channels in one typed decode
(``fast_push``) and hand anything doubtful to the exact two-pass path; the number helpers read
JSON numbers natively where that provably equals float() (on MEXC spot: the decimal regex and
float()).  These tests run frames both ways, the fast path switched off by patching it to
refuse, and compare events by ``repr`` and msgpack bytes (so -0.0 against 0.0 and 1 against
1.0 count) and errors by message.  Frames: the recordings, every field of a sample of them
set to awkward values, and hypothesis mutations.  The last tests check that the fast path is
really taken for ordinary frames, so a slip that sends everything the slow way shows.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.venues import FrameError, Venue
from actors.venues.gateio import spot
from actors.venues.gateio.common import fast_ms, fast_number, ms_text, to_float
from actors.venues.gateio.futures import GateioFutures
from actors.venues.gateio.spot import GateioSpot
from actors.venues.mexc import spot as mexc_spot
from actors.venues.mexc._pb.PushDataV3ApiWrapper_pb2 import PushDataV3ApiWrapper
from actors.venues.mexc.futures import MexcFutures
from actors.venues.mexc.spot import MexcSpot
from tests.conftest import FRAMES, read_cryptofeed_ws
from tests.mutate import paths as _paths
from tests.mutate import replaced as _replaced

RECV = 1_760_000_000_000_000_000

# Awkward values for any field: numbers float() takes and JSON does not (padding, "+",
# "_", non-ASCII digits, "inf"), negative zeros, overflow, wrong types.
AWKWARD: list[Any] = [
    "", "0", "-0", "-0.0", "-0e0", "00", "01.5", "+1", " 1", "1 ", "1_0", ".5", "5.", "1e5",
    "1E+5", "1e-400", "1e400", "-1", "-1.5", "inf", "-inf", "nan", "Infinity", "\u0661",
    "\uff11", "abc", "1,5", "1.2.3", "12345678901234567890123", "1606292218213.4578",
    "1606292218213", "1" * 19, "9" * 400, "BTC_USDT", "update",
    0, 1, -1, -0.0, 1.5, 1e308, 2**63, 2**64, None, True, [], {}, ["1", "2"], [1.5, 2],
]  # fmt: skip
# Envelope keys a frame may lack: each is added with every awkward value too.
ENVELOPE_KEYS = ["channel", "event", "error", "result", "time", "time_ms", "data", "symbol", "ts"]
ENVELOPE_KEYS += ["code"]
# Unquoted JSON numbers json.dumps cannot write, put in place of a number token.
NUMBER_TOKENS = ["-0", "-0.0", "1E2", "1e400", "-1e-400", "0.0", " 5", "-1"]


# -- running frames both ways ------------------------------------------------------------------


def _refuse(*_: Any) -> Any:
    raise ValueError("fast path switched off")


@contextlib.contextmanager
def exact_path_only() -> Iterator[None]:
    with (
        mock.patch.object(spot, "fast_push", _refuse),
        mock.patch.object(GateioFutures, "_fast_push", _refuse),
        mock.patch.object(MexcFutures, "_fast_push", _refuse),
    ):
        yield


def outcome(venue: Venue, frame: str | bytes) -> tuple[Any, ...]:
    try:
        events = venue.parse_frame(frame, RECV)
    except FrameError as exc:
        return ("error", str(exc))
    return ("events", repr(events), msgspec.msgpack.encode(events))


def assert_same(venue: Venue, frames: list[str | bytes]) -> None:
    fast = [outcome(venue, frame) for frame in frames]
    with exact_path_only():
        exact = [outcome(venue, frame) for frame in frames]
    for frame, got, want in zip(frames, fast, exact, strict=True):
        assert got == want, frame


# -- frames -------------------------------------------------------------------------------------


def _recorded(ws_file: str, prefix: str) -> list[str]:
    received, _ = read_cryptofeed_ws(FRAMES / "gateio" / ws_file)
    lines = (FRAMES / "crypto_crawler" / "gateio_frames.jsonl").read_text().splitlines()
    crawler = [line for line in lines if f'"{prefix}' in line]
    return [text for _, text in received] + crawler


# Shapes the recordings lack, as the docs show them: obu, decimal sizes, empty book ticker
# sides, today's array of deals.
DOCS_SPOT = [
    '{"channel":"spot.obu","result":{"t":1747054612673,"full":true,"s":"ob.BTC_USDT.50",'
    '"u":73777715168,"b":[["104027.1","509392"],["104027","0"]],"a":[["104027.2","44617"]]},'
    '"time_ms":1747054612848}',
    '{"channel":"spot.obu","result":{"t":1747054612695,"s":"ob.BTC_USDT.50","U":73777715169,'
    '"u":73777715212,"b":[["104024.5","10343"]],"a":[["104027.2","0"]]},"time_ms":1747054612925}',
    '{"time":1760000000,"time_ms":1760000000020,"channel":"spot.book_ticker","event":"update",'
    '"result":{"t":1760000000020,"u":829154670,"s":"BTC_USDT","b":"","B":"0","a":"65000.1",'
    '"A":"0.001291"}}',
    '{"time":1760000000,"time_ms":1760000000020,"channel":"spot.trades","event":"update",'
    '"result":{"id":922379619,"create_time":1760000000,"create_time_ms":"1760000000020.181",'
    '"side":"buy","currency_pair":"BTC_USDT","amount":"0.002503","price":"65000.1"}}',
]
DOCS_FUTURES = [
    '{"time":1765000000,"time_ms":1765000000123,"channel":"futures.book_ticker","event":'
    '"update","result":{"t":1765000000120,"u":42,"s":"ETH_USDT","b":"","B":"0","a":"3000.5",'
    '"A":"12.5"}}',
    '{"time":1765000000,"time_ms":1765000000123,"channel":"futures.trades","event":"update",'
    '"result":[{"size":"-0.25","id":7,"create_time":1765000000,"create_time_ms":1765000000100,'
    '"price":"3000.4","contract":"ETH_USDT"},{"size":"1.5","id":8,"create_time":1765000000,'
    '"price":"3000.5","contract":"ETH_USDT","is_internal":true}]}',
    '{"time":1765000000,"time_ms":1765000000123,"channel":"futures.order_book_update","event":'
    '"update","result":{"t":1765000000110,"full":true,"s":"ETH_USDT","U":100,"u":105,'
    '"b":[{"p":"3000.1","s":"2.75"}],"a":[{"p":"3000.5","s":0}],"l":"100"}}',
    '{"channel":"futures.obu","result":{"t":1743673027017,"s":"ob.BTC_USDT.400","U":79072179674,'
    '"u":79072179694,"b":[["83702.2","62"],["83702.1","0"]]},"time_ms":1743673027020}',
]
DOCS_MEXC_FUTURES = [
    '{"channel":"push.deal","data":[{"p":3499.98,"v":4,"T":2,"O":3,"M":2,"t":1760000000020,'
    '"i":"580092649"}],"symbol":"ETH_USDT","ts":1760000000020}',
    '{"channel":"push.depth","data":{"asks":[],"bids":[[3498.77,0,0],[3498.5,12,3]],'
    '"version":313408385},"symbol":"ETH_USDT","ts":1760000000010}',
]
GATE_SPOT = [*_recorded("cryptofeed_GATEIO.ws.1.0", "spot."), *DOCS_SPOT]
GATE_FUTURES = [*_recorded("cryptofeed_GATEIO_FUTURES.ws.1.0", "futures."), *DOCS_FUTURES]
MEXC_FUTURES = [
    *(
        line
        for line in (FRAMES / "crypto_crawler" / "mexc_frames.jsonl").read_text().splitlines()
        if '"push.' in line
    ),
    *DOCS_MEXC_FUTURES,
]

VENUES = {
    "spot": (GateioSpot(), GATE_SPOT),
    "futures": (GateioFutures(), GATE_FUTURES),
    "futures btc": (GateioFutures({"settle": "btc"}), GATE_FUTURES),
    "mexc futures": (MexcFutures(), MEXC_FUTURES),
}


def _shortened(obj: Any) -> Any:
    """The same frame with every list cut to its first 3 items (fewer fields to vary)."""
    if isinstance(obj, dict):
        return {key: _shortened(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_shortened(value) for value in obj[:3]]
    return obj


def _one_per_channel(frames: list[str], per_channel: int) -> list[str]:
    """A few distinct frames of every (channel, event) in the recordings, lists shortened."""
    chosen: dict[tuple[Any, Any], list[str]] = {}
    for text in frames:
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        short = json.dumps(_shortened(obj), separators=(",", ":"))
        group = chosen.setdefault((obj.get("channel"), obj.get("event")), [])
        if len(group) < per_channel and short not in group:
            group.append(short)
    return [text for group in chosen.values() for text in group]


def awkward_variants(frames: list[str]) -> list[str | bytes]:
    """Every field of a few frames per channel set to every awkward value, plus text-level
    edits: unquoted number tokens, escapes, duplicate and reordered keys, bytes frames."""
    rng = random.Random(7)
    out: list[str | bytes] = []
    for text in _one_per_channel(frames, 2):
        obj = json.loads(text)
        for path in _paths(obj):
            out += [json.dumps(_replaced(obj, path, value)) for value in AWKWARD]
        for key in ENVELOPE_KEYS:
            if key not in obj:
                out += [json.dumps({**obj, key: value}) for value in AWKWARD]
        for token in re.finditer(r"(?<=[:\[,])-?[0-9][0-9.eE+-]*", text):
            out += [text[: token.start()] + n + text[token.end() :] for n in NUMBER_TOKENS]
        for quoted in re.finditer(r'(?<=")[0-9.]+(?=")', text):
            for escaped in ("\\u002d0", "-\\u0030", "\\u0031"):
                out.append(text[: quoted.start()] + escaped + text[quoted.end() :])
        if isinstance(obj, dict):
            keys = list(obj)
            rng.shuffle(keys)
            out.append(json.dumps({key: obj[key] for key in keys}))
            for key in obj:
                first = json.dumps({key: "spot.trades" if key == "channel" else None})[1:-1]
                out.append("{" + first + "," + text[1:])
                out.append(text[:-1] + "," + json.dumps({key: obj[key]})[1:-1] + "}")
        out += [text.encode(), text.replace('"', '"\\u0073', 1), text.encode() + b"\xff"]
    return out


# -- the paths agree ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VENUES))
def test_recorded_frames_parse_alike_both_ways(name: str) -> None:
    venue, frames = VENUES[name]
    assert_same(venue, frames)


@pytest.mark.parametrize("name", sorted(VENUES))
def test_awkward_fields_parse_alike_both_ways(name: str) -> None:
    venue, frames = VENUES[name]
    variants = awkward_variants(frames)
    assert len(variants) > 1000
    assert_same(venue, variants)


def _mutations(samples: list[str]) -> st.SearchStrategy[str | bytes]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.text(alphabet="0123456789-+.eE _", max_size=8),
        st.sampled_from([v for v in AWKWARD if isinstance(v, str)]),
    )

    @st.composite
    def frames(draw: st.DrawFn) -> str | bytes:
        text = draw(st.sampled_from(samples))
        if draw(st.booleans()):
            data = text.encode()
            start = draw(st.integers(0, len(data)))
            end = draw(st.integers(start, min(len(data), start + 8)))
            return data[:start] + draw(st.binary(max_size=6)) + data[end:]
        obj = json.loads(text)
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(obj)
            if paths:
                obj = _replaced(obj, draw(st.sampled_from(paths)), draw(leaves))
        return json.dumps(obj)

    return frames()


FUZZ = {name: _one_per_channel(frames, 3) for name, (_, frames) in VENUES.items()}


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=st.data(), name=st.sampled_from(sorted(VENUES)))
def test_fuzz_frames_parse_alike_both_ways(data: st.DataObject, name: str) -> None:
    venue, _ = VENUES[name]
    frame = data.draw(_mutations(FUZZ[name]))
    fast = outcome(venue, frame)
    with exact_path_only():
        assert fast == outcome(venue, frame)


# -- MEXC spot: _num against the regex it replaced ----------------------------------------------

_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _regex_num(text: str, field: str) -> float:
    """``_num`` as it was: the regex, float(), and no infinity."""
    if not _DECIMAL.fullmatch(text):
        raise FrameError(f"{field}: not a decimal number: {text[:40]!r}")
    value = float(text)
    if math.isinf(value):
        raise FrameError(f"{field}: number out of range: {text[:40]!r}")
    return value


def _same_result(fn: Callable[[], Any], reference: Callable[[], Any]) -> None:
    try:
        want = ("ok", repr(reference()))
    except ValueError as exc:
        want = ("error", f"{type(exc).__name__}: {exc}")
    try:
        got = ("ok", repr(fn()))
    except ValueError as exc:
        got = ("error", f"{type(exc).__name__}: {exc}")
    assert got == want


NUMBER_TEXT = st.one_of(
    st.sampled_from([v for v in AWKWARD if isinstance(v, str)]),
    st.text(alphabet="0123456789-+.eE _\t\n", max_size=12),
    st.floats().map(repr),
    st.floats().map(lambda x: f"{x:.20g}"),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.text(max_size=6),
)


@settings(max_examples=1000, deadline=None, database=None)
@given(text=NUMBER_TEXT)
def test_mexc_spot_num_is_the_regex_num(text: str) -> None:
    _same_result(lambda: mexc_spot._num(text, "f"), lambda: _regex_num(text, "f"))


def _pb_frames() -> list[bytes]:
    folder = FRAMES / "mexc_spot_pb"
    return [path.read_bytes() for path in sorted(folder.glob("*.bin"))]


def _string_fields(message: Any) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = []
    for field, value in message.ListFields():
        if field.type == field.TYPE_STRING and not field.is_repeated:
            out.append((message, field.name))
        elif field.type == field.TYPE_MESSAGE:
            for sub in value if field.is_repeated else [value]:
                out += _string_fields(sub)
    return out


def test_mexc_spot_pushes_parse_alike_with_the_regex_num() -> None:
    """Every string field of every recorded push, set to every awkward text."""
    frames = _pb_frames()
    texts = [v for v in AWKWARD if isinstance(v, str)]
    for frame in list(frames):
        for index in range(len(_string_fields(PushDataV3ApiWrapper.FromString(frame)))):
            for text in texts:
                wrapper = PushDataV3ApiWrapper.FromString(frame)
                message, name = _string_fields(wrapper)[index]
                setattr(message, name, text)
                frames.append(wrapper.SerializeToString())
    venue = MexcSpot()
    fast = [outcome(venue, frame) for frame in frames]
    with mock.patch.object(mexc_spot, "_num", _regex_num):
        exact = [outcome(venue, frame) for frame in frames]
    assert fast == exact


# -- the number helpers ---------------------------------------------------------------------------


@settings(max_examples=1000, deadline=None, database=None)
@given(text=NUMBER_TEXT)
def test_to_float_is_float(text: str) -> None:
    _same_result(lambda: to_float(text), lambda: float(text))


@settings(max_examples=500, deadline=None, database=None)
@given(text=NUMBER_TEXT)
def test_fast_number_is_float_or_refuses(text: str) -> None:
    try:
        value = fast_number(text)
    except ValueError:
        return
    assert repr(value) == repr(float(text))
    assert math.isfinite(value)


@settings(max_examples=500, deadline=None, database=None)
@given(
    text=st.one_of(
        NUMBER_TEXT,
        st.builds(lambda ms, frac: f"{ms}.{frac}", st.integers(0, 10**19), st.integers(0, 10**6)),
    )
)
def test_fast_ms_is_ms_text_or_refuses(text: str) -> None:
    try:
        value = fast_ms(text)
    except ValueError:
        return
    assert value == ms_text(text, "", "")


# -- the fast path is taken ----------------------------------------------------------------------

HOT = {
    "spot": ("spot.book_ticker", "spot.trades", "spot.order_book_update", "spot.obu"),
    "futures": (
        "futures.book_ticker",
        "futures.trades",
        "futures.order_book_update",
        "futures.obu",
    ),
    "mexc futures": ("push.deal", "push.depth", "push.ticker"),
}


@pytest.mark.parametrize("name", sorted(HOT))
def test_ordinary_hot_frames_take_the_fast_path(name: str) -> None:
    venue, frames = VENUES[name]
    updates = [(f, json.loads(f)) for f in frames]
    hot = [
        f
        for f, obj in updates
        if isinstance(obj, dict)
        and obj.get("channel") in HOT[name]
        and obj.get("event") in (None, "", "update")
    ]
    taken = 0
    with exact_path_only():
        exact = [outcome(venue, frame) for frame in hot]
    for frame, want in zip(hot, exact, strict=True):
        if want[0] != "events" or '"deals"' in frame:
            continue  # errors, and MEXC's obsolete spot-v2 shape, are the exact path's
        if isinstance(venue, GateioSpot):
            events = spot.fast_push(frame, RECV)
        else:
            events = venue._fast_push(frame, RECV)  # type: ignore[attr-defined]
        assert repr(events) == want[1]
        taken += 1
    assert taken >= 5
