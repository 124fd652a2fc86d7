// Adopting the CA a mesh already runs (`rotation.current_ca`,
// docs/plan-reference.md): reading its public certificates from what the
// cluster publishes, so that a rotation can start from it as phase 0.
//
//   istiod-self-signed  the istio-ca-root-cert ConfigMap (as `kubectl get
//                       configmap istio-ca-root-cert -o yaml` prints it):
//                       data.root-cert.pem, the self-signed root istiod
//                       signs workloads with
//   istio-cacerts       a tools/certs cacerts directory (ca-cert.pem,
//                       cert-chain.pem, root-cert.pem) or the `cacerts`
//                       Secret YAML (data base64 or stringData): the
//                       intermediate istiod signs with, strictly verified
//                       through cert-chain.pem to root-cert.pem
//   pem-root            one PEM root certificate, which signs workloads
//
// Guarantees: the CA's private key is never opened: ca-key.pem in a
// directory is not read and a Secret's ca-key.pem is never decoded. The
// root is one self-signed CA certificate (CA:TRUE) valid at the time asked
// for. read_adopted_ca() throws Error(invalid_input) naming the file and
// what is wrong with it (a file that is not what `kind` says, a missing
// root-cert.pem, a chain that does not verify); check_adopted_ca()
// (plan_validate.hpp) turns that, and a pin the root does not match, into
// plan findings at rotation.current_ca.path or .sha256.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

// "istiod-self-signed", "istio-cacerts", "pem-root".
std::string_view adopted_ca_kind_name(AdoptedCaKind kind);
std::optional<AdoptedCaKind> adopted_ca_kind_from_name(std::string_view name);
// The kind names, "istiod-self-signed, istio-cacerts or pem-root", for messages.
std::string adopted_ca_kind_names();

// The adopted CA's public certificates.
struct AdoptedCa {
  pki::X509Ptr root;  // the self-signed root the clusters trust today
  // What issues workload certificates today: the root itself
  // (istiod-self-signed, pem-root) or the cacerts intermediate.
  pki::X509Ptr signing;
  // cert-chain.pem after the signing certificate, up to and including the
  // root; empty when the root signs.
  std::vector<pki::X509Ptr> chain;
  std::vector<const X509*> chain_view() const;
};

// `path` read as `kind` says, its chain verified at `at`.
AdoptedCa read_adopted_ca(AdoptedCaKind kind, const std::filesystem::path& path, UnixTime at);

// The file a plan's adopted CA names, relative paths against `base_dir`.
std::filesystem::path adopted_ca_path(const AdoptedCaPlan& ca, const std::filesystem::path& base_dir);

// read_adopted_ca() and the pin: Error(invalid_input) when the root is not
// the one `ca.sha256` pins.
AdoptedCa read_pinned_adopted_ca(const AdoptedCaPlan& ca, const std::filesystem::path& base_dir, UnixTime at);

}  // namespace meshca::ceremony
