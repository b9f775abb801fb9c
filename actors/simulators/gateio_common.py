"""What the Gate.io spot and futures simulators share: the v4 envelope, auth, streams.  [I/O shell]

Role: Gate.io spot and futures speak the same WebSocket v4 envelope (``time``, ``id``,
``channel``, ``event``, ``payload``, ``auth`` in; ``time``, ``time_ms``, ``channel``,
``event``, ``error``, ``result`` out; error codes 1 body, 2 argument, 3 server, 4 auth) and
sign private requests the same way (``../shared/protocols/protocols.md`` 3.2, 3.5, 4.2).
:class:`GateioSimulator` holds the machinery both venue servers use on top of
``server.py``: the request flow, subscriptions, the shared diff streams, the simulated
account behind the private channels, and the Gate controls.  The venue modules keep what
differs: channel names, payload shapes, frame rendering and REST.

Sockets: none of its own (see ``server.py``).

Order book v2 (``spot.obu`` / ``futures.obu``, protocols.md 3.3-3.4, 4.3): a venue that
sets ``OBU`` gets it from here.  ``["ob.<NAME>.400"]`` streams every 100 ms, ``.50`` every
20 ms; the subscriber's first push is the whole book (``full``, no ``U``), then increments
continue the shared stream; subscribing twice on one connection is error 2 ``Alert sub
<stream>``; a gap (``/_sim/gap``) makes ``U`` skip, and a new subscription gets a new full
push.

Pure parts: :func:`parse_request`, :func:`sign`, :func:`check_auth`, :func:`obu_keys`, the
frame builders (:func:`push_frame`, :func:`reply_frame`, :func:`obu_frame`,
:func:`malformed_frames`).

Gate controls (besides ``server.py``'s): ``gap`` and ``full`` (one symbol's book streams skip
an id / push the whole book), ``book`` (the true book), ``malformed?count=``,
``rate?frames_per_s=[&currency_pair=A,B]`` (extra top-of-book changes spread over those
symbols, default all, for benchmarks: one book ticker push each), and the account:
``order`` (venue-specific parameters; answers the order and every private push it caused),
``cancel?order_id=``, ``account`` (balances, open orders, positions).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import orjson

from actors.simulators.account import Account, AccountEvent, OrderError, Outcome
from actors.simulators.market import ASK, BID, DiffPush, DiffStream, Market, StepResult
from actors.simulators.server import Conn, HttpError, SimServer, now_ms, num_param

ALL: Final = "!all"  # the private payload word for every pair/contract
TIME_WINDOW_S: Final = 60  # a request's ``time`` must be this close to server time
TICKER_PERIOD_MS: Final = 1000
AUTH_METHOD: Final = "api_key"
# obu depth -> push interval (ms): ob.<NAME>.400 every 100 ms, ob.<NAME>.50 every 20 ms
OBU_INTERVALS: Final = {"400": 100, "50": 20}
OBU_STREAM: Final = re.compile(r"ob\.([A-Z0-9]+_[A-Z0-9]+)\.([0-9]+)")

Key = tuple[str, str, str]
"""A subscription: (channel, symbol or "!all" or "", parameter, e.g. "100ms" or "")."""

PrivateRecord = tuple[str, str, dict[str, Any]]
"""One private record: (channel, symbol it is about or "", the record)."""


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

    def error(self, code: int, message: str) -> RequestError:
        return RequestError(code, message, channel=self.channel, event=self.event, req_id=self.id)


def parse_request(
    raw: str | bytes,
    now_s: int,
    *,
    ping: str,
    private: Container[str] = (),
    no_payload: Container[str] = (),
) -> ClientRequest:
    """Check a client frame's envelope.  ``ping`` needs only ``channel``; everything else
    needs integer ``time``, ``channel``, ``event`` and a list ``payload`` (which channels in
    ``no_payload`` may leave out).  ``time`` must be within 60 s of ``now_s``; for
    ``private`` channels that is part of the auth check (:func:`check_auth`).  Raises
    :class:`RequestError` (code 1 for the body, 2 for values)."""
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
    if channel == ping:
        t = body.get("time")
        return ClientRequest(t if isinstance(t, int) else now_s, req_id, ping, "")
    if "payload" not in body and channel in no_payload:
        body["payload"] = []
    for name, kind in (("time", int), ("channel", str), ("event", str), ("payload", list)):
        value = body.get(name)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            raise RequestError(
                1, f"invalid request body format: missing or invalid field {name!r}", **echo
            )
    if event not in ("subscribe", "unsubscribe"):
        raise RequestError(2, f"invalid event {event!r}", **echo)
    if channel not in private and abs(body["time"] - now_s) > TIME_WINDOW_S:
        raise RequestError(
            2, f"request time {body['time']} is more than 60s from server time {now_s}", **echo
        )
    return ClientRequest(body["time"], req_id, channel, event, body["payload"], body.get("auth"))


def obu_keys(
    req: ClientRequest, names: Container[str], held: Container[Key], what: str
) -> list[Key]:
    """The obu streams a request names, as ``(channel, name, depth)`` keys; all or nothing.
    ``what`` names a symbol in errors ("currency pair", "contract"); ``held`` are the
    connection's subscriptions: subscribing to one of them again is the venue's error 2."""
    shape = f"ob.<{what.replace(' ', '_')}>.<50|400>"
    if not req.payload:
        raise req.error(2, f'payload must be ["{shape}"]')
    keys: list[Key] = []
    for name in req.payload:
        match = OBU_STREAM.fullmatch(name) if isinstance(name, str) else None
        if match is None or match[2] not in OBU_INTERVALS:
            raise req.error(2, f"invalid stream {str(name)[:40]}, expected {shape}")
        if match[1] not in names:
            raise req.error(2, f"unknown {what} {match[1]}")
        key = (req.channel, match[1], match[2])
        if req.event == "subscribe" and (key in held or key in keys):
            raise req.error(2, f"Alert sub {name}")  # the venue's words for a duplicate
        keys.append(key)
    return keys


def sign(secret: str, channel: str, event: str, time_s: int) -> str:
    """Gate's channel signature: hex HMAC-SHA512 of ``channel=..&event=..&time=..``.
    (Written here, not imported from our client's ``signing.py``, so the simulator checks
    the client rather than agreeing with it by construction.)"""
    message = f"channel={channel}&event={event}&time={time_s}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def check_auth(req: ClientRequest, credentials: Mapping[str, str], now_s: int) -> None:
    """A private request's ``auth``; RequestError code 4 unless it is signed right, with a
    known key, at a ``time`` within 60 s.  No message repeats the key, signature or secret."""
    auth = req.auth
    if auth is None:
        raise req.error(4, f"authentication required for {req.channel}")
    if not isinstance(auth, dict) or auth.get("method") != AUTH_METHOD:
        raise req.error(4, 'invalid auth: method must be "api_key" with KEY and SIGN')
    key, signature = auth.get("KEY"), auth.get("SIGN")
    if not isinstance(key, str) or not isinstance(signature, str):
        raise req.error(4, "invalid auth: KEY and SIGN must be strings")
    secret = credentials.get(key)
    if secret is None:
        raise req.error(4, "Invalid key provided")
    if abs(req.time - now_s) > TIME_WINDOW_S:
        raise req.error(4, "Signature expired: request time is more than 60s from server time")
    expected = sign(secret, req.channel, req.event, req.time)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise req.error(4, "Signature mismatch")


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


def obu_frame(channel: str, push: DiffPush, t_ms: int) -> bytes:
    """An obu push: a full push has no ``U``; levels are ``[["p", "amount"]]`` strings; the
    envelope carries only channel, result and time_ms (as the docs' samples)."""
    result: dict[str, Any] = {"t": t_ms}
    if push.full:
        result["full"] = True
    result["s"] = f"ob.{push.symbol}.{push.level}"
    if not push.full:
        result["U"] = push.first_id
    result.update(u=push.last_id, b=push.bids, a=push.asks)
    return orjson.dumps({"channel": channel, "result": result, "time_ms": t_ms})


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


def malformed_frames(
    count: int, sample: bytes, channel: str, rng: random.Random
) -> Iterator[bytes | bytearray]:
    """``count`` bad frames, cycling: truncated JSON, garbage bytes (a binary frame, marked by
    being a ``bytearray``), and a valid envelope with its ``result`` missing."""
    for i in range(count):
        kind = i % 3
        if kind == 0:
            yield sample[: max(1, len(sample) // 2)]
        elif kind == 1:
            yield bytearray(rng.randbytes(24))
        else:
            yield orjson.dumps({"time": 0, "time_ms": 0, "channel": channel, "event": "update"})


# -- the server ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Stream:
    """One shared diff stream (a book channel at one symbol, speed and depth): all its
    subscribers see the same ``U``/``u`` sequence."""

    key: Key
    diff: DiffStream
    interval_ms: int
    due_ms: int


class GateioSimulator(SimServer):
    """The Gate v4 machinery; a venue subclass sets the class constants and the hooks."""

    PING: ClassVar[str]
    PONG: ClassVar[str]
    PRIVATE: ClassVar[frozenset[str]]  # channels that need ``auth``
    NO_PAYLOAD: ClassVar[frozenset[str]] = frozenset()
    BOOK_TICKER: ClassVar[str]  # the channel malformed frames imitate
    SYMBOL_PARAM: ClassVar[str]  # how REST and control name a symbol: currency_pair | contract
    SYMBOL_LABEL: ClassVar[str]  # the REST error label for an unknown symbol
    OBU: ClassVar[str] = ""  # the order book v2 channel this venue serves ("" for none)

    def __init__(
        self,
        symbols: Sequence[str],
        market: Market,
        account: Account,
        *,
        credentials: Mapping[str, str] | None,
        user_id: str,
        host: str,
        port: int,
        seed: int,
        tick_ms: int,
        compression: bool,
        max_queue: int,
    ) -> None:
        super().__init__(
            host=host,
            port=port,
            seed=seed,
            tick_ms=tick_ms,
            compression=compression,
            max_queue=max_queue,
        )
        self.market = market
        self.account = account
        self.symbols = list(symbols)
        self.user_id = user_id
        self._credentials = dict(credentials or {})
        self._subs: dict[Key, set[Conn]] = {}
        self._streams: dict[Key, Stream] = {}
        self._symbol_streams: dict[str, list[Stream]] = {s: [] for s in self.symbols}
        self._ticker_due_ms = 0
        self._auth_failures = 0
        self._account_pushes = 0
        self._rate = 0.0
        self._rate_symbols: list[str] = []
        self._rate_task: asyncio.Task[None] | None = None

    # -- what a venue supplies ----------------------------------------------------------------

    def _keys(self, conn: Conn, req: ClientRequest) -> list[Key]:
        """The subscriptions a (checked, authenticated) request names; all or nothing."""
        raise NotImplementedError

    def _sub_parts(self, key: Key) -> tuple[str, str]:
        return key[0], key[1]

    def _stream_of(self, key: Key) -> tuple[int, int] | None:
        """(depth level, interval ms) if ``key`` is a book diff stream, else None."""
        return None

    def _after_subscribe(self, conn: Conn, key: Key, t_ms: int) -> list[bytes]:
        """Frames for ``conn`` right after its ack: obu's first full push."""
        if not self.OBU or key[0] != self.OBU:
            return []
        return [self._obu_full(key, t_ms)]

    def _publish_step(self, step: StepResult, t_ms: int) -> None:
        """Push a step's trades and book tickers."""

    def _diff_builder(self, stream: Stream, push: DiffPush, t_ms: int) -> Callable[[int], bytes]:
        raise NotImplementedError

    def _publish_tickers(self, t_ms: int) -> None:
        """The periodic tickers push."""

    def _sample_frame(self, t_ms: int) -> bytes:
        """A valid push to cut up for ``/_sim/malformed``."""
        raise NotImplementedError

    def _private_records(self, event: AccountEvent, variant: int) -> list[PrivateRecord]:
        """The private records an account event makes, rendered for ``variant``."""
        raise NotImplementedError

    def _place(self, params: dict[str, str], t_ms: int) -> Outcome:
        """``/_sim/order``: the venue's order parameters -> the account."""
        raise NotImplementedError

    def _account_view(self) -> dict[str, Any]:
        """``/_sim/account``: the account's true state, in the venue's shapes."""
        raise NotImplementedError

    # -- order book v2 ------------------------------------------------------------------------

    def _obu_stream_of(self, key: Key) -> tuple[int, int]:
        """(depth, interval ms) of an obu key ``(channel, name, "400"|"50")``."""
        return int(key[2]), OBU_INTERVALS[key[2]]

    def _obu_full(self, key: Key, t_ms: int) -> bytes:
        """A new obu subscriber's first push: the whole book at its depth.  The shared stream
        is flushed first (closing its id range, even with an empty push), so the next push
        starts right after the book this subscriber got."""
        stream = self._streams[key]
        self._publish_diff(stream, stream.diff.flush(force=True), t_ms)
        symbol, level = key[1], int(key[2])
        market = self.market
        book_id = market.book_id(symbol)
        full = DiffPush(
            symbol,
            level,
            book_id,
            book_id,
            market.render_levels(symbol, market.top_levels(symbol, BID, level)),
            market.render_levels(symbol, market.top_levels(symbol, ASK, level)),
            full=True,
        )
        return obu_frame(key[0], full, t_ms)

    # -- lifecycle ----------------------------------------------------------------------------

    def _started(self, t_ms: int) -> None:
        self._ticker_due_ms = t_ms + TICKER_PERIOD_MS

    async def stop(self) -> None:
        self._set_rate(0, [])
        await super().stop()

    # -- market -------------------------------------------------------------------------------

    def _tick(self, t_ms: int) -> None:
        account = self.account
        for symbol in self.symbols:
            step = self.market.step(symbol, t_ms)
            self._apply(step, t_ms)
            if account.resting:  # random trades may have reached own resting orders
                outcome = account.on_step(step, t_ms)
                if outcome is not None:
                    self._deliver(outcome.events, t_ms)
        self._flush_due(t_ms)
        if t_ms >= self._ticker_due_ms:
            self._ticker_due_ms = t_ms + TICKER_PERIOD_MS
            self._publish_tickers(t_ms)

    def _apply(self, step: StepResult, t_ms: int) -> None:
        """Push a step's trades and top changes, and feed the symbol's diff streams."""
        self._publish_step(step, t_ms)
        for stream in self._symbol_streams[step.symbol]:
            stream.diff.add(step)

    def _flush_due(self, t_ms: int) -> None:
        for stream in self._streams.values():
            if t_ms >= stream.due_ms:
                stream.due_ms += stream.interval_ms
                if stream.due_ms <= t_ms:  # fell behind: realign instead of bursting
                    stream.due_ms = t_ms + stream.interval_ms
                self._publish_diff(stream, stream.diff.flush(), t_ms)

    def _flush_all(self, t_ms: int) -> None:
        for symbol in self.symbols:
            self._flush_symbol(symbol, t_ms)

    def _flush_symbol(self, symbol: str, t_ms: int, *, full: bool = False) -> int:
        """Push the pending diff of every stream of ``symbol`` now (or a full book)."""
        sent = 0
        for stream in self._symbol_streams[symbol]:
            push = stream.diff.flush_full() if full else stream.diff.flush()
            sent += self._publish_diff(stream, push, t_ms)
        return sent

    def _publish_diff(self, stream: Stream, push: DiffPush | None, t_ms: int) -> int:
        subs = self._subs.get(stream.key)
        if push is None or not subs:
            return 0
        return self._send_built(subs, stream.key[0], self._diff_builder(stream, push, t_ms))

    # -- requests -----------------------------------------------------------------------------

    def _on_message(self, conn: Conn, message: str | bytes) -> None:
        t_ms = now_ms()
        try:
            req = parse_request(
                message,
                t_ms // 1000,
                ping=self.PING,
                private=self.PRIVATE,
                no_payload=self.NO_PAYLOAD,
            )
            if req.channel == self.PING:
                self._reply(conn, t_ms, req.id, self.PONG, "", result=None)
                return
            if req.channel in self.PRIVATE:
                check_auth(req, self._credentials, t_ms // 1000)
            keys = self._keys(conn, req)
        except RequestError as err:
            if err.code == 4:
                self._auth_failures += 1
            error = {"code": err.code, "message": err.message}
            fail = {"status": "fail"}
            self._reply(conn, t_ms, err.req_id, err.channel, err.event, error=error, result=fail)
            return
        after: list[bytes] = []
        for key in keys:
            if req.event == "subscribe":
                after += self._subscribe(conn, key, t_ms)
            else:
                self._unsubscribe(conn, key)
        ok = {"status": "success"}
        self._reply(conn, t_ms, req.id, req.channel, req.event, payload=req.payload, result=ok)
        for frame in after:  # after the ack, as the venue orders them
            self._send([conn], req.channel, frame)

    def _reply(
        self,
        conn: Conn,
        t_ms: int,
        req_id: Any,
        channel: str,
        event: str,
        *,
        payload: Any = None,
        error: dict[str, Any] | None = None,
        result: Any,
    ) -> None:
        if self.stale:
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

    def _subscribe(self, conn: Conn, key: Key, t_ms: int) -> list[bytes]:
        stream = self._stream_of(key)
        if stream is not None and key not in self._streams:
            # One stream per key, shared by its subscribers; it starts at the current book id.
            level, interval = stream
            diff = DiffStream(self.market, key[1], level)
            made = self._streams[key] = Stream(key, diff, interval, t_ms + interval)
            self._symbol_streams[key[1]].append(made)
        after = self._after_subscribe(conn, key, t_ms)
        self._subs.setdefault(key, set()).add(conn)
        conn.keys.add(key)
        return after

    def _unsubscribe(self, conn: Conn, key: Key) -> None:
        conn.keys.discard(key)
        subs = self._subs.get(key)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._subs[key]
            stream = self._streams.pop(key, None)
            if stream is not None:
                self._symbol_streams[key[1]].remove(stream)

    def _forget(self, conn: Conn) -> None:
        for key in list(conn.keys):
            self._unsubscribe(conn, key)

    def _symbols_in(self, req: ClientRequest, payload: list[Any], what: str) -> list[str]:
        """Checked symbols (at least one, all known), duplicates dropped."""
        if not payload:
            raise req.error(2, f"payload must list at least one {what}")
        for symbol in payload:
            if not isinstance(symbol, str) or symbol not in self.market:
                raise req.error(2, f"unknown {what} {symbol}")
        return list(dict.fromkeys(payload))

    # -- the account --------------------------------------------------------------------------

    def _apply_outcome(self, outcome: Outcome, t_ms: int) -> list[dict[str, Any]]:
        """Publish an account action: its book changes (pushed at once, so the public streams
        show them even while the market is paused), then its private pushes."""
        for step in outcome.steps:
            self._apply(step, t_ms)
            self._flush_symbol(step.symbol, t_ms)
        return self._deliver(outcome.events, t_ms)

    def _deliver(self, events: list[AccountEvent], t_ms: int) -> list[dict[str, Any]]:
        """Push account events to the authenticated subscribers, consecutive records of one
        channel in one push; returns the pushes (default rendering) for the control reply."""
        shown = self._group(events, 0)
        self._account_pushes += len(shown)
        variants = {conn.variant for conn in self._private_conns()}
        for variant in variants:
            groups = shown if variant == 0 else self._group(events, variant)
            for channel, records in groups:
                self._push_private(channel, records, variant, t_ms)
        return [{"channel": ch, "result": [r for _, r in recs]} for ch, recs in shown]

    def _private_conns(self) -> set[Conn]:
        conns: set[Conn] = set()
        for (channel, _, _), subs in self._subs.items():
            if channel in self.PRIVATE:
                conns |= subs
        return conns

    def _group(
        self, events: list[AccountEvent], variant: int
    ) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
        groups: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
        for event in events:
            for channel, symbol, record in self._private_records(event, variant):
                if not groups or groups[-1][0] != channel:
                    groups.append((channel, []))
                groups[-1][1].append((symbol, record))
        return groups

    def _push_private(
        self, channel: str, records: list[tuple[str, dict[str, Any]]], variant: int, t_ms: int
    ) -> None:
        per_conn: dict[Conn, list[dict[str, Any]]] = {}
        everyone = self._subs.get((channel, ALL, ""), set())
        for symbol, record in records:
            for conn in self._subs.get((channel, symbol, ""), set()) | everyone:
                if conn.variant == variant:
                    per_conn.setdefault(conn, []).append(record)
        for conn, results in per_conn.items():
            self._send([conn], channel, push_frame(channel, results, t_ms))

    # -- controls -----------------------------------------------------------------------------

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = params.get(self.SYMBOL_PARAM)
        if not symbol:
            raise HttpError(400, "MISSING_REQUIRED_PARAM", f"{self.SYMBOL_PARAM} is required")
        if symbol not in self.market:
            name = self.SYMBOL_PARAM.replace("_", " ")
            raise HttpError(400, self.SYMBOL_LABEL, f"Invalid {name} {symbol}")
        return symbol

    def _sim_order(self, params: dict[str, str], t_ms: int) -> Any:
        try:
            outcome = self._place(params, t_ms)
        except OrderError as err:
            raise HttpError(400, err.label, err.message) from None
        return self._order_reply(outcome, t_ms)

    def _sim_cancel(self, params: dict[str, str], t_ms: int) -> Any:
        raw = params.get("order_id", "")
        if not raw.isdigit():
            raise HttpError(400, "INVALID_PARAM_VALUE", "order_id must be an order id")
        try:
            outcome = self.account.cancel(int(raw), t_ms)
        except OrderError as err:
            status = 404 if err.label == "ORDER_NOT_FOUND" else 400
            raise HttpError(status, err.label, err.message) from None
        return self._order_reply(outcome, t_ms)

    def _order_reply(self, outcome: Outcome, t_ms: int) -> dict[str, Any]:
        pushes = self._apply_outcome(outcome, t_ms)
        order = outcome.order
        assert order is not None
        return {
            "order_id": str(order.id),
            "status": "finished" if order.finished else "open",
            "finish_as": order.finish_as,
            "book_ids": [step.last_id for step in outcome.steps],
            "pushes": pushes,
        }

    def _sim_account(self, params: dict[str, str], t_ms: int) -> Any:
        return {"user_id": self.user_id, **self._account_view()}

    def _sim_gap(self, params: dict[str, str], t_ms: int) -> Any:
        symbol = self._symbol(params)
        # Push what is pending first, so the skipped id falls between two pushes.
        self._flush_symbol(symbol, t_ms)
        skipped = self.market.book_id(symbol) + 1
        self.market.force_gap(symbol)
        self._faults["gap"] += 1
        return {self.SYMBOL_PARAM: symbol, "skipped_id": skipped}

    def _sim_full(self, params: dict[str, str], t_ms: int) -> Any:
        symbol = self._symbol(params)
        self._faults["full"] += 1
        return {self.SYMBOL_PARAM: symbol, "pushed": self._flush_symbol(symbol, t_ms, full=True)}

    def _sim_book(self, params: dict[str, str], t_ms: int) -> Any:
        symbol = self._symbol(params)
        snap = self.market.snapshot(symbol)
        return {
            self.SYMBOL_PARAM: symbol,
            "id": snap.id,
            "update": snap.update_ms,
            "bids": snap.bids,
            "asks": snap.asks,
        }

    def _sim_malformed(self, params: dict[str, str], t_ms: int) -> Any:
        count = int(num_param(params, "count", 1))
        sample = self._sample_frame(t_ms)
        for conn in self._conns:
            for frame in malformed_frames(count, sample, self.BOOK_TICKER, self._rng):
                conn.push(frame)
        self._faults["malformed"] += count
        return {"connections": len(self._conns), "count": count}

    def _sim_rate(self, params: dict[str, str], t_ms: int) -> Any:
        rate = num_param(params, "frames_per_s", 0)
        symbols = self.symbols
        if self.SYMBOL_PARAM in params:  # one or more, comma separated
            names = params[self.SYMBOL_PARAM].split(",")
            symbols = [self._symbol({self.SYMBOL_PARAM: name}) for name in names]
        self._set_rate(rate, symbols)
        return {"frames_per_s": rate, "symbols": symbols}

    def _extra_pause(self) -> dict[str, Any]:
        return {"ids": self._ids()}

    def _extra_stats(self) -> dict[str, Any]:
        subs: Counter[str] = Counter()
        for (channel, _, _), conns in self._subs.items():
            subs[channel] += len(conns)
        return {
            "subscriptions": dict(subs),
            "auth_failures": self._auth_failures,
            "account_pushes": self._account_pushes,
            "open_orders": len(self.account.orders),
            "rate_frames_per_s": self._rate,
            "ids": self._ids(),
        }

    def _ids(self) -> dict[str, int]:
        return {symbol: self.market.book_id(symbol) for symbol in self.symbols}

    # -- rate bursts --------------------------------------------------------------------------

    def _set_rate(self, rate: float, symbols: list[str]) -> None:
        self._rate, self._rate_symbols = rate, symbols
        if self._rate_task is not None:  # a new rate starts counting afresh: no catch-up burst
            self._rate_task.cancel()
            self._rate_task = None
        if rate > 0:
            self._rate_task = asyncio.create_task(self._rate_loop(), name=f"{self.name}-rate")

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
