// Between resolving and validating a plan: reading the CSR of every cluster
// whose key is pinned (`intermediate.csr`), which with the external roots
// of a federation (plan/federation.hpp) are the only files plan reading
// opens besides the plan itself.
//
// Each CSR is checked as pki/csr.hpp describes (one clean request, a valid
// self-signature, an accepted key), then against the plan: its key must be
// the pinned one (SHA-256 of the SubjectPublicKeyInfo) and of the key
// algorithm the plan resolves for the cluster (`key.algorithm`, which the
// layouts' requirements are checked against). Each failure is a finding at
// the field, naming the cluster; nothing else of the CSR is used.
#pragma once

#include <filesystem>

#include "plan/findings.hpp"
#include "plan/plan_resolve.hpp"

namespace meshca::ceremony {

void read_pinned_keys(ResolvedPlan& resolved, const std::filesystem::path& base_dir, Findings& findings);

}  // namespace meshca::ceremony
