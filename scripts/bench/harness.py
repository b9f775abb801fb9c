"""Timing harness shared by every benchmark runner: ours and the peers'.  [stdlib only]

Role: one process measures one implementation (marketpipe in its venv, cryptofeed or ccxt in
throwaway venvs), so this module must import nothing outside the standard library.

A runner builds ``Case`` objects (one per dataset it can handle) and then either measures
them itself (``measure``) or serves the driver (``serve``): the driver sends one JSON command
per line on stdin, the worker answers one JSON line on stdout.  Rounds are driven by the
driver, so every implementation is measured in every round and machine noise hits all of
them alike.

Protocol (worker side)::

    -> {"ready": true, "meta": {...}, "cases": {id: {"status": "ok"|"unsupported"|"error",
        "reason": str, "check": {...}}}}
    <- {"cmd": "measure", "target_s": 0.2, "min_passes": 2}
    -> {"results": {id: [frames, ns]}}
    <- {"cmd": "profile", "ids": [id, ...], "seconds": 0.3, "top": 6}
    -> {"profiles": {id: {"frames": n, "top": [[function, own share, cum share, calls/frame]]}}}
    <- {"cmd": "quit"}
"""

from __future__ import annotations

import base64
import gc
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIN_PASSES = 2


class Case:
    """One dataset through one implementation.

    ``reset`` runs before every pass, untimed (e.g. reload a book snapshot so every delta of
    the pass applies); ``run`` is one timed pass over ``frames_per_pass`` frames.
    """

    def __init__(
        self,
        case_id: str,
        frames_per_pass: int,
        run: Callable[[], Any],
        reset: Callable[[], Any] | None = None,
    ) -> None:
        self.id = case_id
        self.frames_per_pass = frames_per_pass
        self.run = run
        self.reset = reset


def measure(case: Case, target_s: float, min_passes: int = MIN_PASSES) -> tuple[int, int]:
    """(frames, ns) of whole passes until ``target_s`` of timed work (at least
    ``min_passes`` passes)."""
    target_ns = int(target_s * 1e9)
    total_ns = frames = passes = 0
    gc.collect()
    perf = time.perf_counter_ns
    run, reset = case.run, case.reset
    while total_ns < target_ns or passes < min_passes:
        if reset is not None:
            reset()
        start = perf()
        run()
        total_ns += perf() - start
        frames += case.frames_per_pass
        passes += 1
    return frames, total_ns


# -- datasets (written by the driver, read by every runner) ----------------------------------


def load_datasets(directory: str | Path) -> list[dict[str, Any]]:
    """Every dataset in ``directory``: frames decoded back to str (text) or bytes (binary)."""
    out = []
    for path in sorted(Path(directory).glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("binary"):
            data["frames"] = [base64.b64decode(f) for f in data["frames"]]
        out.append(data)
    return out


# -- serving the driver ----------------------------------------------------------------------


def _send(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(cases: list[Case], status: dict[str, dict[str, Any]], meta: dict[str, Any]) -> None:
    """Announce the cases, then answer measure commands until quit (or EOF).

    The setup heap (modules, datasets) is moved out of the collector's way with
    ``gc.freeze()`` in every worker alike: it no longer costs each ``gc.collect()`` between
    cases, and a timed pass pays for the garbage it makes itself, not for the size of the
    benchmark's own data."""
    gc.collect()
    gc.freeze()
    _send({"ready": True, "meta": meta, "cases": status})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("cmd") == "measure":
            results = {}
            for case in cases:
                try:
                    passes = int(cmd.get("min_passes", MIN_PASSES))
                    results[case.id] = list(measure(case, float(cmd["target_s"]), passes))
                except Exception as exc:  # report, keep the other cases going
                    results[case.id] = f"error: {type(exc).__name__}: {exc}"
            _send({"results": results})
        elif cmd.get("cmd") == "profile":
            by_id = {case.id: case for case in cases}
            out = {}
            for cid in cmd["ids"]:
                if cid in by_id:
                    out[cid] = profile(by_id[cid], float(cmd["seconds"]), int(cmd["top"]))
            _send({"profiles": out})
        elif cmd.get("cmd") == "quit":
            return


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    if path == "~":  # a builtin: name is e.g. "<method 'decode' of ... objects>"
        return name
    for root in ("/actors/", "/site-packages/", "/scripts/"):
        if root in path:
            path = root.strip("/") + "/" + path.split(root, 1)[1]
            break
    return f"{path}:{line}({name})"


def profile(case: Case, seconds: float, top: int) -> dict[str, Any]:
    """cProfile over whole passes for about ``seconds``: the ``top`` functions by own time,
    as shares of the profiled total (cProfile inflates call overhead: read the shares, not
    the absolute times)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    frames = passes = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or passes < 1:
        if case.reset is not None:
            case.reset()
        profiler.enable()
        case.run()
        profiler.disable()
        frames += case.frames_per_pass
        passes += 1
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1.0
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return {
        "frames": frames,
        "top": [
            [_where(key), tt / total, ct / total, nc / frames] for key, (_, nc, tt, ct, _) in rows
        ],
    }


def guarded(status: dict[str, dict[str, Any]], case_id: str, build: Callable[[], Case | None]):
    """Build one case; a failure becomes an 'error' status with the reason, not a crash."""
    try:
        case = build()
    except Exception as exc:
        detail = traceback.format_exc(limit=3).strip().splitlines()[-1]
        status[case_id] = {"status": "error", "reason": f"{type(exc).__name__}: {exc} ({detail})"}
        return None
    return case
