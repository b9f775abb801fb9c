"""`pipeline simulate VENUE`: one simulator in the foreground, reachable and stoppable."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from actors.venues import VENUES


@pytest.mark.timeout(30)
@pytest.mark.parametrize("venue", sorted(VENUES))
def test_simulate_serves_until_interrupted(venue: str) -> None:
    cmd = [sys.executable, "-m", "actors.cli", "simulate", venue]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        try:
            match = re.search(r"control (\S+)", banner)
            assert match, f"no control url in the banner: {banner!r}"
            with urllib.request.urlopen(f"{match.group(1)}/stats", timeout=5) as reply:
                assert isinstance(json.loads(reply.read()), dict)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
