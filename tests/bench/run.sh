#!/usr/bin/env bash
# Runs every benchmark under tests/bench/ from an existing build (deploy/dev.sh
# builds them). Each prints a summary and, last, one JSON line per figure:
# {"metric","value","unit","baseline","baseline_value","ratio"}.
# A failing benchmark does not stop the others; the exit code is 1 if any
# failed. The whole run takes about a minute; ratios are the figures to
# read, since the machine is shared and absolute numbers drift.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${CERTBROKER_BUILD_DIR:-$root/build}
cmake --build "$build_dir" -j "${CERTBROKER_JOBS:-2}" >/dev/null
failed=()
for bench in "$build_dir"/tests/bench/certbroker_*_bench; do
  [[ -x $bench ]] || continue
  echo "== $(basename "$bench")"
  if ! "$bench"; then
    failed+=("$(basename "$bench")")
  fi
done
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
