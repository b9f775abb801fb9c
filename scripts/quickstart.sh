#!/usr/bin/env bash
# Install marketpipe into .venv, run topology.yaml and show the live stream.
#   scripts/quickstart.sh          offline: against the local venue simulators
#   scripts/quickstart.sh --live   against the real venues (needs their network)
# COUNT=N stops after N events (default: run until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/pipeline ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
fi
mode=--simulate
if [ "${1:-}" = "--live" ]; then mode=""; fi

.venv/bin/pipeline check topology.yaml $mode
.venv/bin/pipeline run topology.yaml $mode --log-level WARNING &
pipeline_pid=$!
stop() { kill -TERM "$pipeline_pid" 2>/dev/null || true; wait "$pipeline_pid" 2>/dev/null || true; }
trap stop EXIT

# Wait until the coordinator answers, then follow the stream.
for _ in $(seq 1 50); do
  if .venv/bin/pipeline status >/dev/null 2>&1; then break; fi
  sleep 0.2
done
.venv/bin/pipeline tail --count "${COUNT:-0}" || true
echo
.venv/bin/pipeline status || true
