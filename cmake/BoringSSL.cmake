# Imports the prefixed static BoringSSL that deploy/boringssl.sh builds from
# Debian's source package, as the targets boringssl::crypto and boringssl::ssl.
# Consumers get BORINGSSL_PREFIX and BoringSSL's include directories ahead of
# the system's OpenSSL headers (which Debian's gRPC pulls in).
set(CERTBROKER_BORINGSSL_ROOT "${CMAKE_SOURCE_DIR}/.cache/boringssl/out"
    CACHE PATH "Directory holding the prefixed BoringSSL build (deploy/boringssl.sh)")

if(NOT EXISTS "${CERTBROKER_BORINGSSL_ROOT}/.built")
  message(FATAL_ERROR
    "No prefixed BoringSSL at ${CERTBROKER_BORINGSSL_ROOT}. "
    "Run deploy/boringssl.sh .cache (deploy/dev.sh does it for you).")
endif()
file(READ "${CERTBROKER_BORINGSSL_ROOT}/prefix" BORINGSSL_SYMBOL_PREFIX)
string(STRIP "${BORINGSSL_SYMBOL_PREFIX}" BORINGSSL_SYMBOL_PREFIX)

add_library(boringssl::crypto STATIC IMPORTED GLOBAL)
set_target_properties(boringssl::crypto PROPERTIES
  IMPORTED_LOCATION "${CERTBROKER_BORINGSSL_ROOT}/lib/libcbssl_crypto.a"
  INTERFACE_INCLUDE_DIRECTORIES
    "${CERTBROKER_BORINGSSL_ROOT}/prefix_include;${CERTBROKER_BORINGSSL_ROOT}/include"
  INTERFACE_COMPILE_DEFINITIONS "BORINGSSL_PREFIX=${BORINGSSL_SYMBOL_PREFIX}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

add_library(boringssl::ssl STATIC IMPORTED GLOBAL)
set_target_properties(boringssl::ssl PROPERTIES
  IMPORTED_LOCATION "${CERTBROKER_BORINGSSL_ROOT}/lib/libcbssl_ssl.a"
  INTERFACE_LINK_LIBRARIES boringssl::crypto)
