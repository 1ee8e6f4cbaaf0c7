// KeyHandles: the opaque handles GetClientCertificate gives out for
// non-exportable certificates and Sign takes back. They are stateless: a
// handle carries its certificate id, the leaf's SHA-256, its scope (what it
// was given for: the service puts the target there, so Sign can check that
// the policy still gives the certificate), its expiry and a per-process
// epoch, sealed by two HMAC-SHA256 tags under a secret that
// exists only in this process's memory. Nothing is stored per handle, so
// handing them out costs no memory and no lock; the price is that a broker
// restart (a new secret and epoch) invalidates every handle, and agents ask
// GetClientCertificate again (Sign says so).
//
// The two tags let Sign tell its failures apart: the caller tag covers the
// handle and the identity of the caller it was given to; the outer tag
// covers the handle and the caller tag, without identity. A wrong outer tag
// is a forged or garbled handle; a right outer tag with a wrong caller tag
// is a genuine handle presented by another caller. A handle of another
// epoch comes from another broker process (or is forged with a made-up
// epoch: without that process's secret the two cannot be told apart).
#ifndef CERTBROKER_BROKER_KEYLESS_KEY_HANDLES_H_
#define CERTBROKER_BROKER_KEYLESS_KEY_HANDLES_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace certbroker::keyless {

// KeyHandleClaims is what a verified handle says.
struct KeyHandleClaims {
  std::string certificate_id;
  std::string leaf_sha256;  // The raw 32-byte SHA-256 of the leaf's DER.
  std::string scope;        // Opaque to KeyHandles; as given to Issue.
  absl::Time expires;
};

// IssuedKeyHandle is a new handle and when it stops being accepted.
struct IssuedKeyHandle {
  std::string handle;  // base64url, unpadded.
  absl::Time expires;  // Whole seconds.
};

class KeyHandles {
 public:
  // kDefaultLifetime is how long a handle lasts unless the leaf expires
  // first.
  static constexpr absl::Duration kDefaultLifetime = absl::Minutes(15);
  // kMaxCertificateIdBytes bounds the certificate ids a handle can carry.
  static constexpr size_t kMaxCertificateIdBytes = 1024;
  // kMaxScopeBytes bounds the scope a handle can carry.
  static constexpr size_t kMaxScopeBytes = 1024;

  // KeyHandles draws a new random secret and epoch; handles of any other
  // instance (another process, or this one before a restart) are refused.
  // `lifetime` is how long handles last (tests shorten it).
  explicit KeyHandles(absl::Duration lifetime = kDefaultLifetime);

  KeyHandles(const KeyHandles&) = delete;
  KeyHandles& operator=(const KeyHandles&) = delete;

  // Issue makes a handle for `caller` (the identity Sign will compare, may
  // be empty) to sign with certificate `certificate_id` whose leaf DER has
  // SHA-256 `leaf_sha256` (raw, 32 bytes), carrying `scope`. It expires
  // `lifetime` after `now`, but never after `leaf_not_after`. Fails with
  // INVALID_ARGUMENT when the id is longer than kMaxCertificateIdBytes, the
  // scope longer than kMaxScopeBytes, or the digest is not 32 bytes.
  absl::StatusOr<IssuedKeyHandle> Issue(absl::string_view caller,
                                        absl::string_view certificate_id,
                                        absl::string_view leaf_sha256,
                                        absl::string_view scope,
                                        absl::Time leaf_not_after,
                                        absl::Time now) const;

  // Verify returns the claims of `handle` when it was issued by this
  // instance to `caller` and has not expired at `now`. Fails with
  //   INVALID_ARGUMENT "malformed key handle" when it does not decode or
  //     its outer tag is wrong (forged, truncated, edited);
  //   FAILED_PRECONDITION when it comes from another epoch (the broker
  //     restarted since it gave it out) or expired;
  //   PERMISSION_DENIED when it was issued to another caller.
  absl::StatusOr<KeyHandleClaims> Verify(absl::string_view handle,
                                         absl::string_view caller,
                                         absl::Time now) const;

  absl::Duration lifetime() const { return lifetime_; }

 private:
  absl::Duration lifetime_;
  std::array<uint8_t, 32> secret_;
  std::array<uint8_t, 8> epoch_;
};

}  // namespace certbroker::keyless

#endif  // CERTBROKER_BROKER_KEYLESS_KEY_HANDLES_H_
