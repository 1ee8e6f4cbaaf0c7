// Key handles: what a genuine handle says, and each refusal with its code
// and message: another caller, expired, tampered with (every byte), garbage,
// and a handle of another broker process (another epoch).
#include "broker/keyless/key_handles.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace certbroker::keyless {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);
const std::string kLeaf(32, '\x5a');
constexpr char kScope[] = "https\x1fpay.example.test\x1f443";
constexpr char kAlice[] = "spiffe://corp.test/ns/a/sa/web";
constexpr char kBob[] = "spiffe://corp.test/ns/b/sa/web";

IssuedKeyHandle MustIssue(const KeyHandles& handles, absl::string_view caller,
                          absl::Time not_after = kNow + absl::Hours(24)) {
  absl::StatusOr<IssuedKeyHandle> issued =
      handles.Issue(caller, "payments", kLeaf, kScope, not_after, kNow);
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? *std::move(issued) : IssuedKeyHandle{};
}

TEST(KeyHandlesTest, VerifyReturnsWhatWasIssued) {
  KeyHandles handles;
  IssuedKeyHandle issued = MustIssue(handles, kAlice);
  EXPECT_EQ(issued.expires, kNow + absl::Minutes(15));
  absl::StatusOr<KeyHandleClaims> claims =
      handles.Verify(issued.handle, kAlice, kNow + absl::Minutes(1));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->certificate_id, "payments");
  EXPECT_EQ(claims->leaf_sha256, kLeaf);
  EXPECT_EQ(claims->scope, kScope);
  EXPECT_EQ(claims->expires, issued.expires);
  // base64url without padding: safe in any text field.
  EXPECT_EQ(issued.handle.find_first_of("+/="), std::string::npos);
}

TEST(KeyHandlesTest, EmptyCallerIsAnIdentityLikeAnyOther) {
  KeyHandles handles;
  IssuedKeyHandle issued = MustIssue(handles, "");
  EXPECT_TRUE(handles.Verify(issued.handle, "", kNow).ok());
  EXPECT_EQ(
      handles.Verify(issued.handle, kAlice, kNow).status(),
      absl::PermissionDeniedError("key handle was issued to another caller"));
}

TEST(KeyHandlesTest, AnotherCallerIsDenied) {
  KeyHandles handles;
  IssuedKeyHandle issued = MustIssue(handles, kAlice);
  EXPECT_EQ(
      handles.Verify(issued.handle, kBob, kNow).status(),
      absl::PermissionDeniedError("key handle was issued to another caller"));
  // A prefix or extension of the identity is another identity.
  EXPECT_EQ(handles.Verify(issued.handle, std::string(kAlice) + "x", kNow)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(KeyHandlesTest, ExpiresAfterItsLifetime) {
  KeyHandles handles(absl::Seconds(30));
  IssuedKeyHandle issued = MustIssue(handles, kAlice);
  EXPECT_EQ(issued.expires, kNow + absl::Seconds(30));
  EXPECT_TRUE(handles.Verify(issued.handle, kAlice, issued.expires).ok());
  EXPECT_EQ(
      handles.Verify(issued.handle, kAlice, issued.expires + absl::Seconds(1))
          .status(),
      absl::FailedPreconditionError(
          "key handle for certificate 'payments' expired at "
          "2027-01-15T08:00:30+00:00; call GetClientCertificate again"));
}

TEST(KeyHandlesTest, NeverOutlivesTheLeaf) {
  KeyHandles handles;
  const absl::Time not_after =
      kNow + absl::Seconds(90) + absl::Milliseconds(700);
  IssuedKeyHandle issued = MustIssue(handles, kAlice, not_after);
  EXPECT_EQ(issued.expires, kNow + absl::Seconds(90));
  EXPECT_EQ(handles.Verify(issued.handle, kAlice, not_after).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(KeyHandlesTest, AnotherBrokerProcessesHandlesAskForANewOne) {
  KeyHandles before_restart;
  KeyHandles after_restart;
  IssuedKeyHandle issued = MustIssue(before_restart, kAlice);
  EXPECT_EQ(after_restart.Verify(issued.handle, kAlice, kNow).status(),
            absl::FailedPreconditionError(
                "key handle was given out by another broker process: the "
                "broker restarted since it gave out this handle; call "
                "GetClientCertificate again"));
}

TEST(KeyHandlesTest, EveryTamperedByteIsRefused) {
  KeyHandles handles;
  IssuedKeyHandle issued = MustIssue(handles, kAlice);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(issued.handle, &raw));
  const size_t scope_size = sizeof(kScope) - 1;
  ASSERT_EQ(raw.size(), 1 + 8 + 8 + 32 + 2 + 8 + 2 + scope_size + 32 + 32);
  for (size_t i = 0; i < raw.size(); ++i) {
    SCOPED_TRACE(i);
    std::string edited = raw;
    edited[i] ^= 0x01;
    absl::Status status =
        handles.Verify(absl::WebSafeBase64Escape(edited), kAlice, kNow)
            .status();
    if (i == 0) {
      EXPECT_EQ(status, absl::InvalidArgumentError(
                            "malformed key handle: unknown version 0"));
    } else if (i < 9) {
      // The epoch: indistinguishable from another process's handle.
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    } else if (i == 49 || i == 50 || i == 59 || i == 60) {
      // The id's or the scope's length: the layout no longer parses.
      EXPECT_EQ(status,
                absl::InvalidArgumentError("malformed key handle: bad layout"));
    } else {
      // Anything else, the caller tag included (the outer tag covers it).
      EXPECT_EQ(status, absl::InvalidArgumentError(
                            "malformed key handle: its tag does not verify"));
    }
  }
  // Truncated or extended.
  EXPECT_EQ(
      handles
          .Verify(absl::WebSafeBase64Escape(raw.substr(0, raw.size() - 1)),
                  kAlice, kNow)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(handles.Verify(absl::WebSafeBase64Escape(raw + "x"), kAlice, kNow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeyHandlesTest, GarbageIsMalformed) {
  KeyHandles handles;
  EXPECT_EQ(handles.Verify("", kAlice, kNow).status(),
            absl::InvalidArgumentError("malformed key handle: empty"));
  EXPECT_EQ(handles.Verify("not base64!", kAlice, kNow).status(),
            absl::InvalidArgumentError("malformed key handle: not base64url"));
  EXPECT_EQ(handles.Verify("AAAA", kAlice, kNow).status(),
            absl::InvalidArgumentError("malformed key handle: too short"));
  EXPECT_EQ(handles.Verify(std::string(5000, 'A'), kAlice, kNow).status(),
            absl::InvalidArgumentError(
                "malformed key handle: 5000 characters is too long"));
}

TEST(KeyHandlesTest, IssueRefusesBadInputs) {
  KeyHandles handles;
  EXPECT_EQ(handles
                .Issue(kAlice, std::string(1025, 'c'), kLeaf, kScope,
                       kNow + absl::Hours(1), kNow)
                .status(),
            absl::InvalidArgumentError(
                "certificate id of 1025 bytes is too long for a key handle "
                "(at most 1024)"));
  EXPECT_EQ(handles
                .Issue(kAlice, "payments", "short", kScope,
                       kNow + absl::Hours(1), kNow)
                .status(),
            absl::InvalidArgumentError(
                "leaf digest is 5 bytes, not a SHA-256 digest of 32"));
  EXPECT_EQ(handles
                .Issue(kAlice, "payments", kLeaf, std::string(1025, 's'),
                       kNow + absl::Hours(1), kNow)
                .status(),
            absl::InvalidArgumentError(
                "scope of 1025 bytes is too long for a key handle (at most "
                "1024)"));
  // The longest id and scope still make a handle that verifies.
  std::string longest(KeyHandles::kMaxCertificateIdBytes, 'c');
  std::string widest(KeyHandles::kMaxScopeBytes, 's');
  absl::StatusOr<IssuedKeyHandle> issued = handles.Issue(
      kAlice, longest, kLeaf, widest, kNow + absl::Hours(1), kNow);
  ASSERT_TRUE(issued.ok()) << issued.status();
  absl::StatusOr<KeyHandleClaims> claims =
      handles.Verify(issued->handle, kAlice, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->certificate_id, longest);
  EXPECT_EQ(claims->scope, widest);
}

}  // namespace
}  // namespace certbroker::keyless
