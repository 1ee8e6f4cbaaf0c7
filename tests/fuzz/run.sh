#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang-14 in their own
# build directory and runs each for a bounded time, starting from the
# committed seeds (tests/fuzz/corpus/<target>, never written to: new inputs
# go to the build directory). Prints one summary line per target and exits
# 1 when any target found something (a crash, sanitizer report, leak,
# timeout or out-of-memory); the reproducer is then in
# BUILD_DIR/fuzz-work/<target>/ and the log next to it.
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
#   SECONDS  per target (default $CERTBROKER_FUZZ_SECONDS, else 60); 0
#            builds the targets (and make_corpus) without running them
#   TARGET   chain_validator pem pkcs12 config broker_service admin_service
#            (default: all)
# Environment: CERTBROKER_FUZZ_BUILD_DIR (default build-fuzz/),
# CERTBROKER_CACHE_DIR (default .cache/, where deploy/boringssl.sh keeps
# BoringSSL), CERTBROKER_JOBS (build parallelism, default 2),
# CERTBROKER_FUZZ_JOBS (targets run at once, default 2).
# Needs clang-14 and libclang-rt-14-dev (deploy/dev.sh installs them).
#
# Reproduce a finding: BUILD_DIR/tests/fuzz/<target>_fuzzer FILE
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${CERTBROKER_FUZZ_BUILD_DIR:-$root/build-fuzz}
cache_dir=${CERTBROKER_CACHE_DIR:-$root/.cache}
jobs=${CERTBROKER_JOBS:-2}
fuzz_jobs=${CERTBROKER_FUZZ_JOBS:-2}
seconds=${CERTBROKER_FUZZ_SECONDS:-60}
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
all_targets=(chain_validator pem pkcs12 config broker_service admin_service)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${all_targets[@]}"); fi

# max_len per target: a few certificates, a PEM bundle, a .p12, a policy
# document, a handful of requests.
declare -A max_len=(
  [chain_validator]=12000 [pem]=8000 [pkcs12]=8000 [config]=8000
  [broker_service]=12000 [admin_service]=16000
)

# admin_service keeps state between inputs (the audit queue, the log queue,
# the store rebuilt after a change), so nearly every input ends with more
# memory allocated than freed, and libFuzzer would scan the heap for leaks
# after each (10 times slower); LeakSanitizer checks it once, at exit.
declare -A extra_flags=([admin_service]=-detect_leaks=0)

# Dictionaries (tests/fuzz/data, written by make_corpus): the configuration
# schema's names, which protobuf's uninstrumented parser compares.
declare -A dictionaries=([config]=config.dict [admin_service]=config.dict)

say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }

for target in "${targets[@]}"; do
  if [ -z "${max_len[$target]:-}" ]; then
    echo "unknown fuzz target: $target (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

if ! command -v clang++-14 >/dev/null ||
  ! compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' \
    >/dev/null; then
  echo "tests/fuzz/run.sh needs clang-14 and libclang-rt-14-dev:" \
    "apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 2
fi
CERTBROKER_JOBS=$jobs "$root/deploy/boringssl.sh" "$cache_dir"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  say "configuring $build_dir (clang-14, CERTBROKER_FUZZ)"
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTBROKER_FUZZ=ON \
    -DCERTBROKER_BORINGSSL_ROOT="$cache_dir/boringssl/out" >/dev/null
fi
say "building the fuzz targets (-j$jobs)"
nice -n 19 cmake --build "$build_dir" -j "$jobs" --target certbroker_fuzzers \
  make_corpus
if [ "$seconds" -eq 0 ]; then exit 0; fi

work=$build_dir/fuzz-work
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run_target runs one target for `seconds`; its output goes to its log.
run_target() {
  local target=$1
  local dir=$work/$target
  rm -rf "$dir/artifacts" "$dir/status"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  echo 0 >"$dir/status"
  local flags=(${extra_flags[$target]:-})
  if [ -n "${dictionaries[$target]:-}" ]; then
    flags+=(-dict="$root/tests/fuzz/data/${dictionaries[$target]}")
  fi
  # -close_fd_mask=2: the broker's own log lines (one per decision) go
  # nowhere; libFuzzer and the sanitizers keep a copy of stderr.
  "$build_dir/tests/fuzz/${target}_fuzzer" \
    -max_total_time="$seconds" -max_len="${max_len[$target]}" \
    -timeout=60 -rss_limit_mb=2560 -close_fd_mask=2 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${flags[@]}" \
    "$dir/corpus" "$root/tests/fuzz/corpus/$target" >"$dir/log" 2>&1 ||
    echo $? >"$dir/status"
}

# summarize prints the target's line: executions, exec/s, coverage, new
# inputs, findings. Returns 1 when it found something.
summarize() {
  local target=$1 status=$2
  local dir=$work/$target log=$work/$target/log
  local runs rate cov units findings
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  findings=$(find "$dir/artifacts" -type f | wc -l)
  if [ "$status" -ne 0 ] && [ "$findings" -eq 0 ]; then findings=1; fi
  printf '%-16s %10s execs %7s exec/s  cov %5s  new inputs %5s  findings %s\n' \
    "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${units:-?}" "$findings"
  if [ "$findings" -ne 0 ]; then
    printf '  log %s\n' "$log"
    find "$dir/artifacts" -type f -printf '  reproducer %p\n'
    grep -m 1 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/  /' || true
    return 1
  fi
}

say "running ${targets[*]} for ${seconds}s each, $fuzz_jobs at a time"
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$fuzz_jobs" ]; do wait -n || true; done
  run_target "$target" &
done
wait

failed=0
say "summary (${seconds}s per target):"
for target in "${targets[@]}"; do
  summarize "$target" "$(cat "$work/$target/status")" || failed=1
done
if [ "$failed" -ne 0 ]; then
  say "FAILED: the fuzzers found something (see above)"
  exit 1
fi
say "no findings"
