// Example plans shipped inside the meshca binary (templates/plans/*.yaml,
// embedded at build time), so `meshca plan init` works on an offline
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

}  // namespace meshca::templates
