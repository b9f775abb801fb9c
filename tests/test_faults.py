"""Faults the venue, the network, the REST side and the consumers can throw at a running
pipeline (issue #5): oversized, truncated and delayed frames, slow and failing REST
snapshots, a consumer that stops reading, parsers that cannot keep up.

Each test runs `pipeline run --simulate` against the Gate.io spot simulator, injects the
fault through its ``/_sim/`` controls, and checks what must stay true: the fault is counted,
no book is published as valid while it is not, and the books end equal to the truth.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import zmq

from actors.messages import BookDelta, BookReset, BookSnapshot, BookTicker
from tests.harness import Pipeline, running_pipeline, wait_until
from tests.test_pipeline import NATIVE, SYMBOLS, assert_books_match_truth, assert_wire_order

pytestmark = pytest.mark.slow

CHANNELS = ["book_ticker", "trades", "order_book"]


def gate(**extra: object) -> dict[str, dict[str, object]]:
    return {"gateio_spot": {"symbols": SYMBOLS, "channels": CHANNELS, **extra}}


def counters(p: Pipeline, actor: str) -> dict[str, int]:
    found: dict[str, int] = p.actor(f"gateio_spot.{actor}")["counters"]
    return found


def all_valid(p: Pipeline) -> bool:
    return all(p.valid(n) for n in NATIVE)


def test_oversized_frame_closes_with_1009_reconnects_and_resyncs() -> None:
    with running_pipeline(venues=gate(max_frame_bytes=65_536), parsers=1) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        # Big but allowed: it parses like any frame, nothing resets.
        mark = len(p.events)
        p.sim("big", bytes="60000")
        wait_until(lambda: p.sim("stats")["faults"].get("big") == 1, 5, "big frame sent", p)
        p.pump(0.5)
        assert not any(isinstance(e, BookReset) for e in p.events[mark:])
        assert counters(p, "connection.0").get("oversized_frames", 0) == 0
        assert counters(p, "parser.0").get("parse_errors", 0) == 0

        # Over the limit: the client closes with 1009, counts it, reconnects, resubscribes.
        mark = len(p.events)
        p.sim("big", bytes="200000")
        p.pump_until(
            lambda: sum(isinstance(e, BookReset) for e in p.events[mark:]) >= 3 and all_valid(p),
            15,
            "every book reset and resynced after the oversized frame",
        )
        wait_until(
            lambda: counters(p, "connection.0").get("oversized_frames") == 1,
            3,
            "the oversized frame counted in status",
            p,
        )
        conn = p.actor("gateio_spot.connection.0")
        assert conn["counters"]["reconnects"] >= 1
        assert conn["info"]["subscriptions"] == len(SYMBOLS) * len(CHANNELS)
        assert "1009" in p.output()
        assert all(a["restarts"] == 0 for a in p.status()["actors"])
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_truncated_frames_are_parse_errors_and_what_they_cut_resyncs() -> None:
    with running_pipeline(venues=gate(), parsers=2) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        mark = len(p.events)
        p.sim("truncate", count="30")  # some of them book updates: their books see a gap
        wait_until(
            lambda: sum(counters(p, f"parser.{i}").get("parse_errors", 0) for i in (0, 1)) >= 30,
            10,
            "30 parse errors",
            p,
        )
        p.pump_until(
            lambda: any(isinstance(e, BookReset) for e in p.events[mark:]) and all_valid(p),
            10,
            "a resync after the truncated book updates",
        )
        wait_until(lambda: counters(p, "handler").get("gaps", 0) >= 1, 5, "a gap counted", p)
        assert all(a["restarts"] == 0 for a in p.status()["actors"])
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_delayed_frames_arrive_late_in_order_and_break_nothing() -> None:
    with running_pipeline(venues=gate(), parsers=2) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        mark = len(p.events)
        p.sim("delay", ms="1500", seconds="2")
        p.pump(3.5)
        late = [
            e
            for e in p.events[mark:]
            if isinstance(e, BookTicker) and e.recv_ns // 1_000_000 - e.ts > 1200
        ]
        assert late, "no frame arrived late: the delay did not happen"
        assert not any(isinstance(e, BookReset) for e in p.events[mark:])
        assert counters(p, "connection.0").get("reconnects", 0) == 0
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_slow_rest_snapshot_keeps_that_book_reset_and_the_others_flowing() -> None:
    with running_pipeline(venues=gate(), parsers=2) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        p.sim("rest_delay", ms="3000", match="ETH_USDT", count="1")
        mark = len(p.events)
        p.sim("gap", currency_pair="ETH_USDT")
        p.pump(2.0)
        during = p.events[mark:]
        assert [e.native for e in during if isinstance(e, BookReset)] == ["ETH_USDT"]
        assert not p.valid("ETH_USDT")
        reset_at = next(i for i, e in enumerate(during) if isinstance(e, BookReset))
        assert not any(
            isinstance(e, BookDelta | BookSnapshot) and e.native == "ETH_USDT"
            for e in during[reset_at:]
        )  # nothing published for the book it has no snapshot for
        others = {e.native for e in during if isinstance(e, BookDelta)}
        assert {"BTC_USDT", "SOL_USDT"} <= others  # the other books carry on
        buffered = p.actor("gateio_spot.handler")["info"]["buffered_deltas"]
        assert 0 < buffered.get("ETH/USDT", 0) <= 10_000  # buffered, and bounded
        p.pump_until(lambda: p.valid("ETH_USDT"), 8, "ETH valid once the snapshot comes")
        assert counters(p, "handler")["snapshot_requests"] >= 4  # 3 at start + ETH's
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_failing_rest_snapshot_is_retried_with_backoff_counted_and_recovers() -> None:
    with running_pipeline(venues=gate(), parsers=2) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        p.sim("rest_fail", status="503", match="ETH_USDT", count="4")
        mark = len(p.events)
        started = time.monotonic()
        p.sim("gap", currency_pair="ETH_USDT")
        p.pump_until(
            lambda: any(isinstance(e, BookReset) for e in p.events[mark:]) and p.valid("ETH_USDT"),
            15,
            "ETH valid after four failed snapshots",
        )
        took = time.monotonic() - started
        # Counters arrive with the handler's next once-a-second report.
        wait_until(
            lambda: counters(p, "handler").get("snapshot_errors", 0) >= 4, 5, "the report", p
        )
        assert counters(p, "handler")["snapshot_errors"] == 4
        assert p.sim("stats")["faults"]["rest_failed"] == 4
        # Backoff from 0.2 s, doubling with jitter: four failures cannot all retry at once.
        assert took > 0.5, took
        assert "snapshot of ETH/USDT failed: HTTP 503" in p.output()
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def test_a_stuck_consumer_never_blocks_the_handler_or_the_other_consumers() -> None:
    with running_pipeline(venues=gate(publish_hwm=500), parsers=2) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        stuck = p.ctx.socket(zmq.SUB)
        stuck.setsockopt(zmq.LINGER, 0)
        stuck.setsockopt(zmq.RCVHWM, 100)
        stuck.setsockopt(zmq.RCVBUF, 4096)
        stuck.connect(p.publish)
        stuck.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            p.sim("rate", frames_per_s="3000")  # enough to fill the stuck one's queues fast
            mark = len(p.events)
            p.pump(3.0)
            p.sim("rate", frames_per_s="0")
            published = len(p.events) - mark  # the live consumer (RCVHWM 0) gets them all
            fresh = [e for e in p.events[-200:] if isinstance(e, BookTicker)]
            lag_ms = max(time.time_ns() - e.recv_ns for e in fresh) / 1e6
            got_stuck = 0
            while stuck.poll(0):
                stuck.recv_multipart()
                got_stuck += 1
        finally:
            stuck.close()
        print(f"published {published}, the stuck consumer got {got_stuck}, lag {lag_ms:.0f} ms")
        assert published > 2_000, published
        assert got_stuck < published // 2, (got_stuck, published)  # the stuck one did
        assert lag_ms < 1000, lag_ms  # and the live one stayed in real time
        assert not any(isinstance(e, BookReset) for e in p.events[mark:])
        assert_books_match_truth(p, NATIVE)


def test_saturated_parsers_make_counted_drops_and_resyncs_with_bounded_memory() -> None:
    # The stopped parser stands for a saturated one: long enough to fill the queues, so it
    # must not be taken for hung (and replaced) first.
    with running_pipeline(venues=gate(), parsers=1, top={"hung_after_reports": 60}) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        conn = p.actor("gateio_spot.connection.0")
        rss_before = _rss_kb(conn["pid"])
        parser = p.actor("gateio_spot.parser.0")["pid"]
        mark = len(p.events)
        p.sim("rate", frames_per_s="4000")
        os.kill(parser, signal.SIGSTOP)  # the parser takes nothing: its queue must overflow
        try:
            wait_until(
                lambda: counters(p, "connection.0").get("dropped_batches", 0) > 0,
                25,
                "the connection to drop batches",
                p,
            )
            rss_full = _rss_kb(conn["pid"])
        finally:
            os.kill(parser, signal.SIGCONT)
            p.sim("rate", frames_per_s="0")
        p.pump_until(
            lambda: sum(isinstance(e, BookReset) for e in p.events[mark:]) >= 3 and all_valid(p),
            20,
            "every book of the connection reset and resynced",
        )
        conn_counters = counters(p, "connection.0")
        assert conn_counters["dropped_frames"] > 0
        reasons = {e.reason for e in p.events[mark:] if isinstance(e, BookReset)}
        assert any("dropped" in r or "lost" in r for r in reasons), reasons
        wait_until(
            lambda: counters(p, "handler").get("upstream_drops", 0) >= 1, 3, "drops counted", p
        )
        assert rss_full - rss_before < 200_000, (rss_before, rss_full)  # queues are bounded
        assert_wire_order(p.events)
        assert_books_match_truth(p, NATIVE)


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def test_a_consumer_reconnecting_to_a_restarted_handler_gets_every_book_afresh() -> None:
    with running_pipeline(venues=gate(), parsers=1) as p:
        p.pump_until(lambda: all_valid(p), 10, "books")
        victim = p.actor("gateio_spot.handler")
        mark = len(p.events)
        os.kill(victim["pid"], signal.SIGKILL)
        # The new handler resets its books as it meets them, maybe before our SUB has
        # reconnected: then (re)subscribing brings a reset for a book still being rebuilt,
        # or the live book's snapshot -- either way news of each book before any delta.
        p.pump_until(
            lambda: (
                {e.native for e in p.events[mark:] if isinstance(e, BookReset | BookSnapshot)}
                == set(NATIVE)
                and all_valid(p)
            ),
            15,
            "every book reset, then valid, after the handler restart",
        )
        assert_wire_order(p.events)  # no delta from the new handler before news of its book
        assert_books_match_truth(p, NATIVE)
