// The Istio `cacerts` bundle: the four PEM files istiod reads from a
// plugged-in CA, and the Kubernetes Secret manifest that carries them.
//
//   ca-cert.pem     the cluster's intermediate CA certificate
//   ca-key.pem      its private key, unencrypted PKCS#8, mode 0600
//   cert-chain.pem  intermediate, then up to and including the root
//   root-cert.pem   every trusted root (several during a root rotation)
//   ca-crl.pem      CRLs of the intermediate and the root (when the plan asks)
//   cacerts.yaml    Secret "cacerts" with the files base64-encoded (0600)
//
// Writers put files into a staging directory that the caller publishes
// atomically; the reader loads a bundle directory back for resume checks
// and verification.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secure_buffer.hpp"
#include "pki/crl.hpp"
#include "pki/handles.hpp"

namespace meshca::output_layout {

inline constexpr const char* kCaCertFile = "ca-cert.pem";
inline constexpr const char* kCaKeyFile = "ca-key.pem";
inline constexpr const char* kCertChainFile = "cert-chain.pem";
inline constexpr const char* kRootCertFile = "root-cert.pem";
// OUT/root/ of a root certified by the corporate CA: the corporate chain
// above root-cert.pem, its issuer first and the self-signed anchor last.
inline constexpr const char* kIssuerChainFile = "issuer-chain.pem";
inline constexpr const char* kSecretManifestFile = "cacerts.yaml";
// CRLs of the chain (intermediate, then root) when the plan enables them.
inline constexpr const char* kCaCrlFile = "ca-crl.pem";
// The same bundle as a kubernetes.io/tls Secret (cert-manager's layout).
inline constexpr const char* kTlsCertFile = "tls.crt";
inline constexpr const char* kTlsKeyFile = "tls.key";
inline constexpr const char* kTlsCaFile = "ca.crt";

// A file a public-only bundle carries as it is into the assembled one (the
// trust configuration of a federated cluster), pinned by SHA-256 in its
// descriptor (public_bundle.hpp).
struct CarriedFile {
  std::string path;    // relative to the bundle, e.g. "trust/trust-bundle.pem"
  std::string sha256;  // lowercase hex
};

// The PEM text of a bundle, exactly as written.
struct IstioBundleFiles {
  std::string ca_cert;
  SecureBuffer ca_key;
  std::string cert_chain;
  std::string root_cert;
  std::string ca_crl;  // "" when the plan has no CRLs
  // A public-only bundle (the cluster keeps its key) with CRLs: `ca_crl`
  // holds only the CRLs above the intermediate (chain-crls.pem) and this
  // the content of the intermediate's CRL, which `bundle assemble` signs.
  std::optional<pki::CrlProfile> intermediate_crl;
  // A public-only bundle read back: the files its descriptor carries (when
  // the options at hand do not say which trust files it has).
  std::vector<CarriedFile> carried;
};

// `chain` is the intermediate's issuers from its issuer up to the root.
// `ca_key` null: a public-only bundle (the cluster keeps its key).
IstioBundleFiles make_istio_bundle(const X509* ca_cert, const EVP_PKEY* ca_key, const std::vector<const X509*>& chain,
                                   const std::vector<const X509*>& roots);

// Where Istio looks for its `cacerts` Secret unless told otherwise.
inline constexpr std::string_view kDefaultIstioNamespace = "istio-system";

struct SecretManifestOptions {
  std::string name = "cacerts";
  std::string namespace_name{kDefaultIstioNamespace};
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// A `kind: Secret` manifest (type Opaque) whose data decode to the files.
SecureBuffer render_cacerts_secret(const IstioBundleFiles& files, const SecretManifestOptions& options);

// A bundle loaded from disk.
struct IstioBundle {
  pki::X509Ptr ca_cert;
  pki::PKeyPtr ca_key;
  std::vector<pki::X509Ptr> cert_chain;
  std::vector<pki::X509Ptr> roots;
  std::string ca_crl;                               // ca-crl.pem as found ("" when absent); a public-only bundle's chain-crls.pem
  std::optional<pki::CrlProfile> intermediate_crl;  // a public-only bundle's planned CRL (public-bundle.yaml)
  bool has_manifest = false;
};

// Names of the bundle files missing from `dir` (empty when complete).
std::vector<std::string> missing_bundle_files(const std::filesystem::path& dir, bool expect_manifest);

// Parses every file; Error(invalid_input) naming the file on damage.
IstioBundle read_istio_bundle(const std::filesystem::path& dir);

std::string base64_encode(std::string_view bytes);

}  // namespace meshca::output_layout
