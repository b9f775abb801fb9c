"""What the MEXC spot and futures simulators share: one market and account, timed closes,
and the MEXC controls.  [I/O shell]

Role: MEXC spot (protobuf pushes, ``../shared/protocols/protocols.md`` section 1) and futures
(JSON at ``/edge``, section 2) share no wire format, but both simulators run the same loop on
top of ``server.py``: every ``tick_ms`` each symbol's true book steps, the step feeds the
streams that are subscribed, the simulated account fills its resting orders against the
step, and whatever streams are due push.  Both also close connections on a timer (MEXC's
idle, silence and lifetime limits) and take the same ``/_sim/`` controls.
:class:`MexcSimulator` holds that; the venue modules keep requests, frames and REST.

Sockets: none of its own (see ``server.py``).

REST and control refusals answer in the venue's own error shape (:class:`VenueError`), and
each connection's :class:`ConnState` (its clocks, listenKey, login and filter) is made on
first sight, so ``server.py`` needs no hooks for it.

Pure parts: :func:`order_count`, :func:`listen_key_of` and the :class:`ConnState` value; the
rest moves bytes or keeps time.

Controls (besides ``server.py``'s drop, refuse, pause, resume, stale, stats), all taking
``symbol=`` in the venue's native spelling where they concern one market:

- ``gap?symbol=``       pending pushes of the symbol go out, then its next book change skips
                        one version, so every versioned stream shows a gap of exactly one;
- ``book?symbol=``      the true book now: ``{symbol, version, bids, asks}`` (``[[p, q]]``
                        strings, best first, the whole book);
- ``malformed?count=``  ``count`` bad frames to every connection (venue-specific kinds);
- ``order?...``         an order of the one account (venue-specific parameters); answers the
                        order and the private pushes it caused;
- ``cancel?order_id=``  cancel an open order;
- ``account``           balances, open orders and positions: the account's truth.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from actors.simulators.account import Account, AccountEvent, OrderError, Outcome
from actors.simulators.market import Market, StepResult
from actors.simulators.server import (
    Conn,
    HttpError,
    SimServer,
    http_response,
    now_ms,
    num_param,
)

HOUSEKEEPING_S = 0.05  # how often the timed closes are checked
CLOSE_NORMAL = 1000


def order_count(tick: int, lots: int) -> int:
    """A plausible order count for a level (the market models amounts, not orders): a fixed
    function of price and amount, so a REST snapshot and a push always agree; 0 deletes."""
    if not lots:
        return 0
    return min(lots, 1 + (tick + lots) % 5)


class VenueError(HttpError):
    """A refused REST or control call answered in the venue's own error shape (``body``)."""

    def __init__(self, status: int, code: int, message: str, body: Any) -> None:
        super().__init__(status, str(code), message)
        self.code, self.body = code, body


@dataclass(slots=True)
class ConnState:
    """What a simulator knows of one connection.  Times are ``time.monotonic()`` seconds."""

    opened: float
    last_seen: float  # the last client message that keeps the connection alive
    idle_since: float | None  # since when it has had no subscription (None: it has some)
    listen_key: str | None = None  # spot: the listenKey it was opened with
    api_key: str = ""  # futures: the key it logged in with ("" = not logged in)
    # futures personal.filter: filter -> contracts (None = all of them); None = everything
    filters: dict[str, frozenset[str] | None] | None = None
    closing: bool = False


class MexcSimulator(SimServer):
    """The shared MEXC machinery; a venue subclass supplies streams, frames and REST."""

    UNKNOWN_SYMBOL: ClassVar[tuple[int, str]]  # the venue's REST (code, message)

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
        self._states: dict[Conn, ConnState] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._closes: Counter[str] = Counter()
        self._auth_failures = 0
        self._account_pushes = 0
        self._last_change_ms: dict[str, int] = dict.fromkeys(self.symbols, 0)

    # -- what a venue supplies ----------------------------------------------------------------

    def _publish_step(self, step: StepResult, t_ms: int) -> None:
        """Push a step at once (per-change streams) and feed the interval streams."""

    def _flush_due(self, t_ms: int) -> None:
        """Push the interval streams that are due."""

    def _flush_symbol(self, symbol: str, t_ms: int) -> None:
        """Push everything pending for one symbol now."""

    def _periodic(self, t_ms: int) -> None:
        """Tickers and other pushes on a fixed period."""

    def _deliver(self, events: list[AccountEvent], t_ms: int) -> list[dict[str, Any]]:
        """Push account events to the authorised subscribers; returns them (as JSON) for the
        control reply."""
        raise NotImplementedError

    def _expired(self, conn: Conn, state: ConnState, now: float) -> str:
        """Why ``conn`` must be closed now (a close reason), or ""."""
        return ""

    def _housekeep(self, t_ms: int) -> None:
        """Extra timed work (listen key expiry)."""

    def _place(self, params: dict[str, str], t_ms: int) -> Outcome:
        raise NotImplementedError

    def _order_id(self, params: dict[str, str]) -> int:
        raise NotImplementedError

    def _order_reply(self, outcome: Outcome, pushes: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def _account_view(self) -> dict[str, Any]:
        raise NotImplementedError

    def _malformed(self, count: int, t_ms: int) -> Iterable[bytes | bytearray]:
        raise NotImplementedError

    def _error(self, status: int, code: int, message: str) -> VenueError:
        """A refusal in the venue's REST error shape."""
        raise NotImplementedError

    def _order_error(self, err: OrderError) -> VenueError:
        return self._error(400, 400, err.message)

    # -- lifecycle ----------------------------------------------------------------------------

    def _started(self, t_ms: int) -> None:
        self._tasks.append(asyncio.create_task(self._housekeeping(), name=f"{self.name}-timers"))

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._closing):
            task.cancel()

    def _state(self, conn: Conn) -> ConnState:
        """The connection's state, made on first sight (its first message, or the first
        housekeeping round after it connected, whichever comes first)."""
        state = self._states.get(conn)
        if state is None:
            now = time.monotonic()
            key = listen_key_of(conn.ws.request)
            state = self._states[conn] = ConnState(now, now, now, listen_key=key)
        return state

    def _forget(self, conn: Conn) -> None:
        self._states.pop(conn, None)

    def _close(self, conn: Conn, reason: str, code: int = CLOSE_NORMAL) -> None:
        """Close one connection with a close frame (counted by reason)."""
        state = self._state(conn)
        if state.closing:
            return
        state.closing = True
        self._closes[reason] += 1
        task = asyncio.create_task(conn.ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            self._housekeep(now_ms())
            now = time.monotonic()
            for conn in list(self._conns):
                state = self._state(conn)
                if not state.closing:
                    reason = self._expired(conn, state, now)
                    if reason:
                        self._close(conn, reason)

    # -- HTTP ---------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """As ``server.py``'s, but refusals answer in the venue's error shape."""
        path, _, query = request.path.partition("?")
        if self._is_ws_path(path):
            return super()._process_request(connection, request)
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            if path.startswith("/_sim/"):
                return http_response(200, self.control(path.removeprefix("/_sim/"), params))
            return http_response(200, self._rest(path, params, request))
        except VenueError as err:
            return http_response(err.status, err.body)
        except HttpError as err:  # server.py's own controls
            return http_response(err.status, {"label": err.label, "message": err.message})

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
        self._periodic(t_ms)

    def _apply(self, step: StepResult, t_ms: int) -> None:
        self._last_change_ms[step.symbol] = t_ms
        self._publish_step(step, t_ms)

    def _flush_all(self, t_ms: int) -> None:
        for symbol in self.symbols:
            self._flush_symbol(symbol, t_ms)

    def _apply_outcome(self, outcome: Outcome, t_ms: int) -> list[dict[str, Any]]:
        """Publish an account action: its book changes first (pushed at once, so the public
        streams show them even while the market is paused), then its private pushes."""
        for step in outcome.steps:
            self._apply(step, t_ms)
            self._flush_symbol(step.symbol, t_ms)
        return self._deliver(outcome.events, t_ms)

    # -- controls -----------------------------------------------------------------------------

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = params.get("symbol")
        if not symbol:
            raise self._error(400, 400, "symbol is required")
        if symbol not in self.market:
            raise self._error(400, *self.UNKNOWN_SYMBOL)
        return symbol

    def _sim_order(self, params: dict[str, str], t_ms: int) -> Any:
        try:
            outcome = self._place(params, t_ms)
        except OrderError as err:
            raise self._order_error(err) from None
        return self._order_reply(outcome, self._apply_outcome(outcome, t_ms))

    def _sim_cancel(self, params: dict[str, str], t_ms: int) -> Any:
        order_id = self._order_id(params)
        try:
            outcome = self.account.cancel(order_id, t_ms)
        except OrderError as err:
            raise self._order_error(err) from None
        return self._order_reply(outcome, self._apply_outcome(outcome, t_ms))

    def _sim_account(self, params: dict[str, str], t_ms: int) -> Any:
        return {"user_id": self.user_id, **self._account_view()}

    def _sim_gap(self, params: dict[str, str], t_ms: int) -> Any:
        symbol = self._symbol(params)
        # Push what is pending first, so the skipped version falls between two pushes.
        self._flush_symbol(symbol, t_ms)
        skipped = self.market.book_id(symbol) + 1
        self.market.force_gap(symbol)
        self._faults["gap"] += 1
        return {"symbol": symbol, "skipped_version": skipped}

    def _sim_book(self, params: dict[str, str], t_ms: int) -> Any:
        symbol = self._symbol(params)
        snap = self.market.snapshot(symbol)
        return {"symbol": symbol, "version": snap.id, "bids": snap.bids, "asks": snap.asks}

    def _sim_malformed(self, params: dict[str, str], t_ms: int) -> Any:
        count = int(num_param(params, "count", 1))
        frames = list(self._malformed(count, t_ms))
        for conn in self._conns:
            for frame in frames:
                conn.push(frame)
        self._faults["malformed"] += count
        return {"connections": len(self._conns), "count": count}

    def _extra_pause(self) -> dict[str, Any]:
        return {"versions": self._versions()}

    def _versions(self) -> dict[str, int]:
        return {symbol: self.market.book_id(symbol) for symbol in self.symbols}

    def _common_stats(self) -> dict[str, Any]:
        return {
            "closes": dict(self._closes),
            "auth_failures": self._auth_failures,
            "account_pushes": self._account_pushes,
            "open_orders": len(self.account.orders),
            "versions": self._versions(),
        }


def listen_key_of(request: Request | None) -> str | None:
    """The ``listenKey`` query parameter of a WebSocket handshake, if any."""
    if request is None:
        return None
    values = parse_qs(request.path.partition("?")[2], keep_blank_values=True).get("listenKey")
    return values[-1] if values else None
