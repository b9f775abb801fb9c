"""CURVE keys for tcp control and private endpoints: the files, loading them, socket setup.

Key files are ZeroMQ certificates in the format zmq.auth and czmq use, so other tools read
them too: ``NAME.key`` holds the Z85 public key (0644, hand it to whoever needs it) and
``NAME.key_secret`` holds both keys (0600, never leaves its owner).  A server socket is a
CURVE server whose ZAP handler (a thread in the same process) admits only the public keys
found in the ``authorized_clients`` directory; anybody else fails the handshake, so it
receives nothing and none of its messages reach us.

Every loading error is a CurveKeyError naming the topology key, the file and the reason;
no error, log line or status field ever contains a secret key.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import zmq
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from actors.topology import CurveSpec, needs_curve

S = TypeVar("S", bound=zmq.Socket)  # type: ignore[type-arg]

ZAP_DOMAIN = "marketpipe"
Z85_KEY_LEN = 40  # 32 bytes in Z85
PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"

log = logging.getLogger("curve")


class CurveKeyError(ValueError):
    """A key file that cannot be used: ``what`` (topology key or option), the file, why."""

    def __init__(self, what: str, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{what}: {path}: {reason}")
        self.what, self.path, self.reason = what, str(path), reason


@dataclass(frozen=True)
class KeyPair:
    public: bytes  # Z85
    secret: bytes = field(repr=False)  # Z85; never in a repr, log or message


@dataclass(frozen=True)
class ClientKeys:
    """What a client needs to reach a CURVE endpoint: its own pair and the server's key."""

    client: KeyPair
    server_public: bytes


# -- files ----------------------------------------------------------------------------------


def write_keypair(out_dir: str | os.PathLike[str], name: str) -> tuple[Path, Path, bytes]:
    """A fresh keypair as ``out_dir/name.key`` (0644) and ``name.key_secret`` (0600).

    Existing files are never overwritten: a key in use replaced by accident locks everyone
    out.  Returns (public file, secret file, public key)."""
    if not name or "/" in name or name.startswith("."):
        raise CurveKeyError("--name", name, "must be a plain file name (no '/', no leading '.')")
    out = Path(out_dir)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CurveKeyError("--out", out, f"cannot create the directory: {exc.strerror}") from None
    public, secret = zmq.curve_keypair()
    public_path, secret_path = out / f"{name}{PUBLIC_SUFFIX}", out / f"{name}{SECRET_SUFFIX}"
    for path in (public_path, secret_path):
        if path.exists():
            raise CurveKeyError("--out", path, "already exists; not overwriting a key")
    # Created with its final mode (O_EXCL, 0600): the secret is never readable by others,
    # not even for a moment.
    _write(secret_path, _certificate(public, secret), 0o600)
    _write(public_path, _certificate(public, None), 0o644)
    return public_path, secret_path, public


def _certificate(public: bytes, secret: bytes | None) -> bytes:
    kind = "Secret" if secret else "Public"
    lines = [
        f"#   ZeroMQ CURVE {kind} Certificate, written by `pipeline keys`",
        "#   " + ("Owner-only: never share this file." if secret else "Safe to share."),
        "",
        "metadata",
        "curve",
        f'    public-key = "{public.decode()}"',
    ]
    if secret:
        lines.append(f'    secret-key = "{secret.decode()}"')
    return ("\n".join(lines) + "\n").encode()


def _write(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise CurveKeyError("--out", path, f"cannot create: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, mode)  # the umask may have taken bits we want (0644 for public keys)
        f.write(data)


def _read_certificate(what: str, path: str) -> tuple[bytes, bytes | None]:
    """(public, secret or None) from a certificate file, each checked to be a Z85 key."""
    if not os.path.isfile(path):
        why = "is a directory, not a key file" if os.path.isdir(path) else "no such key file"
        raise CurveKeyError(what, path, why + " (`pipeline keys --out DIR` makes them)")
    try:
        with open(path, "rb") as f:
            text = f.read(64 * 1024)
    except OSError as exc:
        raise CurveKeyError(what, path, f"cannot read: {exc.strerror}") from None
    public = secret = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(b"public-key"):
            public = line.split(b"=", 1)[-1].strip(b" \t'\"")
        elif line.startswith(b"secret-key"):
            secret = line.split(b"=", 1)[-1].strip(b" \t'\"")
    if public is None:
        raise CurveKeyError(what, path, "not a CURVE key file: no public-key line")
    _check_z85(what, path, "public-key", public)
    if secret is not None:
        _check_z85(what, path, "secret-key", secret)
    return public, secret


def _check_z85(what: str, path: str, name: str, key: bytes) -> None:
    # Says what is wrong with the key, never what the key is.
    if len(key) != Z85_KEY_LEN:
        raise CurveKeyError(
            what, path, f"{name} is {len(key)} characters; a Z85 CURVE key has {Z85_KEY_LEN}"
        )
    try:
        z85.decode(key)
    except (ValueError, KeyError, IndexError):
        raise CurveKeyError(what, path, f"{name} is not valid Z85") from None


def load_public(what: str, path: str) -> bytes:
    public, _ = _read_certificate(what, path)
    return public


def load_secret(what: str, path: str) -> KeyPair:
    """A keypair from a ``.key_secret`` file, which must be owner-only (like ssh keys)."""
    public, secret = _read_certificate(what, path)
    if secret is None:
        raise CurveKeyError(what, path, "holds no secret-key: name the .key_secret file")
    if zmq.curve_public(secret) != public:
        raise CurveKeyError(what, path, "its public-key does not belong to its secret-key")
    mode = os.stat(path).st_mode
    if mode & 0o077:
        raise CurveKeyError(
            what, path, f"secret key file is open to others (mode {mode & 0o777:04o}); chmod 600"
        )
    return KeyPair(public, secret)


def load_authorized(what: str, directory: str) -> frozenset[bytes]:
    """Every public key (``*.key``) in ``directory``; at least one, or nobody could connect."""
    if not os.path.isdir(directory):
        raise CurveKeyError(what, directory, "no such directory of client public keys (*.key)")
    keys = frozenset(
        load_public(what, str(path))
        for path in sorted(Path(directory).glob(f"*{PUBLIC_SUFFIX}"))
        if path.is_file()
    )
    if not keys:
        raise CurveKeyError(
            what, directory, "holds no client public keys (*.key): nobody could connect"
        )
    return keys


# -- sockets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerKeys:
    pair: KeyPair
    authorized: frozenset[bytes]

    @classmethod
    def load(cls, spec: CurveSpec) -> ServerKeys:
        return cls(
            load_secret("curve.server_secret", spec.server_secret),
            load_authorized("curve.authorized_clients", spec.authorized_clients),
        )


def client_keys(spec: CurveSpec | None, client_key: str = "") -> ClientKeys | None:
    """The keys a CLI or program uses toward a topology's CURVE endpoints: ``client_key``
    (a ``.key_secret`` file) or else the topology's ``curve.client_secret``."""
    if spec is None:
        return None
    if client_key:
        pair = load_secret("--client-key", client_key)
    elif spec.client_secret:
        pair = load_secret("curve.client_secret", spec.client_secret)
    else:
        raise CurveKeyError(
            "curve.client_secret",
            "(not set)",
            "a tcp control or private endpoint needs a client key: set curve.client_secret "
            "in the topology or pass --client-key NAME.key_secret",
        )
    return ClientKeys(pair, load_public("curve.server_public", spec.server_public))


class Authorizer:
    """The ZAP handler of one process: admits the authorized public keys, counts the rest."""

    MAX_LOGGED = 100  # distinct refused keys logged; a key-spraying peer cannot flood logs

    def __init__(self, ctx: zmq.Context, authorized: frozenset[bytes], where: str) -> None:  # type: ignore[type-arg]
        self.authorized = authorized
        self.where = where  # for the log: which endpoint refused
        self.denied = 0
        self._logged: set[bytes] = set()
        self._lock = threading.Lock()
        self._auth = ThreadAuthenticator(ctx, log=logging.getLogger("curve.zap"))
        self._auth.start()
        self._auth.configure_curve_callback(ZAP_DOMAIN, credentials_provider=self)

    def callback(self, domain: str, key: bytes) -> bool:
        """Called on the ZAP thread for each CURVE handshake, with the client's Z85 key."""
        if key in self.authorized:
            return True
        with self._lock:
            self.denied += 1
            first = key not in self._logged and len(self._logged) < self.MAX_LOGGED
            if first:
                self._logged.add(key)
        if first:  # a refused client retries every 100 ms: say it once per key
            log.warning(
                "%s: refused a CURVE client with an unknown public key %s",
                self.where,
                key.decode(),
            )
        return False

    def stop(self) -> None:
        self._auth.stop()


def serve_curve(sock: S, keys: KeyPair) -> S:
    """Make ``sock`` a CURVE server under our ZAP domain (set before bind)."""
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_server = True
    sock.zap_domain = ZAP_DOMAIN.encode()
    return sock


def connect_curve(sock: S, keys: ClientKeys) -> S:
    """Make ``sock`` a CURVE client of the server whose public key ``keys`` holds."""
    sock.curve_secretkey = keys.client.secret
    sock.curve_publickey = keys.client.public
    sock.curve_serverkey = keys.server_public
    return sock


def secure(sock: S, endpoint: str, keys: ClientKeys | None) -> S:
    """A client socket ready for ``endpoint``: CURVE when the endpoint needs it."""
    if needs_curve(endpoint):
        if keys is None:
            raise CurveKeyError("curve", endpoint, "a tcp endpoint needs CURVE client keys")
        connect_curve(sock, keys)
    return sock
