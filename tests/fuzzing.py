"""Fuzzing the pure parsers: a corpus of real frames per venue and channel, and mutations of
them.  Shared by the hypothesis tests (``tests/test_fuzz.py``) and the atheris harness
(``scripts/fuzz.py``), which differ only in where the random choices come from (``Pick``).

The corpus is the recorded captures in ``../shared/frames`` (one of each kind of frame, see
its PROVENANCE.md) plus, for channels nobody recorded (MEXC spot ``aggre.depth``) and for
books with REST snapshots that chain, the benchmark's simulated frames
(``scripts/bench/datasets.py``); every seed says which it is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import orjson

from actors.venues import FrameError, load_venue
from tests.conftest import FRAMES, read_cryptofeed_ws
from tests.mutate import at, paths, removed, replaced

ROOT = Path(__file__).resolve().parents[1]

Frame = str | bytes


@dataclass(frozen=True)
class Seed:
    venue: str
    channel: str
    source: str  # "recorded: <file>" or "simulated"
    frame: Frame


class Pick(Protocol):
    """Where the random choices come from (hypothesis, atheris, or a seeded Random)."""

    def int(self, lo: int, hi: int) -> int: ...  # inclusive

    def bytes(self, n: int) -> bytes: ...


def _datasets() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bench import datasets
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return datasets


@cache
def seeds() -> tuple[Seed, ...]:
    """A few frames of every kind (channel and event) each venue sends, recorded first."""
    out: list[Seed] = []
    for venue, name in (
        ("gateio_spot", "cryptofeed_GATEIO.ws.1.0"),
        ("gateio_futures", "cryptofeed_GATEIO_FUTURES.ws.1.0"),
    ):
        received, _ = read_cryptofeed_ws(FRAMES / "gateio" / name)
        out += _kinds(venue, f"recorded: gateio/{name}", [text for _, text in received])
    crawler = FRAMES / "crypto_crawler"
    gate_lines = (crawler / "gateio_frames.jsonl").read_text().splitlines()
    for venue, prefix in (("gateio_spot", '"spot.'), ("gateio_futures", '"futures.')):
        lines = [line for line in gate_lines if prefix in line]
        out += _kinds(venue, "recorded: crypto_crawler/gateio_frames.jsonl", lines)
    mexc_lines = (crawler / "mexc_frames.jsonl").read_text().splitlines()
    pushes = [line for line in mexc_lines if line.startswith('{"channel":"push.')]
    out += _kinds("mexc_futures", "recorded: crypto_crawler/mexc_frames.jsonl", pushes)
    for path in sorted((FRAMES / "mexc_spot_pb").glob("*.bin")):
        source = f"recorded: mexc_spot_pb/{path.name}"
        out.append(Seed("mexc_spot", path.stem, source, path.read_bytes()))
    for data in simulated_sets():
        if data["channel"] in ("aggre.depth", "depth", "order_book_update"):
            for frame in data["frames"][:3]:
                out.append(Seed(data["venue"], data["channel"], "simulated", frame))
    return tuple(seed for seed in out if _parses(seed))


def _parses(seed: Seed) -> bool:
    """Seeds the venue accepts as they are (Gate.io delivery contracts, say, it refuses)."""
    try:
        load_venue(seed.venue).parse_frame(seed.frame, 1)
    except FrameError:
        return False
    return True


def _kinds(venue: str, source: str, texts: list[str], per_kind: int = 3) -> list[Seed]:
    seen: dict[str, int] = {}
    out: list[Seed] = []
    for text in texts:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        kind = f"{obj.get('channel')} {obj.get('event')}" if isinstance(obj, dict) else "list"
        if seen.get(kind, 0) < per_kind:
            seen[kind] = seen.get(kind, 0) + 1
            out.append(Seed(venue, kind, source, text))
    return out


@cache
def simulated_sets() -> tuple[dict[str, Any], ...]:
    """The benchmark's simulated book datasets: frames and REST snapshots that chain."""
    datasets = _datasets()
    sets = datasets.gate_spot(300, 60) + datasets.gate_futures(300, 60)
    sets += datasets.mexc_spot(300, 60) + datasets.mexc_futures(300, 60)
    return tuple(d for d in sets if d["kind"] == "book")


# -- mutations ----------------------------------------------------------------------------------

HUGE = ["1e400", "-1e400", "18446744073709551616", "-9223372036854775809", "1e308", "NaN",
        "Infinity", "-0", "0.0000000000000000000001", '"1e999"', '"-5"', '"NaN"', '""']  # fmt: skip


def mutate(frame: Frame, pick: Pick) -> Frame:
    """One random mutation of ``frame`` (a str or bytes websocket frame)."""
    ops: list[Callable[[Frame, Pick], Frame]] = [bit_flips, truncate, splice, bad_utf8]
    if isinstance(frame, str) or frame[:1] == b"{":
        ops += [json_delete, json_swap, json_huge, json_nest] * 2
    else:
        ops += [pb_garbage] * 4
    return ops[pick.int(0, len(ops) - 1)](frame, pick)


def _raw(frame: Frame) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


def _like(frame: Frame, data: bytes) -> Frame:
    """``data`` as the same kind of frame: text stays text when it still is UTF-8 (a
    websocket refuses invalid text), otherwise it arrives as a binary frame."""
    if isinstance(frame, str):
        try:
            return data.decode()
        except UnicodeDecodeError:
            return data
    return data


def bit_flips(frame: Frame, pick: Pick) -> Frame:
    data = bytearray(_raw(frame))
    if not data:
        return frame
    for _ in range(pick.int(1, 8)):
        pos = pick.int(0, len(data) - 1)
        data[pos] ^= 1 << pick.int(0, 7)
    return _like(frame, bytes(data))


def truncate(frame: Frame, pick: Pick) -> Frame:
    data = _raw(frame)
    return _like(frame, data[: pick.int(0, max(len(data) - 1, 0))])


def splice(frame: Frame, pick: Pick) -> Frame:
    data = _raw(frame)
    start = pick.int(0, len(data))
    end = pick.int(start, min(len(data), start + 16))
    return _like(frame, data[:start] + pick.bytes(pick.int(0, 8)) + data[end:])


def bad_utf8(frame: Frame, pick: Pick) -> Frame:
    """Invalid UTF-8 inside: only a binary frame can carry it."""
    data = _raw(frame)
    pos = pick.int(0, len(data))
    junk = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x80"]
    return data[:pos] + junk[pick.int(0, len(junk) - 1)] + data[pos:]


def _json(frame: Frame) -> Any:
    try:
        return orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None


def _dump(frame: Frame, obj: Any, huge: str | None = None) -> Frame:
    text = json.dumps(obj, separators=(",", ":"))  # orjson stops at 64-bit integers
    if huge is not None:  # a literal JSON cannot spell (1e400, NaN): put it in as text
        text = text.replace('"\\u0000HUGE"', huge, 1)
    return text if isinstance(frame, str) else text.encode()


def _place(obj: Any, pick: Pick) -> tuple[Any, ...]:
    """A random path into ``obj`` (the root included)."""
    places = paths(obj)
    return places[pick.int(0, len(places) - 1)]


def json_delete(frame: Frame, pick: Pick) -> Frame:
    obj = _json(frame)
    keyed = [p for p in paths(obj) if p and isinstance(at(obj, p[:-1]), dict | list)]
    if not keyed:
        return truncate(frame, pick)
    return _dump(frame, removed(obj, keyed[pick.int(0, len(keyed) - 1)]))


def json_swap(frame: Frame, pick: Pick) -> Frame:
    """A value of another type in its place."""
    obj = _json(frame)
    if obj is None:
        return truncate(frame, pick)
    path = _place(obj, pick)
    old = at(obj, path)
    others: list[Any] = [None, True, 0, -1, 2.5, "", "x", "0.1", [], {}, [old], {"a": old}]
    choices = [v for v in others if type(v) is not type(old)]
    return _dump(frame, replaced(obj, path, choices[pick.int(0, len(choices) - 1)]))


def json_huge(frame: Frame, pick: Pick) -> Frame:
    obj = _json(frame)
    if obj is None:
        return truncate(frame, pick)
    path = _place(obj, pick)
    return _dump(frame, replaced(obj, path, "\0HUGE"), HUGE[pick.int(0, len(HUGE) - 1)])


def json_nest(frame: Frame, pick: Pick) -> Frame:
    """Wrong nesting: a value wrapped in a list or an object, or a list/object unwrapped."""
    obj = _json(frame)
    if obj is None:
        return truncate(frame, pick)
    path = _place(obj, pick)
    old = at(obj, path)
    match pick.int(0, 2):
        case 0:
            new: Any = [old]
        case 1:
            new = {"data": old}
        case _:
            inner = list(old.values()) if isinstance(old, dict) else old
            new = inner[0] if isinstance(inner, list) and inner else [[old]]
    return _dump(frame, replaced(obj, path, new))


# protobuf: walk the wire format and break one field of a message or of a nested one

PB_WIRE_TYPES = (0, 1, 2, 5)


def pb_fields(data: bytes) -> list[tuple[int, int, int, int]] | None:
    """(field number, wire type, start, end) of each top-level field, or None if ``data``
    is not a well-formed protobuf message."""
    out = []
    pos = 0
    try:
        while pos < len(data):
            start = pos
            tag, pos = _read_varint(data, pos)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                _, pos = _read_varint(data, pos)
            elif wire == 1:
                pos += 8
            elif wire == 2:
                length, pos = _read_varint(data, pos)
                pos += length
            elif wire == 5:
                pos += 4
            else:
                return None
            if pos > len(data) or number == 0:
                return None
            out.append((number, wire, start, pos))
    except IndexError:
        return None
    return out


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def pb_garbage(frame: Frame, pick: Pick) -> Frame:
    """Break one field of the message or of a message nested in it: a wrong wire type, a
    wrong length, random bytes for its value, a huge varint, or the field repeated."""
    data = _raw(frame)
    fields = pb_fields(data)
    if not fields:
        return bit_flips(frame, pick)
    number, wire, start, end = fields[pick.int(0, len(fields) - 1)]
    body_start = start + len(_varint(number << 3 | wire))
    if wire == 2 and pick.int(0, 1):  # go one level down, into a nested message
        _, value_start = _read_varint(data, body_start)
        inner = pb_garbage(data[value_start:end], pick)
        assert isinstance(inner, bytes)
        return data[:start] + _varint(number << 3 | 2) + _varint(len(inner)) + inner + data[end:]
    field = data[start:end]
    match pick.int(0, 4):
        case 0:
            other = [w for w in PB_WIRE_TYPES if w != wire][pick.int(0, 2)]
            field = _varint(number << 3 | other) + data[body_start:end]
        case 1:
            junk = pick.bytes(pick.int(0, 12))
            field = _varint(number << 3 | 2) + _varint(len(junk) + pick.int(0, 3)) + junk
        case 2:
            field = _varint(number << 3 | 0) + b"\xff" * 9 + b"\x01"
        case 3:
            field = field * 2
        case _:
            field = _varint(number << 3 | 2) + _varint(2**31) + data[body_start:end]
    return data[:start] + field + data[end:]
