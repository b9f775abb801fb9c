"""Security (design rule 7): CURVE on tcp control and private endpoints, a control socket that
survives any input, and secrets that appear nowhere but in the processes that sign.

The end-to-end tests run the real pipeline against the simulators; a client "gets nothing"
means no reply and no event within a timeout while an authorized client, at the same time,
does get them.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from actors.client import ControlError, request
from actors.control import REPLY_DECODER, Command
from actors.messages import EVENT_DECODER, Event
from actors.runtime.curve import (
    ClientKeys,
    CurveKeyError,
    connect_curve,
    load_authorized,
    load_public,
    load_secret,
    write_keypair,
)
from actors.simulators.gateio_spot import GateioSpotSimulator
from actors.simulators.mexc_futures import MexcFuturesSimulator
from actors.simulators.mexc_spot import MexcSpotSimulator
from tests.harness import (
    ROOT,
    Pipeline,
    free_port,
    running_pipeline,
    simulator_in_thread,
    wait_until,
)

GATE = {"key": "MPT_GATE_KEY", "secret": "MPT_GATE_SECRET"}
MEXC = {"key": "MPT_MEXC_KEY", "secret": "MPT_MEXC_SECRET"}
PRIVATE = ["orders", "fills", "balances"]


def pipeline_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "actors.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=30,
    )


# -- key files ------------------------------------------------------------------------------


def test_pipeline_keys_writes_an_owner_only_secret_and_prints_only_the_public_key(
    tmp_path: Path,
) -> None:
    run = pipeline_cli("keys", "--out", str(tmp_path / "k"), "--name", "server")
    assert run.returncode == 0, run.stderr
    public_file, secret_file = tmp_path / "k/server.key", tmp_path / "k/server.key_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(public_file.stat().st_mode) == 0o644
    pair = load_secret("test", str(secret_file))
    assert load_public("test", str(public_file)) == pair.public
    assert pair.public.decode() in run.stdout and str(secret_file) in run.stdout
    assert pair.secret.decode() not in run.stdout + run.stderr
    assert zmq.utils.z85.decode(pair.secret) and len(pair.secret) == 40
    # zmq.auth reads them too: the files are standard ZeroMQ certificates
    assert zmq.auth.load_certificate(secret_file) == (pair.public, pair.secret)

    again = pipeline_cli("keys", "--out", str(tmp_path / "k"), "--name", "server")
    assert again.returncode == 1
    assert "k/server.key: already exists; not overwriting a key" in again.stderr
    assert load_secret("test", str(secret_file)) == pair  # untouched


def test_unusable_key_files_are_clear_errors_that_never_show_a_key(tmp_path: Path) -> None:
    _, secret_file, public = write_keypair(tmp_path, "server")
    secret = load_secret("s", str(secret_file)).secret.decode()

    def error(load: Any, path: Path | str) -> str:
        with pytest.raises(CurveKeyError) as info:
            load("curve.server_secret", str(path))
        assert secret not in str(info.value)
        return str(info.value)

    assert error(load_secret, tmp_path / "nope.key_secret").endswith(
        "nope.key_secret: no such key file (`pipeline keys --out DIR` makes them)"
    )
    secret_file.chmod(0o640)
    assert "secret key file is open to others (mode 0640); chmod 600" in error(
        load_secret, secret_file
    )
    secret_file.chmod(0o600)
    assert "holds no secret-key: name the .key_secret file" in error(
        load_secret, tmp_path / "server.key"
    )
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"\x00\xffnot a certificate")
    assert "not a CURVE key file: no public-key line" in error(load_public, garbage)
    short = tmp_path / "short.key"
    short.write_text('curve\n    public-key = "abc"\n')
    assert "public-key is 3 characters; a Z85 CURVE key has 40" in error(load_public, short)
    bent = tmp_path / "bent.key_secret"
    bent.write_text(secret_file.read_text().replace(secret, secret[:-1] + "~"))
    bent.chmod(0o600)
    assert "secret-key is not valid Z85" in error(load_secret, bent)
    assert "is a directory, not a key file" in error(load_public, tmp_path)
    _, other_file, other_public = write_keypair(tmp_path, "other")
    mixed = tmp_path / "mixed.key_secret"
    mixed.write_text(secret_file.read_text().replace(public.decode(), other_public.decode()))
    mixed.chmod(0o600)
    assert "its public-key does not belong to its secret-key" in error(load_secret, mixed)
    empty = tmp_path / "nobody"
    empty.mkdir()
    assert "holds no client public keys (*.key): nobody could connect" in error(
        load_authorized, empty
    )
    assert "garbage.key: not a CURVE key file" in error(load_authorized, tmp_path)
    clients = tmp_path / "clients"
    clients.mkdir()
    (clients / "server.key").write_bytes((tmp_path / "server.key").read_bytes())
    assert load_authorized("c", str(clients)) == {public}
    assert "secret=" not in repr(load_secret("s", str(other_file)))


def test_run_refuses_missing_server_keys_before_starting_anything(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text(
        f"run_dir: {tmp_path}/run\ncontrol: tcp://127.0.0.1:{free_port()}\n"
        "curve: {server_public: keys/s.key, server_secret: keys/s.key_secret,"
        " authorized_clients: keys/clients}\n"
        "venues:\n  gateio_spot:\n    symbols: [BTC/USDT]\n    channels: [trades]\n"
        f"    publish: tcp://127.0.0.1:{free_port()}\n"
    )
    for command in (["check"], ["run", "--simulate"]):
        run = pipeline_cli(*command, str(topology))
        assert run.returncode == 1
        assert f"curve.server_secret: {tmp_path}/keys/s.key_secret: no such key file" in (
            run.stderr
        ), run.stderr
    assert not (tmp_path / "run").exists()  # refused before anything started


def test_run_refuses_a_taken_tcp_control_endpoint_and_leaves_nothing(tmp_path: Path) -> None:
    write_keypair(tmp_path / "keys", "server")
    write_keypair(tmp_path / "keys/clients", "alice")
    taken = zmq.Context.instance().socket(zmq.ROUTER)
    taken.setsockopt(zmq.LINGER, 0)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    topology = tmp_path / "t.yaml"
    topology.write_text(
        f"run_dir: {tmp_path}/run\ncontrol: tcp://127.0.0.1:{port}\n"
        "curve: {server_public: keys/server.key, server_secret: keys/server.key_secret,"
        " authorized_clients: keys/clients}\n"
        "venues:\n  gateio_spot:\n    symbols: [BTC/USDT]\n    channels: [trades]\n"
        f"    publish: tcp://127.0.0.1:{free_port()}\n"
    )
    try:
        run = pipeline_cli("run", "--simulate", str(topology))
    finally:
        taken.close()
    assert run.returncode == 1
    assert f"control: cannot bind tcp://127.0.0.1:{port}: Address already in use" in run.stderr
    assert not (tmp_path / "run").exists()


# -- CURVE end to end -----------------------------------------------------------------------


def subscriber(ctx: zmq.Context, endpoint: str, keys: ClientKeys | None) -> zmq.Socket:  # type: ignore[type-arg]
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if keys is not None:
        connect_curve(sub, keys)
    sub.connect(endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    return sub


def received(sub: zmq.Socket) -> list[Event]:  # type: ignore[type-arg]
    events = []
    while sub.poll(0):
        events.append(EVENT_DECODER.decode(sub.recv_multipart()[1]))
    return events


def raw_request(
    ctx: zmq.Context,  # type: ignore[type-arg]
    endpoint: str,
    keys: ClientKeys,
    frames: list[bytes],
    kind: int = zmq.REQ,
) -> list[bytes] | None:
    sock = connect_curve(ctx.socket(kind), keys)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        sock.send_multipart(frames)
        return sock.recv_multipart() if sock.poll(2000) else None
    finally:
        sock.close()


@pytest.mark.slow
def test_curve_admits_only_authorized_clients_to_control_and_private_streams(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    write_keypair(keys, "server")
    write_keypair(keys / "clients", "alice")
    write_keypair(tmp_path / "strangers", "mallory")  # a valid keypair, never authorized
    server_public = load_public("t", str(keys / "server.key"))
    alice = ClientKeys(load_secret("t", str(keys / "clients/alice.key_secret")), server_public)
    mallory = ClientKeys(
        load_secret("t", str(tmp_path / "strangers/mallory.key_secret")), server_public
    )
    control, private = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    top = {
        "control": control,
        "curve": {
            "server_public": str(keys / "server.key"),
            "server_secret": str(keys / "server.key_secret"),
            "authorized_clients": str(keys / "clients"),
            "client_secret": str(keys / "clients/alice.key_secret"),
        },
    }
    venues = {
        "gateio_spot": {
            "symbols": ["BTC/USDT"],
            "channels": ["book_ticker", *PRIVATE],
            "private_publish": private,
            "credentials": GATE,
        }
    }
    with running_pipeline(venues=venues, parsers=1, top=top, keys=alice) as p:
        ctx = p.ctx
        before = p.status()["venues"]["gateio_spot"]["subscriptions"]
        subs = {
            name: subscriber(ctx, private, k)
            for name, k in (("alice", alice), ("mallory", mallory), ("plain", None))
        }
        try:
            # Strangers knock on control: no answer, and their subscribe never happens.
            for command in (
                Command("status"),
                Command("subscribe", "gateio_spot", ["ETH/USDT"]),
            ):
                with pytest.raises(ControlError):
                    request(control, command, timeout_s=1.0, keys=mallory)
                plain = ctx.socket(zmq.REQ)  # no CURVE at all: what any program would try
                plain.setsockopt(zmq.LINGER, 0)
                plain.connect(control)
                plain.send(msgspec.json.encode(command))
                assert not plain.poll(1000)
                plain.close()
            p.sim("order", currency_pair="BTC_USDT", side="buy", type="market", amount="500")
            got: dict[str, list[Event]] = {name: [] for name in subs}

            def alice_has_account_events() -> bool:
                for name, sub in subs.items():
                    got[name] += received(sub)
                return len(got["alice"]) >= 3

            wait_until(alice_has_account_events, 15, "private events for alice", p)
            time.sleep(0.5)
            alice_has_account_events()
            assert {e.venue for e in got["alice"]} == {"gateio_spot"}
            assert got["mallory"] == [] and got["plain"] == []

            status = p.status()
            assert status["venues"]["gateio_spot"]["subscriptions"] == before
            assert status["control"] == {
                "endpoint": control,
                "curve": True,
                "refused_clients": status["control"]["refused_clients"],
            }
            assert status["control"]["refused_clients"] >= 2  # mallory's two requests
            handler = p.actor("gateio_spot.handler")
            assert handler["info"]["private_refused_clients"] >= 1  # mallory's SUB
            # named in the log once per process (coordinator, handler), not per retry
            assert p.output().count(mallory.client.public.decode()) == 2

            # The CLI finds alice's key in the topology, or takes one; mallory's gets nothing.
            cli = pipeline_cli("status", "-t", str(p.topology))
            assert cli.returncode == 0 and "gateio_spot.handler" in cli.stdout, cli.stderr
            assert f"control {control} (CURVE; unknown client keys refused: " in cli.stdout
            tail = pipeline_cli(
                "tail", "--private", "--json", "--count", "1", "-t", str(p.topology)
            )
            assert tail.returncode == 0 and '"venue":"gateio_spot"' in tail.stdout, tail.stderr
            stranger = pipeline_cli(
                "status",
                "-t",
                str(p.topology),
                "--client-key",
                str(tmp_path / "strangers/mallory.key_secret"),
            )
            assert stranger.returncode == 1
            assert f"no coordinator answered on {control}" in stranger.stderr
            assert "does not accept our CURVE key" in stranger.stderr
        finally:
            for sub in subs.values():
                sub.close()

        # Malformed commands from an authorized client: an error reply each, and on we go.
        junk: list[tuple[list[bytes], int, str]] = [
            ([b"\x00\xff\xfegarbage"], zmq.REQ, "malformed command"),
            ([b'{"cmd": "status"'], zmq.REQ, "malformed command"),
            ([b"[1, 2]"], zmq.REQ, "malformed command"),
            ([b'{"cmd": "explode"}'], zmq.REQ, "unknown command 'explode'"),
            ([b'{"cmd": "subscribe", "venue": 7}'], zmq.REQ, "Expected `str`, got `int`"),
            (
                [b'{"cmd": "subscribe", "venue": "gateio_spot", "symbols": "ETH/USDT"}'],
                zmq.REQ,
                "Expected `array`, got `str`",
            ),
            ([b'{"cmd": "status", "sudo": true}'], zmq.REQ, "unknown field `sudo`"),
            ([b'{"cmd": "status"}', b"junk"], zmq.REQ, "one JSON frame; got 2 frames"),
            ([b"junk", b"more", b"junk"], zmq.DEALER, "one JSON frame; got 3 frames"),
            ([b""], zmq.DEALER, "one JSON frame; got 0 frames"),
        ]
        for frames, kind, error in junk:
            reply = raw_request(ctx, control, alice, frames, kind)
            assert reply is not None, frames
            decoded = REPLY_DECODER.decode(reply[-1])
            assert not decoded.ok and error in decoded.error, (frames, decoded.error)
            assert p.status()["actors"]  # still serving
        # Too big to read at all: dropped by ZeroMQ, and the socket goes on serving.
        assert raw_request(ctx, control, alice, [b"x" * 200_000], zmq.DEALER) is None
        assert p.status()["venues"]["gateio_spot"]["subscriptions"] == before
        assert all(a["restarts"] == 0 for a in p.status()["actors"])


# -- secrets --------------------------------------------------------------------------------


def encodings(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    ]


def assert_nowhere(secrets: list[str], texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for secret in secrets:
            for form in encodings(secret):
                if form in text:  # not an assert: its message would print the secret
                    pytest.fail(f"a secret ({form[:4]}...) leaked into {where}")


def proc_text(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace")


def sweep(p: Pipeline, secrets: list[str]) -> dict[str, str]:
    """Every text the pipeline produces or holds outside the signing processes."""
    texts = {
        "pipeline status": pipeline_cli("status", "-t", str(p.topology)).stdout,
        "pipeline status --json": pipeline_cli("status", "--json", "-t", str(p.topology)).stdout,
        "status reply": json.dumps(p.status()),
        "published events": msgspec.json.encode(p.events).decode(errors="replace"),
        "private events": msgspec.json.encode(p.private).decode(errors="replace"),
    }
    tail = pipeline_cli("tail", "--private", "--count", "20", "-t", str(p.topology))
    texts["pipeline tail --private"] = tail.stdout + tail.stderr
    for actor in p.status()["actors"]:
        pid = actor["pid"]
        assert pid, actor
        texts[f"{actor['name']} command line"] = proc_text(pid, "cmdline")
        environ = proc_text(pid, "environ")
        if actor["kind"] in ("parser", "handler"):
            texts[f"{actor['name']} environment"] = environ
        elif actor["kind"] == "connection":
            assert all(s in environ for s in secrets), "the signing process must hold them"
        assert "Max core file size        0" in proc_text(pid, "limits"), actor["name"]
    for path in Path(p.run_dir).rglob("*"):
        if path.is_file() and path.name != "pipeline.log":
            texts[str(path)] = path.read_text(errors="replace")
    return texts


def assert_owner_only_ipc(p: Pipeline) -> None:
    """The default: control and private streams are ipc sockets only their owner can reach."""
    run = Path(p.run_dir) / "run"
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    status = p.status()
    assert status["control"] == {
        "endpoint": f"ipc://{run}/control",
        "curve": False,
        "refused_clients": 0,
    }
    for name in ("control", *(f"{venue}.private" for venue in p.venues)):
        mode = (run / name).stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, name


@pytest.mark.slow
def test_secrets_appear_in_no_log_status_event_environment_or_file() -> None:
    """Also proves the defaults: control and private streams on owner-only ipc."""
    secrets = [f"mpt-gate-secret-{os.urandom(6).hex()}", f"mpt-mexc-secret-{os.urandom(6).hex()}"]
    env = {"MPT_GATE_KEY": "k-gate", "MPT_GATE_SECRET": secrets[0]}
    env |= {"MPT_MEXC_KEY": "k-mexc", "MPT_MEXC_SECRET": secrets[1]}
    venues = {
        "gateio_spot": {
            "symbols": ["BTC/USDT"],
            "channels": ["book_ticker", *PRIVATE],
            "credentials": GATE,
        },
        "mexc_spot": {
            "symbols": ["BTC/USDT"],
            "channels": ["book_ticker", *PRIVATE],
            "credentials": MEXC,
        },
    }
    with running_pipeline(venues=venues, parsers=1, env=env) as p:
        p.sim("order", currency_pair="BTC_USDT", side="buy", type="market", amount="500")
        p.pump_until(
            lambda: {e.venue for e in p.private} == set(venues), 20, "private events of both"
        )
        p.command("subscribe", venue="gateio_spot", symbols=["ETH/USDT"], channels=["orders"])
        p.pump(1.0)
        assert_owner_only_ipc(p)
        texts = sweep(p, secrets)
        assert p.stop() == 0
    texts["coordinator and actor logs"] = p.output()
    assert "gateio_spot.connection.0" in texts["pipeline status"]  # the sweep saw real output
    assert_nowhere(secrets, texts)


@pytest.mark.slow
def test_secrets_stay_out_of_the_refusals_of_a_wrong_secret() -> None:
    secrets = [f"mpt-gate-secret-{os.urandom(6).hex()}", f"mpt-mexc-secret-{os.urandom(6).hex()}"]
    env = {"MPT_GATE_KEY": "k-gate", "MPT_GATE_SECRET": secrets[0]}
    env |= {"MPT_MEXC_KEY": "k-mexc", "MPT_MEXC_SECRET": secrets[1]}
    # The venues know these keys with other secrets: every signature is refused.
    gate = lambda: GateioSpotSimulator(["BTC_USDT"], credentials={"k-gate": "other"})  # noqa: E731
    mexc = lambda: MexcSpotSimulator(["BTCUSDT"], credentials={"k-mexc": "other"})  # noqa: E731
    futures = lambda: MexcFuturesSimulator(["BTC_USDT"], credentials={"k-mexc": "other"})  # noqa: E731
    with (
        simulator_in_thread(gate) as gate_sim,
        simulator_in_thread(mexc) as mexc_sim,
        simulator_in_thread(futures) as futures_sim,
    ):
        venues = {
            "gateio_spot": {
                "symbols": ["BTC/USDT"],
                "channels": ["book_ticker", *PRIVATE],
                "ws_url": gate_sim.ws_url,
                "rest_url": gate_sim.rest_url,
                "credentials": GATE,
            },
            "mexc_spot": {
                "symbols": ["BTC/USDT"],
                "channels": ["book_ticker", *PRIVATE],
                "ws_url": mexc_sim.ws_url,
                "rest_url": mexc_sim.rest_url,
                "credentials": MEXC,
            },
            "mexc_futures": {  # a refused login rather than a refused REST call
                "symbols": ["BTC/USDT:USDT"],
                "channels": ["trades", *PRIVATE],
                "ws_url": futures_sim.ws_url,
                "rest_url": futures_sim.rest_url,
                "credentials": MEXC,
            },
        }
        with running_pipeline(venues=venues, parsers=1, simulate=False, env=env) as p:
            wait_until(
                lambda: all(
                    len(v["refused"]) == len(PRIVATE) for v in p.status()["venues"].values()
                ),
                15,
                "every private subscription refused",
                p,
            )
            p.pump(1.0)
            assert any(e.venue == "mexc_spot" for e in p.events)  # public data still flows
            texts = sweep(p, secrets)
            assert p.stop() == 0
        texts["coordinator and actor logs"] = p.output()
    assert "subscriptions refused" in texts["pipeline status"]  # the refusals were shown
    assert_nowhere(secrets, texts)


def test_venue_error_texts_lose_our_key_and_secret_before_logs_and_status() -> None:
    from actors.control import ActorSpec
    from actors.runtime.http import HttpError
    from actors.stages.connection import ConnectionActor
    from actors.topology import parse

    text = "venues:\n  mexc_spot:\n    symbols: [BTC/USDT]\n    channels: [trades]\n"
    venue = parse(text + "    publish: tcp://127.0.0.1:1\n", cores=1, environ={}).venues[0]
    spec = ActorSpec(name="c", kind="connection", venue=venue, run_dir="/tmp", coordinator="")
    actor = ConnectionActor(spec)
    try:
        actor.credentials = ("k-mexc", "s3cr3t-value")
        echo = HttpError(400, 'HTTP 400 from POST /api: {"msg": "bad k-mexc / s3cr3t-value"}')
        assert (
            actor.redact(echo) == 'HTTP 400 from POST /api: {"msg": "bad <redacted> / <redacted>"}'
        )
    finally:
        actor.ctx.term()
