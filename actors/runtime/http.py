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


def call(base: str, request: RestRequest, *, timeout_s: float = TIMEOUT_S) -> bytes:
    url = f"{base.rstrip('/')}{request.path}"
    if request.params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(request.params)
    req = urllib.request.Request(url, method=request.method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body: bytes = resp.read()
            return body
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode(errors="replace")
        # The path only: a signed query carries a signature, not worth printing.
        raise OSError(
            f"HTTP {exc.code} from {request.method} {request.path.split('?')[0]}: {detail}"
        ) from None
