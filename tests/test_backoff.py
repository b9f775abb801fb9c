from __future__ import annotations

import itertools
import random

from actors.backoff import RestartPolicy, delays


def test_first_retry_is_immediate_then_grows_with_jitter_up_to_the_cap() -> None:
    seq = list(itertools.islice(delays(base_s=0.1, cap_s=2.0, rng=random.Random(1)), 12))
    assert seq[0] == 0.0
    assert all(0.05 <= d <= 0.1 for d in seq[1:2])
    assert max(seq) <= 2.0
    assert seq[-1] >= 1.0  # reached the cap region: uniform(cap/2, cap)


def test_jitter_differs_between_clients() -> None:
    a = list(itertools.islice(delays(rng=random.Random(1)), 6))
    b = list(itertools.islice(delays(rng=random.Random(2)), 6))
    assert a != b


def test_restart_policy_backs_off_while_crashing_and_forgives_a_stable_run() -> None:
    policy = RestartPolicy(base_s=0.2, cap_s=1.0, stable_s=30)
    assert [policy.on_exit(1) for _ in range(5)] == [0.0, 0.2, 0.4, 0.8, 1.0]
    assert policy.on_exit(60) == 0.0
