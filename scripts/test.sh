#!/usr/bin/env bash
# Install marketpipe with its test tools into .venv, then lint and run the whole suite.
# Offline-safe: every server a test needs starts on 127.0.0.1 inside the test.
# Extra arguments go to pytest (e.g. scripts/test.sh -k book -x).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/ruff check actors tests scripts
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
