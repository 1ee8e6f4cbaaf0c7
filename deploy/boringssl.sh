#!/usr/bin/env bash
# Builds BoringSSL from Debian's source package, statically and with the
# symbol prefix CBSSL_, so it can share a process with Debian's gRPC (which
# links OpenSSL 3). See ../shared/design/boringssl.md for why.
#
# Usage: deploy/boringssl.sh CACHE_DIR
# Leaves CACHE_DIR/boringssl/out/{include,prefix_include,lib} and a stamp file;
# a second run with the stamp present does nothing.
set -euo pipefail

cache=${1:?usage: boringssl.sh CACHE_DIR}
root="$cache/boringssl"
out="$root/out"
stamp="$out/.built"
package=android-platform-external-boringssl
prefix=CBSSL
jobs=${CERTBROKER_JOBS:-2}

if [ -f "$stamp" ]; then
  exit 0
fi

log() { printf '[boringssl] %s\n' "$*"; }

mkdir -p "$root"
# 1. Source: Debian's source package, fetched with a private deb-src list so
#    the system's apt configuration is never touched.
if [ ! -d "$root/src" ]; then
  apt_dir="$root/apt"
  mkdir -p "$apt_dir/lists/partial" "$root/download"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > "$apt_dir/deb-src.sources"
    list_opt=(-o "Dir::Etc::SourceList=$apt_dir/deb-src.sources")
  else
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      > "$apt_dir/deb-src.list"
    list_opt=(-o "Dir::Etc::SourceList=$apt_dir/deb-src.list")
  fi
  apt_opts=("${list_opt[@]}" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$apt_dir/lists")
  log "fetching Debian source package $package"
  apt-get -q "${apt_opts[@]}" update >/dev/null
  (cd "$root/download" &&
     apt-get -q "${apt_opts[@]}" source --download-only "$package" >/dev/null 2>&1)
  tarball=$(ls "$root"/download/${package}_*.orig.tar.* | head -n 1)
  rm -rf "$root/unpack" && mkdir -p "$root/unpack"
  tar -xf "$tarball" -C "$root/unpack"
  mv "$root"/unpack/*/src "$root/src"
  rm -rf "$root/unpack"
  # Debian strips this file but the CMakeLists still names it; we build only
  # crypto and ssl, so an empty file is enough to configure.
  mkdir -p "$root/src/third_party/googletest/src"
  touch "$root/src/third_party/googletest/src/gtest-all.cc"
fi

export GO111MODULE=off GOFLAGS= GOCACHE="$root/gocache"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
common=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON
        "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG -Wno-error"
        "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG -Wno-error")

# 2. An unprefixed build, only to read the exact list of symbols it exports.
if [ ! -f "$root/symbols.txt" ]; then
  log "building unprefixed libraries to read their symbols"
  cmake -S "$root/src" -B "$root/build-plain" "${generator[@]}" "${common[@]}" >/dev/null
  cmake --build "$root/build-plain" --target crypto ssl -j "$jobs" >/dev/null
  # read_symbols.go imports its sibling package util/ar by import path.
  mkdir -p "$root/gopath/src/boringssl.googlesource.com"
  ln -sfn "$root/src" "$root/gopath/src/boringssl.googlesource.com/boringssl"
  (cd "$root/gopath/src/boringssl.googlesource.com/boringssl" &&
    GOPATH="$root/gopath" go run util/read_symbols.go \
      -out "$root/symbols.txt.tmp" \
      "$root/build-plain/crypto/libcrypto.a" "$root/build-plain/ssl/libssl.a")
  mv "$root/symbols.txt.tmp" "$root/symbols.txt"
  rm -rf "$root/build-plain"
fi

# 3. The prefixed build. BoringSSL's CMake wants the symbol file relative to
#    its build directory.
log "building libraries with symbol prefix ${prefix}_"
mkdir -p "$root/build"
cp "$root/symbols.txt" "$root/build/symbols.txt"
cmake -S "$root/src" -B "$root/build" "${generator[@]}" "${common[@]}" \
  -DBORINGSSL_PREFIX=$prefix -DBORINGSSL_PREFIX_SYMBOLS=symbols.txt >/dev/null
cmake --build "$root/build" --target crypto ssl -j "$jobs" >/dev/null

rm -rf "$out" && mkdir -p "$out/lib"
cp -r "$root/src/include" "$out/include"
cp -r "$root/build/symbol_prefix_include" "$out/prefix_include"
cp "$root/build/crypto/libcrypto.a" "$out/lib/libcbssl_crypto.a"
cp "$root/build/ssl/libssl.a" "$out/lib/libcbssl_ssl.a"
echo "$prefix" > "$out/prefix"
rm -rf "$root/build" "$root/gocache" "$root/gopath"
touch "$stamp"
log "done: $out"
