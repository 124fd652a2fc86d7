// Fuzzes the Secret-manifest reader (verify::load_bundle_sources on a
// file: one Secret, several YAML documents, a List) and then the bundle
// checks `meshca verify` runs on every Secret found. The reader takes a
// path, so each input is written to a private scratch file first.
#include <cstdint>

#include "core/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "verify/bundle_check.hpp"
#include "verify/bundle_source.hpp"
#include "verify/cross_cluster.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meshca;
  const auto path = fuzz::write_scratch_file("secret.yaml", data, size);
  std::vector<verify::BundleReport> reports;
  try {
    verify::BundleCheckOptions options;
    options.at = fuzz::kNow;
    for (const auto& source : verify::load_bundle_sources(path)) {
      reports.push_back(verify::check_bundle(source, options));
    }
  } catch (const Error&) {
    // Not a manifest, no Secret in it: refused with a message.
  }
  (void)verify::cross_cluster_trust(reports);
  return 0;
}
