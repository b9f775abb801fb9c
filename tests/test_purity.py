"""Protocol code is pure (design invariant 1): no sockets, event loop or clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "actors"
PURE = [
    "messages.py",
    "topology.py",
    "book.py",
    "ordering.py",
    "backoff.py",
    "registry.py",
    "stats.py",
    "control.py",
    "recording.py",
    "staleness.py",
    "liveness.py",
    "runstate.py",
    *[str(p.relative_to(ROOT)) for p in ROOT.glob("venues/*.py")],
    *[str(p.relative_to(ROOT)) for p in ROOT.glob("venues/*/*.py") if "_pb" not in p.parts],
    "simulators/market.py",
    "simulators/account.py",
]
FORBIDDEN = {
    "zmq",
    "websockets",
    "asyncio",
    "socket",
    "click",
    "time",
    "urllib.request",
    "http",
    "aiohttp",
    "threading",
    "subprocess",
    "actors.runtime",
    "actors.stages",
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(set(PURE)))
def test_pure_module_imports_no_io(module: str) -> None:
    path = ROOT / module
    bad = {n for n in imported(path) for f in FORBIDDEN if n == f or n.startswith(f + ".")}
    assert not bad, f"{module} imports {sorted(bad)}"
