"""What every venue simulator's server shares: one port, connection queues, control.  [I/O shell]

Role: the machinery under each ``actors/simulators/<venue>.py``: one TCP listener that speaks
HTTP/1.1 and upgrades WebSocket paths (websockets' ``process_request`` routes everything else:
the venue's REST paths and our ``/_sim/*`` control endpoints), a market task that steps every
``tick_ms``, and one writer task per connection that drains that connection's queue in
batches, so a slow client never stalls the market (it is cut off at ``max_queue`` frames, as
venues do).  A venue subclass supplies the paths, the message handler, REST, the tick and
its own ``_sim_<name>`` controls.

Sockets: ``host:port`` (loopback by default; ``port=0`` picks a free port, see ``.port``).

Pure parts: :func:`http_response`, :func:`num_param`, :func:`padded`, :func:`truncated` and
:class:`HttpError` take values and return values; everything else here moves bytes or keeps time.

Common controls (``GET /_sim/<name>``, or a body-less POST): ``drop`` (abort every connection,
no close frame), ``refuse?seconds=`` (answer WebSocket upgrades with 503), ``pause`` /
``resume`` (stop and restart the market; ``pause`` first delivers what is pending), ``stale?
seconds=`` (keep sockets open but send nothing), ``stale_sub?channel=&symbol=&seconds=`` (one
subscription goes silent on every connection that holds it, everything else keeps flowing,
until the client subscribes to it again or the seconds end: see :meth:`SimServer._sim_stale_sub`),
``stats``; and for the fault tests and
``scripts/chaos.py``: ``big?bytes=&count=`` (the next frames padded to ``bytes``, still valid),
``truncate?count=`` (the next frames cut in half), ``delay?ms=&seconds=`` (every frame held
back ``ms``, in order, for a while), ``rest_delay?ms=&seconds=&match=`` and ``rest_fail?
status=&seconds=&count=&match=`` (REST answers late, or with an error, for paths containing
``match``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import logging
import math
import random
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

log = logging.getLogger("marketpipe.sim")

WRITE_BATCH = 512  # frames per socket write


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- HTTP (pure) --------------------------------------------------------------------------------


class HttpError(Exception):
    """A REST or control request refused with ``status`` and a Gate-style ``label``."""

    def __init__(self, status: int, label: str, message: str) -> None:
        super().__init__(message)
        self.status, self.label, self.message = status, label, message


def http_response(status: int, body: Any) -> Response:
    """A JSON HTTP response; the connection closes after it (websockets' HTTP is one-shot)."""
    data = orjson.dumps(body)
    st = http.HTTPStatus(status)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
        ]
    )
    return Response(st.value, st.phrase, headers, data)


def num_param(params: dict[str, str], name: str, default: float, minimum: float = 0) -> float:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise HttpError(400, "INVALID_PARAM_VALUE", f"{name} must be a number")
    if value < minimum:
        raise HttpError(400, "INVALID_PARAM_VALUE", f"{name} must be >= {minimum}")
    return value


# -- faults (pure) ------------------------------------------------------------------------------

PAD_FIELD = 9999  # a protobuf field number no MEXC message uses: parsers skip it


def padded(frame: bytes | bytearray, size: int) -> bytes | bytearray:
    """``frame`` grown to about ``size`` bytes and still the same message: JSON text gets
    trailing whitespace, a protobuf (binary) frame an unknown length-delimited field."""
    extra = size - len(frame)
    if extra <= 0:
        return frame
    if type(frame) is bytes:
        return frame + b" " * extra
    body = b"\0" * max(extra - 8, 0)
    return frame + _varint(PAD_FIELD << 3 | 2) + _varint(len(body)) + body


def truncated(frame: bytes | bytearray) -> bytes | bytearray:
    """The first half of ``frame``; text stays valid UTF-8 (a websocket would refuse it)."""
    half = frame[: len(frame) // 2]
    if type(frame) is bytes:
        return bytes(half).decode("utf-8", "ignore").encode()
    return half


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class RestFault:
    """A REST fault armed by ``/_sim/rest_delay`` or ``/_sim/rest_fail``: it hits request
    paths (with query) containing ``match``, until ``until`` (monotonic) or ``count`` uses."""

    def __init__(self, match: str, until: float, count: int, status: int) -> None:
        self.match, self.until, self.count, self.status = match, until, count, status
        self.seconds = 0.0
        self.used = 0

    def hits(self, path: str, now: float) -> bool:
        return now < self.until and self.used < self.count and self.match in path

    def describe(self, now: float) -> dict[str, Any]:
        armed = round(self.until - now, 3)
        return {"match": self.match, "count": self.count, "status": self.status,
                "armed_s": armed, "delay_s": self.seconds}  # fmt: skip


def _rest_fault(params: dict[str, str], *, status: int) -> RestFault:
    seconds = num_param(params, "seconds", 10)
    count = int(num_param(params, "count", 1_000_000, minimum=1))
    return RestFault(params.get("match", ""), time.monotonic() + seconds, count, status)


def _armed(faults: list[RestFault], path: str, now: float) -> RestFault | None:
    faults[:] = [f for f in faults if now < f.until and f.used < f.count]
    return next((f for f in faults if f.hits(path, now)), None)


# -- connections --------------------------------------------------------------------------------


class Conn:
    """One WebSocket client: its subscriptions, its outgoing queue, and ``variant``: which
    rendering of shared frames it takes (0 unless the venue has options, e.g. Gate futures'
    decimal sizes)."""

    __slots__ = ("conn_id", "keys", "max_queue", "out", "overflow", "variant", "wake", "ws")

    def __init__(self, ws: ServerConnection, conn_id: str, max_queue: int, variant: int) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.keys: set[Any] = set()
        self.out: deque[bytes | bytearray] = deque()
        self.wake = asyncio.Event()
        self.max_queue = max_queue
        self.overflow = False
        self.variant = variant

    def push(self, frame: bytes | bytearray) -> None:
        out = self.out
        if len(out) >= self.max_queue:  # slow consumer: the writer closes the connection
            self.overflow = True
            out.clear()
        out.append(frame)
        if len(out) == 1:  # the writer sleeps only when the queue is empty
            self.wake.set()


# -- the server ---------------------------------------------------------------------------------


class SimServer:
    """The base of a venue simulator; use as ``async with`` or ``start()`` / ``stop()``."""

    name = "sim"
    # Normalized channel names (order_book, trades, ...) -> this venue's channels, so
    # /_sim/stale_sub takes either.
    STALE_ALIASES: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def __init__(
        self,
        *,
        host: str,
        port: int,
        seed: int,
        tick_ms: int,
        compression: bool,
        max_queue: int,
    ) -> None:
        self.host = host
        self.port = port
        self.tick_ms = tick_ms
        self._compression = compression
        self._max_queue = max_queue
        self._rng = random.Random(f"{seed}/server")
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()
        self._conns: set[Conn] = set()
        # subscription key -> its subscribers; each venue fills it (keys are its own)
        self._subs: dict[Any, set[Conn]] = {}
        self._muted: dict[tuple[Conn, Any], float] = {}  # (conn, key) -> silent until
        self._paused = False
        self._stale_until = 0.0
        self._refuse_until = 0.0
        self._pushes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._dropped_stale = 0
        self._slow_closes = 0
        self._pad_next: deque[int] = deque()  # /_sim/big: sizes for the next frames
        self._truncate_next = 0  # /_sim/truncate: this many next frames cut in half
        self._delay_s = 0.0  # /_sim/delay: how long frames are held back ...
        self._delay_until = 0.0  # ... until then (monotonic)
        self._delayed: deque[tuple[float, list[Conn], bytes | bytearray]] = deque()
        self._delay_wake = asyncio.Event()
        self._rest_delays: list[RestFault] = []
        self._rest_failures: list[RestFault] = []

    # -- what a venue supplies ----------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        raise NotImplementedError

    @property
    def rest_url(self) -> str:
        raise NotImplementedError

    def _is_ws_path(self, path: str) -> bool:
        raise NotImplementedError

    def _conn_variant(self, request: Request | None) -> int:
        """Which frame rendering a new connection takes, from its handshake."""
        return 0

    def _rest(self, path: str, params: dict[str, str], request: Request) -> Any:
        raise HttpError(404, "NOT_FOUND", f"no such path {path}")

    def _on_message(self, conn: Conn, message: str | bytes) -> None:
        raise NotImplementedError

    def _forget(self, conn: Conn) -> None:
        """A connection closed: drop its subscriptions."""

    def _tick(self, t_ms: int) -> None:
        """One market step (not called while paused)."""

    def _flush_all(self, t_ms: int) -> None:
        """Deliver everything pending (before a pause)."""

    def _extra_stats(self) -> dict[str, Any]:
        return {}

    def _sub_parts(self, key: Any) -> tuple[str, str]:
        """(this venue's channel, native symbol or "") of one of its subscription keys."""
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """The market is frozen by /_sim/pause (tests compare truth while it is)."""
        return self._paused

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.port}/_sim"

    async def start(self) -> None:
        """Bind the listener and start the market; ``.port`` then holds the real port."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._serve_request,
            compression="deflate" if self._compression else None,
            close_timeout=2,  # stop() must not hang on a client that stopped reading
            logger=log,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._started(now_ms())
        self._tasks.append(asyncio.create_task(self._market_loop(), name=f"{self.name}-market"))
        self._tasks.append(asyncio.create_task(self._delay_loop(), name=f"{self.name}-delay"))
        log.info("%s simulator on %s and %s", self.name, self.ws_url, self.rest_url)

    def _started(self, t_ms: int) -> None:
        """Hook: the listener is up and the market starts now."""

    async def stop(self) -> None:
        """Close every connection and the listener, and end the tasks."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._stopped.set()

    async def serve_forever(self) -> None:
        """Start (if needed) and run until :meth:`stop`."""
        if self._server is None:
            await self.start()
        await self._stopped.wait()

    async def __aenter__(self) -> Any:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- market -------------------------------------------------------------------------------

    async def _market_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.tick_ms / 1000
        deadline = loop.time()
        while True:
            deadline += period
            if self._muted:
                self._unmute_expired(time.monotonic())
            if not self._paused:
                self._tick(now_ms())
            delay = deadline - loop.time()
            if delay < -1.0:  # the host stalled: carry on from now, don't replay the backlog
                deadline = loop.time()
            await asyncio.sleep(max(delay, 0.0))

    # -- sending ------------------------------------------------------------------------------

    @property
    def stale(self) -> bool:
        return bool(self._stale_until) and time.monotonic() < self._stale_until

    def _send(self, conns: Collection[Conn], channel: str, frame: bytes) -> int:
        """One frame to many connections (counted per channel; dropped while stale)."""
        if self.stale:
            self._dropped_stale += len(conns)
            return 0
        frame = self._faulty(frame)
        if self._delay_active():
            self._hold(conns, frame)
        else:
            for conn in conns:
                conn.push(frame)
        self._pushes[channel] += len(conns)
        return len(conns)

    def _send_built(
        self, conns: Collection[Conn], channel: str, build: Callable[[int], bytes]
    ) -> int:
        """Like :meth:`_send`, for frames rendered per connection variant: each variant is
        built once, and only if some connection takes it."""
        if self.stale:
            self._dropped_stale += len(conns)
            return 0
        frames: dict[int, bytes] = {}
        delayed = self._delay_active()
        for conn in conns:
            frame = frames.get(conn.variant)
            if frame is None:
                frame = frames[conn.variant] = self._faulty(build(conn.variant))
            if delayed:
                self._hold([conn], frame)
            else:
                conn.push(frame)
        self._pushes[channel] += len(conns)
        return len(conns)

    # -- frame faults: big, truncated, delayed --------------------------------------------------

    def _faulty(self, frame: bytes | bytearray) -> bytes | bytearray:
        """The frame as the armed faults make it (a no-op when none is armed)."""
        if self._pad_next:
            frame = padded(frame, self._pad_next.popleft())
            self._faults["big"] += 1
        elif self._truncate_next:
            self._truncate_next -= 1
            frame = truncated(frame)
            self._faults["truncated"] += 1
        return frame

    def _delay_active(self) -> bool:
        # Frames queue behind held ones even once the window ends, so order survives.
        return bool(self._delayed) or (
            bool(self._delay_until) and time.monotonic() < self._delay_until
        )

    def _hold(self, conns: Collection[Conn], frame: bytes | bytearray) -> None:
        due = time.monotonic() + (self._delay_s if time.monotonic() < self._delay_until else 0)
        self._delayed.append((due, list(conns), frame))
        self._faults["delayed_frames"] += 1
        if len(self._delayed) == 1:
            self._delay_wake.set()

    async def _delay_loop(self) -> None:
        """Release held frames in order, each when it is due."""
        held = self._delayed
        while True:
            await self._delay_wake.wait()
            self._delay_wake.clear()
            while held:
                due, conns, frame = held[0]
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                held.popleft()
                for conn in conns:
                    conn.push(frame)

    # -- connections --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        variant = self._conn_variant(ws.request)
        conn = Conn(ws, f"{self._rng.getrandbits(64):016x}", self._max_queue, variant)
        self._conns.add(conn)
        writer = asyncio.create_task(self._write_loop(conn))
        try:
            async for message in ws:
                self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
            self._forget(conn)
            writer.cancel()

    async def _write_loop(self, conn: Conn) -> None:
        ws, out, wake = conn.ws, conn.out, conn.wake
        protocol, transport = ws.protocol, ws.transport
        try:
            while True:
                await wake.wait()
                wake.clear()
                while out and not conn.overflow:
                    # One socket write per batch, not per frame (ws.send() writes each message
                    # on its own, a syscall per frame).  send_context() keeps websockets' state
                    # checks, close handling and flow control (drain).
                    async with ws.send_context():
                        for _ in range(min(len(out), WRITE_BATCH)):
                            frame = out.popleft()
                            if type(frame) is bytes:
                                protocol.send_text(frame)
                            else:
                                protocol.send_binary(bytes(frame))
                        transport.write(b"".join(protocol.data_to_send()))
                if conn.overflow:  # it fell max_queue frames behind: cut it off, as venues do
                    self._slow_closes += 1
                    await ws.close(1008, "slow consumer")
                    return
        except ConnectionClosed:
            pass

    # -- HTTP: REST and control ---------------------------------------------------------------

    async def _serve_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """REST faults first (they never touch WebSocket upgrades or ``/_sim/``), then the
        venue's own routing."""
        path = request.path.partition("?")[0]
        if not path.startswith("/_sim/") and not self._is_ws_path(path):
            now = time.monotonic()
            fail = _armed(self._rest_failures, request.path, now)
            if fail is not None:
                fail.used += 1
                self._faults["rest_failed"] += 1
                body = {"label": "SERVER_ERROR", "message": "simulated failure", "code": 500}
                return http_response(fail.status, body)
            delay = _armed(self._rest_delays, request.path, now)
            if delay is not None:
                delay.used += 1
                self._faults["rest_delayed"] += 1
                await asyncio.sleep(delay.seconds)
        return self._process_request(connection, request)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if self._is_ws_path(path):
            if time.monotonic() < self._refuse_until:
                self._faults["refused"] += 1
                return http_response(503, {"label": "SERVICE_UNAVAILABLE", "message": "refused"})
            return None  # go on with the WebSocket handshake
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            if path.startswith("/_sim/"):
                return http_response(200, self.control(path.removeprefix("/_sim/"), params))
            return http_response(200, self._rest(path, params, request))
        except HttpError as err:
            return http_response(err.status, {"label": err.label, "message": err.message})

    def control(self, name: str, params: dict[str, str]) -> Any:
        """``/_sim/<name>``: faults and truth, one ``_sim_<name>`` method each."""
        action = getattr(self, f"_sim_{name.strip('/')}", None)
        if action is None:
            raise HttpError(404, "NOT_FOUND", f"no such control /_sim/{name}")
        return action(params, now_ms())

    def _sim_drop(self, params: dict[str, str], t_ms: int) -> Any:
        for conn in list(self._conns):
            conn.ws.transport.abort()  # no close frame: the client sees 1006
        self._faults["drop"] += 1
        return {"dropped": len(self._conns)}

    def _sim_refuse(self, params: dict[str, str], t_ms: int) -> Any:
        seconds = num_param(params, "seconds", 5)
        self._refuse_until = time.monotonic() + seconds
        self._faults["refuse"] += 1
        return {"refuse_seconds": seconds}

    def _sim_pause(self, params: dict[str, str], t_ms: int) -> Any:
        self._flush_all(t_ms)  # deliver what happened, so the streams end at the truth
        self._paused = True
        self._faults["pause"] += 1
        return {"paused": True, **self._extra_pause()}

    def _sim_resume(self, params: dict[str, str], t_ms: int) -> Any:
        self._paused = False
        return {"paused": False, **self._extra_pause()}

    def _extra_pause(self) -> dict[str, Any]:
        return {}

    def _sim_stale(self, params: dict[str, str], t_ms: int) -> Any:
        seconds = num_param(params, "seconds", 5)
        self._stale_until = time.monotonic() + seconds
        self._faults["stale"] += 1
        return {"stale_seconds": seconds}

    def _sim_stale_sub(self, params: dict[str, str], t_ms: int) -> Any:
        """One subscription goes silent: every connection holding (``channel``, ``symbol``)
        leaves its subscriber set without being told, so the socket stays open, acks, pongs
        and every other stream keep flowing, and the venue still counts it subscribed.  A
        new subscribe (the client's renewal) puts it back at once, as on a real venue; when
        ``seconds`` end the stream resumes where the venue is by then (a gap for books)."""
        channel, symbol = params.get("channel", ""), params.get("symbol", "")
        if not channel or not symbol:
            raise HttpError(400, "MISSING_REQUIRED_PARAM", "channel and symbol are required")
        seconds = num_param(params, "seconds", 30)
        wires = self.STALE_ALIASES.get(channel, (channel,))
        until = time.monotonic() + seconds
        muted = 0
        for key, conns in self._subs.items():
            if conns and self._sub_parts(key) in {(wire, symbol) for wire in wires}:
                for conn in conns:
                    self._muted[(conn, key)] = until
                muted += len(conns)
                conns.clear()
        if not muted:
            raise HttpError(404, "NOT_SUBSCRIBED", f"no connection holds {channel} {symbol}")
        self._faults["stale_sub"] += 1
        return {"channel": channel, "symbol": symbol, "muted": muted, "stale_seconds": seconds}

    def _unmute_expired(self, now: float) -> None:
        """The time of a stale_sub fault is over: still-held subscriptions flow again."""
        for (conn, key), until in list(self._muted.items()):
            if now >= until:
                del self._muted[(conn, key)]
                if conn in self._conns and key in conn.keys:
                    self._subs.setdefault(key, set()).add(conn)

    def _sim_big(self, params: dict[str, str], t_ms: int) -> Any:
        size = int(num_param(params, "bytes", 2**20, minimum=1))
        count = int(num_param(params, "count", 1, minimum=1))
        self._pad_next.extend([size] * count)
        return {"bytes": size, "count": count}

    def _sim_truncate(self, params: dict[str, str], t_ms: int) -> Any:
        count = int(num_param(params, "count", 1, minimum=1))
        self._truncate_next += count
        return {"count": count}

    def _sim_delay(self, params: dict[str, str], t_ms: int) -> Any:
        self._delay_s = num_param(params, "ms", 500) / 1000
        seconds = num_param(params, "seconds", 5)
        self._delay_until = time.monotonic() + seconds
        self._faults["delay"] += 1
        return {"delay_ms": self._delay_s * 1000, "seconds": seconds}

    def _sim_rest_delay(self, params: dict[str, str], t_ms: int) -> Any:
        fault = _rest_fault(params, status=200)
        fault.seconds = num_param(params, "ms", 3000) / 1000
        self._rest_delays.append(fault)
        self._faults["rest_delay"] += 1
        return fault.describe(time.monotonic())

    def _sim_rest_fail(self, params: dict[str, str], t_ms: int) -> Any:
        status = int(num_param(params, "status", 503, minimum=400))
        if status > 599:
            raise HttpError(400, "INVALID_PARAM_VALUE", "status must be 400..599")
        fault = _rest_fault(params, status=status)
        self._rest_failures.append(fault)
        self._faults["rest_fail"] += 1
        return fault.describe(time.monotonic())

    def _sim_stats(self, params: dict[str, str], t_ms: int) -> Any:
        return self.stats()

    def stats(self) -> dict[str, Any]:
        """Connections, pushes per channel, faults injected, plus the venue's own counters."""
        return {
            "connections": len(self._conns),
            "pushes": dict(self._pushes),
            "faults": dict(self._faults),
            "dropped_while_stale": self._dropped_stale,
            "muted_subscriptions": len(self._muted),
            "slow_consumer_closes": self._slow_closes,
            "queued": sum(len(conn.out) for conn in self._conns),
            "paused": self._paused,
            **self._extra_stats(),
        }


def serve_until_signalled(sim: SimServer, label: str) -> None:
    """Blocking: serve ``sim`` until SIGINT/SIGTERM (``pipeline simulate <venue>``)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await sim.start()
        print(f"{label} simulator: ws {sim.ws_url}  rest {sim.rest_url}", flush=True)
        try:
            await stop.wait()
        finally:
            await sim.stop()

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        asyncio.run(main())
    else:
        uvloop.run(main())
