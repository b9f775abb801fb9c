"""A short chaos run (scripts/chaos.py): every fault kind it has, one at a time in a seeded
random order, against the pipeline and the Gate.io spot simulator; no book may mismatch the
truth, no stale book may be served, and every fault injected must recover."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT

pytestmark = pytest.mark.slow


def test_a_short_chaos_run_recovers_from_every_fault_with_exact_books(tmp_path: Path) -> None:
    report, result = tmp_path / "RELIABILITY.md", tmp_path / "chaos.json"
    command = [sys.executable, "scripts/chaos.py", "--seconds", "25", "--seed", "11"]
    command += ["--report", str(report), "--json", str(result)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert result.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    r = json.loads(result.read_text())
    assert r["mismatches"] == []
    assert r["stale_deltas"] == [] and r["stale_silent"] == []
    assert r["unrecovered"] == []
    assert r["truth_checks"].get("compared", 0) >= 6  # the books really were compared
    for kind, row in r["faults"].items():
        assert row["recovered"] == row["injected"] > 0, kind
    # A short run still reaches most kinds (a round holds every kind once).
    assert len(r["faults"]) >= 10, sorted(r["faults"])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "| **book mismatches** | **0** |" in report.read_text()
