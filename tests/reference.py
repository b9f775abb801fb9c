"""Independent references the tests compare our code against, written out from their
definitions rather than imported from what is under test."""

from __future__ import annotations

import hashlib
import subprocess

BLOCK_SIZE = {"sha256": 64, "sha512": 128}


def hmac_rfc2104(digest: str, key: bytes, message: bytes) -> str:
    """HMAC from its definition (RFC 2104), without the hmac module; lowercase hex."""
    block = BLOCK_SIZE[digest]
    if len(key) > block:
        key = hashlib.new(digest, key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.new(digest, bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.new(digest, bytes(k ^ 0x5C for k in key) + inner).hexdigest()


def hmac_openssl(digest: str, secret: str, message: str) -> str:
    """HMAC by the OpenSSL command line; lowercase hex."""
    out = subprocess.run(
        ["openssl", "dgst", f"-{digest}", "-hmac", secret],
        input=message.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.rsplit("= ", 1)[1].strip()  # "SHA2-512(stdin)= <hex>"
