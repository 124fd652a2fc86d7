// Loading a CA bundle's raw files from wherever a platform team has one: a
// directory in the Istio `cacerts` layout (ca-cert.pem, ca-key.pem,
// cert-chain.pem, root-cert.pem, optional ca-crl.pem), a directory in the
// kubernetes.io/tls layout (tls.crt, tls.key, ca.crt), or a Kubernetes Secret
// manifest (`data` base64 and `stringData`, one Secret, several YAML
// documents, or a `kind: List` as `kubectl get secret -o yaml` prints it).
//
// Nothing is parsed as X.509 here: the bytes are kept exactly as found (the
// key in a SecureBuffer) so the bundle checks can report strict-PEM problems.
// Problems with the container itself (unreadable file, bad YAML, bad base64
// in a Secret) are kept as notes for the checks to report; only a path that
// does not exist or cannot be read at all is an Error(invalid_input).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secure_buffer.hpp"
#include "output_layout/istio_cacerts.hpp"

namespace meshca::verify {

// The files of a bundle, named as output_layout writes them.
using output_layout::kCaCertFile;
using output_layout::kCaCrlFile;
using output_layout::kCaKeyFile;
using output_layout::kCertChainFile;
using output_layout::kIssuerChainFile;
using output_layout::kRootCertFile;
using output_layout::kSecretManifestFile;
using output_layout::kTlsCaFile;
using output_layout::kTlsCertFile;
using output_layout::kTlsKeyFile;

// meshca's OUT/root: the root certificate and, once a revocation happened, its CRL
// (and, for a root under the corporate CA, issuer-chain.pem).
inline constexpr const char* kRootDirectory = "root";
inline constexpr const char* kRootCrlFile = "root-crl.pem";

// root_ca: a root directory (see is_root_directory), checked as a root CA.
enum class BundleLayout { istio_cacerts, kubernetes_tls, mixed, root_ca, none };
std::string_view bundle_layout_name(BundleLayout layout);

struct BundleFile {
  std::string display;  // path or "secret.yaml#data.ca-cert.pem", for findings
  SecureBuffer bytes;
};

struct BundleSource {
  std::string label;  // what the user named: a directory, "file.yaml" or "file.yaml#ns/name"
  std::string kind;   // "directory" | "secret" | "file" (a PEM file, for inspect and check-expiry)
  BundleLayout layout = BundleLayout::none;
  std::map<std::string, BundleFile> files;  // by file name (ca-cert.pem, tls.crt, ...)
  std::vector<std::string> notes;           // container problems (bad base64, unreadable file)
  // A directory with a cacerts.yaml beside the PEM files: what the manifest
  // holds differs from the files (names of the differing entries).
  std::vector<std::string> manifest_mismatches;
  bool has_manifest = false;
  // A directory meshca wrote for a cluster that keeps its own key
  // (output_layout::KeyCustody::cluster, public-bundle.yaml): the pinned
  // key's SPKI SHA-256. No ca-key.pem is expected there.
  std::string public_only_pin;

  const BundleFile* file(const std::string& name) const;
};

// A directory holding root-cert.pem and no file of a cluster bundle, named
// `root` (meshca's OUT/root) or holding root-crl.pem: a root CA, not a
// partial bundle (a cluster directory missing its other files stays one).
bool is_root_directory(const std::filesystem::path& dir);

// A directory (a bundle, or a root directory), or a file holding one or more Secrets. Throws
// Error(invalid_input) when the path does not exist, is not readable, or is a
// file that holds no Secret.
std::vector<BundleSource> load_bundle_sources(const std::filesystem::path& path);

// Reads a whole file (symlinks allowed: mounted Secrets are symlinks), at
// most `max_bytes`. Error(invalid_input) when missing or too large.
std::string read_input_file(const std::filesystem::path& path, std::size_t max_bytes = std::size_t{4} * 1024 * 1024);

// True when the text looks like YAML rather than PEM (no BEGIN line first).
bool looks_like_secret_manifest(std::string_view text);

BundleLayout detect_layout(const std::vector<std::string>& file_names);

// A plain PEM file as a source of its own (kind "file", layout none), for
// the commands that read any certificate file.
BundleSource pem_file_source(const std::filesystem::path& path, std::string bytes);

}  // namespace meshca::verify
