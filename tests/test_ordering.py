"""Reorder: each connection's batches come out in wire order, whatever the parsers did."""

from __future__ import annotations

from actors.messages import EventBatch
from actors.ordering import Lost, NewEpoch, Reorder

MS = 1_000_000


def batch(n: int, conn: str = "c0", epoch: int = 1) -> EventBatch:
    return EventBatch(conn, epoch, n, 0, 1, [], [], 0)


def numbers(items: list[object]) -> list[object]:
    return [i.batch if isinstance(i, EventBatch) else i for i in items]


def test_in_order_batches_pass_straight_through() -> None:
    r = Reorder()
    out = [x for n in range(3) for x in r.push(batch(n), 0)]
    assert numbers(out) == [NewEpoch("c0", 1), 0, 1, 2]


def test_out_of_order_batches_are_held_until_the_gap_fills() -> None:
    r = Reorder()
    assert numbers(r.push(batch(0), 0)) == [NewEpoch("c0", 1), 0]
    assert r.push(batch(2), 0) == []
    assert r.push(batch(3), 0) == []
    assert numbers(r.push(batch(1), 0)) == [1, 2, 3]
    assert r.pending == 0


def test_a_batch_that_never_comes_is_declared_lost_after_the_timeout() -> None:
    r = Reorder(timeout_ns=100 * MS)
    r.push(batch(0), 0)
    r.push(batch(2), 10 * MS)
    assert r.expire(50 * MS) == []
    assert numbers(r.expire(110 * MS)) == [Lost("c0", 1), 2]
    assert r.lost == 1
    # and a straggler arriving afterwards is late, not replayed out of order
    assert r.push(batch(1), 120 * MS) == []
    assert r.late == 1


def test_many_holes_expire_together_not_one_timeout_after_another() -> None:
    # A stopped parser held every other batch: the holes are as old as the batches after
    # them, so one timeout after the last hole opened, every hole is given up at once.
    r = Reorder(timeout_ns=100 * MS)
    r.push(batch(0), 0)
    for n in range(2, 12, 2):
        assert r.push(batch(n), n * MS) == []
    assert r.expire(101 * MS) == []  # batch 2 came at 2 ms: its hole is 99 ms old
    assert numbers(r.expire(102 * MS)) == [Lost("c0", 1), 2]  # only the oldest hole is due
    out = r.expire(111 * MS)
    assert numbers(out) == [Lost("c0", 1), 4, Lost("c0", 1), 6, Lost("c0", 1), 8, Lost("c0", 1), 10]
    assert r.pending == 0 and r.lost == 5
    r.push(batch(13), 200 * MS)  # a new hole gets a fresh clock
    assert r.expire(299 * MS) == []
    assert numbers(r.expire(300 * MS)) == [Lost("c0", 2), 13]


def test_too_many_pending_batches_force_a_skip() -> None:
    r = Reorder(max_pending=2)
    r.push(batch(0), 0)
    r.push(batch(2), 0)
    r.push(batch(3), 0)
    assert numbers(r.push(batch(4), 0)) == [Lost("c0", 1), 2, 3, 4]


def test_a_new_epoch_restarts_numbering_and_drops_the_old_sessions_leftovers() -> None:
    r = Reorder()
    r.push(batch(0, epoch=1), 0)
    r.push(batch(2, epoch=1), 0)  # 1 never comes: the session died
    out = r.push(batch(0, epoch=2), 0)
    assert numbers(out) == [NewEpoch("c0", 2), 0]
    assert r.lost == 1
    assert r.push(batch(3, epoch=1), 0) == []  # the old session is over
    assert r.late == 1


def test_connections_are_ordered_independently() -> None:
    r = Reorder()
    r.push(batch(0, "a"), 0)
    r.push(batch(0, "b"), 0)
    assert r.push(batch(2, "a"), 0) == []
    assert numbers(r.push(batch(1, "b"), 0)) == [1]


def test_a_new_sessions_first_batches_may_overtake_each_other() -> None:
    r = Reorder()  # two parsers: batch 1 can reach the handler before batch 0
    assert numbers(r.push(batch(1), 0)) == [NewEpoch("c0", 1)]
    assert numbers(r.push(batch(0), 0)) == [0, 1]
    assert r.late == 0


def test_first_sight_mid_session_starts_where_the_stream_is() -> None:
    r = Reorder()  # a restarted handler joins a running connection
    assert numbers(r.push(batch(57), 0)) == [NewEpoch("c0", 1), 57]
