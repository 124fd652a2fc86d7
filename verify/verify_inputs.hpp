// `meshca verify` as one call: what the paths name (bundle_discovery), each
// bundle judged alone on one worker per core (bundle_check), then which of
// them trust each other (cross_cluster_trust). A path that names nothing is
// a FAIL report of its own (check `source`) and the other paths are still
// checked; the reports keep the order in which the paths named them.
#pragma once

#include <string>
#include <vector>

#include "verify/bundle_check.hpp"
#include "verify/cross_cluster.hpp"

namespace meshca::verify {

struct VerifyOutcome {
  std::vector<BundleReport> reports;
  std::vector<TrustPair> pairs;
  std::vector<std::string> notes;  // what discovery skipped, and why
  std::size_t failed_bundles = 0;
  std::size_t failed_pairs = 0;
  bool failed() const { return failed_bundles != 0 || failed_pairs != 0; }
};

// Error(invalid_input) only when no path names anything at all.
VerifyOutcome verify_inputs(const std::vector<std::string>& paths, const BundleCheckOptions& options);

}  // namespace meshca::verify
