#!/usr/bin/env bash
# Builds everything with CERTBROKER_SANITIZE (AddressSanitizer, LeakSanitizer
# and UndefinedBehaviorSanitizer, every finding fatal) in its own build
# directory and runs the whole ctest suite under it. Exits non-zero when a
# test fails or a sanitizer reports anything.
#
# Usage: tests/fuzz/asan_suite.sh [CTEST_ARGS...]
# Environment: CERTBROKER_ASAN_BUILD_DIR (default build-asan/),
# CERTBROKER_CACHE_DIR (default .cache/), CERTBROKER_JOBS (build and test
# parallelism, default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${CERTBROKER_ASAN_BUILD_DIR:-$root/build-asan}
cache_dir=${CERTBROKER_CACHE_DIR:-$root/.cache}
jobs=${CERTBROKER_JOBS:-2}

say() { printf '\033[1m[asan]\033[0m %s\n' "$*"; }

CERTBROKER_JOBS=$jobs "$root/deploy/boringssl.sh" "$cache_dir"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  say "configuring $build_dir (CERTBROKER_SANITIZE)"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCERTBROKER_SANITIZE=ON \
    -DCERTBROKER_BORINGSSL_ROOT="$cache_dir/boringssl/out" >/dev/null
fi
say "building with ASan and UBSan (-j$jobs)"
nice -n 19 cmake --build "$build_dir" -j "$jobs"

# The test processes and the certbrokerd they start inherit these. UBSan is
# compiled not to recover; halt_on_error covers code built elsewhere.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
say "running the test suite under ASan and UBSan"
cd "$build_dir"
ctest --output-on-failure -j "$jobs" "$@"
