"""Gate.io spot simulator: WebSocket v4 and the REST calls we use, on one port.  [I/O shell]

Role: stands in for ``wss://api.gateio.ws/ws/v4/`` and ``https://api.gateio.ws/api/v4`` in
offline runs (``pipeline run topology.yaml --simulate``), tests and benchmarks, speaking the
venue's own protocol (``../shared/protocols/protocols.md`` section 3) so that our client code
cannot tell it from Gate.io.

Sockets: one TCP listener on ``host:port`` (loopback by default; ``port=0`` picks a free
port, see ``.port``) that speaks HTTP/1.1 and routes by path:

- ``/ws...``         WebSocket upgrade: ``spot.ping``, ``spot.book_ticker``, ``spot.trades``,
                     ``spot.tickers``, ``spot.order_book_update`` (``20ms``/``100ms``);
- ``/api/v4/spot/*`` REST: ``order_book``, ``currency_pairs``, ``tickers``;
- ``/_sim/*``        control (GET or body-less POST): fault injection and the true state
                     (drop, refuse, pause, resume, stale, malformed, gap, full, book, stats,
                     rate).

Pure parts: the market itself (``actors/simulators/market.py``) and, here, the request
checks (:func:`parse_request`, :func:`subscription_keys`) and frame builders (``*_frame``,
``*_result``), which take values and return values.  The class below only moves bytes and
keeps time: one market task steps every symbol each ``tick_ms`` and pushes to subscribers;
one writer task per connection drains that connection's queue, so a slow client never
stalls the market.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import itertools
import logging
import math
import random
import signal
import time
from collections import Counter, deque
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from actors.simulators.market import DiffPush, DiffStream, Market, StepResult, Top, Trade

log = logging.getLogger("marketpipe.sim.gateio_spot")

BOOK_TICKER: Final = "spot.book_ticker"
TRADES: Final = "spot.trades"
TICKERS: Final = "spot.tickers"
ORDER_BOOK_UPDATE: Final = "spot.order_book_update"
PING: Final = "spot.ping"
PAIR_CHANNELS: Final = frozenset({BOOK_TICKER, TRADES, TICKERS})
# Real Gate channels we do not simulate, and private ones (they need ``auth``).
UNSIMULATED: Final = frozenset(
    {"spot.candlesticks", "spot.order_book", "spot.obu", "spot.trades_v2"}
)
PRIVATE: Final = frozenset(
    {
        "spot.orders",
        "spot.orders_v2",
        "spot.usertrades",
        "spot.balances",
        "spot.margin_balances",
        "spot.funding_balances",
        "spot.cross_balances",
        "spot.priceorders",
    }
)
# order_book_update interval -> the depth level it carries (20ms only exists for level 20).
INTERVAL_LEVELS: Final = {"20ms": 20, "100ms": 100}
TICKER_PERIOD_MS: Final = 1000
TIME_WINDOW_S: Final = 60  # a request's ``time`` must be this close to server time
WRITE_BATCH: Final = 512  # frames per socket write

Key = tuple[str, str, int]
"""A subscription: (channel, pair, interval in ms; 0 for channels without one)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- requests (pure) ----------------------------------------------------------------------------


class RequestError(Exception):
    """A request the venue rejects, with Gate's error code (1 body, 2 argument, 3 server,
    4 auth) and the request fields to echo."""

    def __init__(
        self, code: int, message: str, *, channel: str = "", event: str = "", req_id: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.channel = channel
        self.event = event
        self.req_id = req_id


@dataclass(frozen=True, slots=True)
class ClientRequest:
    """A well-formed client request: ``{time, id?, channel, event, payload, auth?}``."""

    time: int
    id: Any
    channel: str
    event: str
    payload: list[Any] = field(default_factory=list)
    auth: Any = None


def parse_request(raw: str | bytes, now_s: int) -> ClientRequest:
    """Check a client frame's envelope.  ``spot.ping`` needs only ``channel``; everything else
    needs integer ``time`` (within 60 s of ``now_s``), ``channel``, ``event`` and a list
    ``payload``.  Raises :class:`RequestError` (code 1 for the body, 2 for values)."""
    if isinstance(raw, bytes):
        raise RequestError(1, "invalid request body format: binary frames are not accepted")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(1, "invalid request body format: not JSON") from None
    if not isinstance(body, dict):
        raise RequestError(1, "invalid request body format: not a JSON object")
    req_id = body.get("id")
    channel, event = body.get("channel"), body.get("event")
    echo = {
        "channel": channel if isinstance(channel, str) else "",
        "event": event if isinstance(event, str) else "",
        "req_id": req_id,
    }
    if channel == PING:
        t = body.get("time")
        return ClientRequest(t if isinstance(t, int) else now_s, req_id, PING, "")
    for name, kind in (("time", int), ("channel", str), ("event", str), ("payload", list)):
        value = body.get(name)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            raise RequestError(
                1, f"invalid request body format: missing or invalid field {name!r}", **echo
            )
    if event not in ("subscribe", "unsubscribe"):
        raise RequestError(2, f"invalid event {event!r}", **echo)
    if abs(body["time"] - now_s) > TIME_WINDOW_S:
        raise RequestError(
            2, f"request time {body['time']} is more than 60s from server time {now_s}", **echo
        )
    return ClientRequest(body["time"], req_id, channel, event, body["payload"], body.get("auth"))


def subscription_keys(req: ClientRequest, pairs: Container[str]) -> list[Key]:
    """The subscriptions a subscribe/unsubscribe request names; all or nothing."""
    echo = {"channel": req.channel, "event": req.event, "req_id": req.id}
    if req.channel in PAIR_CHANNELS:
        if not req.payload:
            raise RequestError(2, "payload must list at least one currency pair", **echo)
        for pair in req.payload:
            if not isinstance(pair, str) or pair not in pairs:
                raise RequestError(2, f"unknown currency pair {pair}", **echo)
        return [(req.channel, pair, 0) for pair in dict.fromkeys(req.payload)]
    if req.channel == ORDER_BOOK_UPDATE:
        return [_order_book_key(req, pairs, echo)]
    if req.channel in PRIVATE:
        if req.auth is None:
            raise RequestError(4, f"authentication required for {req.channel}", **echo)
        raise RequestError(3, f"private channel {req.channel} is not simulated", **echo)
    if req.channel in UNSIMULATED:
        raise RequestError(2, f"channel {req.channel} is not simulated", **echo)
    raise RequestError(2, f"unknown channel {req.channel}", **echo)


def _order_book_key(req: ClientRequest, pairs: Container[str], echo: dict[str, Any]) -> Key:
    payload = req.payload
    if len(payload) not in (2, 3) or not all(isinstance(p, str) for p in payload):
        raise RequestError(2, 'payload must be [currency_pair, "20ms"|"100ms"]', **echo)
    pair, interval = payload[0], payload[1]
    if pair not in pairs:
        raise RequestError(2, f"unknown currency pair {pair}", **echo)
    level = INTERVAL_LEVELS.get(interval)
    if level is None:
        raise RequestError(2, f"invalid interval {interval}, only 20ms and 100ms", **echo)
    if len(payload) == 3 and payload[2] != str(level):
        raise RequestError(2, f"interval {interval} only supports level {level}", **echo)
    return (ORDER_BOOK_UPDATE, pair, int(interval.removesuffix("ms")))


# -- frames (pure) ------------------------------------------------------------------------------


def push_frame(channel: str, result: Any, t_ms: int) -> bytes:
    return orjson.dumps(
        {
            "time": t_ms // 1000,
            "time_ms": t_ms,
            "channel": channel,
            "event": "update",
            "result": result,
        }
    )


def reply_frame(
    t_ms: int,
    conn_id: str,
    trace_id: str,
    req_id: Any,
    channel: str,
    event: str,
    *,
    payload: Any = None,
    error: dict[str, Any] | None = None,
    result: Any = None,
) -> bytes:
    """An ack, error or pong: Gate's response envelope, ``id`` only when the request had one."""
    body: dict[str, Any] = {"time": t_ms // 1000, "time_ms": t_ms}
    if req_id is not None:
        body["id"] = req_id
    body.update(conn_id=conn_id, trace_id=trace_id, channel=channel, event=event)
    if payload is not None:
        body["payload"] = payload
    body["error"] = error
    body["result"] = result
    return orjson.dumps(body)


def book_ticker_result(symbol: str, top: Top, t_ms: int) -> dict[str, Any]:
    return {
        "t": t_ms,
        "u": top.id,
        "s": symbol,
        "b": top.bid,
        "B": top.bid_size,
        "a": top.ask,
        "A": top.ask_size,
    }


def trade_result(symbol: str, trade: Trade) -> dict[str, Any]:
    return {
        "id": trade.id,
        "id_market": trade.id_market,
        "create_time": trade.time_ms // 1000,
        "create_time_ms": trade.time_ms_str,
        "side": trade.side,
        "currency_pair": symbol,
        "amount": trade.amount,
        "price": trade.price,
        "range": f"{trade.id_market}-{trade.id_market}",
    }


def diff_result(push: DiffPush, t_ms: int) -> dict[str, Any]:
    result: dict[str, Any] = {"t": t_ms}
    if push.full:
        result["full"] = True
    result.update(
        l=str(push.level),
        e="depthUpdate",
        E=t_ms // 1000,
        s=push.symbol,
        U=push.first_id,
        u=push.last_id,
        b=push.bids,
        a=push.asks,
    )
    return result


def malformed_frames(count: int, sample: bytes, rng: random.Random) -> Iterator[bytes | bytearray]:
    """``count`` bad frames, cycling: truncated JSON, garbage bytes (a binary frame, marked by
    being a ``bytearray``), and a valid envelope with its ``result`` missing."""
    for i in range(count):
        kind = i % 3
        if kind == 0:
            yield sample[: max(1, len(sample) // 2)]
        elif kind == 1:
            yield bytearray(rng.randbytes(24))
        else:
            yield orjson.dumps({"time": 0, "time_ms": 0, "channel": BOOK_TICKER, "event": "update"})


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


class HttpError(Exception):
    def __init__(self, status: int, label: str, message: str) -> None:
        super().__init__(message)
        self.status, self.label, self.message = status, label, message


def _num_param(params: dict[str, str], name: str, default: float, minimum: float = 0) -> float:
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


# -- the server ---------------------------------------------------------------------------------


class _Conn:
    """One WebSocket client: its subscriptions and its outgoing queue."""

    __slots__ = ("conn_id", "keys", "max_queue", "out", "overflow", "wake", "ws")

    def __init__(self, ws: ServerConnection, conn_id: str, max_queue: int) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.keys: set[Key] = set()
        self.out: deque[bytes | bytearray] = deque()
        self.wake = asyncio.Event()
        self.max_queue = max_queue
        self.overflow = False

    def push(self, frame: bytes | bytearray) -> None:
        out = self.out
        if len(out) >= self.max_queue:  # slow consumer: the writer closes the connection
            self.overflow = True
            out.clear()
        out.append(frame)
        if len(out) == 1:  # the writer sleeps only when the queue is empty
            self.wake.set()


@dataclass(slots=True)
class _Stream:
    diff: DiffStream
    interval_ms: int
    due_ms: int


class GateioSpotSimulator:
    """A Gate.io spot venue on ``host:port``: see the module docstring for the endpoints.

    ``symbols`` are native pairs (``"BTC_USDT"``); ``seed`` fixes the market; the market steps
    every ``tick_ms``; books hold ``depth`` levels per side.  Use as ``async with`` or
    ``await start()`` / ``await stop()``.
    """

    venue: Final = "gateio_spot"

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        tick_ms: int = 10,
        depth: int = 30,
        start_prices: dict[str, float] | None = None,
        compression: bool = False,
        max_queue: int = 250_000,
    ) -> None:
        self.market = Market(symbols, seed, depth, start_prices)
        self.symbols = list(symbols)
        self.host = host
        self.port = port
        self.tick_ms = tick_ms
        self._compression = compression
        self._max_queue = max_queue
        self._rng = random.Random(f"{seed}/server")
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()
        self._conns: set[_Conn] = set()
        self._subs: dict[Key, set[_Conn]] = {}
        self._streams: dict[tuple[str, int], _Stream] = {}
        self._ticker_due_ms = 0
        self._paused = False
        self._stale_until = 0.0
        self._refuse_until = 0.0
        self._rate = 0.0
        self._rate_symbols: list[str] = []
        self._rate_task: asyncio.Task[None] | None = None
        self._pushes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._dropped_stale = 0
        self._slow_closes = 0

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/v4/"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v4"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.port}/_sim"

    async def start(self) -> None:
        """Bind the listener and start the market; ``.port`` then holds the real port."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            compression="deflate" if self._compression else None,
            close_timeout=2,  # stop() must not hang on a client that stopped reading
            logger=log,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker_due_ms = now_ms() + TICKER_PERIOD_MS
        self._tasks.append(asyncio.create_task(self._market_loop(), name="gateio-sim-market"))
        log.info("gateio_spot simulator on %s and %s", self.ws_url, self.rest_url)

    async def stop(self) -> None:
        """Close every connection and the listener, and end the tasks."""
        self._set_rate(0, [])
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

    async def __aenter__(self) -> GateioSpotSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- market ---------------------------------------------------------------------------------

    async def _market_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.tick_ms / 1000
        deadline = loop.time()
        while True:
            deadline += period
            if not self._paused:
                self._tick(now_ms())
            delay = deadline - loop.time()
            if delay < -1.0:  # the host stalled: carry on from now, don't replay the backlog
                deadline = loop.time()
            await asyncio.sleep(max(delay, 0.0))

    def _tick(self, t_ms: int) -> None:
        for symbol in self.symbols:
            self._apply(self.market.step(symbol, t_ms), t_ms)
        self._flush_due(t_ms)
        if t_ms >= self._ticker_due_ms:
            self._ticker_due_ms = t_ms + TICKER_PERIOD_MS
            self._publish_tickers(t_ms)

    def _apply(self, step: StepResult, t_ms: int) -> None:
        """Push a step's trades and top changes in change order, and feed the diff streams."""
        symbol = step.symbol
        trades = self._subs.get((TRADES, symbol, 0))
        tickers = self._subs.get((BOOK_TICKER, symbol, 0))
        if trades or tickers:
            for change in step.changes:
                if trades and change.trade:
                    result = trade_result(symbol, change.trade)
                    self._send(trades, TRADES, push_frame(TRADES, result, t_ms))
                if tickers and change.top:
                    result = book_ticker_result(symbol, change.top, t_ms)
                    self._send(tickers, BOOK_TICKER, push_frame(BOOK_TICKER, result, t_ms))
        for interval in (20, 100):
            stream = self._streams.get((symbol, interval))
            if stream is not None:
                stream.diff.add(step)

    def _flush_due(self, t_ms: int) -> None:
        for stream in self._streams.values():
            if t_ms >= stream.due_ms:
                stream.due_ms += stream.interval_ms
                if stream.due_ms <= t_ms:  # fell behind: realign instead of bursting
                    stream.due_ms = t_ms + stream.interval_ms
                self._publish_diff(stream, stream.diff.flush(), t_ms)

    def _flush_symbol(self, symbol: str, t_ms: int, *, full: bool = False) -> int:
        """Push the pending diff of every stream of ``symbol`` now (or a full book)."""
        sent = 0
        for (sym, _), stream in self._streams.items():
            if sym == symbol:
                push = stream.diff.flush_full() if full else stream.diff.flush()
                sent += self._publish_diff(stream, push, t_ms)
        return sent

    def _publish_diff(self, stream: _Stream, push: DiffPush | None, t_ms: int) -> int:
        subs = self._subs.get((ORDER_BOOK_UPDATE, stream.diff.symbol, stream.interval_ms))
        if push is None or not subs:
            return 0
        frame = push_frame(ORDER_BOOK_UPDATE, diff_result(push, t_ms), t_ms)
        return self._send(subs, ORDER_BOOK_UPDATE, frame)

    def _publish_tickers(self, t_ms: int) -> None:
        for symbol in self.symbols:
            subs = self._subs.get((TICKERS, symbol, 0))
            if subs:
                frame = push_frame(TICKERS, self.market.ticker(symbol, t_ms), t_ms)
                self._send(subs, TICKERS, frame)

    def _send(self, conns: set[_Conn], channel: str, frame: bytes) -> int:
        if self._stale_until and time.monotonic() < self._stale_until:
            self._dropped_stale += len(conns)
            return 0
        for conn in conns:
            conn.push(frame)
        self._pushes[channel] += len(conns)
        return len(conns)

    # -- connections ----------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn = _Conn(ws, f"{self._rng.getrandbits(64):016x}", self._max_queue)
        self._conns.add(conn)
        writer = asyncio.create_task(self._write_loop(conn))
        try:
            async for message in ws:
                self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
            for key in list(conn.keys):
                self._unsubscribe(conn, key)
            writer.cancel()

    async def _write_loop(self, conn: _Conn) -> None:
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

    def _on_message(self, conn: _Conn, message: str | bytes) -> None:
        t_ms = now_ms()
        try:
            req = parse_request(message, t_ms // 1000)
            if req.channel == PING:
                self._reply(conn, t_ms, req.id, "spot.pong", "", result=None)
                return
            keys = subscription_keys(req, self.market)
        except RequestError as err:
            error = {"code": err.code, "message": err.message}
            fail = {"status": "fail"}
            self._reply(conn, t_ms, err.req_id, err.channel, err.event, error=error, result=fail)
            return
        update = self._subscribe if req.event == "subscribe" else self._unsubscribe
        for key in keys:
            update(conn, key)
        ok = {"status": "success"}
        self._reply(conn, t_ms, req.id, req.channel, req.event, payload=req.payload, result=ok)

    def _reply(
        self,
        conn: _Conn,
        t_ms: int,
        req_id: Any,
        channel: str,
        event: str,
        *,
        payload: Any = None,
        error: dict[str, Any] | None = None,
        result: Any,
    ) -> None:
        if self._stale_until and time.monotonic() < self._stale_until:
            self._dropped_stale += 1
            return
        trace_id = f"{self._rng.getrandbits(128):032x}"
        frame = reply_frame(
            t_ms,
            conn.conn_id,
            trace_id,
            req_id,
            channel,
            event,
            payload=payload,
            error=error,
            result=result,
        )
        conn.push(frame)

    def _subscribe(self, conn: _Conn, key: Key) -> None:
        self._subs.setdefault(key, set()).add(conn)
        conn.keys.add(key)
        channel, symbol, interval = key
        if channel == ORDER_BOOK_UPDATE and (symbol, interval) not in self._streams:
            # One stream per (pair, interval), shared by its subscribers, so they all see the
            # same U/u sequence; it starts at the current book id.
            diff = DiffStream(self.market, symbol, INTERVAL_LEVELS[f"{interval}ms"])
            self._streams[(symbol, interval)] = _Stream(diff, interval, now_ms() + interval)

    def _unsubscribe(self, conn: _Conn, key: Key) -> None:
        conn.keys.discard(key)
        subs = self._subs.get(key)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._subs[key]
            if key[0] == ORDER_BOOK_UPDATE:
                self._streams.pop((key[1], key[2]), None)

    # -- HTTP: REST and control -----------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path.startswith("/ws"):
            if time.monotonic() < self._refuse_until:
                self._faults["refused"] += 1
                return http_response(503, {"label": "SERVICE_UNAVAILABLE", "message": "refused"})
            return None  # go on with the WebSocket handshake
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            if path.startswith("/api/v4/"):
                return http_response(200, self._rest(path, params))
            if path.startswith("/_sim/"):
                return http_response(200, self._control(path.removeprefix("/_sim/"), params))
            raise HttpError(404, "NOT_FOUND", f"no such path {path}")
        except HttpError as err:
            return http_response(err.status, {"label": err.label, "message": err.message})

    def _pair(self, params: dict[str, str]) -> str:
        pair = params.get("currency_pair")
        if not pair:
            raise HttpError(400, "MISSING_REQUIRED_PARAM", "currency_pair is required")
        if pair not in self.market:
            raise HttpError(400, "INVALID_CURRENCY_PAIR", f"Invalid currency pair {pair}")
        return pair

    def _rest(self, path: str, params: dict[str, str]) -> Any:
        route = path.removeprefix("/api/v4").rstrip("/")
        if route == "/spot/order_book":
            return self._rest_order_book(params)
        if route == "/spot/currency_pairs":
            return [self._pair_info(symbol) for symbol in self.symbols]
        if route.startswith("/spot/currency_pairs/"):
            return self._pair_info(self._pair({"currency_pair": route.rpartition("/")[2]}))
        if route == "/spot/tickers":
            t_ms = now_ms()
            wanted = [self._pair(params)] if "currency_pair" in params else self.symbols
            return [self.market.ticker(symbol, t_ms) for symbol in wanted]
        raise HttpError(404, "NOT_FOUND", f"no such path {path}")

    def _rest_order_book(self, params: dict[str, str]) -> dict[str, Any]:
        pair = self._pair(params)
        if params.get("interval", "0") != "0":
            raise HttpError(400, "INVALID_PARAM_VALUE", "price aggregation is not simulated")
        limit = _num_param(params, "limit", 10, minimum=1)
        if limit != int(limit):
            raise HttpError(400, "INVALID_PARAM_VALUE", "limit must be an integer")
        snap = self.market.snapshot(pair, int(limit))
        body: dict[str, Any] = {}
        if params.get("with_id", "false").lower() == "true":
            body["id"] = snap.id
        body.update(current=now_ms(), update=snap.update_ms, asks=snap.asks, bids=snap.bids)
        return body

    def _pair_info(self, symbol: str) -> dict[str, Any]:
        spec = self.market.spec(symbol)
        return {
            "id": symbol,
            "base": spec.base,
            "base_name": spec.base,
            "quote": spec.quote,
            "quote_name": spec.quote,
            "fee": "0.2",
            "min_base_amount": self.market.amount_str(symbol, 1),
            "min_quote_amount": "3",
            "max_base_amount": None,
            "max_quote_amount": "5000000",
            "amount_precision": spec.amount_decimals,
            "precision": spec.price_decimals,
            "trade_status": "tradable",
            "sell_start": 0,
            "buy_start": 0,
            "delisting_time": 0,
            "type": "normal",
            "trade_url": f"https://www.gate.io/trade/{symbol}",
            "st_tag": False,
        }

    def _control(self, name: str, params: dict[str, str]) -> Any:
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
        seconds = _num_param(params, "seconds", 5)
        self._refuse_until = time.monotonic() + seconds
        self._faults["refuse"] += 1
        return {"refuse_seconds": seconds}

    def _sim_pause(self, params: dict[str, str], t_ms: int) -> Any:
        for symbol in self.symbols:  # deliver what happened, so the streams end at the truth
            self._flush_symbol(symbol, t_ms)
        self._paused = True
        self._faults["pause"] += 1
        return {"paused": True, "ids": self._ids()}

    def _sim_resume(self, params: dict[str, str], t_ms: int) -> Any:
        self._paused = False
        return {"paused": False, "ids": self._ids()}

    def _sim_stale(self, params: dict[str, str], t_ms: int) -> Any:
        seconds = _num_param(params, "seconds", 5)
        self._stale_until = time.monotonic() + seconds
        self._faults["stale"] += 1
        return {"stale_seconds": seconds}

    def _sim_malformed(self, params: dict[str, str], t_ms: int) -> Any:
        count = int(_num_param(params, "count", 1))
        symbol = self.symbols[0]
        ticker = book_ticker_result(symbol, self.market.best(symbol), t_ms)
        sample = push_frame(BOOK_TICKER, ticker, t_ms)
        for conn in self._conns:
            for frame in malformed_frames(count, sample, self._rng):
                conn.push(frame)
        self._faults["malformed"] += count
        return {"connections": len(self._conns), "count": count}

    def _sim_gap(self, params: dict[str, str], t_ms: int) -> Any:
        pair = self._pair(params)
        # Push what is pending first, so the skipped id falls between two pushes.
        self._flush_symbol(pair, t_ms)
        skipped = self.market.book_id(pair) + 1
        self.market.force_gap(pair)
        self._faults["gap"] += 1
        return {"currency_pair": pair, "skipped_id": skipped}

    def _sim_full(self, params: dict[str, str], t_ms: int) -> Any:
        pair = self._pair(params)
        self._faults["full"] += 1
        return {"currency_pair": pair, "pushed": self._flush_symbol(pair, t_ms, full=True)}

    def _sim_book(self, params: dict[str, str], t_ms: int) -> Any:
        pair = self._pair(params)
        snap = self.market.snapshot(pair)
        return {
            "currency_pair": pair,
            "id": snap.id,
            "update": snap.update_ms,
            "bids": snap.bids,
            "asks": snap.asks,
        }

    def _sim_stats(self, params: dict[str, str], t_ms: int) -> Any:
        return self.stats()

    def stats(self) -> dict[str, Any]:
        """Connections, subscriptions and pushes per channel, faults injected, book ids."""
        subs: Counter[str] = Counter()
        for (channel, _, _), conns in self._subs.items():
            subs[channel] += len(conns)
        return {
            "connections": len(self._conns),
            "subscriptions": dict(subs),
            "pushes": dict(self._pushes),
            "faults": dict(self._faults),
            "dropped_while_stale": self._dropped_stale,
            "slow_consumer_closes": self._slow_closes,
            "queued": sum(len(conn.out) for conn in self._conns),
            "paused": self._paused,
            "rate_frames_per_s": self._rate,
            "ids": self._ids(),
        }

    def _sim_rate(self, params: dict[str, str], t_ms: int) -> Any:
        rate = _num_param(params, "frames_per_s", 0)
        symbols = [self._pair(params)] if "currency_pair" in params else self.symbols
        self._set_rate(rate, symbols)
        return {"frames_per_s": rate, "symbols": symbols}

    def _ids(self) -> dict[str, int]:
        return {symbol: self.market.book_id(symbol) for symbol in self.symbols}

    # -- rate bursts ----------------------------------------------------------------------------

    def _set_rate(self, rate: float, symbols: list[str]) -> None:
        self._rate, self._rate_symbols = rate, symbols
        if rate > 0 and self._rate_task is None:
            self._rate_task = asyncio.create_task(self._rate_loop(), name="gateio-sim-rate")
        elif rate <= 0 and self._rate_task is not None:
            self._rate_task.cancel()
            self._rate_task = None

    async def _rate_loop(self) -> None:
        """Extra top-of-book changes at ``rate`` per second (each one a book ticker push and a
        diff entry), on top of the normal market, for throughput benchmarks."""
        loop = asyncio.get_running_loop()
        start, done = loop.time(), 0
        cycle = itertools.cycle(self._rate_symbols)
        while True:
            due = int((loop.time() - start) * self._rate) - done
            if self._paused:
                start, done, due = loop.time(), 0, 0
            n = min(max(due, 0), 5000)  # bounded batches keep the loop responsive
            if n:
                t_ms = now_ms()
                for _ in range(n):
                    symbol = next(cycle)
                    self._apply(self.market.nudge_top(symbol, t_ms), t_ms)
                done += n
            await asyncio.sleep(0 if n == 5000 else 0.001)


def run(
    symbols: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    **options: Any,
) -> None:
    """Blocking entry for ``pipeline simulate gateio_spot``: serve until SIGINT/SIGTERM."""

    async def main() -> None:
        sim = GateioSpotSimulator(symbols, host=host, port=port, seed=seed, **options)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await sim.start()
        print(f"gateio_spot simulator: ws {sim.ws_url}  rest {sim.rest_url}", flush=True)
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
