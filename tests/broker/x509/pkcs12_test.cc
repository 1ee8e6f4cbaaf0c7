// Tests of PKCS#12 parsing on files made at test time: by the openssl command
// line (OpenSSL 3's default encryption and the older ones) and by BoringSSL's
// PKCS12_create, and on every way a file can be wrong.
#include "broker/x509/pkcs12.h"

#include <openssl/pkcs8.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/devpki/pki.h"
#include "broker/x509/boringssl.h"
#include "broker/x509/certificate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace certbroker::x509 {
namespace {

using ::certbroker::testing::MustIssue;
using ::certbroker::testing::RunCommand;
using ::certbroker::testing::TempDir;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPassword[] = "correct horse";

// FindOpenssl returns the path of the openssl program on $PATH, or "".
std::string FindOpenssl() {
  const char* path = std::getenv("PATH");
  for (absl::string_view directory :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(directory, "/openssl");
    if (!directory.empty() && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

// Oid returns a DER OBJECT IDENTIFIER (tag, length, value) to look for in a
// file, to check which algorithms it really uses.
std::string Oid(std::initializer_list<uint8_t> value) {
  std::string der = {0x06, static_cast<char>(value.size())};
  for (uint8_t byte : value) der.push_back(static_cast<char>(byte));
  return der;
}

const std::string kPbes2 = Oid({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05,
                                0x0d});  // 1.2.840.113549.1.5.13
const std::string kAes256Cbc = Oid({0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                                    0x01, 0x2a});  // 2.16.840.1.101.3.4.1.42
const std::string kAes128Cbc = Oid({0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                                    0x01, 0x02});  // 2.16.840.1.101.3.4.1.2
const std::string kDesEde3Cbc = Oid(
    {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07});  // 1.2.840.113549.3.7
const std::string kHmacWithSha256 = Oid(
    {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09});  // 1.2.840.113549.2.9
const std::string kSha1 = Oid({0x2b, 0x0e, 0x03, 0x02, 0x1a});  // 1.3.14.3.2.26
const std::string kSha256 = Oid({0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                 0x01});  // 2.16.840.1.101.3.4.2.1
const std::string kSha512 = Oid({0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                 0x03});  // 2.16.840.1.101.3.4.2.3
const std::string kPbeSha1TripleDes =
    Oid({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01,
         0x03});  // 1.2.840.113549.1.12.1.3
const std::string kPbeSha1Rc2_40 =
    Oid({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01,
         0x06});  // 1.2.840.113549.1.12.1.6

std::vector<std::string> Subjects(const CertificateList& chain) {
  std::vector<std::string> subjects;
  for (const auto& certificate : chain) {
    subjects.push_back(SubjectName(certificate.get()));
  }
  return subjects;
}

std::string MalformedMessage(absl::string_view source) {
  return absl::StrCat(
      source, ": is not a PKCS#12 file, or its DER is malformed or truncated");
}

// Pkcs12Test has a fresh PKI: a root, an intermediate under it, an EC P-256
// server leaf under that, and an unrelated root; and helpers that put them
// into PKCS#12 files.
class Pkcs12Test : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MustIssue(devpki::RootSpec("P12 Root"), nullptr);
    intermediate_ =
        MustIssue(devpki::IntermediateSpec("P12 Intermediate"), &root_);
    leaf_ =
        MustIssue(devpki::ServerSpec("p12.example.com", {"p12.example.com"}),
                  &intermediate_);
    unrelated_ = MustIssue(devpki::RootSpec("P12 Unrelated Root"), nullptr);
    ASSERT_FALSE(::testing::Test::HasFailure());
    ASSERT_EQ(EVP_PKEY_id(leaf_.key.get()), EVP_PKEY_EC);
  }

  // ExpectedSubjects is the order ParsePkcs12 must return the PKI in: the
  // leaf, its issuers, then the unrelated root.
  std::vector<std::string> ExpectedSubjects() const {
    return {SubjectName(leaf_.certificate.get()),
            SubjectName(intermediate_.certificate.get()),
            SubjectName(root_.certificate.get()),
            SubjectName(unrelated_.certificate.get())};
  }

  // ExpectGoodChain checks `contents` holds the leaf's key and the whole PKI
  // in chain order.
  void ExpectGoodChain(const absl::StatusOr<Pkcs12Contents>& contents) const {
    ASSERT_TRUE(contents.ok()) << contents.status();
    ASSERT_NE(contents->key, nullptr);
    EXPECT_EQ(EVP_PKEY_cmp(contents->key.get(), leaf_.key.get()), 1);
    EXPECT_THAT(Subjects(contents->chain),
                ElementsAreArray(ExpectedSubjects()));
    ASSERT_FALSE(contents->chain.empty());
    EXPECT_EQ(CertificateToDer(contents->chain[0].get()), leaf_.Der());
    EXPECT_EQ(ERR_peek_error(), 0u);
  }

  // OpensslExport runs `openssl pkcs12 -export` on the leaf (and its key
  // unless `with_key` is false) with the others, in scrambled order, as
  // extra certificates. Returns "" and sets `*skip_reason` when the openssl
  // program is missing or refuses `options` (a missing legacy provider).
  std::string OpensslExport(const std::string& password,
                            const std::vector<std::string>& options,
                            std::string* skip_reason, bool with_key = true) {
    std::string openssl = FindOpenssl();
    if (openssl.empty()) {
      *skip_reason = "no openssl program on $PATH";
      return "";
    }
    std::vector<std::string> argv = {
        openssl,
        "pkcs12",
        "-export",
        "-in",
        temp_.Write("leaf.pem", leaf_.CertificatePem()),
        "-certfile",
        temp_.Write("others.pem", root_.CertificatePem() +
                                      unrelated_.CertificatePem() +
                                      intermediate_.CertificatePem()),
        "-out",
        temp_.Path("out.p12"),
        "-passout",
        "pass:" + password};
    if (with_key) {
      argv.insert(argv.end(),
                  {"-inkey", temp_.Write("leaf.key", leaf_.KeyPem())});
    }
    argv.insert(argv.end(), options.begin(), options.end());
    auto result = RunCommand(argv);
    if (result.exit_code != 0) {
      *skip_reason =
          absl::StrCat("openssl pkcs12 -export ", absl::StrJoin(options, " "),
                       " failed (", result.exit_code, "): ", result.err);
      return "";
    }
    return ReadFile(temp_.Path("out.p12"));
  }

  // MustOpensslExport is OpensslExport for options every OpenSSL 3 has: it
  // fails the test instead of skipping.
  std::string MustOpensslExport(const std::string& password,
                                const std::vector<std::string>& options = {},
                                bool with_key = true) {
    std::string failure;
    std::string der = OpensslExport(password, options, &failure, with_key);
    EXPECT_FALSE(der.empty()) << failure;
    return der;
  }

  TempDir temp_;
  devpki::Issued root_;
  devpki::Issued intermediate_;
  devpki::Issued leaf_;
  devpki::Issued unrelated_;
};

// BoringsslCreate makes a PKCS#12 file with BoringSSL's PKCS12_create; zero
// nids and counts take its defaults (3DES key, 40-bit RC2 certificates,
// SHA-1 MAC), -1 nids leave that part unencrypted.
std::string BoringsslCreate(const char* password, const EVP_PKEY* key,
                            X509* certificate, std::vector<X509*> others,
                            int key_nid = 0, int cert_nid = 0,
                            int iterations = 0, int mac_iterations = 0) {
  bssl::UniquePtr<STACK_OF(X509)> stack(sk_X509_new_null());
  for (X509* other : others) {
    X509_up_ref(other);
    if (!sk_X509_push(stack.get(), other)) X509_free(other);
  }
  bssl::UniquePtr<PKCS12> pkcs12(PKCS12_create(
      password, /*name=*/nullptr, key, certificate, stack.get(), key_nid,
      cert_nid, iterations, mac_iterations, /*key_type=*/0));
  if (pkcs12 == nullptr) {
    ADD_FAILURE() << "PKCS12_create: " << DrainErrorQueue();
    return "";
  }
  uint8_t* der = nullptr;
  int length = i2d_PKCS12(pkcs12.get(), &der);
  if (length <= 0) {
    ADD_FAILURE() << "i2d_PKCS12: " << DrainErrorQueue();
    return "";
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<const char*>(der),
                     static_cast<size_t>(length));
}

// How `openssl pkcs12 -export` is asked to encrypt, and the algorithm
// identifiers the file must then contain.
struct OpensslEncryption {
  const char* name;
  std::vector<std::string> options;
  std::vector<std::string> oids;
};

void PrintTo(const OpensslEncryption& encryption, std::ostream* out) {
  *out << encryption.name;
}

class Pkcs12OpensslTest
    : public Pkcs12Test,
      public ::testing::WithParamInterface<OpensslEncryption> {};

TEST_P(Pkcs12OpensslTest, ReadsLeafFirstThenIssuersThenOthers) {
  std::string skip_reason;
  std::string der = OpensslExport(kPassword, GetParam().options, &skip_reason);
  if (der.empty()) GTEST_SKIP() << skip_reason;
  for (const std::string& oid : GetParam().oids) {
    EXPECT_TRUE(absl::StrContains(der, oid))
        << "the file lacks an expected algorithm identifier";
  }
  ExpectGoodChain(ParsePkcs12(der, kPassword, "openssl.p12"));
}

INSTANTIATE_TEST_SUITE_P(
    Encryptions, Pkcs12OpensslTest,
    ::testing::Values(
        // OpenSSL 3's default: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC for
        // both key and certificates; MAC over SHA-256.
        OpensslEncryption{"Openssl3Default",
                          {},
                          {kPbes2, kAes256Cbc, kHmacWithSha256, kSha256}},
        OpensslEncryption{"Pbes2Aes128",
                          {"-keypbe", "AES-128-CBC", "-certpbe", "AES-128-CBC"},
                          {kPbes2, kAes128Cbc, kHmacWithSha256}},
        OpensslEncryption{
            "Pbes2TripleDes",
            {"-keypbe", "DES-EDE3-CBC", "-certpbe", "DES-EDE3-CBC"},
            {kPbes2, kDesEde3Cbc}},
        // OpenSSL 1.x's default; needs OpenSSL 3's legacy provider for RC2.
        OpensslEncryption{
            "Legacy", {"-legacy"}, {kPbeSha1TripleDes, kPbeSha1Rc2_40, kSha1}},
        OpensslEncryption{"Sha1TripleDes",
                          {"-certpbe", "PBE-SHA1-3DES", "-keypbe",
                           "PBE-SHA1-3DES", "-macalg", "sha1"},
                          {kPbeSha1TripleDes, kSha1}},
        OpensslEncryption{"Sha512Mac", {"-macalg", "sha512"}, {kSha512}},
        OpensslEncryption{
            "Unencrypted", {"-keypbe", "NONE", "-certpbe", "NONE"}, {}}),
    [](const ::testing::TestParamInfo<OpensslEncryption>& info) {
      return std::string(info.param.name);
    });

TEST_F(Pkcs12Test, ReadsBoringsslDefaultEncryption) {
  std::string der =
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(),
                      {root_.certificate.get(), unrelated_.certificate.get(),
                       intermediate_.certificate.get()});
  EXPECT_TRUE(absl::StrContains(der, kPbeSha1TripleDes));
  EXPECT_TRUE(absl::StrContains(der, kPbeSha1Rc2_40));
  ExpectGoodChain(ParsePkcs12(der, kPassword, "boringssl.p12"));
}

TEST_F(Pkcs12Test, ReadsBoringsslUnencryptedBags) {
  std::string der =
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(),
                      {root_.certificate.get(), unrelated_.certificate.get(),
                       intermediate_.certificate.get()},
                      /*key_nid=*/-1, /*cert_nid=*/-1);
  ExpectGoodChain(ParsePkcs12(der, kPassword, "plain.p12"));
}

TEST_F(Pkcs12Test, FindsLeafByKeyWhereverItIsInTheFile) {
  std::string der = BoringsslCreate(
      kPassword, leaf_.key.get(), /*certificate=*/nullptr,
      {root_.certificate.get(), unrelated_.certificate.get(),
       leaf_.certificate.get(), intermediate_.certificate.get()});
  ExpectGoodChain(ParsePkcs12(der, kPassword, "scrambled.p12"));
}

TEST_F(Pkcs12Test, DropsDuplicateCertificates) {
  std::string der =
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(),
                      {intermediate_.certificate.get(), root_.certificate.get(),
                       leaf_.certificate.get(), unrelated_.certificate.get(),
                       intermediate_.certificate.get()});
  ExpectGoodChain(ParsePkcs12(der, kPassword, "duplicates.p12"));
}

TEST_F(Pkcs12Test, PrefersIssuerWhoseKeyIdentifierMatches) {
  // Two intermediates with the same name; only the second issued the leaf.
  devpki::Issued same_name =
      MustIssue(devpki::IntermediateSpec("P12 Intermediate"), &root_);
  ASSERT_EQ(SubjectName(same_name.certificate.get()),
            SubjectName(intermediate_.certificate.get()));
  std::string der =
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(),
                      {same_name.certificate.get(), root_.certificate.get(),
                       intermediate_.certificate.get()});
  auto contents = ParsePkcs12(der, kPassword, "same-name.p12");
  ASSERT_TRUE(contents.ok()) << contents.status();
  ASSERT_EQ(contents->chain.size(), 4u);
  EXPECT_EQ(CertificateToDer(contents->chain[0].get()), leaf_.Der());
  EXPECT_EQ(CertificateToDer(contents->chain[1].get()), intermediate_.Der());
  EXPECT_EQ(CertificateToDer(contents->chain[2].get()), root_.Der());
  EXPECT_EQ(CertificateToDer(contents->chain[3].get()), same_name.Der());
}

TEST_F(Pkcs12Test, StopsAtSelfSignedLeaf) {
  std::string der = BoringsslCreate(
      kPassword, root_.key.get(), root_.certificate.get(),
      {intermediate_.certificate.get(), unrelated_.certificate.get()});
  auto contents = ParsePkcs12(der, kPassword, "root.p12");
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_THAT(Subjects(contents->chain),
              ElementsAreArray({SubjectName(root_.certificate.get()),
                                SubjectName(intermediate_.certificate.get()),
                                SubjectName(unrelated_.certificate.get())}));
}

TEST_F(Pkcs12Test, ReadsEmptyPassword) {
  ExpectGoodChain(ParsePkcs12(MustOpensslExport(""), "", "openssl-empty.p12"));
  // PKCS#12 encodes "" as a UCS-2 NUL, but some writers use no bytes at
  // all (BoringSSL's PKCS12_create with a null password); both must read.
  std::vector<X509*> others = {root_.certificate.get(),
                               unrelated_.certificate.get(),
                               intermediate_.certificate.get()};
  ExpectGoodChain(ParsePkcs12(
      BoringsslCreate("", leaf_.key.get(), leaf_.certificate.get(), others), "",
      "boringssl-empty.p12"));
  ExpectGoodChain(ParsePkcs12(BoringsslCreate(nullptr, leaf_.key.get(),
                                              leaf_.certificate.get(), others),
                              "", "boringssl-null.p12"));
}

TEST_F(Pkcs12Test, ReadsNonAsciiPassword) {
  const std::string password = "p\xc3\xa4sswort-\xe2\x82\xac";  // pässwort-€
  ExpectGoodChain(
      ParsePkcs12(MustOpensslExport(password), password, "openssl-utf8.p12"));
  ExpectGoodChain(ParsePkcs12(
      BoringsslCreate(password.c_str(), leaf_.key.get(),
                      leaf_.certificate.get(),
                      {root_.certificate.get(), unrelated_.certificate.get(),
                       intermediate_.certificate.get()}),
      password, "boringssl-utf8.p12"));
}

TEST_F(Pkcs12Test, RejectsWrongPassword) {
  const std::string expected =
      "upload.p12: wrong password (or not a password-protected PKCS#12)";
  std::string modern = MustOpensslExport(kPassword);
  for (const char* wrong : {"correct horsf", "", "correct horse "}) {
    auto contents = ParsePkcs12(modern, wrong, "upload.p12");
    EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(contents.status().message(), expected) << wrong;
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
  auto legacy = ParsePkcs12(
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(), {}),
      "wrong", "upload.p12");
  EXPECT_EQ(legacy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(legacy.status().message(), expected);
  // A file made without a password, opened with one.
  auto unprotected =
      ParsePkcs12(MustOpensslExport(""), kPassword, "upload.p12");
  EXPECT_EQ(unprotected.status().message(), expected);
}

TEST_F(Pkcs12Test, RejectsEmptyInput) {
  auto contents = ParsePkcs12("", kPassword, "empty.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(),
            "empty.p12: empty input, expected a PKCS#12 file");
}

TEST_F(Pkcs12Test, RejectsInputOverTheLimit) {
  std::string big(2 << 20, '\x30');
  auto contents = ParsePkcs12(big, kPassword, "big.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(),
            "big.p12: PKCS#12 file is 2097152 bytes, larger than the limit of "
            "1048576 bytes");
  // One byte over fails on size; exactly the limit gets parsed (and fails
  // as the garbage it is).
  EXPECT_THAT(std::string(ParsePkcs12(std::string(kMaxPkcs12Bytes + 1, '\0'),
                                      kPassword, "over.p12")
                              .status()
                              .message()),
              HasSubstr("1048577 bytes, larger than the limit"));
  EXPECT_EQ(
      ParsePkcs12(std::string(kMaxPkcs12Bytes, '\0'), kPassword, "limit.p12")
          .status()
          .message(),
      MalformedMessage("limit.p12"));
}

TEST_F(Pkcs12Test, RejectsTruncatedFile) {
  std::string der = MustOpensslExport(kPassword);
  ASSERT_GT(der.size(), 100u);
  auto half = ParsePkcs12(der.substr(0, der.size() / 2), kPassword, "cut.p12");
  EXPECT_EQ(half.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(half.status().message(), MalformedMessage("cut.p12"));
  for (size_t length = 1; length < der.size(); ++length) {
    auto contents = ParsePkcs12(der.substr(0, length), kPassword, "cut.p12");
    EXPECT_EQ(contents.status().message(), MalformedMessage("cut.p12"))
        << "cut after " << length << " bytes";
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(Pkcs12Test, RejectsTrailingBytes) {
  std::string der = MustOpensslExport(kPassword);
  auto contents = ParsePkcs12(der + "x", kPassword, "trailing.p12");
  EXPECT_EQ(contents.status().message(), MalformedMessage("trailing.p12"));
}

TEST_F(Pkcs12Test, RejectsRandomBytes) {
  std::mt19937 random(20220623);
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>(random()));
  auto contents = ParsePkcs12(noise, kPassword, "noise.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(), MalformedMessage("noise.p12"));
  // Noise behind a plausible SEQUENCE header.
  std::string framed = std::string("\x30\x82\x0f\xfc", 4) + noise.substr(4);
  EXPECT_EQ(ParsePkcs12(framed, kPassword, "framed.p12").status().message(),
            MalformedMessage("framed.p12"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(Pkcs12Test, NeverCrashesOnCorruptedBytes) {
  // One KDF and MAC iteration keeps a parse per byte fast.
  std::string der =
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(),
                      {intermediate_.certificate.get()}, 0, 0, /*iterations=*/1,
                      /*mac_iterations=*/1);
  ASSERT_FALSE(der.empty());
  for (size_t i = 0; i < der.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::string corrupt = der;
      corrupt[i] = static_cast<char>(corrupt[i] ^ flip);
      auto contents = ParsePkcs12(corrupt, kPassword, "corrupt.p12");
      if (!contents.ok()) {
        EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_THAT(std::string(contents.status().message()),
                    StartsWith("corrupt.p12: "));
      }
      EXPECT_EQ(ERR_peek_error(), 0u) << "byte " << i;
    }
  }
}

TEST_F(Pkcs12Test, ReportsDamageUnderTheMacAsWrongPassword) {
  std::string der =
      BoringsslCreate(kPassword, leaf_.key.get(), leaf_.certificate.get(), {});
  ASSERT_GT(der.size(), 200u);
  // The middle of the file is inside the contents the MAC covers (the MAC
  // itself is at the end).
  der[der.size() / 2] = static_cast<char>(der[der.size() / 2] ^ 0x01);
  EXPECT_EQ(ParsePkcs12(der, kPassword, "damaged.p12").status().message(),
            "damaged.p12: wrong password (or not a password-protected "
            "PKCS#12)");
}

TEST_F(Pkcs12Test, RejectsPem) {
  std::string pem = "\n" + leaf_.CertificatePem();
  EXPECT_EQ(ParsePkcs12(pem, kPassword, "leaf.pem").status().message(),
            "leaf.pem: is PEM text; expected a binary (DER) PKCS#12 file");
}

TEST_F(Pkcs12Test, RejectsCertificatesWithoutKey) {
  auto from_openssl =
      ParsePkcs12(MustOpensslExport(kPassword, {"-nokeys"}, /*with_key=*/false),
                  kPassword, "certs.p12");
  EXPECT_EQ(from_openssl.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(from_openssl.status().message(),
            "certs.p12: holds no private key (only 4 certificates)");
  auto from_boringssl = ParsePkcs12(
      BoringsslCreate(kPassword, nullptr, leaf_.certificate.get(), {}),
      kPassword, "one.p12");
  EXPECT_EQ(from_boringssl.status().message(),
            "one.p12: holds no private key (only 1 certificate)");
}

TEST_F(Pkcs12Test, RejectsKeyWithoutCertificate) {
  auto contents =
      ParsePkcs12(BoringsslCreate(kPassword, leaf_.key.get(), nullptr, {}),
                  kPassword, "key.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(),
            "key.p12: holds a private key but no certificate");
}

TEST_F(Pkcs12Test, RejectsKeyMatchingNoCertificate) {
  auto other_key = devpki::GenerateKey(devpki::KeyType::kEcP256);
  ASSERT_TRUE(other_key.ok()) << other_key.status();
  auto contents = ParsePkcs12(
      BoringsslCreate(
          kPassword, other_key->get(), nullptr,
          {leaf_.certificate.get(), intermediate_.certificate.get()}),
      kPassword, "mismatch.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(),
            "mismatch.p12: none of its 2 certificates matches the private key");
  // An RSA key against EC certificates.
  auto rsa_key = devpki::GenerateKey(devpki::KeyType::kRsa2048);
  ASSERT_TRUE(rsa_key.ok()) << rsa_key.status();
  auto rsa = ParsePkcs12(BoringsslCreate(kPassword, rsa_key->get(), nullptr,
                                         {leaf_.certificate.get()}),
                         kPassword, "rsa.p12");
  EXPECT_EQ(rsa.status().message(),
            "rsa.p12: none of its 1 certificate matches the private key");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(Pkcs12Test, RejectsFileWithoutMac) {
  auto contents = ParsePkcs12(MustOpensslExport(kPassword, {"-nomac"}),
                              kPassword, "nomac.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(),
            "nomac.p12: has no MAC (made with -nomac?); only PKCS#12 files "
            "with a password MAC are supported");
}

TEST_F(Pkcs12Test, RejectsUnsupportedCipher) {
  std::string skip_reason;
  std::string der = OpensslExport(
      kPassword,
      {"-keypbe", "CAMELLIA-256-CBC", "-certpbe", "CAMELLIA-256-CBC"},
      &skip_reason);
  if (der.empty()) GTEST_SKIP() << skip_reason;
  auto contents = ParsePkcs12(der, kPassword, "camellia.p12");
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(contents.status().message()),
              StartsWith("camellia.p12: uses an algorithm that is not "
                         "supported ("));
  EXPECT_THAT(std::string(contents.status().message()),
              HasSubstr("UNSUPPORTED_CIPHER"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(Pkcs12Test, RejectsPasswordsPkcs12CannotEncode) {
  std::string der = MustOpensslExport(kPassword);
  EXPECT_EQ(ParsePkcs12(der, std::string("correct\0horse", 13), "nul.p12")
                .status()
                .message(),
            "nul.p12: the password contains a NUL byte, which PKCS#12 cannot "
            "encode");
  const std::string not_encodable =
      "nul.p12: the password is not UTF-8 text that PKCS#12 can encode "
      "(characters up to U+FFFF)";
  for (const char* password : {
           "latin1 \xe4",             // ISO 8859-1, not UTF-8
           "overlong \xc0\xaf",       // '/' in two bytes
           "surrogate \xed\xa0\x80",  // U+D800
           "emoji \xf0\x9f\x94\x92",  // U+1F512, beyond the BMP
           "cut \xe2\x82",            // truncated sequence
       }) {
    EXPECT_EQ(ParsePkcs12(der, password, "nul.p12").status().message(),
              not_encodable)
        << password;
  }
}

}  // namespace
}  // namespace certbroker::x509
