"""Shared fixtures: where the recorded venue frames live, and how to read them.

The frames are real captures published by others (``../shared/frames/PROVENANCE.md``); they
sit beside the repository, never inside it, and tests read them in place.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MARKETPIPE_SHARED", ROOT.parent / "shared"))
FRAMES = SHARED / "frames"


def frames_dir(sub: str) -> Path:
    path = FRAMES / sub
    if not path.is_dir():
        pytest.fail(
            f"recorded frames missing: {path} (set MARKETPIPE_SHARED to the shared/ folder)"
        )
    return path


def read_cryptofeed_ws(path: Path) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """A cryptofeed ``*.ws.1.0`` recording -> (received, sent) lists of (epoch_s, json text).

    Lines: ``<url> <-> <t>`` opens a connection, ``<url> <- <t>: <json>`` is a frame we sent,
    ``<t>: <json>`` a frame we received.
    """
    received: list[tuple[float, str]] = []
    sent: list[tuple[float, str]] = []
    for line in path.read_text().splitlines():
        if not line or " <-> " in line:
            continue
        if " <- " in line:
            _, _, rest = line.partition(" <- ")
            stamp, _, text = rest.partition(": ")
            sent.append((float(stamp), text))
        else:
            stamp, _, text = line.partition(": ")
            received.append((float(stamp), text))
    return received, sent


def read_cryptofeed_http(path: Path) -> list[tuple[str, float, str]]:
    """A cryptofeed ``*.http.0.0`` recording -> list of (request url, epoch_s, body text)."""
    out: list[tuple[str, float, str]] = []
    for line in path.read_text().splitlines():
        if not line:
            continue
        url, _, rest = line.partition(" -> ")
        stamp, _, body = rest.partition(": ")
        out.append((url, float(stamp), body))
    return out


@pytest.fixture(scope="session")
def gateio_frames() -> Path:
    return frames_dir("gateio")


@pytest.fixture(scope="session")
def mexc_pb_frames() -> Path:
    return frames_dir("mexc_spot_pb")
