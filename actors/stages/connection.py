"""Connection actor: one websocket session after another, frames out in batches, never parsed.

Sockets:
    PUSH    binds this connection's raw endpoint; the venue's parsers connect to it
    DEALER  connects to the coordinator (hello, reports, SetSubscriptions, Stop)
    WS      connects to the venue (or its simulator)
Files:
    with ``record`` in its spec, every batch it builds (sent or dropped) goes to a recording
    (``actors/recording.py``), written by a thread so the read loop never waits on disk.

The read loop only reads, stamps and forwards.  Frames read while the loop runs without
waiting go out as one batch, flushed as soon as the loop would wait, so batching adds no
latency.  A full downstream never blocks it: the batch is dropped and counted, and the next
batch says how many were dropped so the handler resyncs this connection's books.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import websockets
import zmq
from websockets.asyncio.client import ClientConnection

from actors import recording
from actors.backoff import delays
from actors.control import SESSION, Refused, Resubscribe, SetSubscriptions, ToActor
from actors.messages import RAW_ENCODER, RawBatch
from actors.runtime import http
from actors.runtime.actor import Actor
from actors.runtime.recorder import for_actor
from actors.runtime.transport import configure
from actors.venues import Subscription, Venue, load_venue

MAX_BATCH = 512  # frames; a burst bigger than this goes out in several batches
STALE_PINGS = 3  # silent for this many ping intervals -> the session is dead
ROTATE_AT = 0.97  # replace a socket at 97% of the venue's age limit (MEXC 24 h -> 23.3 h)
ROTATION_OVERLAP_S = 2.0  # both sockets stream for this long
ROTATION_RETRY_S = 30.0  # a failed replacement is tried again after this
CLOSE_TOO_BIG = 1009  # RFC 6455: the frame is bigger than we accept


@dataclass
class _Socket:
    """One websocket of a session and the tasks that serve it."""

    ws: ClientConnection
    reader: asyncio.Task[None]
    keepalive: asyncio.Task[None] | None
    opened: float  # monotonic

    def stop(self) -> None:
        self.reader.cancel()
        if self.keepalive is not None:
            self.keepalive.cancel()


class ConnectionActor(Actor):
    kind = "connection"

    def main(self) -> None:
        try:
            import uvloop

            uvloop.run(self.amain())
        except ImportError:
            asyncio.run(self.amain())

    async def amain(self) -> None:
        spec = self.spec
        creds = spec.venue.credentials
        self.credentials = creds.resolve(os.environ) if creds else None
        self.venue = self.fresh_venue()
        self.url = spec.venue.ws_url or self.venue.ws_url
        self.rest_url = spec.venue.rest_url or self.venue.rest_url
        self.group = spec.group or "main"
        self.headers = self.venue.handshake_headers()
        self.subs: set[Subscription] = set(spec.subscriptions)
        self.push = self.bind(configure(self.ctx.socket(zmq.PUSH)), spec.raw[0])
        self.control = self.open_control()
        self.recorder = for_actor(spec, self.url)
        self.recording_failed = False

        self.ws: ClientConnection | None = None
        self.state = "connecting"
        self.epoch = 0
        self.batch_no = 0
        self.seq = 0
        self.dropped = 0
        self.frames: list[Any] = []
        self.stamps: list[int] = []
        self.overlap = False
        self.last_frame = time.monotonic()
        self.loop = asyncio.get_running_loop()
        self.pending: set[asyncio.Task[None]] = set()

        tasks = [
            asyncio.create_task(self.sessions()),
            asyncio.create_task(self.duties()),
        ]
        while not self.stopping:
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 0.5)
        if self.recorder is not None:
            self.recorder.close()

    # -- sessions -----------------------------------------------------------------------------

    async def sessions(self) -> None:
        rng = random.Random()
        wait = delays(rng=rng)
        while not self.stopping:
            await asyncio.sleep(next(wait))
            while not self.subs and not self.stopping:
                # Nothing to stream: venues close idle sockets (MEXC after 30 s) anyway.
                self.state = "idle"
                await asyncio.sleep(0.05)
            got_data = await self.session()
            if got_data:
                wait = delays(rng=rng)  # a healthy session forgives earlier failures
            self.count("reconnects")

    async def session(self) -> bool:
        """One session: a socket, replaced before the venue's age limit without a gap
        (make-before-break), until it ends.  Returns whether it delivered any frame."""
        self.state = "connecting"
        frames_before = self.counters.get("frames_in", 0)
        await self.wait_for_parsers()
        socket: _Socket | None = None
        try:
            self.epoch, self.batch_no = time.time_ns(), 0
            socket = await self.connect()
            self.ws, self.state = socket.ws, "open"
            self.last_frame = time.monotonic()
            while True:
                done, _ = await asyncio.wait({socket.reader}, timeout=self.until_rotation(socket))
                if done:
                    socket.reader.result()  # the socket ended: raises why
                    break
                socket = await self.rotate(socket)
        except asyncio.CancelledError:
            raise
        except http.HttpError as exc:
            self.count("session_errors")
            if exc.refused:  # a bad key or signature: repeating it cannot help
                self.refuse_session(self.redact(exc), exc.status)
            else:
                self.log.warning("session setup for %s failed: %s", self.url, self.redact(exc))
        except Exception as exc:  # every way a session can end: log it and go again
            self.count("session_errors")
            if _closed_for(exc) == CLOSE_TOO_BIG:
                self.count("oversized_frames")
            why = self.redact(exc)
            self.log.warning("session to %s ended: %s: %s", self.url, type(exc).__name__, why)
        finally:
            if socket is not None:
                socket.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(socket.ws.close(), 1.0)
            self.flush()
            self.ws, self.state = None, "reconnecting"
        return self.counters.get("frames_in", 0) > frames_before

    def fresh_venue(self) -> Venue:
        return load_venue(
            self.spec.venue.name, self.spec.venue.options, credentials=self.credentials
        )

    async def connect(self) -> _Socket:
        """Open a socket for our group, subscribe our share, and start reading it.  The venue's
        request state (what a MEXC futures login selected) lives as long as one socket, so a
        new socket starts from a fresh venue object and asks for exactly our share."""
        self.venue = self.fresh_venue()
        url, opened = await self.open_session()
        ws = await websockets.connect(
            url,
            additional_headers=self.headers,
            max_size=self.spec.venue.max_frame_bytes,
            open_timeout=10,
            close_timeout=1,
        )
        try:
            await self.send(ws, self.venue.subscribe_messages(sorted(self.subs), now_s=_now_s()))
        except Exception:
            await ws.close()
            raise
        keepalive = None
        if opened is not None:
            keepalive = asyncio.create_task(self.keep_session_alive(ws, opened))
        return _Socket(ws, asyncio.create_task(self.read(ws)), keepalive, time.monotonic())

    def until_rotation(self, socket: _Socket) -> float | None:
        """Seconds until ``socket`` must be replaced, or None if the venue sets no age limit."""
        limit = self.spec.venue.rotate_after_s or (
            self.venue.max_session_s * ROTATE_AT if self.venue.max_session_s else 0.0
        )
        if not limit:
            return None
        return max(0.0, socket.opened + limit - time.monotonic())

    async def rotate(self, old: _Socket) -> _Socket:
        """Make before break: the new socket streams beside the old for ROTATION_OVERLAP_S,
        its batches marked ``overlap`` so the handler merges the two streams, then the old
        one closes.  If the new socket cannot be had, the old one goes on and we retry."""
        try:
            new = await self.connect()
        except Exception as exc:
            self.count("rotation_errors")
            why = self.redact(exc)
            self.log.warning("replacement socket failed (%s); keeping the old one", why)
            old.opened += ROTATION_RETRY_S - (time.monotonic() - old.opened)
            return old
        self.count("rotations")
        self.overlap = True
        self.ws = new.ws
        await asyncio.sleep(ROTATION_OVERLAP_S)
        old.stop()
        self.flush()
        self.overlap = False
        self.flush(force=True)  # tells the handler the overlap is over, even in a quiet market
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.ws.close(), 1.0)
        return new

    def redact(self, error: BaseException) -> str:
        """An error's text with our key and secret cut out: venue answers (HTTP bodies,
        close reasons) are not ours to trust, and this text reaches logs and status."""
        text = str(error)
        for value in self.credentials or ():
            text = text.replace(value, "<redacted>")
        return text

    def refuse_session(self, message: str, status: int) -> None:
        """Stop: the coordinator takes our share out of play and tells us (we go idle)."""
        self.log.error("the venue refused the session (%s): %s", self.group, message)
        self.subs = set()
        self._send(self.control, Refused(SESSION, message, status))

    async def open_session(self) -> tuple[str, bytes | None]:
        """The venue's REST step before a socket (a MEXC listenKey), and the URL it gives."""
        request = self.venue.session_open(self.group, now_ms=_now_ms())
        if request is None:
            return self.url, None
        opened = await asyncio.to_thread(http.call, self.rest_url, request)
        self.count("sessions_opened")
        return self.venue.session_url(self.url, self.group, opened), opened

    async def keep_session_alive(self, ws: ClientConnection, opened: bytes) -> None:
        """Renew the session's REST state (listenKey PUT) until the socket goes; a failed
        renewal ends the socket, and the next session opens a fresh one."""
        while True:
            plan = self.venue.session_keepalive(self.group, opened, now_ms=_now_ms())
            if plan is None:
                return
            interval, _ = plan
            await asyncio.sleep(interval)
            plan = self.venue.session_keepalive(self.group, opened, now_ms=_now_ms())
            assert plan is not None
            try:
                await asyncio.to_thread(http.call, self.rest_url, plan[1])
                self.count("session_keepalives")
            except OSError as exc:
                self.count("session_keepalive_errors")
                why = self.redact(exc)
                self.log.warning("session keep-alive failed (%s); reconnecting", why)
                await ws.close(code=1000, reason="session expired")
                return

    async def wait_for_parsers(self, timeout_s: float = 5.0) -> None:
        """Don't open the venue before a parser can take frames: a PUSH socket is writable
        only once a peer is connected.  After the timeout we go anyway and count drops."""
        deadline = time.monotonic() + timeout_s
        while not self.push.poll(0, zmq.POLLOUT) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def read(self, ws: ClientConnection) -> None:
        frames, stamps = self.frames, self.stamps
        while True:
            frame = await ws.recv()
            frames.append(frame)
            stamps.append(time.time_ns())
            if len(frames) == 1:
                self.loop.call_soon(self.flush)  # runs once this loop would wait
            elif len(frames) >= MAX_BATCH:
                self.flush()
                # A flood never suspends recv(): let duties (reports, commands) have a turn.
                await asyncio.sleep(0)

    def flush(self, *, force: bool = False) -> None:
        frames = self.frames
        if not frames and not force:
            return
        n = len(frames)
        batch = RawBatch(
            self.name,
            self.epoch,
            self.batch_no,
            self.dropped,
            self.seq,
            frames,
            self.stamps,
            self.overlap,
        )
        payload = RAW_ENCODER.encode(batch)
        # Cleared in place: read() holds these same lists.
        frames.clear()
        self.stamps.clear()
        self.seq += n
        self.last_frame = time.monotonic()
        self.count("frames_in", n)
        try:
            self.push.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1
            self.count("dropped_batches")
            self.count("dropped_frames", n)
            self.record(payload, sent=False)
            return
        self.record(payload, sent=True)
        self.batch_no += 1
        self.dropped = 0
        self.count("batches_out")

    def record(self, payload: bytes, *, sent: bool) -> None:
        if self.recorder is not None:
            self.recorder.add(recording.encode_frames(payload, sent))

    async def send(self, ws: ClientConnection, messages: list[str | bytes]) -> None:
        for message in messages:
            await ws.send(message)
            self.count("requests_sent")

    # -- control and duties -------------------------------------------------------------------

    def on_command(self, msg: ToActor) -> None:
        if isinstance(msg, SetSubscriptions):
            self.subs -= set(msg.refused)  # never accepted: nothing to unsubscribe
            self.spawn(self.change_subscriptions(set(msg.subscriptions)))
        elif isinstance(msg, Resubscribe):
            self.spawn(self.renew(msg.subscriptions, msg.reason))
        else:
            super().on_command(msg)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # The loop keeps only weak references to tasks: hold them until they finish.
        task = asyncio.get_running_loop().create_task(coro)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def renew(self, subs: list[Subscription], reason: str) -> None:
        """Unsubscribe and subscribe again: the venue sends a fresh snapshot (Gate.io obu)."""
        ws, subs = self.ws, [s for s in subs if s in self.subs]
        if ws is None or not subs:
            return
        self.count("renewals", len(subs))
        self.log.info("renewing %d subscription(s): %s", len(subs), reason)
        try:
            await self.send(ws, self.venue.unsubscribe_messages(subs, now_s=_now_s()))
            await self.send(ws, self.venue.subscribe_messages(subs, now_s=_now_s()))
        except Exception as exc:
            self.log.warning("renewal not sent (%s); the next session subscribes afresh", exc)

    async def change_subscriptions(self, wanted: set[Subscription]) -> None:
        added, removed = sorted(wanted - self.subs), sorted(self.subs - wanted)
        self.subs = wanted
        ws = self.ws
        if ws is None:
            return  # the next session subscribes to the new set
        try:
            if removed:
                await self.send(ws, self.venue.unsubscribe_messages(removed, now_s=_now_s()))
            if added:
                await self.send(ws, self.venue.subscribe_messages(added, now_s=_now_s()))
        except Exception as exc:
            self.log.warning("subscription change not sent (%s); next session will", exc)

    async def duties(self) -> None:
        """Commands, pings, staleness, reports: every ~100 ms (the control socket is polled
        here rather than awaited, so sends and receives share one plain socket)."""
        interval = self.venue.ping_interval_s
        next_ping = time.monotonic() + interval
        while True:
            now = time.monotonic()
            while self.control.poll(0):
                self.read_command(self.control.recv())
            self.tick(self.control, now)
            self.check_recorder()
            ws = self.ws
            if ws is not None and now - self.last_frame > STALE_PINGS * interval:
                self.count("stale_sessions")
                self.log.warning("no frame for %.1f s; reconnecting", now - self.last_frame)
                self.last_frame = now
                await ws.close(code=1000, reason="stale")  # ends recv() -> a new session
            elif ws is not None and now >= next_ping:
                next_ping = now + interval
                ping = self.venue.ping_message(now_s=_now_s())
                if ping is not None:
                    with contextlib.suppress(Exception):
                        await ws.send(ping)
            await asyncio.sleep(0.1)

    def check_recorder(self) -> None:
        """A failed recording is reported once; the data flow never depended on it."""
        recorder = self.recorder
        if recorder is not None and recorder.failure and not self.recording_failed:
            self.recording_failed = True
            self.notice(self.control, "error", "recording failed", recorder.failure)

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.url,
            "state": self.state,
            "subscriptions": len(self.subs),
            "last_frame_age_s": round(time.monotonic() - self.last_frame, 3),
            "epoch": self.epoch,
        }
        if self.recorder is not None:
            info["recording"] = self.recorder.path
        return info


def _closed_for(exc: BaseException) -> int | None:
    """The close code we sent when a socket failed (1009: a frame over ``max_size``)."""
    if isinstance(exc, websockets.ConnectionClosed) and exc.sent is not None:
        return exc.sent.code
    return None


def _now_s() -> int:
    return int(time.time())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
