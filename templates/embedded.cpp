#include "templates/embedded.hpp"

#include <utility>

namespace meshca::templates {

extern const std::pair<std::string_view, std::string_view> kEmbeddedPlans[];
extern const unsigned kEmbeddedPlansCount;
extern const std::pair<std::string_view, std::string_view> kEmbeddedProfiles[];
extern const unsigned kEmbeddedProfilesCount;

namespace {

using Table = std::pair<std::string_view, std::string_view>;

std::vector<std::string> names_of(const Table* table, unsigned count) {
  std::vector<std::string> names;
  for (unsigned i = 0; i < count; ++i) names.emplace_back(table[i].first);
  return names;
}

std::optional<std::string_view> find_in(const Table* table, unsigned count, std::string_view name) {
  for (unsigned i = 0; i < count; ++i)
    if (table[i].first == name) return table[i].second;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> plan_template_names() { return names_of(kEmbeddedPlans, kEmbeddedPlansCount); }
std::optional<std::string_view> plan_template(std::string_view name) {
  return find_in(kEmbeddedPlans, kEmbeddedPlansCount, name);
}

std::vector<std::string> profile_names() { return names_of(kEmbeddedProfiles, kEmbeddedProfilesCount); }
std::optional<std::string_view> profile_text(std::string_view name) {
  return find_in(kEmbeddedProfiles, kEmbeddedProfilesCount, name);
}

}  // namespace meshca::templates
