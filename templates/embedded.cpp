#include "templates/embedded.hpp"

#include <utility>

namespace meshca::templates {

extern const std::pair<std::string_view, std::string_view> kEmbeddedPlans[];
extern const unsigned kEmbeddedPlanCount;

std::vector<std::string> plan_template_names() {
  std::vector<std::string> names;
  for (unsigned i = 0; i < kEmbeddedPlanCount; ++i) names.emplace_back(kEmbeddedPlans[i].first);
  return names;
}

std::optional<std::string_view> plan_template(std::string_view name) {
  for (unsigned i = 0; i < kEmbeddedPlanCount; ++i)
    if (kEmbeddedPlans[i].first == name) return kEmbeddedPlans[i].second;
  return std::nullopt;
}

}  // namespace meshca::templates
