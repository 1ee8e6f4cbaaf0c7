#!/usr/bin/env bash
# The two developer commands for a Debian bookworm machine, run as root from
# the repository root:
#   deploy/dev.sh run    install what is missing, build, and run certbrokerd
#                        on the embedded default (var/) in the foreground
#   deploy/dev.sh test   the same set-up, then the whole test suite
# Both are idempotent: installed packages and the cached BoringSSL build are
# skipped, and the build is incremental.
#
# Environment: CERTBROKER_BUILD_DIR (default build/), CERTBROKER_CACHE_DIR
# (default .cache/), CERTBROKER_JOBS (build parallelism, at most 3; default 3),
# CERTBROKER_PORT (TCP port of `run`, default 8443), CERTBROKER_EXTRA_PACKAGES
# (more Debian packages to install, space-separated).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CERTBROKER_BUILD_DIR:-$root/build}
cache_dir=${CERTBROKER_CACHE_DIR:-$root/.cache}
jobs=${CERTBROKER_JOBS:-3}
if [ "$jobs" -gt 3 ]; then jobs=3; fi
var_dir=$root/var

# Debian packages the build, the tests and the BoringSSL build need.
packages=(
  g++ cmake ninja-build pkg-config perl golang-go xz-utils
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libabsl-dev libyaml-dev libgtest-dev libgmock-dev libsqlite3-dev
  python3 python3-grpcio python3-grpc-tools python3-cryptography
  libboost-dev nginx-light openssl curl
)
# CERTBROKER_EXTRA_PACKAGES adds more (CI adds clang-14 and
# libclang-rt-14-dev for tests/fuzz/run.sh).
read -r -a extra_packages <<<"${CERTBROKER_EXTRA_PACKAGES:-}"
packages+=("${extra_packages[@]}")

say() { printf '\033[1m[dev.sh]\033[0m %s\n' "$*"; }

install_packages() {
  local missing=()
  for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "run as root, or install them with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  CERTBROKER_JOBS=$jobs "$root/deploy/boringssl.sh" "$cache_dir"
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    say "configuring $build_dir"
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCERTBROKER_BORINGSSL_ROOT="$cache_dir/boringssl/out" >/dev/null
  fi
  say "building (-j$jobs)"
  cmake --build "$build_dir" -j "$jobs"
}

# write_dev_config writes the embedded default's configuration, first time only.
write_dev_config() {
  mkdir -p "$var_dir"
  if [ ! -f "$var_dir/pki/ca.pem" ]; then
    say "generating the development PKI in var/pki"
    "$build_dir/broker/devpki/certbroker-devpki" --out "$var_dir/pki" >/dev/null
  fi
  if [ ! -f "$var_dir/config.yaml" ]; then
    cat > "$var_dir/config.yaml" <<'YAML'
# certbrokerd's embedded development default, written by deploy/dev.sh.
# Schema: protos/certbroker/config/v1/config.proto. It seeds the policy of
# the store in var/data on the first start; after that the store wins:
# change the policy with `certbrokerctl policy get` / `policy put`.
trust_bundles:
  - name: dev-roots
    pem_file: pki/ca.pem
certificates:
  - id: dev-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
    exportable: true
rules:
  - name: example-test
    match: { hosts: ["*.example.test", localhost, 127.0.0.1, "::1"] }
    client_certificate: dev-client
    server_validation: { trust_bundles: [dev-roots], mode: BROKER }
    cache_ttl: 300s
YAML
  fi
  if [ ! -f "$var_dir/kek" ]; then
    say "generating the development KEK in var/kek"
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$var_dir/kek")
  fi
}

run_broker() {
  write_dev_config
  local port=${CERTBROKER_PORT:-8443}
  local socket=$var_dir/certbrokerd.sock
  local ready=$var_dir/certbrokerd.ready
  rm -f "$ready"
  "$build_dir/broker/server/certbrokerd" --data_dir "$var_dir/data" \
    --seed_config "$var_dir/config.yaml" --kek_file "$var_dir/kek" \
    --listen "127.0.0.1:$port,unix:$socket" --ready_file "$ready" \
    --enable_admin --insecure_dev_loopback &
  local pid=$!
  trap 'kill -TERM $pid 2>/dev/null || true' INT TERM
  for _ in $(seq 1 100); do
    [ -f "$ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -f "$ready" ]; then
    local client="/usr/bin/python3 tests/interop/certbroker_client.py"
    cat <<TRY

certbrokerd is serving on 127.0.0.1:$port and unix:var/certbrokerd.sock (pid $pid).
Try it from another shell in $root:
  $client policy --host api.example.test
  $client client-cert --host api.example.test --out-chain /tmp/dev-client.pem --out-key /tmp/dev-client.key
  $client server-cert --host api.example.test --chain var/pki/server-chain.pem
  $client server-cert --host api.example.test --chain var/pki/untrusted-server-chain.pem
  $client --broker 127.0.0.1:$port -o json policy --url https://nowhere.invalid/
  build/broker/ctl/certbrokerctl simulate --host api.example.test --chain var/pki/server-chain.pem --at 2030-01-01T00:00:00Z
  build/broker/ctl/certbrokerctl status
  build/broker/ctl/certbrokerctl cert list
  build/broker/ctl/certbrokerctl policy get
  build/broker/ctl/certbrokerctl audit list --limit 5
The store (policy, certificates with keys sealed under var/kek, audit log) is var/data/certbroker.db.
Stop: Ctrl-C.

TRY
  fi
  local status=0
  wait "$pid" || status=$?
  # A signal interrupts the first wait; wait again for the broker's own exit.
  if kill -0 "$pid" 2>/dev/null; then
    status=0
    wait "$pid" || status=$?
  fi
  exit "$status"
}

run_tests() {
  say "running the test suite"
  cd "$build_dir"
  exec ctest --output-on-failure -j 2
}

case "${1:-}" in
  run)
    install_packages
    build
    run_broker
    ;;
  test)
    install_packages
    build
    run_tests
    ;;
  *)
    echo "usage: deploy/dev.sh run|test" >&2
    exit 2
    ;;
esac
