#!/usr/bin/env bash
# Runs every benchmark under tests/bench/ from an existing build (deploy/dev.sh
# builds them). Each prints a summary and, last, one JSON line per figure:
# {"metric","value","unit","baseline","baseline_value","ratio"}.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${CERTBROKER_BUILD_DIR:-$root/build}
cmake --build "$build_dir" -j "${CERTBROKER_JOBS:-3}" >/dev/null
for bench in "$build_dir"/tests/bench/certbroker_*_bench; do
  echo "== $(basename "$bench")"
  "$bench"
done
