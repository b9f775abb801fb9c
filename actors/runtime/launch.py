"""Entry point of every actor process: ``python -m actors.runtime.launch SPEC_JSON``."""

from __future__ import annotations

import logging
import sys

from actors.control import SPEC_DECODER


def main(argv: list[str]) -> int:
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
