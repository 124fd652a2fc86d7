// Example plans and certificate profiles shipped inside the meshca binary
// (templates/plans/*.yaml and templates/profiles/*.yaml, embedded at build
// time), so `meshca plan init` and profile selection work on an offline
// machine with nothing but the binary.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshca::templates {

inline constexpr std::string_view kDefaultPlanTemplate = "single-mesh";

std::vector<std::string> plan_template_names();
std::optional<std::string_view> plan_template(std::string_view name);

std::vector<std::string> profile_names();
std::optional<std::string_view> profile_text(std::string_view name);

}  // namespace meshca::templates
