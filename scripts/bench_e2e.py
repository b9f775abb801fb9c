#!/usr/bin/env python3
"""End-to-end benchmark: a venue simulator -> the whole pipeline -> a SUB consumer.

Usage (with the project's virtualenv)::

    python scripts/bench_e2e.py                 # 3 runs, ~5 minutes -> docs/BENCHMARKS.md
    python scripts/bench_e2e.py --quick         # one short run, ~1 minute
    python scripts/bench_e2e.py --baseline /tmp/base --parsers 1 --rates 1000,10000
        # A/B: the same steps against another checkout's actors, interleaved in one run

What it measures (``scripts/bench/e2e.py``): for 1, 2 and ``auto`` parsers, at offered rates
of 1k, 10k, 50k frames/s and flat out, the events/s a SUB consumer receives, loss (every drop,
gap, lost batch, parse error, and frames offered but never handled), latency from frame
receipt to consumer receipt (p50/p99/p99.9), CPU and RSS of every actor; and in the same run
the physical limits of the same frames (bare msgspec decode, a bare PUSH/PULL hop).  It
writes its own section of docs/BENCHMARKS.md (``bench_parse.py`` owns another).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from bench import datasets, e2e, e2e_report, sections  # noqa: E402


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
    parser.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print, don't write the doc")
    parser.add_argument("--json", help="also write the raw results here")
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
    source = e2e.SimulatorSource()
    source.start()
    configs: dict[str, list[dict[str, Any]]] = {}
    try:
        for r in range(runs):
            for count in counts:
                for prefix, tree in trees:
                    label = prefix + (
                        f"{count} parser{'s' if count != 1 else ''}"
                        if count != "auto"
                        else f"auto parsers ({os.cpu_count()} cores)"
                    )
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

    command = "python scripts/bench_e2e.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    main_label = next((k for k in configs if k.startswith("1 parser")), next(iter(configs)))
    data = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "runs": runs,
        "wall_s": time.monotonic() - started,
        "machine": info,
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
        "same cores, not by parsing; the parse-bound comparison needs the replay source",
        "notes": [],
    }
    text = e2e_report.render(data)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1, default=str))
    if args.no_write:
        print(text)
    else:
        sections.write_section(Path(args.out), "e2e", text)
        log(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
