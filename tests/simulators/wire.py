"""Client-side helpers for the simulator tests: a real websockets client and urllib, on
127.0.0.1 only, plus Gate's book rules written out independently of our venue code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection, connect

T = TypeVar("T")
Book = dict[str, dict[str, Any]]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


def run(coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def http_get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    def fetch() -> tuple[int, Any]:
        request = urllib.request.Request(url, headers=dict(headers or {}))
        try:
            with _OPENER.open(request, timeout=5) as resp:
                return resp.status, orjson.loads(resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, orjson.loads(err.read())

    return await asyncio.to_thread(fetch)


async def control(sim: Any, action: str) -> Any:
    status, body = await http_get(f"{sim.control_url}/{action}")
    assert status == 200, body
    return body


def ws_connect(sim: Any, headers: Mapping[str, str] | None = None) -> Any:
    # max_queue=None: a test that stops reading must still see the close frame promptly.
    return connect(
        sim.ws_url,
        proxy=None,
        open_timeout=3,
        close_timeout=2,
        max_queue=None,
        additional_headers=dict(headers or {}),
    )


def hand_sign(secret: str, channel: str, event: str, time_s: int) -> str:
    """Gate's documented channel signature, computed here rather than by our signing module."""
    message = f"channel={channel}&event={event}&time={time_s}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


async def send(
    ws: ClientConnection, channel: str, payload: Any, event: str = "subscribe", **extra: Any
) -> None:
    request = {"time": int(time.time()), "channel": channel, "event": event, "payload": payload}
    await ws.send(orjson.dumps(request | extra).decode())


async def send_signed(
    ws: ClientConnection,
    channel: str,
    payload: Any,
    key: str,
    secret: str,
    event: str = "subscribe",
    time_s: int | None = None,
) -> None:
    t = int(time.time()) if time_s is None else time_s
    auth = {"method": "api_key", "KEY": key, "SIGN": hand_sign(secret, channel, event, t)}
    request: dict[str, Any] = {"time": t, "channel": channel, "event": event, "auth": auth}
    if payload is not None:
        request["payload"] = payload
    await ws.send(orjson.dumps(request).decode())


async def recv(ws: ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(
    ws: ClientConnection, pred: Callable[[dict[str, Any]], bool], timeout: float = 3.0
) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            msg = orjson.loads(await ws.recv())
            if pred(msg):
                return msg

    return await asyncio.wait_for(loop(), timeout)


def is_reply(msg: dict[str, Any]) -> bool:
    """Acks, errors and pongs carry ``error`` (null on success); pushes never do."""
    return "error" in msg


async def reply(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    """The next ack, error or pong, skipping pushes."""
    return await recv_until(ws, is_reply, timeout)


async def collect(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(orjson.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return out


async def collect_raw(ws: ClientConnection, seconds: float) -> list[str | bytes]:
    out: list[str | bytes] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
    return out


def pushes(msgs: list[dict[str, Any]], channel: str) -> list[Any]:
    """The results of a channel's pushes (obu pushes carry no ``event``)."""
    return [
        m["result"]
        for m in msgs
        if m.get("channel") == channel and m.get("event", "update") == "update"
    ]


def level_pairs(levels: list[Any]) -> list[tuple[str, Any]]:
    """Spot/obu ``[[p, s]]`` or futures ``[{"p", "s"}]`` -> ``[(p, s)]``."""
    return [(lv["p"], lv["s"]) if isinstance(lv, dict) else (lv[0], lv[1]) for lv in levels]


def apply(book: Book, result: dict[str, Any]) -> None:
    if result.get("full"):
        book["b"], book["a"] = {}, {}
    for side in ("b", "a"):
        for price, amount in level_pairs(result[side]):
            if Decimal(amount) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = amount


def rows(book: Book, side: str, n: int | None = None) -> list[list[Any]]:
    ordered = sorted(book[side].items(), key=lambda kv: Decimal(kv[0]), reverse=side == "b")
    return [list(kv) for kv in ordered[:n]]


def book_from(bids: list[Any], asks: list[Any]) -> Book:
    return {"b": dict(level_pairs(bids)), "a": dict(level_pairs(asks))}


def keep_top(book: Book, level: int) -> Book:
    return {
        "b": dict(map(tuple, rows(book, "b", level))),
        "a": dict(map(tuple, rows(book, "a", level))),
    }


def sync_from_snapshot(
    snapshot: dict[str, Any], results: list[dict[str, Any]], level: int | None = None
) -> tuple[Book, int]:
    """Gate's documented procedure: drop pushes with u < id+1, start at U <= id+1 <= u, then
    demand U == previous u + 1.  Returns the book and its id."""
    base = snapshot["id"]
    book = book_from(snapshot["bids"], snapshot["asks"])
    local = None
    for r in results:
        if local is None:
            if r["u"] < base + 1:
                continue
            assert r["U"] <= base + 1 <= r["u"], "snapshot behind the stream"
        else:
            assert r["U"] == local + 1
        apply(book, r)
        if level is not None:
            book = keep_top(book, level)
        local = r["u"]
    assert local is not None
    return book, local
