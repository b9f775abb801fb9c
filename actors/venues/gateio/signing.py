"""Gate.io WebSocket v4 channel authentication (spot and futures alike).  [pure]

A private subscribe or unsubscribe request carries
``"auth": {"method": "api_key", "KEY": <api key>, "SIGN": <hex>}`` where

    SIGN = lowercase hex HMAC-SHA512(key = api secret, msg = "channel=<c>&event=<e>&time=<t>")

and ``<t>`` is the same integer seconds value as the request's ``time`` field (the venue
rejects requests more than 60 s away from its clock).  Source: the Gate.io spot and futures
WebSocket docs, "Authentication" (``../shared/protocols/protocols.md`` 3.5 and 4.2).

No clock here: the time is an argument.  Secrets go in and signatures come out; nothing is
logged or kept, and no error message repeats a key, a secret or a signature.
"""

from __future__ import annotations

import hashlib
import hmac

AUTH_METHOD = "api_key"


def sign(secret: str, channel: str, event: str, time_s: int) -> str:
    """Hex HMAC-SHA512 of ``channel=<channel>&event=<event>&time=<time_s>`` under ``secret``."""
    if not isinstance(secret, str) or not secret:
        raise ValueError("Gate.io signing needs a non-empty secret string")
    if not isinstance(channel, str) or not channel or not isinstance(event, str) or not event:
        raise ValueError("Gate.io signing needs a non-empty channel and event")
    # bool is an int; a True "time" would sign "time=True" and fail at the venue
    if isinstance(time_s, bool) or not isinstance(time_s, int) or time_s < 0:
        raise ValueError(f"time_s must be a non-negative int (epoch seconds), got {time_s!r}")
    message = f"channel={channel}&event={event}&time={time_s}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def auth_object(key: str, secret: str, channel: str, event: str, time_s: int) -> dict[str, str]:
    """The request's ``auth`` field, signed for ``channel``/``event`` at ``time_s``."""
    if not isinstance(key, str) or not key:
        raise ValueError("Gate.io signing needs a non-empty api key string")
    return {"method": AUTH_METHOD, "KEY": key, "SIGN": sign(secret, channel, event, time_s)}
