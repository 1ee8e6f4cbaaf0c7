// Reading a KEK from a file: permission check, size cap, and the three
// accepted encodings (raw, hex, base64), with every buffer wiped.
#include <fcntl.h>
#include <openssl/base64.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/keys/kek.h"
#include "broker/x509/boringssl.h"

namespace certbroker::keys {
namespace {

constexpr absl::string_view kAccepted =
    "32 raw bytes, 64 hex digits, or the base64 of 32 bytes";
constexpr size_t kHexDigits = 2 * Kek::kBytes;

// Wiped is a stack buffer that is wiped when it goes out of scope.
template <size_t N>
struct Wiped {
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  std::array<uint8_t, N> bytes{};
};

// FileDescriptor closes an open file when it goes out of scope.
struct FileDescriptor {
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;
};

const char* ShortOrLong(size_t got, size_t want) {
  return got < want ? "too short" : "too long";
}

// IsText is true when `data` is printable ASCII and whitespace only: what a
// hex or base64 KEK looks like, and what 32 random bytes almost never do
// (a chance below 1e-13).
bool IsText(absl::string_view data) {
  for (char c : data) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c)) &&
        !absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// FirstNotIn returns the offset of the first character of `text` for which
// `accept` is false, or npos.
template <typename Predicate>
size_t FirstNotIn(absl::string_view text, Predicate accept) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!accept(static_cast<unsigned char>(text[i]))) return i;
  }
  return absl::string_view::npos;
}

bool IsBase64Char(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '+' || c == '/' || c == '=';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;  // The caller checked absl::ascii_isxdigit.
}

absl::StatusOr<Kek> FromHex(absl::string_view hex) {
  Wiped<Kek::kBytes> raw;
  for (size_t i = 0; i < Kek::kBytes; ++i) {
    raw.bytes[i] = static_cast<uint8_t>(HexValue(hex[2 * i]) << 4 |
                                        HexValue(hex[2 * i + 1]));
  }
  return Kek::FromBytes(absl::string_view(
      reinterpret_cast<const char*>(raw.bytes.data()), raw.bytes.size()));
}

}  // namespace

absl::StatusOr<Kek> Kek::FromFileContents(absl::string_view contents,
                                          absl::string_view source) {
  if (contents.size() > kMaxKekFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("KEK file ", source, " is larger than ", kMaxKekFileBytes,
                     " bytes; it must hold ", kAccepted));
  }
  if (contents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KEK file ", source, " is empty; it must hold ", kAccepted));
  }
  if (!IsText(contents)) {
    if (contents.size() == kBytes) return FromBytes(contents);
    return absl::InvalidArgumentError(absl::StrCat(
        "KEK file ", source, " holds ", contents.size(),
        " bytes of binary data: ", ShortOrLong(contents.size(), kBytes),
        " for a raw KEK, which is exactly ", kBytes, " bytes"));
  }
  // A raw key of 32 printable characters would be a password, not a key.
  const std::string raw_hint =
      contents.size() == kBytes
          ? absl::StrCat(" (", kBytes,
                         " printable characters are not taken as a raw KEK, "
                         "which is random bytes, not text)")
          : "";
  absl::string_view text = absl::StripAsciiWhitespace(contents);
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("KEK file ", source,
                     " holds only whitespace; it must hold ", kAccepted));
  }
  size_t not_hex = FirstNotIn(
      text, [](unsigned char c) { return absl::ascii_isxdigit(c) != 0; });
  if (not_hex == absl::string_view::npos) {
    if (text.size() == kHexDigits) return FromHex(text);
    return absl::InvalidArgumentError(absl::StrCat(
        "KEK file ", source, " holds ", text.size(),
        " hex digits: ", ShortOrLong(text.size(), kHexDigits),
        " for a hex KEK, which is exactly ", kHexDigits, raw_hint));
  }
  if (text.size() == kHexDigits) {
    // Base64 of 32 bytes is 44 characters, so 64 can only be meant as hex.
    return absl::InvalidArgumentError(
        absl::StrCat("KEK file ", source, " holds ", kHexDigits,
                     " characters but is not hex: the character at offset ",
                     not_hex, " is not a hex digit"));
  }
  Wiped<kMaxKekFileBytes> decoded;
  size_t decoded_size = 0;
  if (!EVP_DecodeBase64(
          decoded.bytes.data(), &decoded_size, decoded.bytes.size(),
          reinterpret_cast<const uint8_t*>(text.data()), text.size())) {
    size_t not_base64 = FirstNotIn(text, IsBase64Char);
    std::string why =
        not_base64 != absl::string_view::npos
            ? absl::StrCat("the character at offset ", not_base64,
                           " is neither a hex nor a base64 digit")
            : absl::StrCat("its ", text.size(),
                           " base64 characters are not a whole, correctly "
                           "padded base64 text");
    return absl::InvalidArgumentError(
        absl::StrCat("KEK file ", source, " is not hex or base64 (", why,
                     "); it must hold ", kAccepted, raw_hint));
  }
  if (decoded_size != kBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KEK file ", source, " holds the base64 of ", decoded_size,
        " bytes: ", ShortOrLong(decoded_size, kBytes),
        " for a KEK, which is exactly ", kBytes, " bytes", raw_hint));
  }
  return FromBytes(absl::string_view(
      reinterpret_cast<const char*>(decoded.bytes.data()), decoded_size));
}

absl::StatusOr<Kek> Kek::FromFile(const std::string& path,
                                  const KekFileOptions& options) {
  FileDescriptor file;
  // O_NONBLOCK keeps a FIFO at `path` from blocking the open; it changes
  // nothing for the regular file this must be.
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (file.fd < 0) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return absl::NotFoundError(
          absl::StrCat("KEK file ", path, " does not exist"));
    }
    std::string message =
        absl::StrCat("cannot open KEK file ", path, ": ", std::strerror(error));
    if (error == EACCES || error == EPERM) {
      return absl::PermissionDeniedError(message);
    }
    return absl::UnavailableError(message);
  }
  struct stat info;
  if (::fstat(file.fd, &info) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot stat KEK file ", path,
                                               ": ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("KEK file ", path, " is not a regular file"));
  }
  // Checked on the opened file, so a swap of the path after the check
  // cannot slip an unchecked file in.
  const unsigned mode = info.st_mode & 07777;
  if ((mode & 077) != 0 && !options.allow_insecure_permissions) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "KEK file %s has mode %04o, which lets its group or others access it; "
        "make it owner-only (chmod 600, or defaultMode: 0400 on a Kubernetes "
        "Secret volume) or %s",
        path, mode, options.insecure_permissions_hint));
  }
  // One byte more than the cap tells a file at the cap from a bigger one.
  Wiped<kMaxKekFileBytes + 1> contents;
  size_t size = 0;
  while (size < contents.bytes.size()) {
    ssize_t n = ::read(file.fd, contents.bytes.data() + size,
                       contents.bytes.size() - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("cannot read KEK file ", path,
                                                 ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  // A file above the cap fails in FromFileContents.
  return FromFileContents(
      absl::string_view(reinterpret_cast<const char*>(contents.bytes.data()),
                        size),
      path);
}

}  // namespace certbroker::keys
