"""The recording file format: what a connection read and what REST answers the handler used.  [pure]

A recording is one zstandard stream (possibly several zstd frames back to back: the writer
flushes a block at a time so a crash loses at most the last block) holding length-prefixed
records::

    record := u32 big-endian length | msgpack body (a tagged array, tag first)

1. ``Header``: format name, version, the venue spec needed to parse the frames again (venue
   key, symbols, channels, options), which actor wrote it, when it started.
2. In wire order: ``Frames`` records (a connection's ``RawBatch`` exactly as it was built,
   and whether it reached the parsers or was dropped) or ``Rest`` records (a handler's REST
   call: request target, status, body, receive time).
3. ``End``: the writer closed the file cleanly; how many records came before it.

Anything else is an error naming the file, the offset (in the decompressed stream) and the
reason: not zstandard, corrupt, truncated, a foreign format, an unknown version, a record
that does not decode, a file without its ``End``.  The reader yields every good record before
the problem, so a caller can use what is there and still say what was wrong.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator
from typing import IO, Any

import msgspec
import zstandard
from msgspec import Struct

from actors.messages import RawBatch

FORMAT = "marketpipe-recording"
VERSION = 1
SUFFIX = ".mprec.zst"
MAX_RECORD = 256 * 1024 * 1024  # a RawBatch is at most 512 frames of at most 16 MiB
_LENGTH = struct.Struct(">I")


class RecordingError(ValueError):
    """A recording that cannot be read (further): which file, where, why."""

    def __init__(self, name: str, offset: int, reason: str) -> None:
        super().__init__(f"{name}: at offset {offset}: {reason}")
        self.name = name
        self.offset = offset
        self.reason = reason


class RecordedVenue(Struct, frozen=True):
    """What replay needs to rebuild parsing and books: never credentials."""

    name: str  # venue key: gateio_spot, mexc_futures, ...
    symbols: tuple[str, ...]
    channels: tuple[str, ...]
    options: dict[str, Any] = {}
    url: str = ""  # where the recorded data came from (ws_url, or rest_url for a handler)


class Header(Struct, frozen=True, tag="header", array_like=True):
    format: str
    version: int
    venue: RecordedVenue
    actor: str  # gateio_spot.connection.0, gateio_spot.handler
    kind: str  # connection | handler
    group: str  # a connection's group ("main", "private", ...); "" for a handler
    started_ns: int  # wall clock when the recorder opened the file


class Frames(Struct, frozen=True, tag="frames", array_like=True):
    sent: bool  # False: the connection had to drop it (parsers full); the venue sent it
    batch: RawBatch


class Rest(Struct, frozen=True, tag="rest", array_like=True):
    recv_ns: int
    method: str
    target: str  # path and query, relative to the venue's rest_url
    status: int
    body: bytes


class End(Struct, frozen=True, tag="end", array_like=True):
    records: int  # records between the header and this one
    ended_ns: int


Record = Header | Frames | Rest | End

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(Record)


class _FramesOut(Struct, frozen=True, tag="frames", array_like=True):
    """``Frames`` as written: the batch is the very msgpack the connection pushed."""

    sent: bool
    batch: msgspec.Raw


def header(venue: RecordedVenue, actor: str, kind: str, group: str, started_ns: int) -> Header:
    return Header(FORMAT, VERSION, venue, actor, kind, group, started_ns)


def encode(record: Record) -> bytes:
    """One length-prefixed record."""
    return _frame(_ENCODER.encode(record))


def encode_frames(raw_batch: bytes, sent: bool) -> bytes:
    """A ``Frames`` record around an already encoded RawBatch (no second encoding)."""
    return _frame(_ENCODER.encode(_FramesOut(sent, msgspec.Raw(raw_batch))))


def _frame(body: bytes) -> bytes:
    return _LENGTH.pack(len(body)) + body


def file_name(actor: str, started_ns: int) -> str:
    """``<actor>.<UTC start>.mprec.zst``; the actor name starts with the venue key."""
    seconds, ns = divmod(started_ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{actor}.{stamp}.{ns // 1000:06d}Z{SUFFIX}"


# -- reading ---------------------------------------------------------------------------------


def read(stream: IO[bytes], name: str) -> Iterator[Record]:
    """Every record of a recording, header first, ``End`` last; raises RecordingError at the
    first problem (after yielding the good records before it)."""
    reader = _Reader(stream, name)
    first = reader.next()
    if first is None:
        raise RecordingError(name, 0, "empty: not a marketpipe recording")
    offset, body = first
    head = _check_header(body, name)
    yield head
    records = 0
    while (item := reader.next()) is not None:
        offset, body = item
        try:
            record = _DECODER.decode(body)
        except msgspec.DecodeError as exc:
            raise RecordingError(name, offset, f"undecodable record: {exc}") from None
        if isinstance(record, Header):
            raise RecordingError(name, offset, "a second header inside the recording")
        if isinstance(record, End):
            if record.records != records:
                raise RecordingError(
                    name, offset, f"end record counts {record.records} records, found {records}"
                )
            if reader.next() is not None:
                raise RecordingError(name, reader.offset, "data after the end record")
            yield record
            return
        records += 1
        yield record
    raise RecordingError(
        name,
        reader.offset,
        f"ends without its end record after {records} records "
        "(the recorder was stopped before closing the file, or the file was cut)",
    )


def read_header(stream: IO[bytes], name: str) -> Header:
    """Only the header: which venue and actor a file is from, without reading the rest."""
    reader = _Reader(stream, name)
    first = reader.next()
    if first is None:
        raise RecordingError(name, 0, "empty: not a marketpipe recording")
    return _check_header(first[1], name)


def _check_header(body: bytes, name: str) -> Header:
    # Look before decoding strictly, so a newer version says so instead of "bad field".
    try:
        loose = msgspec.msgpack.decode(body)
    except msgspec.DecodeError as exc:
        raise RecordingError(name, 0, f"undecodable header: {exc}") from None
    if not (isinstance(loose, list) and len(loose) >= 3 and loose[0] == "header"):
        raise RecordingError(name, 0, "no header record: not a marketpipe recording")
    if loose[1] != FORMAT:
        raise RecordingError(name, 0, f"format {loose[1]!r} is not {FORMAT!r}")
    if loose[2] != VERSION:
        raise RecordingError(
            name, 0, f"format version {loose[2]!r} is not supported (this reader: {VERSION})"
        )
    try:
        head = _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise RecordingError(name, 0, f"undecodable header: {exc}") from None
    assert isinstance(head, Header)
    return head


class _Reader:
    """Length-prefixed bodies out of the decompressed stream, with their offsets.

    Decompresses chunk by chunk with a decompressobj per zstd frame: zstandard's
    stream_reader returns nothing for data flushed inside a frame that has not ended,
    which is exactly what a recording cut short looks like."""

    CHUNK = 1 << 16

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self.stream = stream
        self.name = name
        self.offset = 0  # of the next record, in the decompressed stream
        self.buffer = bytearray()
        self.inflate = zstandard.ZstdDecompressor().decompressobj()
        self.eof = False

    def _fill(self, n: int) -> bool:
        """Make ``n`` bytes available; False if the stream ends first."""
        while len(self.buffer) < n and not self.eof:
            chunk = self.stream.read(self.CHUNK)
            if not chunk:
                self.eof = True
                break
            while chunk:
                try:
                    self.buffer += self.inflate.decompress(chunk)
                except zstandard.ZstdError as exc:
                    where = self.offset + len(self.buffer)
                    raise RecordingError(
                        self.name, where, f"not zstandard data, or corrupt: {exc}"
                    ) from None
                if not self.inflate.eof:
                    break
                chunk = self.inflate.unused_data  # the next zstd frame starts here
                self.inflate = zstandard.ZstdDecompressor().decompressobj()
        return len(self.buffer) >= n

    def next(self) -> tuple[int, bytes] | None:
        start = self.offset
        if not self._fill(4):
            if self.buffer:
                raise RecordingError(self.name, start, "truncated inside a record length")
            return None
        (length,) = _LENGTH.unpack_from(self.buffer)
        if length > MAX_RECORD:
            raise RecordingError(
                self.name, start, f"record length {length} is beyond {MAX_RECORD}: corrupt"
            )
        if not self._fill(4 + length):
            raise RecordingError(
                self.name,
                start,
                f"truncated: the record needs {length} bytes, the file has {len(self.buffer) - 4}",
            )
        body = bytes(self.buffer[4 : 4 + length])
        del self.buffer[: 4 + length]
        self.offset = start + 4 + length
        return start, body


# -- planning a replay -----------------------------------------------------------------------


class VenueReplay(Struct, frozen=True):
    """One venue's recordings, arranged as the actors that play them back."""

    venue: RecordedVenue  # symbols and channels: the union over its files
    connections: tuple[tuple[str, ...], ...]  # per connection index: its files, in time order
    groups: tuple[str, ...]  # per connection index: its group
    rest: tuple[str, ...]  # the handler's REST recordings, in time order
    origin_ns: int  # the earliest start: the recorded instant replay time counts from


def plan_replay(files: list[tuple[str, Header]]) -> list[VenueReplay]:
    """Group recordings (path, header) by venue and by the actor that wrote them.  A
    connection actor restarted mid-recording left several files: they play in time order.
    Files of one venue must agree on its options, or their frames would parse differently."""
    by_venue: dict[str, list[tuple[str, Header]]] = {}
    for path, head in sorted(files, key=lambda f: f[1].started_ns):
        by_venue.setdefault(head.venue.name, []).append((path, head))
    plans = []
    for name, items in sorted(by_venue.items()):
        first_path, first = items[0]
        conns: dict[str, list[str]] = {}
        groups: dict[str, str] = {}
        rest: list[str] = []
        symbols: dict[str, None] = {}
        channels: dict[str, None] = {}
        for path, head in items:
            if head.venue.options != first.venue.options:
                raise ValueError(
                    f"{path}: {name} options {head.venue.options} differ from "
                    f"{first.venue.options} in {first_path}; replay them separately"
                )
            symbols.update(dict.fromkeys(head.venue.symbols))
            channels.update(dict.fromkeys(head.venue.channels))
            if head.kind == "connection":
                conns.setdefault(head.actor, []).append(path)
                groups[head.actor] = head.group
            elif head.kind == "handler":
                rest.append(path)
            else:
                raise ValueError(
                    f"{path}: recorded by a {head.kind!r}, not a connection or handler"
                )
        if not conns:
            raise ValueError(f"{name}: no connection recording among the files, nothing to replay")
        actors = sorted(conns, key=_actor_order)
        venue = RecordedVenue(name, tuple(symbols), tuple(channels), first.venue.options)
        plans.append(
            VenueReplay(
                venue,
                tuple(tuple(conns[a]) for a in actors),
                tuple(groups[a] for a in actors),
                tuple(rest),
                min(head.started_ns for _, head in items),
            )
        )
    return plans


def _actor_order(actor: str) -> tuple[str, int]:
    base, _, index = actor.rpartition(".")
    return (base, int(index)) if index.isdigit() else (actor, 0)
