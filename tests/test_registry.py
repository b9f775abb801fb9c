from __future__ import annotations

import pytest

from actors.registry import CapacityError, assign
from actors.venues import Subscription


def subs(n: int, channel: str = "trades") -> list[Subscription]:
    return [Subscription(channel, f"S{i:02d}/USDT") for i in range(n)]


def test_spreads_over_connections_within_the_limit() -> None:
    shares = assign([frozenset()] * 3, subs(70), 30)
    assert sorted(len(s) for s in shares) == [23, 23, 24]
    assert frozenset().union(*shares) == frozenset(subs(70))


def test_existing_subscriptions_stay_where_they_are() -> None:
    first = assign([frozenset()] * 2, subs(4), 30)
    second = assign(first, [*subs(4), Subscription("trades", "NEW/USDT")], 30)
    for before, after in zip(first, second, strict=True):
        assert before <= after


def test_removal_only_touches_the_connection_that_had_it() -> None:
    first = assign([frozenset()] * 2, subs(4), 30)
    gone = next(iter(first[0]))
    second = assign(first, set(subs(4)) - {gone}, 30)
    assert second[1] == first[1]
    assert second[0] == first[0] - {gone}


def test_over_capacity_is_refused_with_the_numbers() -> None:
    with pytest.raises(CapacityError, match="31 subscriptions do not fit on 1 connection"):
        assign([frozenset()], subs(31), 30)


def test_no_limit_means_one_connection_takes_everything() -> None:
    assert len(assign([frozenset()], subs(100), None)[0]) == 100
