"""Futures contract sizes applied to parsed events: what every futures venue shares.  [pure]

Futures venues publish quantities in the venue's contracts, exactly as sent.  The handler
looks up each contract's size once (the venue's ``contracts_request``/``parse_contracts``)
and calls ``with_contract_size`` on the events of that contract, which fills
``contract_size`` and the base-unit quantities (``*_base``).  Parsers stay stateless.

This is the same rule as ``actors/venues/gateio/futures.py`` ``with_contract_size``; it lives
here so that a venue does not import another venue's module (the registry imports venues
lazily, one at a time).
"""

from __future__ import annotations

import msgspec.structs

from actors.messages import BookDelta, BookSnapshot, BookTicker, Event, TopBook, Trade

__all__ = ["with_contract_size"]

_INF = float("inf")


def with_contract_size(event: Event, size: float) -> Event:
    """``event`` with ``contract_size`` (base units per contract) and, where the event has
    them, the ``*_base`` quantities filled.  ``size`` 0 means "no fixed base size" (inverse
    contracts, whose contract is a face value in the quote currency, and unknown contracts):
    ``contract_size`` is set to 0 and ``*_base`` stays None.  Events without quantities in
    contracts (tickers, account events, acks) come back unchanged."""
    if isinstance(size, bool) or not 0.0 <= size < _INF:  # also rejects nan
        raise ValueError(f"contract size must be a finite number >= 0, got {size!r}")
    known = size > 0
    match event:
        case BookTicker():
            return msgspec.structs.replace(
                event,
                contract_size=size,
                bid_qty_base=event.bid_qty * size if known else None,
                ask_qty_base=event.ask_qty * size if known else None,
            )
        case Trade():
            return msgspec.structs.replace(
                event, contract_size=size, qty_base=event.qty * size if known else None
            )
        case BookSnapshot() | BookDelta() | TopBook():
            return msgspec.structs.replace(event, contract_size=size)
    return event
