"""The simulators' frame faults (/_sim/big, /_sim/truncate) on real frames of every venue:
a padded frame is still the same message, a truncated one is a parse error."""

from __future__ import annotations

import pytest

from actors.simulators.server import padded, truncated
from actors.venues import FrameError, load_venue
from tests.fuzzing import Seed, seeds

# One recorded or simulated frame per venue and kind (tests/fuzzing.py labels each).
SAMPLES = list({(s.venue, s.channel): s for s in seeds()}.values())


def as_sent(seed: Seed) -> bytes | bytearray:
    """How the simulator holds a frame: text as bytes, binary (protobuf) as bytearray."""
    return seed.frame.encode() if isinstance(seed.frame, str) else bytearray(seed.frame)


def as_received(frame: bytes | bytearray) -> str | bytes:
    return frame.decode() if type(frame) is bytes else bytes(frame)


@pytest.mark.parametrize("seed", SAMPLES, ids=lambda s: f"{s.venue}:{s.channel}")
def test_a_padded_frame_parses_as_the_original(seed: Seed) -> None:
    venue = load_venue(seed.venue)
    big = padded(as_sent(seed), 100_000)
    assert 99_000 <= len(big) <= 100_010
    assert venue.parse_frame(as_received(big), 1) == venue.parse_frame(seed.frame, 1)


@pytest.mark.parametrize("seed", SAMPLES, ids=lambda s: f"{s.venue}:{s.channel}")
def test_a_truncated_frame_is_a_frame_error_or_parses_to_less(seed: Seed) -> None:
    venue = load_venue(seed.venue)
    cut = as_received(truncated(as_sent(seed)))
    try:
        events = venue.parse_frame(cut, 1)
    except FrameError as exc:
        assert str(exc)
        return
    # Half a protobuf can still be a valid (shorter) message; never more than the whole.
    assert isinstance(cut, bytes) and len(events) <= len(venue.parse_frame(seed.frame, 1))
