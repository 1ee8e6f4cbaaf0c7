// Writes the development PKI files that deploy/dev.sh's config refers to.
#include "broker/devpki/dev_pki_layout.h"

#include "absl/strings/str_cat.h"
#include "broker/common/file.h"
#include "broker/common/status_macros.h"
#include "broker/devpki/pki.h"

namespace certbroker::devpki {

absl::StatusOr<std::vector<std::string>> WriteDevPki(
    const std::string& directory) {
  CB_ASSIGN_OR_RETURN(Issued root,
                      Issue(RootSpec("Certbroker Dev Root CA"), nullptr));
  CB_ASSIGN_OR_RETURN(
      Issued intermediate,
      Issue(IntermediateSpec("Certbroker Dev Intermediate CA"), &root));
  CB_ASSIGN_OR_RETURN(Issued server,
                      Issue(ServerSpec("api.example.test",
                                       {std::begin(kDevServerDnsNames),
                                        std::end(kDevServerDnsNames)},
                                       {"127.0.0.1", "::1"}),
                            &intermediate));
  CB_ASSIGN_OR_RETURN(
      Issued client, Issue(ClientSpec("certbroker-dev-client"), &intermediate));
  CB_ASSIGN_OR_RETURN(Issued stranger_root,
                      Issue(RootSpec("Unrelated Root CA"), nullptr));
  CB_ASSIGN_OR_RETURN(
      Issued stranger_server,
      Issue(ServerSpec("api.example.test", {"api.example.test"}),
            &stranger_root));

  struct Output {
    std::string name;
    std::string contents;
    int mode;
  };
  std::vector<Output> outputs = {
      {"ca.pem", root.CertificatePem(), 0644},
      {"ca.key", root.KeyPem(), 0600},
      {"intermediate.pem", intermediate.CertificatePem(), 0644},
      {"intermediate.key", intermediate.KeyPem(), 0600},
      {"server-chain.pem",
       server.CertificatePem() + intermediate.CertificatePem(), 0644},
      {"server.key", server.KeyPem(), 0600},
      {"client-chain.pem",
       client.CertificatePem() + intermediate.CertificatePem(), 0644},
      {"client.key", client.KeyPem(), 0600},
      {"untrusted-server-chain.pem", stranger_server.CertificatePem(), 0644},
  };
  std::vector<std::string> written;
  for (const Output& output : outputs) {
    CB_RETURN_IF_ERROR(
        WriteFileAtomically(absl::StrCat(directory, "/", output.name),
                            output.contents, output.mode));
    written.push_back(output.name);
  }
  return written;
}

}  // namespace certbroker::devpki
