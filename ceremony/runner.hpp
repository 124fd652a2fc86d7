// The ceremony runner: plan in, verified bundles out, in runbook order.
//
//   1. prepare the output directory (private, staging area cleaned)
//   2. survey what already exists (resume, or refuse conflicts: exit 5)
//   3. open the root key store (generate the key on the first ceremony)
//   4. issue or reuse the root certificate
//   5. per cluster: generate key, issue, verify, lint, publish atomically
//   6. record the plan as run and OUT/SHA256SUMS
//
// Nothing is written before the survey has found every conflict, and no
// certificate is written that failed verification or a lint.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ceremony/plan.hpp"
#include "hsm/key_store.hpp"

namespace meshca::ceremony {

struct CeremonyEvent {
  enum class Kind { step, root_key, root_certificate, cluster_issued, cluster_skipped };
  Kind kind;
  std::string message;
  std::size_t done = 0;   // clusters handled so far
  std::size_t total = 0;  // clusters in the plan
};

struct CeremonyOptions {
  std::filesystem::path out_dir;
  UnixTime now = 0;  // 0: the real time at the start of the run
  hsm::KeyStoreContext key_context;
  std::function<void(const CeremonyEvent&)> on_event;
};

struct CertificateRecord {
  std::string subject;
  std::string serial;
  std::string sha256;
  UnixTime not_before = 0;
  UnixTime not_after = 0;
};

struct ClusterOutcome {
  std::string mesh;
  std::string cluster;
  bool issued = false;  // false: an existing matching bundle was kept
  std::filesystem::path dir;
  CertificateRecord certificate;
};

struct CeremonyResult {
  std::string key_store;
  bool root_key_generated = false;
  bool root_certificate_issued = false;
  CertificateRecord root;
  std::vector<ClusterOutcome> clusters;
  std::size_t files_checksummed = 0;
};

CeremonyResult run_ceremony(const Plan& plan, const CeremonyOptions& options);

}  // namespace meshca::ceremony
