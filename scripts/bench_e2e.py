#!/usr/bin/env python3
"""End-to-end benchmark: a venue simulator -> the whole pipeline -> a SUB consumer.

Usage (with the project's virtualenv)::

    python scripts/bench_e2e.py                 # 3 runs, ~5 minutes -> docs/BENCHMARKS.md
    python scripts/bench_e2e.py --quick         # one short run, ~1 minute
    python scripts/bench_e2e.py --baseline /tmp/base --parsers 1 --rates 1000,10000
        # A/B: the same steps against another checkout's actors, interleaved in one run
    python scripts/bench_e2e.py --replay-only --recording /tmp/rec   # replay part only

What it measures (``scripts/bench/e2e.py``): for 1, 2 and ``auto`` parsers, at offered rates
of 1k, 10k, 50k frames/s and flat out, the events/s a SUB consumer receives, loss (every drop,
gap, lost batch, parse error, and frames offered but never handled), latency from frame
receipt to consumer receipt (p50/p99/p99.9), CPU and RSS of every actor; and in the same run
the physical limits of the same frames (bare msgspec decode, a bare PUSH/PULL hop).  Then
(``scripts/bench/e2e_replay.py``) it records a large simulator session once and replays it
``--as-fast-as-possible`` with 1, 2 and ``auto`` parsers into a SUB consumer: events/s and
loss against the 200k events/s target.  It writes its own sections of docs/BENCHMARKS.md
(``e2e`` and ``e2e-replay``; ``bench_parse.py`` owns another).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from bench import datasets, e2e, e2e_replay, e2e_report, sections  # noqa: E402


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_rates(text: str) -> list[float]:
    return [e2e.FLAT_OUT if r == "max" else float(r) for r in text.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short run")
    parser.add_argument("--runs", type=int, help="runs per configuration (default 3)")
    parser.add_argument("--parsers", default="1,2,auto", help="parser counts, comma separated")
    parser.add_argument("--rates", default="1000,10000,50000,max", help="frames/s; max: flat out")
    parser.add_argument("--window", type=float, help="seconds measured per step (default 4)")
    parser.add_argument("--baseline", help="another checkout whose actors run the same steps")
    parser.add_argument("--baseline-name", help="what the baseline is, for the report")
    parser.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print, don't write the doc")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--replay-only", action="store_true", help="only the replay part")
    parser.add_argument("--no-replay", action="store_true", help="skip the replay part")
    parser.add_argument("--recording", help="replay this directory's recording (else record)")
    parser.add_argument("--record-seconds", type=float, default=10.0)
    parser.add_argument("--record-rate", type=float, default=25_000, help="extra frames/s")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    window = args.window or (2.0 if args.quick else 4.0)
    warmup = 1.0 if args.quick else 1.5
    rates = parse_rates(args.rates)
    counts: list[int | str] = [p if p == "auto" else int(p) for p in args.parsers.split(",")]
    started = time.monotonic()
    info = e2e.machine()

    trees: list[tuple[str, Path]] = [("", ROOT)]
    if args.baseline:
        trees.insert(0, ("baseline ", Path(args.baseline).resolve()))
    command = "python scripts/bench_e2e.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    common = {"command": command, "runs": runs, "machine": info}
    if not args.replay_only:
        data = simulator_part(runs, window, warmup, rates, counts, trees, common, started)
        text = e2e_report.render(data)
        write(args, "e2e", text, data)
    if not args.no_replay:
        data = replay_part(args, runs, counts, trees, common, started)
        text = e2e_report.render_replay(data)
        write(args, "e2e-replay", text, data)
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


def simulator_part(
    runs: int,
    window: float,
    warmup: float,
    rates: list[float],
    counts: list[int | str],
    trees: list[tuple[str, Path]],
    common: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    source = e2e.SimulatorSource()
    source.start()
    configs: dict[str, list[dict[str, Any]]] = {}
    try:
        for r in range(runs):
            for count in counts:
                for prefix, tree in trees:
                    label = prefix + label_of(count)
                    log(f"run {r + 1}/{runs}: {label}")
                    result = e2e.run_config(
                        source, count, rates, warmup_s=warmup, window_s=window, root=tree, log=log
                    )
                    configs.setdefault(label, []).append(result)
        log("physical limits ...")
        frames = e2e.capture_frames(source, 4000)
        limits: dict[str, Any] = {"frames": len(frames), "decode_fps": [], "hops": []}
        batches = sorted({1, 16, 64})
        hops = {
            b: {"batch": b, "frames_ps": [], "msgs_ps": [], "p50_us": [], "p99_us": [], "bytes": []}
            for b in batches
        }
        for _ in range(runs):
            limits["decode_fps"].append(e2e.bare_decode(frames))
            for b in batches:
                hop = e2e.bare_hop(frames, b)
                for key, name in (
                    ("frames_ps", "frames_ps"),
                    ("msgs_ps", "msgs_ps"),
                    ("p50_us", "p50_us"),
                    ("p99_us", "p99_us"),
                    ("bytes", "payload_bytes"),
                ):
                    hops[b][key].append(hop[name])
        limits["hops"] = list(hops.values())
        log("parser scaling on MEXC spot depth (the heaviest parse) ...")
        mexc = {d["id"]: d for d in datasets.mexc_spot(400, 1000)}
        scaling: dict[str, dict[str, list[float]]] = {}
        for key in ("mexc_spot.aggre.depth.simulated", "mexc_spot.limit.depth.simulated"):
            for _ in range(runs):
                rates_by_n = e2e.parser_scaling("mexc_spot", mexc[key]["frames"], (1, 2))
                for n, value in rates_by_n.items():
                    scaling.setdefault(key, {}).setdefault(str(n), []).append(value)
    finally:
        source.stop()

    main_label = next((k for k in configs if k.startswith("1 parser")), next(iter(configs)))
    data = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **common,
        "wall_s": time.monotonic() - started,
        "load_end": os.getloadavg(),
        "source": source.description,
        "warmup_s": warmup,
        "window_s": window,
        "rates": rates,
        "configs": configs,
        "limits": limits,
        "parser_scaling": scaling,
        "main": main_label,
        "scaling_note": "simulator-fed: bound by the simulator and the connection sharing the "
        "same cores, not by parsing; the replay section below compares parser counts "
        "with the simulator and connection out of the way",
        "notes": [],
    }
    return data


def replay_part(
    args: argparse.Namespace,
    runs: int,
    counts: list[int | str],
    trees: list[tuple[str, Path]],
    common: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    """Record once (or take ``--recording``), then replay it ``runs`` times per parser
    count, the trees (baseline first) interleaved so machine noise hits them alike."""
    if args.recording:
        rec = e2e_replay.Recording.load(Path(args.recording))
    else:
        out = Path(tempfile.mkdtemp(prefix="mp-e2e-rec-", dir="/tmp"))
        log(f"recording {args.record_seconds:.0f} s of the simulator into {out} ...")
        rec = e2e_replay.Recording.make(
            out, seconds=args.record_seconds, rate=args.record_rate, log=log
        )
    configs: dict[str, list[dict[str, Any]]] = {}
    for r in range(runs):
        for count in counts:
            for prefix, tree in trees:
                label = prefix + label_of(count)
                result = e2e_replay.run_replay(rec, count, root=tree)
                log(
                    f"replay run {r + 1}/{runs}: {label}: {result['events_ps']:,.0f} events/s, "
                    f"{result['events']:,} events, lossless {result['lossless']}, "
                    f"cpu% {result['cpu_pct']}"
                )
                configs.setdefault(label, []).append(result)
    return {
        **common,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": time.monotonic() - started,
        "load_end": os.getloadavg(),
        "recording": {
            "description": rec.description,
            "files": [str(f) for f in rec.files],
            "frames": rec.frames,
            "events": rec.events,
        },
        "configs": configs,
        "notes": [
            f"_baseline_ rows: the same replays through the actors of "
            f"{args.baseline_name or args.baseline}, interleaved with ours run by run"
        ]
        if args.baseline
        else [],
    }


def label_of(count: int | str) -> str:
    if count == "auto":
        return f"auto parsers ({os.cpu_count()} cores)"
    return f"{count} parser{'s' if count != 1 else ''}"


def write(args: argparse.Namespace, section: str, text: str, data: dict[str, Any]) -> None:
    if args.json:
        path = Path(args.json)
        path = path.with_name(f"{path.stem}.{section}{path.suffix}")
        path.write_text(json.dumps(data, indent=1, default=str))
    if args.no_write:
        print(text)
    else:
        sections.write_section(Path(args.out), section, text)
        log(f"wrote the {section} section of {args.out}")


if __name__ == "__main__":
    sys.exit(main())
