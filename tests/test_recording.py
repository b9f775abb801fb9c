"""Recordings: the file format (round trip, every way a file can be bad), the recorder that
writes them beside a live actor, and record -> replay through the real pipeline."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq
import zstandard

from actors import recording
from actors.client import LocalBook
from actors.messages import (
    EVENT_DECODER,
    RAW_ENCODER,
    BookDelta,
    BookReset,
    BookSnapshot,
    Event,
    RawBatch,
    Trade,
)
from actors.recording import End, Frames, Header, RecordedVenue, RecordingError, Rest
from actors.runtime.recorder import Recorder
from actors.stages.replay import RestAnswers
from tests.harness import ROOT, free_port, running_pipeline

FRAMES = Path(__file__).resolve().parents[1].parent / "shared" / "frames"

VENUE = RecordedVenue(
    "gateio_spot", ("BTC/USDT", "ETH/USDT"), ("trades", "order_book"), {"book_depth": 100}
)
HEAD = recording.header(VENUE, "gateio_spot.connection.0", "connection", "main", 1_700_000_000)

TEXT = '{"time":1,"channel":"spot.trades","event":"update","result":{"id":7}}'
# A MEXC protobuf push: binary, with bytes that are not valid UTF-8.
BINARY = b"\x0a\x17spot@public.aggre.deals\x1a\xff\xfe\x00\x80"


def batch(n: int, frames: list[str | bytes], *, epoch: int = 5) -> RawBatch:
    return RawBatch(
        "gateio_spot.connection.0",
        epoch,
        n,
        0,
        n * 10,
        frames,
        [1_700_000_000 + i for i in range(len(frames))],
    )


def compress(*records: bytes, split_every: int = 0) -> bytes:
    """Records as a recorder writes them: one zstd stream, flushed block by block."""
    deflate = zstandard.ZstdCompressor(level=3, write_checksum=True).compressobj()
    out = []
    for i, record in enumerate(records):
        out.append(deflate.compress(record))
        if split_every and i % split_every == 0:
            out.append(deflate.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
    out.append(deflate.flush())
    return b"".join(out)


def sample() -> tuple[list[bytes], list[object]]:
    b0 = batch(0, [TEXT, BINARY])
    b1 = batch(1, [BINARY * 3])
    rest = Rest(1_700_000_500, "GET", "/spot/order_book?currency_pair=BTC_USDT", 200, b'{"id":1}')
    encoded = [
        recording.encode(HEAD),
        recording.encode_frames(RAW_ENCODER.encode(b0), True),
        recording.encode(rest),
        recording.encode_frames(RAW_ENCODER.encode(b1), False),
        recording.encode(End(3, 1_700_001_000)),
    ]
    return encoded, [HEAD, Frames(True, b0), rest, Frames(False, b1), End(3, 1_700_001_000)]


def read_all(data: bytes, name: str = "x.mprec.zst") -> list[object]:
    return list(recording.read(io.BytesIO(data), name))


# -- format ----------------------------------------------------------------------------------


@pytest.mark.parametrize("split_every", [0, 1])
def test_round_trip_keeps_text_and_binary_frames_apart(split_every: int) -> None:
    encoded, expected = sample()
    records = read_all(compress(*encoded, split_every=split_every))
    assert records == expected
    frames = records[1]
    assert isinstance(frames, Frames)
    assert type(frames.batch.frames[0]) is str and type(frames.batch.frames[1]) is bytes


def test_several_zstd_frames_back_to_back_read_as_one_stream() -> None:
    encoded, expected = sample()
    data = b"".join(zstandard.ZstdCompressor().compress(r) for r in encoded)
    assert read_all(data) == expected


def test_recorded_mexc_protobuf_frames_survive_byte_for_byte() -> None:
    pushes = sorted(FRAMES.glob("mexc_spot_pb/*.bin")) if FRAMES.exists() else []
    if not pushes:
        pytest.skip(f"no recorded binary frames under {FRAMES}")
    frames: list[str | bytes] = [p.read_bytes() for p in pushes]
    encoded = [
        recording.encode(HEAD),
        recording.encode_frames(RAW_ENCODER.encode(batch(0, frames)), True),
        recording.encode(End(1, 0)),
    ]
    records = read_all(compress(*encoded))
    assert isinstance(records[1], Frames)
    assert records[1].batch.frames == frames


def test_header_first_then_only_the_header_can_be_read_cheaply() -> None:
    encoded, _ = sample()
    assert recording.read_header(io.BytesIO(compress(*encoded)), "x") == HEAD


def test_file_name_names_the_actor_and_its_utc_start() -> None:
    name = recording.file_name("mexc_spot.connection.1", 1_763_781_296_123_456_789)
    assert name == "mexc_spot.connection.1.20251122T031456.123456Z.mprec.zst"


# -- bad files: what, where, why -------------------------------------------------------------


def error_of(data: bytes) -> RecordingError:
    with pytest.raises(RecordingError) as info:
        read_all(data, "bad.mprec.zst")
    assert str(info.value).startswith("bad.mprec.zst: at offset ")
    return info.value


def test_a_file_that_is_not_zstandard_is_named_as_such() -> None:
    err = error_of(b"this is a text file, not a recording\n")
    assert err.offset == 0 and "not zstandard" in err.reason


def test_an_empty_file_is_not_a_recording() -> None:
    assert "empty" in error_of(b"").reason


@pytest.mark.parametrize("where", [0.3, 0.5, 0.9])
def test_corrupt_compressed_data_is_an_error_not_garbage_records(where: float) -> None:
    encoded, _ = sample()
    data = bytearray(compress(*encoded))
    at = int(len(data) * where)
    data[at : at + 8] = bytes(b ^ 0x5A for b in data[at : at + 8])
    # Wherever the damage lands (compressed block, frame checksum, a record's bytes), reading
    # ends in an error that says so.
    reason = error_of(bytes(data)).reason
    assert any(word in reason for word in ("corrupt", "undecodable", "truncated", "counts"))


def test_a_cut_file_yields_its_good_records_then_says_it_was_cut() -> None:
    encoded, expected = sample()
    whole = b"".join(encoded)
    cut = whole[: len(whole) - len(encoded[-1]) - 5]  # inside the last Frames record
    deflate = zstandard.ZstdCompressor().compressobj()
    data = deflate.compress(cut) + deflate.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    got: list[object] = []
    with pytest.raises(RecordingError) as info:
        for record in recording.read(io.BytesIO(data), "cut.mprec.zst"):
            got.append(record)
    assert got == expected[:3]
    offset = sum(len(e) for e in encoded[:3])
    assert info.value.offset == offset
    assert "truncated" in info.value.reason


def test_a_file_without_its_end_record_says_the_recorder_did_not_close_it() -> None:
    encoded, _ = sample()
    err = error_of(compress(*encoded[:-1]))
    assert "without its end record after 3 records" in err.reason
    assert err.offset == sum(len(e) for e in encoded[:-1])


def test_an_unknown_version_is_refused_by_number() -> None:
    newer = Header(recording.FORMAT, 2, VENUE, "a", "connection", "main", 0)
    err = error_of(compress(recording.encode(newer)))
    assert "format version 2 is not supported (this reader: 1)" in err.reason


def test_a_foreign_msgpack_stream_is_not_taken_for_a_recording() -> None:
    body = msgspec.msgpack.encode(["header", "someone-else", 1])
    err = error_of(compress(len(body).to_bytes(4, "big") + body))
    assert "'someone-else' is not 'marketpipe-recording'" in err.reason


def test_an_unknown_record_kind_is_reported_with_its_offset() -> None:
    encoded, _ = sample()
    body = msgspec.msgpack.encode(["candles", 1, 2])
    data = compress(encoded[0], len(body).to_bytes(4, "big") + body)
    err = error_of(data)
    assert err.offset == len(encoded[0]) and "undecodable record" in err.reason


def test_an_absurd_length_is_corruption_not_a_giant_allocation() -> None:
    encoded, _ = sample()
    err = error_of(compress(encoded[0], b"\xff\xff\xff\xff"))
    assert "beyond" in err.reason


def test_an_end_record_that_miscounts_is_reported() -> None:
    encoded, _ = sample()
    err = error_of(compress(*encoded[:-1], recording.encode(End(9, 0))))
    assert "end record counts 9 records, found 3" in err.reason


# -- planning a replay ------------------------------------------------------------------------


def head(actor: str, kind: str, started_ns: int, **venue: object) -> Header:
    spec = msgspec.structs.replace(VENUE, **venue)  # type: ignore[arg-type]
    return recording.header(spec, actor, kind, "main" if kind == "connection" else "", started_ns)


def test_plan_groups_files_by_venue_and_actor_in_time_order() -> None:
    files = [
        ("c0-restarted", head("gateio_spot.connection.0", "connection", 30)),
        ("h", head("gateio_spot.handler", "handler", 15)),
        ("c1", head("gateio_spot.connection.1", "connection", 12, symbols=("SOL/USDT",))),
        ("c0", head("gateio_spot.connection.0", "connection", 10)),
        ("m0", head("mexc_spot.connection.0", "connection", 20, name="mexc_spot")),
    ]
    gate, mexc = recording.plan_replay(files)
    assert gate.connections == (("c0", "c0-restarted"), ("c1",))
    assert gate.groups == ("main", "main") and gate.rest == ("h",) and gate.origin_ns == 10
    assert gate.venue.symbols == ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    assert mexc.venue.name == "mexc_spot" and mexc.connections == (("m0",),) and not mexc.rest


def test_plan_refuses_files_whose_frames_would_parse_differently() -> None:
    files = [
        ("a", head("gateio_spot.connection.0", "connection", 1)),
        ("b", head("gateio_spot.connection.0", "connection", 2, options={"book_mode": "obu"})),
    ]
    with pytest.raises(ValueError, match=r"^b: gateio_spot options .* differ from .* in a"):
        recording.plan_replay(files)


def test_plan_needs_a_connection_recording_per_venue() -> None:
    with pytest.raises(ValueError, match="gateio_spot: no connection recording"):
        recording.plan_replay([("h", head("gateio_spot.handler", "handler", 1))])


def test_replay_refuses_a_file_that_is_not_a_recording(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a recording\n")
    done = subprocess.run(
        [sys.executable, "-m", "actors.cli", "replay", str(bogus), "--as-fast-as-possible"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert f"{bogus}: at offset 0: not zstandard data" in done.stderr


def test_rest_answers_keep_their_place_in_the_stream() -> None:
    one = Rest(100, "GET", "/book", 200, b"one")
    two = Rest(200, "GET", "/book", 200, b"two")
    answers = RestAnswers([two, one])
    assert answers.advance(50)  # nothing was recorded before 50
    got: list[object] = []
    asker = threading.Thread(target=lambda: got.append(answers.take("GET", "/book")))
    asker.start()
    asker.join(0.2)
    assert asker.is_alive() and not got  # asked early: held until the stream passes 100
    assert not answers.advance(150)  # the stream reached `one`: it goes out, the stream holds
    asker.join(5)
    assert got == [one]
    assert not answers.advance(150)  # until it has been delivered
    answers.delivered(one)
    assert answers.advance(150)
    assert not answers.advance(250)  # `two` (recorded at 200) not asked for yet: hold
    assert answers.give_up_before(250) == 1 and answers.advance(250)
    assert answers.take("GET", "/book") == two  # asked late: still served, in order
    answers.delivered(two)
    assert answers.take("GET", "/book") == two  # and again once they run out
    assert answers.take("GET", "/other") is None and answers.not_recorded == 1


# -- the recorder ------------------------------------------------------------------------------


def test_recorder_writes_a_readable_file_owner_only(tmp_path: Path) -> None:
    recorder = Recorder(str(tmp_path / "rec"), HEAD)
    b0 = batch(0, [TEXT, BINARY])
    recorder.add(recording.encode_frames(RAW_ENCODER.encode(b0), True))
    recorder.close()
    assert recorder.failure is None
    path = Path(recorder.path)
    assert path.name == recording.file_name(HEAD.actor, HEAD.started_ns)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path, "rb") as f:
        records = list(recording.read(f, str(path)))
    assert records[0] == HEAD and records[1] == Frames(True, b0)
    assert isinstance(records[2], End) and records[2].records == 1


def test_recorder_flushes_on_its_timer_so_a_killed_process_leaves_what_it_had(
    tmp_path: Path,
) -> None:
    recorder = Recorder(str(tmp_path), HEAD)
    recorder.add(recording.encode_frames(RAW_ENCODER.encode(batch(0, [TEXT])), True))
    path = Path(recorder.path)
    deadline = 50
    while deadline and (not path.exists() or path.stat().st_size == 0):
        deadline -= 1
        recorder._wake.wait(0.1)
    got: list[object] = []
    with pytest.raises(RecordingError, match="without its end record"), open(path, "rb") as f:
        got.extend(recording.read(f, str(path)))
    assert got[0] == HEAD and isinstance(got[1], Frames)
    recorder.close()


def test_recorder_reports_a_write_failure_once_and_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    recorder = Recorder(str(blocker), HEAD)
    recorder.close()
    recorder.add(b"ignored")  # after a failure: dropped quietly, never an exception
    assert recorder.failure is not None and str(blocker) in recorder.failure


# -- record, then replay through the real parsers and handler --------------------------------


class Consumed:
    """What one consumer saw: trades in order, and each book's levels at every sequence id."""

    def __init__(self, events: list[Event]) -> None:
        self.trades = [(e.symbol, e.trade_id) for e in events if isinstance(e, Trade)]
        self.books: dict[str, dict[int, tuple[object, object]]] = {}
        local: dict[str, LocalBook] = {}
        for e in events:
            if isinstance(e, BookSnapshot | BookDelta | BookReset):
                book = local.setdefault(e.symbol, LocalBook())
                book.apply(e)
                if book.valid:
                    state = (sorted(book.bids.items()), sorted(book.asks.items()))
                    self.books.setdefault(e.symbol, {})[book.seq] = state
        self.resets = [e for e in events if isinstance(e, BookReset)]


def replay(
    files: list[Path], *extra: str, publish: str, run_dir: Path
) -> tuple[dict[str, Any], list[Event]]:
    """`pipeline replay FILES --json`, consumed from the first published event on."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.connect(publish)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    command = [
        sys.executable, "-m", "actors.cli", "replay", *map(str, files), *extra,
        "--publish", publish, "--run-dir", str(run_dir), "--parsers", "2",
        "--wait-for-subscribers", "1", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    events: list[Event] = []
    try:
        while proc.poll() is None or sub.poll(200):
            if sub.poll(50):
                events.append(EVENT_DECODER.decode(sub.recv_multipart()[1]))
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sub.close()
        ctx.term()
    summary = json.loads(out)
    assert proc.returncode == (1 if summary["damaged_files"] else 0), err.decode()
    assert not run_dir.exists() or not any(run_dir.iterdir()), "ipc files left behind"
    summary["stderr"] = err.decode()
    return summary, events


def record(venue: str, symbols: list[str], channels: list[str], out: Path) -> list[Event]:
    """A short `pipeline record --simulate` session; what its consumer saw."""
    body = {"symbols": symbols, "channels": channels}
    with running_pipeline(venues={venue: body}, parsers=2, record_to=str(out)) as pipeline:

        def ready() -> bool:
            if "order_book" not in channels:
                return len(pipeline.events) > 20
            synced = {e.symbol for e in pipeline.events if isinstance(e, BookSnapshot)}
            return synced >= set(symbols)

        pipeline.pump_until(ready, 20, "data flowing")
        pipeline.pump(2.0)
        events = list(pipeline.events)
        assert pipeline.stop() == 0
    return events


@pytest.mark.slow
@pytest.mark.parametrize(
    ("venue", "symbols"),
    [
        ("gateio_spot", ["BTC/USDT", "ETH/USDT"]),
        ("mexc_spot", ["BTC/USDT", "ETH/USDT"]),
        ("gateio_futures", ["BTC/USDT:USDT"]),  # contract sizes come from REST too
    ],
)
def test_a_recorded_session_replays_to_the_same_stream(
    venue: str, symbols: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "rec"
    recorded_events = record(venue, symbols, ["trades", "order_book", "book_ticker"], out)
    files = sorted(out.glob("*.mprec.zst"))
    assert [f.name.split(".2")[0] for f in files] == [
        f"{venue}.connection.0",
        f"{venue}.handler",
    ]
    for f in files:  # closed cleanly: each ends with its End record
        with open(f, "rb") as stream:
            assert isinstance(list(recording.read(stream, str(f)))[-1], End)

    summary, events = replay(
        files, "--as-fast-as-possible", publish=f"tcp://127.0.0.1:{free_port()}",
        run_dir=tmp_path / "run",
    )  # fmt: skip
    counters = summary["venues"][venue]
    assert counters["frames_handled"] == counters["frames_pushed"] == summary["frames"] > 0
    assert (counters["gaps"], counters["resyncs"], counters["lost_batches"]) == (0, 0, 0)
    assert counters["parse_errors"] == 0 and counters["books_synced"] == len(symbols)
    assert counters["events_published"] == len(events)
    if venue.endswith("futures"):  # the recorded contract sizes were served and applied
        assert all(e.contract_size > 0 for e in events if isinstance(e, Trade))

    before, after = Consumed(recorded_events), Consumed(events)
    assert before.trades, "the recorded session saw no trades"
    # Replay publishes everything recorded; the live consumer may have joined a moment
    # after the first publish (slow joiner) and stopped a moment before the last: what it
    # saw must be one unbroken run of the replayed trades.
    start = after.trades.index(before.trades[0])
    assert after.trades[start : start + len(before.trades)] == before.trades
    assert all(r.reason == "handler started" for r in after.resets)
    for symbol in symbols:
        common = before.books[symbol].keys() & after.books[symbol].keys()
        assert len(common) > 5, f"{symbol}: too few common book versions ({len(common)})"
        for seq in sorted(common):
            assert before.books[symbol][seq] == after.books[symbol][seq], (symbol, seq)


@pytest.fixture(scope="module")
def small_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of gateio_spot trades and book tickers, recorded once for the module."""
    out = tmp_path_factory.mktemp("small") / "rec"
    record("gateio_spot", ["BTC/USDT"], ["trades", "book_ticker"], out)
    return out


@pytest.mark.slow
def test_replay_at_a_speed_keeps_the_recorded_pace(small_recording: Path, tmp_path: Path) -> None:
    files = sorted(small_recording.glob("gateio_spot.connection.*"))
    with open(files[0], "rb") as stream:
        records = list(recording.read(stream, str(files[0])))
    head = records[0]
    assert isinstance(head, Header)
    last = max(r.batch.recv_ns[0] for r in records if isinstance(r, Frames))
    span_s = (last - head.started_ns) / 1e9
    speed = 2.0
    summary, events = replay(
        files, "--speed", str(speed), publish=f"tcp://127.0.0.1:{free_port()}",
        run_dir=tmp_path / "run",
    )  # fmt: skip
    assert events and summary["frames"] > 0
    # Paced: the last batch cannot leave before its recorded time / speed.  (Only this
    # bound is asserted; an upper bound would measure the machine, not the code.)
    assert summary["seconds"] >= 0.9 * span_s / speed, (summary, span_s)


@pytest.mark.slow
def test_a_damaged_recording_plays_up_to_the_damage_and_says_so(
    small_recording: Path, tmp_path: Path
) -> None:
    whole = sorted(small_recording.glob("gateio_spot.connection.*"))[0]
    with open(whole, "rb") as stream:
        frames = sum(
            len(r.batch.frames) for r in recording.read(stream, "") if isinstance(r, Frames)
        )
    cut = tmp_path / whole.name
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    summary, events = replay(
        [cut], "--as-fast-as-possible", publish=f"tcp://127.0.0.1:{free_port()}",
        run_dir=tmp_path / "run",
    )  # fmt: skip
    assert summary["damaged_files"] == 1  # and replay exited 1 (checked in replay())
    assert 0 < summary["frames"] < frames and events
    assert f"recording unreadable {cut}: at offset" in summary["stderr"]
