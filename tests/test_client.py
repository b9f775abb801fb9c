"""actors.client for consumers: a publisher that stops answering is reported lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import zmq

from actors.client import PUBLISHER_TIMEOUT_MS, publisher_lost, watch_publishers
from tests.harness import free_port

PUBLISHER = """
import sys, time, zmq
pub = zmq.Context().socket(zmq.PUB)
pub.bind(sys.argv[1])
print("bound", flush=True)
while True:
    pub.send_multipart([b"t", b"x"])
    time.sleep(0.05)
"""


def test_a_stopped_publisher_is_reported_lost_within_the_heartbeat_timeout() -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    monitor = watch_publishers(sub)
    cmd = [sys.executable, "-c", PUBLISHER, endpoint]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "bound\n"
            sub.connect(endpoint)
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            assert sub.poll(5000), "no message from the live publisher"
            time.sleep(1.5)  # pings answered: a live publisher is never reported
            assert publisher_lost(monitor) == []
            os.kill(proc.pid, signal.SIGSTOP)  # its I/O thread stops answering too
            stopped = time.monotonic()
            lost: list[str] = []
            while not lost and time.monotonic() - stopped < 10:
                time.sleep(0.1)
                lost = publisher_lost(monitor)
            assert lost == [endpoint]
            # Within the timeout plus one ping interval (and a loaded machine's slack).
            assert time.monotonic() - stopped < PUBLISHER_TIMEOUT_MS / 1000 + 3
        finally:
            proc.kill()
            sub.disable_monitor()
            monitor.close()
            sub.close()
            ctx.term()
