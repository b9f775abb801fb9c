"""Mutating real JSON frames for the fuzz tests: every path of a frame, and a value to put
there.  Shared so each venue's fuzz test differs only in its sample words."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def json_values(*words: str) -> st.SearchStrategy[Any]:
    """Any small JSON value, leaning on awkward numbers and the venue's own words."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from(["", "0", "-1", "1e400", "nan", *words]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=6,
    )


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a decoded JSON document, the root included."""
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            out += paths(value, (*prefix, index))
    return out


def replaced(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``obj`` with ``value`` at ``path``."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: replaced(obj[head], rest, value)}
    return [replaced(v, rest, value) if i == head else v for i, v in enumerate(obj)]


def at(obj: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path`` in ``obj``."""
    for key in path:
        obj = obj[key]
    return obj


def removed(obj: Any, path: tuple[Any, ...]) -> Any:
    """A copy of ``obj`` without the key or item at ``path`` (not the root)."""
    head, rest = path[0], path[1:]
    if not rest:
        if isinstance(obj, dict):
            return {k: v for k, v in obj.items() if k != head}
        return [v for i, v in enumerate(obj) if i != head]
    if isinstance(obj, dict):
        return {**obj, head: removed(obj[head], rest)}
    return [removed(v, rest) if i == head else v for i, v in enumerate(obj)]
