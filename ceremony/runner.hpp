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
// certificate is written that failed verification or a lint. From the
// survey on, every step is appended to OUT/transcript.jsonl, including a
// failure (the auditor sees every attempt); each record carries the number
// of its step in the plan's ceremony script (plan/ceremony_script.hpp), the
// sheet the witnesses follow.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/issuance.hpp"
#include "hsm/key_store.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

struct CeremonyOptions : SigningSessionOptions {
  // Renewal: issue a fresh intermediate (new key) for these existing bundles
  // ("mesh/cluster"), and for every bundle whose intermediate expires within
  // `renew_expiring` of the ceremony time. The previous bundle moves to
  // OUT/retired/<mesh>/<cluster>/<serial>/; every other bundle is untouched.
  std::vector<std::string> renew;
  std::optional<Duration> renew_expiring;
};

inline constexpr const char* kRetiredDir = "retired";

struct ClusterOutcome {
  std::string mesh;
  std::string cluster;
  bool issued = false;  // false: an existing matching bundle was kept
  std::optional<CertificateRecord> replaced;  // renewal: the retired intermediate
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
  std::string plan_digest;
  std::string transcript_head;  // SHA-256 of the transcript's last line
};

CeremonyResult run_ceremony(const Plan& plan, const CeremonyOptions& options);

}  // namespace meshca::ceremony
