"""The one blocking HTTP call the actors make (REST snapshots, listenKeys, contract lists).

Callers run it off their loop (a thread pool, ``asyncio.to_thread``); a venue's error answer
becomes an OSError that quotes the status and the start of the body.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from actors.venues import RestRequest

TIMEOUT_S = 10.0


class HttpError(OSError):
    """The venue answered with an error status; ``status`` 4xx means our request was
    refused (bad key, signature, parameters) and repeating it will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def refused(self) -> bool:
        return 400 <= self.status < 500 and self.status != 429  # 429: rate limit, retry later


def target(request: RestRequest) -> str:
    """The request's path and query, as sent after the base URL."""
    if not request.params:
        return request.path
    return (
        request.path
        + ("&" if "?" in request.path else "?")
        + urllib.parse.urlencode(request.params)
    )


def call(base: str, request: RestRequest, *, timeout_s: float = TIMEOUT_S) -> bytes:
    url = f"{base.rstrip('/')}{target(request)}"
    req = urllib.request.Request(url, method=request.method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body: bytes = resp.read()
            return body
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode(errors="replace")
        # The path only: a signed query carries a signature, not worth printing.
        where = f"{request.method} {request.path.split('?')[0]}"
        raise HttpError(exc.code, f"HTTP {exc.code} from {where}: {detail}") from None
