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
// failure (the auditor sees every attempt).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
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

// Asks the operator to type `expected` (the start of the plan digest);
// returns whether they did.
using ConfirmFn = std::function<bool(const std::string& question, const std::string& expected)>;

struct CeremonyOptions {
  std::filesystem::path out_dir;
  UnixTime now = 0;  // 0: the real time at the start of the run
  hsm::KeyStoreContext key_context;
  std::function<void(const CeremonyEvent&)> on_event;

  std::string expected_digest;  // refuse the plan unless its digest is this (exit 3)
  ConfirmFn confirm;            // operator confirmation of the plan digest
  bool assume_yes = false;      // unattended: no confirmation (recorded as such)
  std::string operator_name;
  std::vector<std::string> witnesses;
  std::map<std::string, std::string> versions;  // meshca, OpenSSL, libp11 ...
  unsigned jobs = 0;  // worker threads for per-cluster issuance; 0: one per core

  // Renewal: issue a fresh intermediate (new key) for these existing bundles
  // ("mesh/cluster"), and for every bundle whose intermediate expires within
  // `renew_expiring` of the ceremony time. The previous bundle moves to
  // OUT/retired/<mesh>/<cluster>/<serial>/; every other bundle is untouched.
  std::vector<std::string> renew;
  std::optional<Duration> renew_expiring;
};

inline constexpr const char* kRetiredDir = "retired";

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
