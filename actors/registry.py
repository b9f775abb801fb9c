"""Which connection carries which subscription.  [pure]

Rules:
1. A subscription stays on the connection that has it: moving one would break its stream.
2. A new subscription goes to the least-loaded connection with room (ties: the lowest index).
3. A venue's per-connection limit is never exceeded; when every connection is full the
   request is refused with the numbers, never silently truncated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from actors.venues import Subscription


class CapacityError(ValueError):
    pass


def assign(
    current: Sequence[frozenset[Subscription]],
    wanted: Iterable[Subscription],
    limit: int | None,
) -> list[frozenset[Subscription]]:
    """The new share of each connection, given the current shares and the wanted set."""
    wanted_set = set(wanted)
    shares = [set(share & wanted_set) for share in current]
    placed = set().union(*shares) if shares else set()
    for sub in sorted(wanted_set - placed):
        candidates = [i for i, share in enumerate(shares) if limit is None or len(share) < limit]
        if not candidates:
            total = len(wanted_set)
            raise CapacityError(
                f"{total} subscriptions do not fit on {len(shares)} connection(s) "
                f"of at most {limit} each"
            )
        best = min(candidates, key=lambda i: (len(shares[i]), i))
        shares[best].add(sub)
    return [frozenset(share) for share in shares]
