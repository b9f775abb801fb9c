"""MEXC request signing: spot v3 REST (listenKey calls) and the futures WebSocket login.  [pure]

Spot v3 SIGNED endpoints send ``X-MEXC-APIKEY`` plus ``timestamp`` (ms), optional
``recvWindow`` and ``signature`` = lowercase hex HMAC-SHA256(secret, totalParams), where
totalParams is the query string concatenated *directly* with the request body (no ``&``).
Values are percent-encoded with uppercase hex before signing, as the venue requires.

The futures (contract) login signs ``apiKey + reqTime`` with the same HMAC.

No clock here: timestamps are arguments.  Secrets go in and signatures come out; nothing is
logged or kept.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

from actors.venues.base import RestRequest

API_KEY_HEADER = "X-MEXC-APIKEY"
MAX_RECV_WINDOW_MS = 60_000
USER_DATA_STREAM_PATH = "/api/v3/userDataStream"

_RESERVED = frozenset({"timestamp", "recvWindow", "signature"})
# PUT (keep-alive) and DELETE (close) name the key; POST (create) and GET (list) must not.
_LISTEN_KEY_NEEDED = {"POST": False, "GET": False, "PUT": True, "DELETE": True}


def _hmac_sha256_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def spot_signature(secret: str, total_params: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``total_params`` (= query string + body, no separator)."""
    return _hmac_sha256_hex(secret, total_params)


def encode_params(params: Mapping[str, str | int]) -> str:
    """``k=v&k=v`` in the given order; ``quote`` escapes with uppercase hex (``%2C``)."""
    return "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in params.items())


def signed_query(
    params: Mapping[str, str | int],
    *,
    api_key: str,
    secret: str,
    timestamp_ms: int,
    recv_window: int | None = None,
    body: str = "",
) -> tuple[str, dict[str, str]]:
    """The signed query string (ending in ``&signature=…``) and the headers for one request.

    ``params`` keep their order; ``recvWindow`` (when given) and ``timestamp`` follow them.
    ``body`` is the raw request body, if any: it is signed but not part of the query.
    """
    if not api_key or not secret:
        raise ValueError("MEXC signing needs a non-empty api_key and secret")
    if not isinstance(timestamp_ms, int) or timestamp_ms <= 0:
        raise ValueError(f"timestamp_ms must be a positive int (ms), got {timestamp_ms!r}")
    clash = _RESERVED.intersection(params)
    if clash:
        raise ValueError(f"params must not contain {sorted(clash)}: the signer adds them")
    items: dict[str, str | int] = dict(params)
    if recv_window is not None:
        if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window must be 1..{MAX_RECV_WINDOW_MS} ms, got {recv_window}")
        items["recvWindow"] = recv_window
    items["timestamp"] = timestamp_ms
    query = encode_params(items)
    headers = {API_KEY_HEADER: api_key}
    if body:
        headers["Content-Type"] = "application/json"
    return f"{query}&signature={spot_signature(secret, query + body)}", headers


def user_data_stream_request(
    method: str,
    *,
    api_key: str,
    secret: str,
    timestamp_ms: int,
    listen_key: str | None = None,
    recv_window: int | None = None,
) -> RestRequest:
    """A signed listenKey call: POST creates, GET lists, PUT keeps alive, DELETE closes.

    The signed query is part of ``path`` (``params`` stays empty) so that no HTTP client can
    reorder or re-encode what was signed.
    """
    verb = method.upper()
    if verb not in _LISTEN_KEY_NEEDED:
        raise ValueError(f"userDataStream method must be one of {sorted(_LISTEN_KEY_NEEDED)}")
    if _LISTEN_KEY_NEEDED[verb] != bool(listen_key):
        need = "needs" if _LISTEN_KEY_NEEDED[verb] else "takes no"
        raise ValueError(f"{verb} {USER_DATA_STREAM_PATH} {need} listen_key")
    params = {"listenKey": listen_key} if listen_key else {}
    query, headers = signed_query(
        params, api_key=api_key, secret=secret, timestamp_ms=timestamp_ms, recv_window=recv_window
    )
    return RestRequest(verb, f"{USER_DATA_STREAM_PATH}?{query}", {}, headers)


def futures_login_signature(api_key: str, secret: str, req_time_ms: int) -> str:
    """Contract WebSocket ``login``: lowercase hex HMAC-SHA256(secret, apiKey + reqTime)."""
    if not api_key or not secret:
        raise ValueError("MEXC signing needs a non-empty api_key and secret")
    return _hmac_sha256_hex(secret, f"{api_key}{req_time_ms}")
