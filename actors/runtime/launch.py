"""Entry point of every actor process: ``python -m actors.runtime.launch SPEC_JSON``."""

from __future__ import annotations

import logging
import resource
import sys

from actors.control import SPEC_DECODER


def no_core_dumps() -> None:
    """A crash must not write our memory (API secrets, CURVE keys) to a core file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    no_core_dumps()
    spec = SPEC_DECODER.decode(argv[1])
    logging.basicConfig(
        level=spec.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from actors.stages import actor_class

    return actor_class(spec.kind)(spec).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
