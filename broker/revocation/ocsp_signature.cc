// OCSP response signatures: which AlgorithmIdentifiers we accept (ECDSA and
// RSA with SHA-2, RSA-PSS in the one shape BoringSSL supports) and
// verifying with EVP_DigestVerify.
#include "broker/revocation/ocsp_signature.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/revocation/der.h"

namespace certbroker::revocation::internal {
namespace {

const EVP_MD* Sha2Digest(int nid) {
  switch (nid) {
    case NID_sha256:
      return EVP_sha256();
    case NID_sha384:
      return EVP_sha384();
    case NID_sha512:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

const char* DigestName(int nid) {
  switch (nid) {
    case NID_sha256:
      return "SHA-256";
    case NID_sha384:
      return "SHA-384";
    case NID_sha512:
      return "SHA-512";
    default:
      return "an unsupported hash";
  }
}

bool IsWeakDigest(int nid) {
  return nid == NID_sha1 || nid == NID_md5 || nid == NID_md4 ||
         nid == NID_md5_sha1;
}

std::string AlgorithmName(const AlgorithmIdentifier& algorithm) {
  const char* name =
      algorithm.nid == NID_undef ? nullptr : OBJ_nid2ln(algorithm.nid);
  return name != nullptr ? name : algorithm.oid_text;
}

// ReadPssDigest reads an EXPLICIT-tagged digest AlgorithmIdentifier of
// RSASSA-PSS-params; absent means SHA-1, RFC 4055's default.
absl::StatusOr<int> ReadPssDigest(CBS* params, unsigned tag,
                                  absl::string_view element) {
  if (!CBS_peek_asn1_tag(params, tag)) return NID_sha1;
  CBS wrapper;
  CB_RETURN_IF_ERROR(Read(params, tag, element, &wrapper));
  CB_ASSIGN_OR_RETURN(AlgorithmIdentifier digest,
                      ReadAlgorithmIdentifier(&wrapper, element));
  CB_RETURN_IF_ERROR(ExpectEnd(wrapper, element));
  if (!digest.HasNullOrNoParameters()) {
    return Malformed(element, "has parameters that are not NULL");
  }
  return digest.nid;
}

// ParsePssParameters accepts RSASSA-PSS-params (RFC 4055) with SHA-256,
// SHA-384 or SHA-512, MGF1 with the same digest, a salt as long as the
// digest and the default trailer: the combinations BoringSSL verifies.
absl::StatusOr<SignatureAlgorithm> ParsePssParameters(
    const AlgorithmIdentifier& algorithm) {
  constexpr absl::string_view kParams = "signatureAlgorithm.parameters";
  if (!algorithm.has_parameters) {
    return Malformed(kParams, "are missing for rsassaPss");
  }
  CBS outer = algorithm.parameters;
  CBS params;
  CB_RETURN_IF_ERROR(Read(&outer, CBS_ASN1_SEQUENCE, kParams, &params));
  CB_ASSIGN_OR_RETURN(
      int digest_nid,
      ReadPssDigest(&params, kExplicit0, "signatureAlgorithm.hashAlgorithm"));
  if (IsWeakDigest(digest_nid)) {
    return absl::InvalidArgumentError(
        "weak signature algorithm: rsassaPss with SHA-1");
  }
  const EVP_MD* digest = Sha2Digest(digest_nid);
  if (digest == nullptr) {
    return absl::InvalidArgumentError(
        "unsupported signature algorithm: rsassaPss with an unsupported hash");
  }
  const std::string name =
      absl::StrCat("rsassaPss with ", DigestName(digest_nid));

  constexpr absl::string_view kMask = "signatureAlgorithm.maskGenAlgorithm";
  if (!CBS_peek_asn1_tag(&params, kExplicit1)) {
    return absl::InvalidArgumentError(
        "weak signature algorithm: rsassaPss with MGF1-SHA-1");
  }
  CBS wrapper;
  CB_RETURN_IF_ERROR(Read(&params, kExplicit1, kMask, &wrapper));
  CB_ASSIGN_OR_RETURN(AlgorithmIdentifier mask,
                      ReadAlgorithmIdentifier(&wrapper, kMask));
  CB_RETURN_IF_ERROR(ExpectEnd(wrapper, kMask));
  if (mask.nid != NID_mgf1 || !mask.has_parameters) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported signature algorithm: ", name,
                     " and a mask generation function other than MGF1"));
  }
  CBS mask_parameters = mask.parameters;
  CB_ASSIGN_OR_RETURN(
      AlgorithmIdentifier mask_digest,
      ReadAlgorithmIdentifier(&mask_parameters, absl::StrCat(kMask, ".hash")));
  CB_RETURN_IF_ERROR(ExpectEnd(mask_parameters, kMask));
  if (mask_digest.nid != digest_nid || !mask_digest.HasNullOrNoParameters()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported signature algorithm: ", name,
                     " and MGF1 with another hash"));
  }

  constexpr absl::string_view kSalt = "signatureAlgorithm.saltLength";
  int salt_length = 20;
  if (CBS_peek_asn1_tag(&params, kExplicit2)) {
    CB_RETURN_IF_ERROR(Read(&params, kExplicit2, kSalt, &wrapper));
    CB_ASSIGN_OR_RETURN(salt_length,
                        ReadSmallInteger(&wrapper, CBS_ASN1_INTEGER, kSalt));
    CB_RETURN_IF_ERROR(ExpectEnd(wrapper, kSalt));
  }
  if (salt_length != static_cast<int>(EVP_MD_size(digest))) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported signature algorithm: ", name, " and a ",
                     salt_length, "-byte salt"));
  }
  // The trailer field's only value is its default, which DER leaves out.
  CB_RETURN_IF_ERROR(ExpectEnd(params, kParams));
  CB_RETURN_IF_ERROR(ExpectEnd(outer, kParams));

  SignatureAlgorithm result;
  result.scheme = SignatureAlgorithm::Scheme::kRsaPss;
  result.digest = digest;
  result.name = name;
  return result;
}

const char* KeyTypeName(int type) {
  switch (type) {
    case EVP_PKEY_EC:
      return "EC";
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return "another type";
  }
}

}  // namespace

absl::StatusOr<SignatureAlgorithm> ParseSignatureAlgorithm(
    absl::string_view der) {
  CBS input;
  CBS_init(&input, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  CB_ASSIGN_OR_RETURN(AlgorithmIdentifier algorithm,
                      ReadAlgorithmIdentifier(&input, "signatureAlgorithm"));
  CB_RETURN_IF_ERROR(ExpectEnd(input, "signatureAlgorithm"));

  if (algorithm.nid == NID_rsassaPss) return ParsePssParameters(algorithm);

  SignatureAlgorithm result;
  result.name = AlgorithmName(algorithm);
  switch (algorithm.nid) {
    case NID_ecdsa_with_SHA256:
    case NID_ecdsa_with_SHA384:
    case NID_ecdsa_with_SHA512:
      result.scheme = SignatureAlgorithm::Scheme::kEcdsa;
      break;
    case NID_sha256WithRSAEncryption:
    case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
      result.scheme = SignatureAlgorithm::Scheme::kRsaPkcs1;
      break;
    default: {
      int digest_nid = NID_undef;
      if (OBJ_find_sigid_algs(algorithm.nid, &digest_nid, nullptr) &&
          IsWeakDigest(digest_nid)) {
        return absl::InvalidArgumentError(
            absl::StrCat("weak signature algorithm: ", result.name));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported signature algorithm: ", result.name));
    }
  }
  // RFC 5758: ECDSA takes no parameters. RFC 4055: PKCS#1 takes NULL
  // (absent is tolerated, as BoringSSL's certificate code does).
  const bool parameters_ok = result.scheme == SignatureAlgorithm::Scheme::kEcdsa
                                 ? !algorithm.has_parameters
                                 : algorithm.HasNullOrNoParameters();
  if (!parameters_ok) {
    return Malformed("signatureAlgorithm.parameters",
                     absl::StrCat("are not allowed for ", result.name));
  }
  int digest_nid = NID_undef;
  OBJ_find_sigid_algs(algorithm.nid, &digest_nid, nullptr);
  result.digest = Sha2Digest(digest_nid);
  if (result.digest == nullptr) {
    return absl::InternalError(
        absl::StrCat("no digest known for ", result.name));
  }
  return result;
}

absl::Status VerifySignature(const SignatureAlgorithm& algorithm, EVP_PKEY* key,
                             absl::string_view key_owner,
                             absl::string_view signed_data,
                             absl::string_view signature) {
  const int wanted = algorithm.scheme == SignatureAlgorithm::Scheme::kEcdsa
                         ? EVP_PKEY_EC
                         : EVP_PKEY_RSA;
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_owner, " has no usable public key"));
  }
  if (EVP_PKEY_id(key) != wanted) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature algorithm ", algorithm.name, " needs an ",
                     KeyTypeName(wanted), " key, but ", key_owner, " is ",
                     KeyTypeName(EVP_PKEY_id(key))));
  }
  bssl::ScopedEVP_MD_CTX context;
  EVP_PKEY_CTX* key_context = nullptr;
  bool ok = EVP_DigestVerifyInit(context.get(), &key_context, algorithm.digest,
                                 nullptr, key);
  if (ok && algorithm.scheme == SignatureAlgorithm::Scheme::kRsaPss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, -1) &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, algorithm.digest);
  }
  ok = ok &&
       EVP_DigestVerify(context.get(),
                        reinterpret_cast<const uint8_t*>(signature.data()),
                        signature.size(),
                        reinterpret_cast<const uint8_t*>(signed_data.data()),
                        signed_data.size());
  ERR_clear_error();  // Why it failed is not the peer's business.
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature does not verify under ", key_owner));
  }
  return absl::OkStatus();
}

}  // namespace certbroker::revocation::internal
