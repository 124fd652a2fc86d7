// Fuzzes the Secret-manifest reader (output_layout::load_bundle_sources on a
// file: one Secret, several YAML documents, a List) and then the bundle
// checks `meshca verify` runs on every Secret found. The reader takes a
// path, so each input is written to a private scratch file first.
#include <cstdint>

#include "core/error.hpp"
#include "output_layout/bundle_check.hpp"
#include "output_layout/bundle_source.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meshca;
  const auto path = fuzz::write_scratch_file("secret.yaml", data, size);
  std::vector<output_layout::BundleReport> reports;
  try {
    output_layout::BundleCheckOptions options;
    options.at = fuzz::kNow;
    for (const auto& source : output_layout::load_bundle_sources(path)) {
      reports.push_back(output_layout::check_bundle(source, options));
    }
  } catch (const Error&) {
    // Not a manifest, no Secret in it: refused with a message.
  }
  (void)output_layout::cross_cluster_trust(reports);
  return 0;
}
