#!/usr/bin/env python3
"""Parse benchmark: marketpipe vs the physical limits vs cryptofeed and ccxt, in one run.

Usage (with the project's virtualenv)::

    python scripts/bench_parse.py            # full: 7 runs, a few minutes -> docs/BENCHMARKS.md
    python scripts/bench_parse.py --quick    # smoke check, under a minute
    python scripts/bench_parse.py --runs 9 --no-peers --out /tmp/b.md

What it measures, per venue channel, on the same frames (recorded where recordings exist,
simulated for volume; ``scripts/bench/datasets.py``):

* our parser's throughput per process (``scripts/bench/ours.py``), and for book channels
  parse + ``BookSync.on_delta``;
* the physical limits: bare ``msgspec.json.decode``, a minimal typed Struct, bare protobuf;
* cryptofeed 2.4 and ccxt pro, each in a throwaway virtualenv of its own
  (``/tmp/bench-cryptofeed``, ``/tmp/bench-ccxt``; created and pip-installed from PyPI if
  missing, the only network use), driven through their own message handlers
  (``scripts/bench/peer_*.py``).  They never become our dependencies.

Each implementation runs in its own worker process; the driver runs R rounds, and in each
round asks every worker to measure every case once, so noise on this shared machine hits all
alike.  Every figure is the median over the rounds, with min and max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH = HERE / "bench"
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from bench import datasets, report, sections  # noqa: E402

PEERS: dict[str, dict[str, Any]] = {
    "cryptofeed": {
        "venv": "/tmp/bench-cryptofeed",
        "packages": ["cryptofeed>=2.4,<2.5"],
        "probe": "import cryptofeed.exchanges.gateio",
        "script": "peer_cryptofeed.py",
    },
    "ccxt": {
        "venv": "/tmp/bench-ccxt",
        # ccxt's generated MEXC protobuf modules need the protobuf 5 runtime (>= 5.29.3)
        "packages": ["ccxt", "protobuf>=5.29.3,<6"],
        "probe": "import ccxt.pro, google.protobuf; "
        "from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2",
        "script": "peer_ccxt.py",
    },
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- peer virtualenvs ------------------------------------------------------------------------


def base_python() -> str:
    """The interpreter our venv was made from (peers get a venv of the same Python)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure_peer(
    name: str, spec: dict[str, Any], venv: str, install: bool
) -> tuple[str | None, str | None]:
    """(python, None) if the peer is importable in its venv, else (None, reason)."""
    python = str(Path(venv) / "bin" / "python")

    def probe() -> str | None:
        if not Path(python).exists():
            return f"no virtualenv at {venv}"
        done = subprocess.run([python, "-c", spec["probe"]], capture_output=True, text=True)
        if done.returncode:
            return (done.stderr.strip().splitlines() or ["import failed"])[-1]
        return None

    why = probe()
    if why is None:
        return python, None
    if not install:
        return None, f"{why} (--no-install given)"
    log(
        f"{name}: {why}; installing {' '.join(spec['packages'])} into {venv} from PyPI "
        "(a throwaway virtualenv, never a marketpipe dependency) ..."
    )
    try:
        if not Path(python).exists():
            subprocess.run(
                [base_python(), "-m", "venv", venv],
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
        done = subprocess.run(
            [python, "-m", "pip", "install", "-q", *spec["packages"]],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not create/install {venv}: {exc}"
    if done.returncode:
        lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("WARNING")]
        return None, f"pip install failed: {(lines or ['?'])[-1][:200]}"
    why = probe()
    return (python, None) if why is None else (None, f"installed but not importable: {why}")


# -- workers -----------------------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, argv: list[str], stderr_dir: Path) -> None:
        self.name = name
        self.stderr_path = stderr_dir / f"{name}.stderr"
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr_path.open("w"),
            text=True,
            cwd=ROOT,
        )
        self.ready: dict[str, Any] | None = None

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            tail = self.stderr_path.read_text()[-800:]
            raise RuntimeError(f"{self.name} worker exited: {tail}")
        return json.loads(line)

    def start(self) -> dict[str, Any]:
        self.ready = self.read()
        return self.ready

    def measure(self, target_s: float, min_passes: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        cmd = {"cmd": "measure", "target_s": target_s, "min_passes": min_passes}
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()["results"]

    def profile(self, ids: list[str], seconds: float, top: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        cmd = {"cmd": "profile", "ids": ids, "seconds": seconds, "top": top}
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()["profiles"]

    def stop(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "load_start": _load(),
    }


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def profile_ids(sets: list[dict[str, Any]], results: dict[str, list[Any]]) -> list[str]:
    """One dataset per venue channel (simulated if there is one) whose parse rate is under
    the bare-decode target: those get a cProfile of our parse path in the report."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for data in sets:
        key = (data["venue"], data["channel"])
        if key not in chosen or data["source"] == "simulated":
            chosen[key] = data
    ids = []
    for data in chosen.values():
        ours = report.rates(results.get(data["id"] + "|parse", []))
        bare = report.rates(results.get(data["id"] + ("|pb" if data["binary"] else "|json"), []))
        if ours and bare and ours.median < report.TARGET_BARE * bare.median:
            ids.append(data["id"] + "|parse")
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke check: < 60 s")
    parser.add_argument("--runs", type=int, help="runs per figure (>= 5; default 7, quick 5)")
    parser.add_argument("--target", type=float, help="seconds of timed work per figure per run")
    parser.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--no-peers", action="store_true", help="skip cryptofeed and ccxt")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="never pip-install a missing peer (report it unavailable)",
    )
    parser.add_argument("--cryptofeed-venv", default=PEERS["cryptofeed"]["venv"])
    parser.add_argument("--ccxt-venv", default=PEERS["ccxt"]["venv"])
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 7)
    if runs < 5:
        parser.error("--runs must be at least 5 (a median needs a few runs)")
    target = args.target or (0.02 if args.quick else 0.15)
    started = time.monotonic()
    info = machine()

    work = Path(tempfile.mkdtemp(prefix="marketpipe-bench-"))
    try:
        log(f"building datasets in {work} ...")
        sets = datasets.build(args.quick)
        datasets.write(sets, work / "datasets")

        unavailable: dict[str, str | None] = {}
        workers = [
            Worker(
                "marketpipe", [sys.executable, str(BENCH / "ours.py"), str(work / "datasets")], work
            )
        ]
        for name, spec in PEERS.items():
            if args.no_peers:
                unavailable[name] = "skipped (--no-peers)"
                continue
            venv = args.cryptofeed_venv if name == "cryptofeed" else args.ccxt_venv
            python, why = ensure_peer(name, spec, venv, not args.no_install)
            if python is None:
                log(f"{name}: unavailable: {why}")
                unavailable[name] = why
                continue
            argv = [
                python,
                str(BENCH / spec["script"]),
                str(work / "datasets"),
                str(datasets.shared_dir()),
            ]
            workers.append(Worker(name, argv, work))

        status: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        live = []
        for worker in workers:
            try:
                ready = worker.start()
            except Exception as exc:  # a peer that cannot start is reported, not fatal
                if worker.name == "marketpipe":
                    raise
                unavailable[worker.name] = str(exc)[:300]
                worker.stop()
                continue
            status.update(ready["cases"])
            meta[worker.name] = ready["meta"]
            unavailable.setdefault(worker.name, None)
            live.append(worker)
            ok = sum(1 for s in ready["cases"].values() if s["status"] == "ok")
            log(f"{worker.name}: ready, {ok} cases")

        results: dict[str, list[Any]] = {}
        for r in range(runs):
            t0 = time.monotonic()
            for worker in live:
                for cid, sample in worker.measure(target, 1 if args.quick else 2).items():
                    results.setdefault(cid, []).append(sample)
            log(f"run {r + 1}/{runs} done in {time.monotonic() - t0:.1f} s")
        ids = profile_ids(sets, results)
        log(f"profiling our parse path on {len(ids)} channels under the bare-decode target ...")
        profiles = live[0].profile(ids, 0.1 if args.quick else 0.4, 6)
        for worker in live:
            worker.stop()

        info["load_end"] = _load()
        command = "python scripts/bench_parse.py" + "".join(
            f" {shlex.quote(a)}" for a in sys.argv[1:]
        )
        run = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "mode": "quick" if args.quick else "full",
            "runs": runs,
            "target_s": target,
            "wall_s": time.monotonic() - started,
            "machine": info,
            "meta": meta,
            "batch": meta["marketpipe"].get("batch"),
            "unavailable": unavailable,
            "datasets": [{k: v for k, v in d.items() if k not in ("books",)} for d in sets],
            "status": status,
            "results": results,
            "profiles": profiles,
        }
        text = report.render(run)
        out = Path(args.out)
        sections.write_section(out, "parse", text)  # the end-to-end section stays
        if args.json:
            slim = dict(
                run,
                datasets=[
                    {k: v for k, v in d.items() if k != "frames"} | {"frames": len(d["frames"])}
                    for d in sets
                ],
            )
            Path(args.json).write_text(json.dumps(slim, indent=1, default=str))
        log(f"wrote {out} in {time.monotonic() - started:.0f} s")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
