#include "plan/plan.hpp"

#include <algorithm>

namespace meshca::ceremony {

std::string SourceLocation::to_string() const { return file + ":" + std::to_string(line) + ":" + std::to_string(column); }

ValiditySpec::Window ValiditySpec::resolve(UnixTime ceremony_time) const {
  Window w{not_before.value_or(ceremony_time), 0};
  if (not_after) {
    w.not_after = *not_after;
  } else if (duration) {
    w.not_after = add_duration(w.not_before, *duration);
  }
  return w;
}

std::string ValiditySpec::to_string() const {
  std::string s;
  if (not_before) s += "from " + format_rfc3339(*not_before) + " ";
  if (not_after) s += "until " + format_rfc3339(*not_after);
  if (duration) s += duration->to_string();
  return s;
}

std::string_view source_level_name(SourceLevel level) {
  switch (level) {
    case SourceLevel::builtin:
      return "built-in";
    case SourceLevel::plan_profile:
      return "plan profile";
    case SourceLevel::plan_defaults:
      return "plan defaults";
    case SourceLevel::mesh_profile:
      return "mesh profile";
    case SourceLevel::mesh:
      return "mesh";
    case SourceLevel::cluster:
      return "cluster";
    case SourceLevel::root:
      return "root";
  }
  return "built-in";
}

std::string path_len_text(const std::optional<int>& path_len) { return path_len ? std::to_string(*path_len) : "unlimited"; }

bool OutputPlan::has_layout(output_layout::Layout layout) const {
  return std::find(layouts.begin(), layouts.end(), layout) != layouts.end();
}

std::vector<std::string> OutputPlan::layout_names() const {
  std::vector<std::string> names;
  for (auto layout : layouts) names.emplace_back(output_layout::layout_name(layout));
  return names;
}

std::size_t Plan::cluster_count() const {
  std::size_t n = 0;
  for (const auto& mesh : meshes) n += mesh.clusters.size();
  return n;
}

}  // namespace meshca::ceremony
