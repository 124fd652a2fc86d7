#include "verify/verify_inputs.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "verify/bundle_discovery.hpp"

namespace meshca::verify {

VerifyOutcome verify_inputs(const std::vector<std::string>& paths, const BundleCheckOptions& options) {
  VerifyOutcome out;
  InputDiscovery discovery(InputUse::bundles);
  for (const auto& path : paths) {
    try {
      discovery.add(path);
    } catch (const Error& e) {
      BundleReport r;
      r.label = path;
      r.layout = std::string(bundle_layout_name(BundleLayout::none));
      r.findings.push_back({pki::Severity::fail, "source", e.where().empty() ? path : e.where(), e.message(),
                            "name a bundle directory, a root directory, an OUT or a Secret manifest"});
      out.reports.push_back(std::move(r));
    }
  }
  DiscoveredInputs found = discovery.take();
  out.notes = std::move(found.notes);
  if (found.sources.empty() && out.reports.empty()) throw Error(ErrorKind::invalid_input, "nothing to check");
  std::vector<BundleReport> checked(found.sources.size());
  parallel_for(found.sources.size(), 0,
               [&]() -> ItemWork { return [&](std::size_t n) { checked[n] = check_bundle(found.sources[n], options); }; });
  for (auto& r : checked) out.reports.push_back(std::move(r));
  out.pairs = cross_cluster_trust(out.reports);
  out.failed_bundles =
      static_cast<std::size_t>(std::count_if(out.reports.begin(), out.reports.end(), [](const auto& r) { return r.failed(); }));
  out.failed_pairs = static_cast<std::size_t>(std::count_if(out.pairs.begin(), out.pairs.end(), [](const auto& p) { return p.failed(); }));
  return out;
}

}  // namespace meshca::verify
