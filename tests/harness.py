"""A whole pipeline under test: `pipeline run --simulate` in a subprocess, a consumer, and
the simulator's truth.  Everything binds loopback or ipc in a private temp directory, and
the pipeline is stopped (and checked for leftovers) when the test ends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
import zmq

from actors.client import LocalBook, request, watch_publishers
from actors.control import Command
from actors.messages import EVENT_DECODER, Event
from actors.runtime.curve import ClientKeys

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Pipeline:
    def __init__(
        self,
        *,
        symbols: list[str] | None = None,
        parsers: int = 2,
        channels: list[str] | None = None,
        venues: dict[str, dict[str, Any]] | None = None,
        simulate: bool = True,
        env: dict[str, str] | None = None,
        top: dict[str, Any] | None = None,
        keys: ClientKeys | None = None,
        record_to: str | None = None,
    ):
        """``top``: more top-level topology keys (control, curve); ``keys``: the CURVE client
        keys our commands use when control is tcp."""
        self.run_dir = tempfile.mkdtemp(prefix="mpt-", dir="/tmp")
        if venues is None:
            channels = channels or ["book_ticker", "trades", "order_book", "tickers"]
            venues = {"gateio_spot": {"symbols": symbols or [], "channels": channels}}
        for body in venues.values():
            body.setdefault("publish", f"tcp://127.0.0.1:{free_port()}")
        self.venues = venues
        self.publish = next(iter(venues.values()))["publish"]
        self.topology = Path(self.run_dir) / "topology.yaml"
        doc = {"run_dir": f"{self.run_dir}/run", "parsers": parsers, **(top or {})}
        doc["venues"] = venues
        self.topology.write_text(yaml.safe_dump(doc, sort_keys=False))
        self.control = doc.get("control", f"ipc://{self.run_dir}/run/control")
        self.keys = keys
        self.simulate = simulate
        self.record_to = record_to  # `pipeline record --out` instead of `pipeline run`
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(self.run_dir) / "pipeline.log"
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.publisher_monitor = watch_publishers(self.sub)
        self.books: dict[tuple[str, str], LocalBook] = {}  # (venue, native) -> book
        self.events: list[Event] = []
        self.private: list[Event] = []  # what arrived on the private endpoints

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, timeout_s: float = 15.0) -> None:
        for body in self.venues.values():
            self.sub.connect(body["publish"])
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.private_sub = self.ctx.socket(zmq.SUB)
        self.private_sub.setsockopt(zmq.LINGER, 0)
        for name, body in self.venues.items():
            private = body.get("private_publish", f"ipc://{self.run_dir}/run/{name}.private")
            if private.startswith("ipc://"):  # tcp ones are CURVE: tests connect themselves
                self.private_sub.connect(private)
        self.private_sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.proc = self.spawn_coordinator()
        wait_until(lambda: self._all_running(), timeout_s, "every actor running", self)

    def spawn_coordinator(self) -> subprocess.Popen[bytes]:
        """`pipeline run` of our topology; its output is appended to the one log."""
        command = [sys.executable, "-m", "actors.cli", "run", str(self.topology)]
        if self.record_to is not None:
            command[3:4] = ["record", "--out", self.record_to]
        with open(self.log, "ab") as log:
            return subprocess.Popen(
                command + (["--simulate"] if self.simulate else []),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    def _all_running(self) -> bool:
        try:
            status = self.status()
        except Exception:
            return False
        return all(a["state"] == "running" for a in status["actors"])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=10)
        self.stop_seconds = time.monotonic() - started
        self.close()
        return code

    def close(self) -> None:
        if not self.sub.closed:
            self.sub.disable_monitor()
            self.publisher_monitor.close()
            self.sub.close()
            if hasattr(self, "private_sub"):
                self.private_sub.close()
            self.ctx.term()

    def leftovers(self) -> tuple[list[str], list[str]]:
        """Processes and ipc files that outlived the pipeline."""
        out = subprocess.run(["pgrep", "-af", self.run_dir], capture_output=True, text=True)
        procs = [line for line in out.stdout.splitlines() if "pgrep" not in line]
        run = Path(self.run_dir) / "run"
        files = [str(p) for p in run.iterdir()] if run.exists() else []
        return procs, files

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    # -- steering and watching ------------------------------------------------------------------

    def command(self, cmd: str, **kw: Any) -> Any:
        reply = request(self.control, Command(cmd, **kw), timeout_s=2, keys=self.keys)
        assert reply.ok, reply.error
        return reply.data

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = self.command("status")
        return data

    def actor(self, name: str) -> dict[str, Any]:
        for actor in self.status()["actors"]:
            if actor["name"] == name:
                return actor
        raise KeyError(name)

    def sim(self, action: str, venue: str = "gateio_spot", **params: str) -> Any:
        ws = self.status()["venues"][venue]["ws_url"]
        port = urlsplit(ws).port
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"http://127.0.0.1:{port}/_sim/{action}" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())

    def pump(self, seconds: float) -> None:
        """Consume the public and private streams for a while, keeping the local books."""
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        poller.register(self.private_sub, zmq.POLLIN)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not poller.poll(int(left * 1000) + 1):
                continue
            while self.sub.poll(0):
                _topic, payload = self.sub.recv_multipart()
                event = EVENT_DECODER.decode(payload)
                self.events.append(event)
                if event.__struct_config__.tag in ("book_snapshot", "book_delta", "book_reset"):
                    self.books.setdefault((event.venue, event.native), LocalBook()).apply(event)
            while self.private_sub.poll(0):
                _topic, payload = self.private_sub.recv_multipart()
                self.private.append(EVENT_DECODER.decode(payload))

    def book(self, native: str, venue: str = "gateio_spot") -> LocalBook:
        return self.books[(venue, native)]

    def valid(self, native: str, venue: str = "gateio_spot") -> bool:
        book = self.books.get((venue, native))
        return book is not None and book.valid

    def pump_until(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.pump(0.05)
            if condition():
                return
        raise AssertionError(
            f"timed out after {timeout_s} s waiting for {what}\n{self.output()[-3000:]}"
        )


def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, pipeline: Pipeline | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    log = pipeline.output()[-3000:] if pipeline else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{log}")


@contextlib.contextmanager
def running_pipeline(**kw: Any) -> Iterator[Pipeline]:
    pipeline = Pipeline(**kw)
    try:
        pipeline.start()
        yield pipeline
    finally:
        if pipeline.proc is not None and pipeline.proc.poll() is None:
            pipeline.proc.send_signal(signal.SIGTERM)
            try:
                pipeline.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pipeline.proc.kill()
        pipeline.close()
        for line in pipeline.leftovers()[0]:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line.split()[0]), signal.SIGKILL)


@contextlib.contextmanager
def simulator_in_thread(factory: Callable[[], Any]) -> Iterator[Any]:
    """A venue simulator on its own event loop in a thread, for tests that must configure
    it differently from the pipeline (e.g. credentials the client does not have)."""
    import asyncio
    import threading

    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            sim = factory()
            holder["sim"], holder["loop"] = sim, asyncio.get_running_loop()
            holder["stop"] = asyncio.Event()
            await sim.start()
            ready.set()
            await holder["stop"].wait()
            await sim.stop()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10), "simulator did not start"
    try:
        yield holder["sim"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
