#!/usr/bin/env python3
"""Coverage-guided fuzzing of the parser stage with atheris, for a bounded time.

    .venv/bin/pip install atheris                 # optional; never a runtime dependency
    .venv/bin/python scripts/fuzz.py --seconds 60 # libFuzzer drives the mutations
    .venv/bin/python scripts/fuzz.py --seconds 60 --no-atheris   # seeded random, no atheris

Each input picks a real frame from the corpus (``tests/fuzzing.py``: every venue and
channel), mutates it one to three times with the same operators as the hypothesis tests,
and runs it through ``parse_frames`` between two good frames.  A crash is any exception,
a rejection that is the ``internal`` safety net rather than the venue parser's own error,
or an event that cannot be published; atheris then writes the input to ``crash-*``.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARSERS = [
    "actors.venues.gateio.spot",
    "actors.venues.gateio.futures",
    "actors.venues.mexc.spot",
    "actors.venues.mexc.futures",
]
try:  # coverage feedback from our parsers only: instrumenting everything takes minutes
    import atheris
except ImportError:
    atheris = None
    for module in PARSERS:
        importlib.import_module(module)
else:
    with atheris.instrument_imports(include=["actors"]):
        for module in PARSERS:
            importlib.import_module(module)

from actors.messages import EVENT_DECODER, RawBatch  # noqa: E402
from actors.stages.parser import parse_frames  # noqa: E402
from actors.venues import Venue, load_venue  # noqa: E402
from tests.fuzzing import Pick, mutate, seeds  # noqa: E402

SEEDS = seeds()
VENUES: dict[str, Venue] = {name: load_venue(name) for name in {s.venue for s in SEEDS}}


class RandomPick:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def bytes(self, n: int) -> bytes:
        return self.rng.randbytes(n)


class AtherisPick:
    def __init__(self, fdp: object) -> None:
        self.fdp = fdp

    def int(self, lo: int, hi: int) -> int:
        return int(self.fdp.ConsumeIntInRange(lo, hi))  # type: ignore[attr-defined]

    def bytes(self, n: int) -> bytes:
        data = self.fdp.ConsumeBytes(n)  # type: ignore[attr-defined]
        return bytes(data).ljust(n, b"\0")


def check_one(pick: Pick) -> None:
    """One fuzz case; raises AssertionError (or anything else) on a finding."""
    seed = SEEDS[pick.int(0, len(SEEDS) - 1)]
    frame = seed.frame
    for _ in range(pick.int(1, 3)):
        frame = mutate(frame, pick)
    good = seed.frame
    batch = RawBatch("fuzz.connection.0", 1, 0, 0, 0, [good, frame, good], [1, 1, 1])
    events, errors = parse_frames(VENUES[seed.venue], batch)
    for error in errors:
        if error.seq != 1 or not error.reason or error.reason.startswith("internal"):
            raise AssertionError(f"{seed.venue} ({seed.source}): {error} for {frame!r:.300}")
    for event in events:
        if EVENT_DECODER.decode(msgspec.msgpack.encode(event)) != event:
            raise AssertionError(f"{seed.venue}: {event} does not survive msgpack")


def run_random(seconds: float, seed: int) -> int:
    rng = random.Random(seed)
    pick = RandomPick(rng)
    deadline = time.monotonic() + seconds
    cases = 0
    while time.monotonic() < deadline:
        check_one(pick)
        cases += 1
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-atheris", action="store_true", help="seeded random mutations")
    args, rest = parser.parse_known_args()
    print(f"corpus: {len(SEEDS)} seeds over {len(VENUES)} venues", flush=True)
    if not args.no_atheris:
        if atheris is None:
            print("atheris is not installed: using seeded random mutations", flush=True)
        else:

            def one_input(data: bytes) -> None:
                check_one(AtherisPick(atheris.FuzzedDataProvider(data)))

            argv = [sys.argv[0], f"-max_total_time={int(args.seconds)}", f"-seed={args.seed}"]
            atheris.Setup(argv + rest, one_input)
            atheris.Fuzz()  # exits the process: 0 when the time is up without a finding
            return 0
    started = time.monotonic()
    cases = run_random(args.seconds, args.seed)
    took = time.monotonic() - started
    print(f"{cases} cases in {took:.0f} s ({cases / took:.0f}/s), no finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
