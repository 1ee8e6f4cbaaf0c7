// Tests of KEKs: ids, and reading them from files in each accepted form,
// with the permission check and the errors for everything else.
#include "broker/keys/kek.h"

#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace certbroker::keys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// KeyBytes returns 32 bytes 0x00..0x1f: binary, not text.
std::string KeyBytes() {
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  return key;
}

constexpr char kKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kKeyBase64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
// kKeyId is the first 8 bytes of SHA-256("certbroker KEK id v1\0" || key),
// computed independently (Python's hashlib). Ids are stored in every sealed
// key, so the derivation must never change.
constexpr char kKeyId[] = "100e5667b5118dbf";

// WriteKekFile writes `contents` to `name` in `dir` with `mode`.
std::string WriteKekFile(const testing::TempDir& dir, absl::string_view name,
                         absl::string_view contents, mode_t mode = 0600) {
  std::string path = dir.Write(name, contents);
  EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
  return path;
}

TEST(KekTest, FromBytesDerivesTheDocumentedId) {
  auto kek = Kek::FromBytes(KeyBytes());
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->id(), kKeyId);
  EXPECT_EQ(KekIdToHex(kek->raw_id()), kKeyId);
}

TEST(KekTest, SameKeyHasSameIdAndDifferentKeysDifferentIds) {
  auto first = Kek::FromBytes(KeyBytes());
  auto again = Kek::FromBytes(KeyBytes());
  std::string other_bytes = KeyBytes();
  other_bytes[31] ^= 1;
  auto other = Kek::FromBytes(other_bytes);
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(first->id(), again->id());
  EXPECT_NE(first->id(), other->id());
  EXPECT_NE(Kek::Generate().id(), Kek::Generate().id());
  Kek copy = *first;
  EXPECT_EQ(copy.id(), first->id());
}

TEST(KekTest, IdIsSixteenHexDigitsUnrelatedToTheKeyBytes) {
  Kek kek = Kek::Generate();
  EXPECT_EQ(kek.id().size(), 16u);
  EXPECT_EQ(kek.id().find_first_not_of("0123456789abcdef"), std::string::npos);
  auto known = Kek::FromBytes(KeyBytes());
  ASSERT_TRUE(known.ok());
  EXPECT_THAT(std::string(kKeyHex), Not(HasSubstr(known->id())));
}

TEST(KekTest, PrintsOnlyItsId) {
  auto kek = Kek::FromBytes(KeyBytes());
  ASSERT_TRUE(kek.ok());
  std::ostringstream out;
  out << *kek;
  EXPECT_EQ(out.str(), std::string("KEK ") + kKeyId);
  EXPECT_EQ(::testing::PrintToString(*kek), std::string("KEK ") + kKeyId);
}

TEST(KekTest, FromBytesRejectsWrongLengths) {
  auto short_kek = Kek::FromBytes(KeyBytes().substr(0, 31));
  EXPECT_EQ(short_kek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_kek.status().message()),
              HasSubstr("a KEK must be exactly 32 bytes, got 31"));
  auto long_kek = Kek::FromBytes(KeyBytes() + "x");
  EXPECT_EQ(long_kek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(long_kek.status().message()), HasSubstr("got 33"));
}

TEST(KekFileTest, ReadsRawBytes) {
  testing::TempDir dir;
  auto kek = Kek::FromFile(WriteKekFile(dir, "kek", KeyBytes()));
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->id(), kKeyId);
}

TEST(KekFileTest, ReadsHexWithSurroundingWhitespace) {
  testing::TempDir dir;
  auto lower =
      Kek::FromFile(WriteKekFile(dir, "lower", std::string(kKeyHex) + "\n"));
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ(lower->id(), kKeyId);
  std::string upper_hex = kKeyHex;
  for (char& c : upper_hex) c = absl::ascii_toupper(c);
  auto upper =
      Kek::FromFile(WriteKekFile(dir, "upper", " \t" + upper_hex + "\r\n"));
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(upper->id(), kKeyId);
}

TEST(KekFileTest, ReadsBase64) {
  testing::TempDir dir;
  auto kek = Kek::FromFile(
      WriteKekFile(dir, "kek.b64", std::string(kKeyBase64) + "\n"));
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->id(), kKeyId);
}

TEST(KekFileTest, FollowsSymlinksLikeAKubernetesSecretMount) {
  testing::TempDir dir;
  std::string target = WriteKekFile(dir, "..data/kek", KeyBytes(), 0400);
  std::string link = dir.Path("kek");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto kek = Kek::FromFile(link);
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_EQ(kek->id(), kKeyId);
}

// ExpectBadContents expects FromFile to fail with INVALID_ARGUMENT naming
// the file, saying `why`, and quoting nothing of `contents`.
void ExpectBadContents(absl::string_view contents, absl::string_view why) {
  testing::TempDir dir;
  std::string path = WriteKekFile(dir, "kek", contents);
  auto kek = Kek::FromFile(path);
  ASSERT_FALSE(kek.ok()) << "accepted: " << absl::CEscape(contents);
  EXPECT_EQ(kek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kek.status().message()),
              HasSubstr("KEK file " + path));
  EXPECT_THAT(std::string(kek.status().message()), HasSubstr(why));
  absl::string_view trimmed = absl::StripAsciiWhitespace(contents);
  if (trimmed.size() >= 8) {
    EXPECT_THAT(std::string(kek.status().message()),
                Not(HasSubstr(trimmed.substr(0, 8))));
  }
}

TEST(KekFileTest, RejectsRawKeysOfTheWrongLength) {
  ExpectBadContents(KeyBytes().substr(0, 31),
                    "holds 31 bytes of binary data: too short for a raw KEK, "
                    "which is exactly 32 bytes");
  ExpectBadContents(KeyBytes() + "\n",
                    "holds 33 bytes of binary data: too long");
  ExpectBadContents(KeyBytes() + KeyBytes(), "64 bytes of binary data");
}

TEST(KekFileTest, RejectsThirtyTwoPrintableCharacters) {
  ExpectBadContents("correct horse battery staple!!!!",
                    "32 printable characters are not taken as a raw KEK");
}

TEST(KekFileTest, RejectsBadHex) {
  std::string bad = kKeyHex;
  bad[10] = 'g';
  ExpectBadContents(bad + "\n",
                    "holds 64 characters but is not hex: the character at "
                    "offset 10 is not a hex digit");
  ExpectBadContents(std::string(kKeyHex).substr(0, 62),
                    "holds 62 hex digits: too short for a hex KEK, which is "
                    "exactly 64");
  ExpectBadContents(std::string(kKeyHex) + "00", "66 hex digits: too long");
}

TEST(KekFileTest, RejectsBase64OfTheWrongLength) {
  ExpectBadContents(absl::Base64Escape(KeyBytes().substr(0, 31)),
                    "holds the base64 of 31 bytes: too short for a KEK");
  ExpectBadContents(absl::Base64Escape(KeyBytes() + "xyz"),
                    "holds the base64 of 35 bytes: too long");
}

TEST(KekFileTest, RejectsTextThatIsNeitherHexNorBase64) {
  ExpectBadContents("this is not a key at all\n",
                    "is not hex or base64 (the character at offset 4 is "
                    "neither a hex nor a base64 digit)");
  // Base64 characters, but not whole base64 (a length not a multiple of 4).
  ExpectBadContents("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                    "are not a whole, correctly padded base64 text");
}

TEST(KekFileTest, RejectsEmptyAndWhitespaceOnlyFiles) {
  ExpectBadContents("",
                    "is empty; it must hold 32 raw bytes, 64 hex digits, "
                    "or the base64 of 32 bytes");
  ExpectBadContents(" \n\n", "holds only whitespace");
}

TEST(KekFileTest, RejectsOversizedFiles) {
  ExpectBadContents(std::string(kMaxKekFileBytes + 1, 'A'),
                    "is larger than 4096 bytes");
}

TEST(KekFileTest, MissingFileIsNotFound) {
  testing::TempDir dir;
  std::string path = dir.Path("absent/kek");
  auto kek = Kek::FromFile(path);
  EXPECT_EQ(kek.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(kek.status().message()),
              HasSubstr("KEK file " + path + " does not exist"));
}

TEST(KekFileTest, DirectoryIsNotAKekFile) {
  testing::TempDir dir;
  auto kek = Kek::FromFile(dir.path());
  EXPECT_EQ(kek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kek.status().message()),
              HasSubstr("is not a regular file"));
}

TEST(KekFileTest, FifoIsRefusedWithoutBlocking) {
  testing::TempDir dir;
  std::string path = dir.Path("kek");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto kek = Kek::FromFile(path);
  EXPECT_EQ(kek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kek.status().message()),
              HasSubstr("KEK file " + path + " is not a regular file"));
}

TEST(KekFileTest, RefusesFilesOthersCanReadUnlessAllowed) {
  testing::TempDir dir;
  std::string path = WriteKekFile(dir, "kek", KeyBytes(), 0644);
  auto refused = Kek::FromFile(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("KEK file " + path +
                        " has mode 0644, which lets its group or others "
                        "access it"));
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("allow_insecure_permissions"));

  KekFileOptions options;
  options.allow_insecure_permissions = true;
  auto allowed = Kek::FromFile(path, options);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->id(), kKeyId);
}

TEST(KekFileTest, ChecksGroupAndOtherBitsSeparately) {
  testing::TempDir dir;
  for (mode_t mode : {0640, 0604, 0610, 0602}) {
    auto kek = Kek::FromFile(
        WriteKekFile(dir, absl::StrCat("kek", mode), KeyBytes(), mode));
    EXPECT_EQ(kek.status().code(), absl::StatusCode::kFailedPrecondition)
        << std::oct << mode;
  }
  for (mode_t mode : {0400, 0600, 0700}) {
    auto kek = Kek::FromFile(
        WriteKekFile(dir, absl::StrCat("kek", mode), KeyBytes(), mode));
    EXPECT_TRUE(kek.ok()) << std::oct << mode << ": " << kek.status();
  }
}

TEST(KekFileTest, PermissionCheckComesBeforeTheContents) {
  testing::TempDir dir;
  auto kek = Kek::FromFile(WriteKekFile(dir, "kek", "garbage", 0644));
  EXPECT_EQ(kek.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(KekFileTest, FromFileContentsNamesItsSource) {
  auto kek = Kek::FromFileContents("nope", "env KEK");
  EXPECT_EQ(kek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(kek.status().message()),
              HasSubstr("KEK file env KEK"));
  auto good = Kek::FromFileContents(kKeyBase64, "env KEK");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->id(), kKeyId);
}

}  // namespace
}  // namespace certbroker::keys
