// The auditor's after-the-ceremony check: does this output directory hold
// exactly what the approved plan describes, as the transcript recorded it?
//
// audit_output() compares OUT with the plan: the plan digest against the
// transcript's opening record and OUT/plan.yaml; the transcript's hash chain
// and file digests; the root and every cluster of the plan with the
// conformance check (ceremony/conformance: every field the plan determines,
// the chain, the layout files and manifests; every finding reported), each
// the very certificate the transcript recorded; SHA256SUMS equal to the
// files; nothing in OUT that the plan does not explain (output_tree_problems)
// and no file the transcript did not record.
// With revocation.crl, every bundle's ca-crl.pem holds fresh CRLs of its
// intermediate and its root, and a revoked intermediate is a WARN.
// For the output of `meshca rotate phases` (a plan with a rotation section
// and OUT/PHASES.md) it checks the new root against rotation.new_root, the
// previous and cross-signed roots, and every cluster in each phase: chained
// to the right root, trusting exactly that phase's roots, and recorded.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pki/lint.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

struct AuditFinding {
  pki::Severity severity = pki::Severity::pass;
  std::string check;    // "plan-digest", "transcript", "root", "bundle", "validity", ...
  std::string subject;  // "root", "prod/us-east-1", "transcript.jsonl:12", ...
  std::string message;
};

struct AuditReport {
  std::vector<AuditFinding> findings;
  bool ok() const;
};

struct AuditOptions {
  // The transcript head the witnesses wrote down: the chain must end there
  // (a forged record appended to a valid chain is otherwise undetectable).
  std::string expect_head;
  // OUT is an auditor's public copy: every file holding a private key
  // (output_layout::holds_private_key) may have been removed. What those
  // files would prove (their digests, each key matching its certificate) is
  // reported as not checked, one WARN; everything else is checked as usual.
  bool public_copy = false;
  // A directory of the Secrets deployed in the clusters (DIR/<mesh>/<cluster>.yaml,
  // kubectl's output): each is compared with the bundles the transcript
  // recorded (ceremony/deployed_audit). Empty: not checked.
  std::filesystem::path deployed;
};

AuditReport audit_output(const Plan& plan, const std::filesystem::path& out, const AuditOptions& options = {});

}  // namespace meshca::ceremony
