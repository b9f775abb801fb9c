"""Writes a recording (``actors/recording.py``) beside a running actor without slowing it.

The actor hands over already encoded records with ``add()``, which only appends to a list
under a lock: it never compresses, writes or waits (design invariant 5).  A thread compresses
and writes what has gathered every ``FLUSH_EVERY_S``, ending each write with a zstd block
flush, so a killed process loses at most that last interval.  ``close()`` writes the ``End``
record and finishes the file.

Failure never stops the data: a write error, or a disk so slow that more than
``MAX_PENDING`` bytes wait, ends the recording; ``failure`` says why once, for the actor to
report as a notice.
"""

from __future__ import annotations

import os
import threading
import time

import zstandard

from actors import recording
from actors.control import ActorSpec

FLUSH_EVERY_S = 0.5
MAX_PENDING = 64 * 1024 * 1024
LEVEL = 3  # fast; market data compresses ~5-10x already at this level


class Recorder:
    def __init__(self, directory: str, head: recording.Header) -> None:
        self.path = os.path.join(directory, recording.file_name(head.actor, head.started_ns))
        self.failure: str | None = None
        self.records = 0  # after the header
        self._pending: list[bytes] = [recording.encode(head)]
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def add(self, record: bytes) -> None:
        """Queue one encoded record (``recording.encode``/``encode_frames``).  Never blocks."""
        with self._lock:
            if self.failure is not None or self._closing:
                return
            if self._pending_bytes > MAX_PENDING:
                self.failure = (
                    f"{self.path}: more than {MAX_PENDING >> 20} MiB waiting to be written "
                    "(disk too slow); recording stopped"
                )
                self._pending.clear()
                return
            self._pending.append(record)
            self._pending_bytes += len(record)
            self.records += 1

    def close(self, timeout_s: float = 1.0) -> None:
        """Write what is left and the End record, finish the file."""
        with self._lock:
            if self._closing:
                return
            if self.failure is None:
                self._pending.append(recording.encode(recording.End(self.records, time.time_ns())))
            self._closing = True
        self._wake.set()
        self._thread.join(timeout_s)

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            # Recordings may hold account data (private channels): owner-only, never clobbered.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                deflate = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True).compressobj()
                while True:
                    self._wake.wait(FLUSH_EVERY_S)
                    self._wake.clear()
                    with self._lock:
                        chunk, self._pending = self._pending, []
                        self._pending_bytes = 0
                        closing = self._closing and self.failure is None
                    if chunk:
                        out.write(deflate.compress(b"".join(chunk)))
                    if closing or self.failure is not None:
                        break
                    if chunk:
                        out.write(deflate.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
                        out.flush()
                out.write(deflate.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
        except OSError as exc:
            with self._lock:
                self.failure = f"{self.path}: {exc.strerror or exc}; recording stopped"
                self._pending.clear()


def for_actor(spec: ActorSpec, url: str) -> Recorder | None:
    """The recorder a connection or handler keeps when its spec says ``record``, else None."""
    if not spec.record:
        return None
    venue = spec.venue
    recorded = recording.RecordedVenue(
        venue.name, venue.symbols, venue.channels, venue.options, url
    )
    head = recording.header(recorded, spec.name, spec.kind, spec.group, time.time_ns())
    return Recorder(spec.record, head)
