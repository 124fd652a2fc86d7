// What every signing session shares, whether it issues a fleet's bundles
// (runner.hpp) or rotates the root (rotation.hpp): the operator's approval
// of the plan digest, the check every certificate passes before it is
// written, and how an issued certificate is recorded in the transcript.
//
// Approval: a plan is signed only when its digest equals the one the auditor
// approved (--expect-digest) and the operator typed the start of it on the
// terminal (or the run is explicitly unattended).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/output_lock.hpp"
#include "hsm/key_store.hpp"
#include "output_layout/checksums.hpp"
#include "pki/lint.hpp"
#include "pki/verify.hpp"
#include "plan/ceremony_script.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

// Asks the operator to type `expected` (the start of the plan digest);
// returns whether they did.
using ConfirmFn = std::function<bool(const std::string& question, const std::string& expected)>;

struct PlanApproval {
  std::string expected_digest;  // refuse the plan unless its digest is this (exit 3)
  ConfirmFn confirm;            // operator confirmation of the plan digest
  bool assume_yes = false;      // unattended: no confirmation (recorded as such)
};

// Every signing session's output directory holds its root certificate(s)
// under OUT/root/ and the plan exactly as run in OUT/plan.yaml.
inline constexpr const char* kRootDir = "root";
inline constexpr const char* kPlanCopy = "plan.yaml";

struct CeremonyEvent {
  enum class Kind { step, root_key, root_certificate, cluster_issued, cluster_skipped };
  Kind kind;
  std::string message;
  std::size_t done = 0;   // clusters handled so far
  std::size_t total = 0;  // clusters in the plan
};

// What every signing session (a ceremony run, a rotation) is given.
struct SigningSessionOptions : PlanApproval {
  std::filesystem::path out_dir;
  UnixTime now = 0;  // 0: the real time at the start of the run
  hsm::KeyStoreContext key_context;
  std::function<void(const CeremonyEvent&)> on_event;
  std::string operator_name;
  std::vector<std::string> witnesses;
  std::map<std::string, std::string> versions;  // meshca, OpenSSL, libp11 ...
  unsigned jobs = 0;  // worker threads for per-cluster issuance; 0: one per core
  // Another writer holds OUT: wait for it (--wait) instead of refusing.
  bool wait_for_lock = false;
  std::function<void(const std::string& holder)> on_lock_wait;
};

// The lock request of a signing session run as `command` ("meshca revoke").
LockRequest lock_request(const SigningSessionOptions& options, const std::string& command);

struct ApprovedPlan {
  std::string digest;
  std::string method;  // how the operator confirmed, for the transcript
};

// Checks the digest, then asks for confirmation of `action` ("start the
// ceremony"). Error(invalid_input) for another digest, Error(usage) when
// nobody confirmed; nothing has been signed or written at that point.
ApprovedPlan approve_plan(const Plan& plan, const PlanApproval& approval, const std::string& action);

// A signing session's part of the transcript: it opens with who ran which
// plan when (plus the session's own facts), records how the operator
// confirmed the digest, collects the SHA-256 of every file the session
// writes, and closes with them, on a failure too: the auditor sees every
// attempt. Not thread-safe: callers serialise record() and note_*().
class SessionTranscript {
 public:
  // With `script` (a ceremony run), every record carries the number of its
  // step in the script (ceremony_script.hpp); `script` must outlive this.
  SessionTranscript(const std::filesystem::path& file, const std::filesystem::path& out, const Plan& plan,
                    const SigningSessionOptions& options, const ApprovedPlan& approved, UnixTime now, const nlohmann::json& session_facts,
                    const CeremonyScript* script = nullptr);

  // `subject`: "mesh/cluster" for a cluster's record, which has a step of its own.
  void record(const std::string& step, nlohmann::json details, Sync sync = Sync::now, std::string_view subject = {}) {
    writer_.record(step, std::move(details), sync, script_ ? script_->number_of(step, subject) : std::nullopt);
  }
  // A file of OUT, digested as it is on disk now.
  void note_written(const std::filesystem::path& path);
  void note_digest(const std::string& relative_path, const std::string& sha256) { written_[relative_path] = sha256; }
  // The "close" record; returns the transcript head. With `manifest` (every
  // file of OUT as the session leaves it, output_file_digests) the record
  // lists all of them, marked complete, so the transcript covers files this
  // session kept or adopted as well as those it wrote. When the session
  // failed, a failure to write this record does not hide the original error.
  std::string close(const std::string& outcome, const std::string& error, nlohmann::json facts = nlohmann::json::object(),
                    const output_layout::FileDigests* manifest = nullptr);

 private:
  const CeremonyScript* script_;
  TranscriptWriter writer_;
  std::filesystem::path out_;
  std::map<std::string, std::string> written_;  // path relative to OUT -> SHA-256
};

// Runs a session's steps, then closes its transcript: "completed", or
// "failed" with the error (of any kind), which then goes on to the caller.
template <typename Steps, typename Close>
void run_recorded_session(Steps&& steps, Close&& close_transcript) {
  try {
    steps();
  } catch (const std::exception& e) {
    close_transcript("failed", e.what());
    throw;
  }
  close_transcript("completed", "");
}

struct CertificateRecord {
  std::string subject;
  std::string serial;
  std::string sha256;
  UnixTime not_before = 0;
  UnixTime not_after = 0;
};

CertificateRecord record_of(const X509* cert);
nlohmann::json to_json(const CertificateRecord& record);

// Before a certificate meshca made is written: key match, signature by
// `issuer`, strict chain to `anchor`, lints for `role`, judged by the
// certificate profile's `lint_warnings` (lints_acceptable). The WARN findings
// a profile allows are returned for the transcript. `untrusted` holds
// certificates between `issuer` and `anchor` (a cross-signed root), usually
// none.
struct IssuedCertificateCheck {
  const X509* cert = nullptr;
  const EVP_PKEY* subject_key = nullptr;  // null: nothing to match
  const X509* issuer = nullptr;
  const X509* anchor = nullptr;
  std::vector<const X509*> untrusted{};
  // Whether `anchor`'s self-signature still needs checking in this process.
  pki::AnchorSignature anchor_signature = pki::AnchorSignature::already_verified;
  pki::CaRole role = pki::CaRole::intermediate;
  // A CA certificate that certifies CAs below it (a cross-signed root):
  // a pathLen above 0 is intended, not a finding.
  bool certifies_cas = false;
  std::string what{};  // "intermediate for prod/east", for messages
  LintWarnings lint_warnings = LintWarnings::fatal;  // the certificate's profile's
};
std::vector<std::string> verify_before_writing(const IssuedCertificateCheck& check);

// The one lint gate, for issuing and for auditing what was issued: a FAIL
// is never acceptable, a WARN only under a profile whose lint warnings are
// `recorded` (with `fatal`, e.g. meshca's own profile, any finding means a
// bug or a bad key store, never a certificate on disk).
bool lints_acceptable(LintWarnings lint_warnings, const std::vector<pki::LintFinding>& findings);

// Error(output) when `key` is a key file inside `out_dir`: a root private key
// must never enter an output directory, which leaves the room.
void refuse_root_key_inside(const hsm::RootKeyRef& key, const std::filesystem::path& base_dir,
                            const std::filesystem::path& out_dir);

// {"name": profile, "lint_warnings": [...]} for the transcript.
nlohmann::json profile_json(std::string_view profile, const std::vector<std::string>& lint_warnings);

// An intermediate's key as the transcript records it: its algorithm, who
// keeps it (`bundle`: made in the room and written into the bundle;
// `cluster`: pinned, kept near the cluster) and, when pinned, its SPKI pin.
// The runner and the rotation write the same fields, so the audit reads one.
void add_key_facts(nlohmann::json& details, const IntermediatePlan& intermediate);

}  // namespace meshca::ceremony
