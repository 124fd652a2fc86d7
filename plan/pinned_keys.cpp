#include "plan/pinned_keys.hpp"

#include "core/error.hpp"
#include "core/files.hpp"
#include "pki/csr.hpp"

namespace meshca::ceremony {
namespace {

constexpr std::size_t kMaxCsrFile = std::size_t{64} * 1024;

void read_pinned_key(ClusterPlan& cluster, const ClusterOrigins& origins, const std::filesystem::path& base_dir, Findings& f) {
  PinnedKey& pin = *cluster.intermediate.pinned_key;
  const std::string field = cluster.field_path + ".intermediate.csr";
  const std::filesystem::path file = (pin.csr.is_relative() ? base_dir / pin.csr : pin.csr).lexically_normal();
  std::optional<pki::CsrKey> csr;
  try {
    csr = pki::read_csr(read_file(file, kMaxCsrFile), file.string());
  } catch (const Error& e) {
    f.add(pin.csr_at, field + ".path", "cluster " + cluster.name + ": " + e.what());
    return;
  }
  if (csr->spki_sha256 != pin.spki_sha256) {
    f.add(pin.pin_at, field + ".spki_sha256",
          "cluster " + cluster.name + ": " + file.string() + " carries the key " + csr->spki_sha256 +
              ", not the pinned one; the CSR was replaced or the pin was copied wrong (pins are approved with the plan)");
    return;
  }
  const pki::KeyAlgorithm planned = cluster.intermediate.algorithm;
  if (csr->algorithm != planned) {
    const auto& from = origins.algorithm;
    f.add(pin.csr_at, field + ".path",
          "cluster " + cluster.name + ": the CSR's key is " + std::string(pki::key_algorithm_name(csr->algorithm)) +
              ", but the plan's key.algorithm for this cluster is " + std::string(pki::key_algorithm_name(planned)) + " (" +
              from.source.where + "); set the cluster's intermediate.key.algorithm to the key's algorithm if it is allowed");
    return;
  }
  pin.public_key_der = pki::public_key_der(csr->public_key.get());
}

}  // namespace

void read_pinned_keys(ResolvedPlan& resolved, const std::filesystem::path& base_dir, Findings& f) {
  for (auto& mesh : resolved.plan.meshes) {
    for (auto& cluster : mesh.clusters) {
      if (!cluster.intermediate.pinned_key) continue;
      read_pinned_key(cluster, resolved.origins[cluster.field_path], base_dir, f);
    }
  }
}

}  // namespace meshca::ceremony
