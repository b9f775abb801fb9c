"""The venue registry: the only place an exchange is named.  [pure]

Venues are imported lazily, so a topology that uses one venue never imports the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from actors.venues.base import FrameError, RestRequest, Subscription, Venue

VENUES: dict[str, str] = {
    "gateio_spot": "actors.venues.gateio.spot:GateioSpot",
    "gateio_futures": "actors.venues.gateio.futures:GateioFutures",
    "mexc_spot": "actors.venues.mexc.spot:MexcSpot",
    "mexc_futures": "actors.venues.mexc.futures:MexcFutures",
}

__all__ = ["VENUES", "FrameError", "RestRequest", "Subscription", "Venue", "load_venue"]


def venue_class(name: str) -> type[Venue]:
    try:
        target = VENUES[name]
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise KeyError(f"unknown venue {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    cls: type[Venue] = getattr(importlib.import_module(module_name), class_name)
    return cls


def load_venue(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    credentials: tuple[str, str] | None = None,
) -> Venue:
    cls = venue_class(name)
    return cls(options, credentials=credentials) if credentials else cls(options)
