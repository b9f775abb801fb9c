"""The repository's topology loads; every broken file names the key path and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.topology import TopologyError, load, parse

ROOT = Path(__file__).resolve().parents[1]
LITERAL_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # a CURVE secret key's shape (Z85)
GOOD = """
venues:
  gateio_spot:
    symbols: [BTC/USDT, ETH/USDT]
    channels: [book_ticker, order_book]
    publish: tcp://127.0.0.1:5601
"""


def test_repository_topology_is_valid() -> None:
    environ = {"GATE_API_KEY": "k", "GATE_API_SECRET": "s"}
    environ |= {"MEXC_API_KEY": "k", "MEXC_API_SECRET": "s"}
    topology = load(str(ROOT / "topology.yaml"), cores=2, environ=environ)
    assert [v.name for v in topology.venues] == [
        "gateio_spot",
        "gateio_futures",
        "mexc_spot",
        "mexc_futures",
    ]
    assert topology.venue("mexc_spot").groups == ("market", "account")
    spot = topology.venue("gateio_spot")
    assert spot.parsers == 2  # auto = one per core
    assert "BTC/USDT" in spot.symbols
    assert {"book_ticker", "trades", "order_book", "tickers", "orders"} <= set(spot.channels)
    futures = topology.venue("gateio_futures")
    assert "BTC/USDT:USDT" in futures.symbols and "positions" in futures.channels
    assert spot.private_publish == "ipc:///tmp/marketpipe/gateio_spot.private"
    assert topology.control == "ipc:///tmp/marketpipe/control"


def test_minimal_topology_gets_defaults() -> None:
    topology = parse(GOOD, cores=4, environ={})
    spot = topology.venues[0]
    assert (spot.parsers, spot.groups, spot.ws_url) == (4, ("main",), "")
    assert len(spot.subscriptions()) == 4


def replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BAD = [
    ("not yaml", "venues: [", "<file>", "not valid YAML"),
    ("no venues", "parsers: 2", "venues", "expected a mapping"),
    (
        "unknown venue",
        replace("gateio_spot:", "kraken:"),
        "venues.kraken",
        "unknown venue 'kraken'",
    ),
    (
        "unknown channel",
        replace("book_ticker,", "candles,"),
        "venues.gateio_spot.channels[0]",
        "unknown channel 'candles'",
    ),
    (
        "bad symbol",
        replace("ETH/USDT", "ethusdt"),
        "venues.gateio_spot.symbols[1]",
        "'ethusdt' is not a symbol",
    ),
    (
        "duplicate symbol",
        replace("ETH/USDT", "BTC/USDT"),
        "venues.gateio_spot.symbols[1]",
        "duplicate",
    ),
    (
        "no symbols",
        replace("[BTC/USDT, ETH/USDT]", "[]"),
        "venues.gateio_spot.symbols",
        "at least one symbol",
    ),
    (
        "bad endpoint",
        replace("tcp://127.0.0.1:5601", "localhost:5601"),
        "venues.gateio_spot.publish",
        "must be tcp://HOST:PORT or ipc://PATH",
    ),
    ("unknown key", replace("publish:", "publsh:"), "venues.gateio_spot.publsh", "unknown key"),
    ("bad parsers", "parsers: many\n" + GOOD, "parsers", "'auto' or a whole number"),
    (
        "tcp private endpoint without curve keys",
        GOOD + "    private_publish: tcp://0.0.0.0:6000\n",
        "venues.gateio_spot.private_publish",
        "'tcp://0.0.0.0:6000' is tcp, which needs CURVE keys: add a curve: section",
    ),
    (
        "tcp control without curve keys",
        "control: tcp://127.0.0.1:5700\n" + GOOD,
        "control",
        "'tcp://127.0.0.1:5700' is tcp, which needs CURVE keys",
    ),
    (
        "bad control endpoint",
        "control: localhost:5700\n" + GOOD,
        "control",
        "must be tcp://HOST:PORT or ipc://PATH",
    ),
    (
        "curve without authorized clients",
        "curve: {server_public: s.key, server_secret: s.key_secret}\n" + GOOD,
        "curve.authorized_clients",
        "required",
    ),
    (
        "unknown curve key",
        "curve: {server_public: s.key, server_secret: s.key_secret, authorized_clients: c,"
        " client_public: c.key}\n" + GOOD,
        "curve.client_public",
        "unknown key",
    ),
    (
        "literal curve key",
        f"curve: {{server_public: s.key, server_secret: '{LITERAL_KEY}',"
        " authorized_clients: c}\n" + GOOD,
        "curve.server_secret",
        "literal keys are refused",
    ),
    (
        "control endpoint shared with a publish endpoint",
        "control: tcp://127.0.0.1:5601\n"
        "curve: {server_public: s.key, server_secret: s.key_secret, authorized_clients: c}\n"
        + GOOD,
        "endpoints",
        "duplicate 'tcp://127.0.0.1:5601'",
    ),
    (
        "private channel without credentials",
        replace("book_ticker,", "orders,"),
        "venues.gateio_spot.credentials",
        "private channels (orders) need credentials",
    ),
    ("relative run_dir", "run_dir: tmp/x\n" + GOOD, "run_dir", "absolute path"),
    ("bad ws url", GOOD + "    ws_url: http://x\n", "venues.gateio_spot.ws_url", "ws:// or wss://"),
    (
        "bad option",
        GOOD + "    options: {book_interval: 1000ms}\n",
        "venues.gateio_spot.options",
        "1000ms",
    ),
    (
        "missing secret variable",
        GOOD + "    credentials: {key: GATE_KEY, secret: GATE_SECRET}\n",
        "venues.gateio_spot.credentials.secret",
        "environment variable GATE_SECRET is not set",
    ),
    (
        "literal secret",
        GOOD + "    credentials: {key: GATE_KEY, secret: 9f8e7d6c5b4a}\n",
        "venues.gateio_spot.credentials.secret",
        "literal secrets are refused",
    ),
    (
        "tiny frame limit",
        GOOD + "    max_frame_bytes: 100\n",
        "venues.gateio_spot.max_frame_bytes",
        "100 must be a whole number >= 1024",
    ),
    (
        "publish hwm not a number",
        GOOD + "    publish_hwm: lots\n",
        "venues.gateio_spot.publish_hwm",
        "'lots' must be a whole number >= 1",
    ),
]


@pytest.mark.parametrize(("text", "path", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_topology_names_path_and_reason(text: str, path: str, reason: str) -> None:
    with pytest.raises(TopologyError) as info:
        parse(text, cores=2, environ={"GATE_KEY": "k"})
    assert info.value.path == path
    assert reason in info.value.reason


def test_frame_limit_and_publish_hwm_are_read() -> None:
    text = GOOD + "    max_frame_bytes: 65536\n    publish_hwm: 500\n"
    venue = parse(text, cores=2, environ={}).venues[0]
    assert (venue.max_frame_bytes, venue.publish_hwm) == (65536, 500)
    default = parse(GOOD, cores=2, environ={}).venues[0]
    assert (default.max_frame_bytes, default.publish_hwm) == (2**24, 100_000)


def test_literal_secret_is_never_echoed() -> None:
    text = GOOD + "    credentials: {key: GATE_KEY, secret: 9f8e7d6c5b4a}\n"
    with pytest.raises(TopologyError) as info:
        parse(text, cores=2, environ={"GATE_KEY": "k"})
    assert "9f8e7d6c5b4a" not in str(info.value)


def test_credentials_resolve_to_variable_names_only() -> None:
    text = GOOD + "    credentials: {key: GATE_KEY, secret: GATE_SECRET}\n"
    topology = parse(text, cores=2, environ={"GATE_KEY": "k", "GATE_SECRET": "s"})
    creds = topology.venues[0].credentials
    assert creds is not None and (creds.key_env, creds.secret_env) == ("GATE_KEY", "GATE_SECRET")


def test_unreadable_file_is_a_topology_error(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load(str(tmp_path / "missing.yaml"), cores=1, environ={})


def test_literal_curve_key_is_never_echoed() -> None:
    text = f"curve: {{server_public: s.key, server_secret: '{LITERAL_KEY}'}}\n" + GOOD
    with pytest.raises(TopologyError) as info:
        parse(text, cores=2, environ={})
    assert LITERAL_KEY not in str(info.value)


def test_control_defaults_to_ipc_in_the_run_dir_and_needs_no_keys() -> None:
    topology = parse("run_dir: /tmp/mp-x/\n" + GOOD, cores=1, environ={})
    assert topology.control == "ipc:///tmp/mp-x/control"
    assert topology.curve is None


def test_tcp_control_and_private_with_curve_keys_resolve_paths_beside_the_file(
    tmp_path: Path,
) -> None:
    text = (
        "control: tcp://127.0.0.1:5700\n"
        "curve:\n"
        "  server_public: keys/server.key\n"
        "  server_secret: keys/server.key_secret\n"
        "  authorized_clients: /etc/marketpipe/clients\n"
        + GOOD
        + "    private_publish: tcp://127.0.0.1:5701\n"
    )
    (tmp_path / "t.yaml").write_text(text)
    topology = load(str(tmp_path / "t.yaml"), cores=1, environ={})
    assert topology.control == "tcp://127.0.0.1:5700"
    assert topology.venues[0].private_publish == "tcp://127.0.0.1:5701"
    assert topology.curve is not None
    assert topology.curve.server_secret == f"{tmp_path}/keys/server.key_secret"
    assert topology.curve.authorized_clients == "/etc/marketpipe/clients"  # absolute: as is
    assert topology.curve.client_secret == ""
