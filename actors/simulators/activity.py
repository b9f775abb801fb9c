"""A demo trader: account activity for offline runs, so private streams have something to
show.  [pure]

Every call returns the ``/_sim/order`` parameters of one small order near the touch: mostly
marketable IOC orders (an order, a fill, a balance change, a position change), sometimes a
resting order that the next call's caller may cancel.  Randomness comes in as an rng.
"""

from __future__ import annotations

import random
from decimal import Decimal


def spot_order(rng: random.Random, pair: str, bid: str, ask: str, amount: str) -> dict[str, str]:
    side = rng.choice(("buy", "sell"))
    marketable = rng.random() < 0.7
    touch = Decimal(ask if side == "buy" else bid)
    away = Decimal("1.002") if (side == "buy") == marketable else Decimal("0.998")
    params = {
        "currency_pair": pair,
        "side": side,
        "type": "limit",
        "price": _round_like(touch * away, ask),
        "amount": amount,
        "text": "t-demo",
    }
    if marketable:
        params["tif"] = "ioc"
    return params


def mexc_spot_order(rng: random.Random, symbol: str, quantity: str) -> dict[str, str]:
    """A small market order: buys spend quote (quoteOrderQty), sells sell base."""
    if rng.random() < 0.5:
        return {"symbol": symbol, "side": "BUY", "type": "MARKET", "quoteOrderQty": "20"}
    return {"symbol": symbol, "side": "SELL", "type": "MARKET", "quantity": quantity}


def mexc_futures_order(rng: random.Random, symbol: str, vol: int) -> dict[str, str]:
    """A market order opening long (side 1) or short (side 3)."""
    return {"symbol": symbol, "side": rng.choice(("1", "3")), "vol": str(vol), "price": "0"}


def futures_order(rng: random.Random, contract: str, size: int) -> dict[str, str]:
    signed = size if rng.random() < 0.5 else -size
    return {"contract": contract, "size": str(signed), "price": "0", "tif": "ioc", "text": "t-demo"}


def _round_like(value: Decimal, sample: str) -> str:
    places = len(sample.partition(".")[2])
    return str(value.quantize(Decimal(1).scaleb(-places)))
