"""Protocol-faithful venue simulators, by venue name.

A simulator serves a venue's WebSocket and the REST calls we use on one loopback port, from
one true market state, with faults injectable under ``/_sim/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SIMULATOR_PATHS: dict[str, tuple[str, str]] = {
    # venue: (websocket path, REST base path), as the real venue spells them
    "gateio_spot": ("/ws/v4/", "/api/v4"),
    "gateio_futures": ("/v4/ws/{settle}", "/api/v4"),
    "mexc_spot": ("/ws", ""),
    "mexc_futures": ("/edge", ""),
}


def simulator_urls(
    venue: str, port: int, options: Mapping[str, Any] | None = None, host: str = "127.0.0.1"
) -> tuple[str, str]:
    """The ws_url and rest_url that point a venue's actors at its simulator."""
    try:
        ws_path, rest_path = SIMULATOR_PATHS[venue]
    except KeyError:
        raise KeyError(f"no simulator for venue {venue!r}") from None
    ws_path = ws_path.format(settle=(options or {}).get("settle", "usdt"))
    return f"ws://{host}:{port}{ws_path}", f"http://{host}:{port}{rest_path}"
