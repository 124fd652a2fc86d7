#include "plan/plan_digest.hpp"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/hex.hpp"

namespace meshca::ceremony {
namespace {

constexpr std::string_view kDomainTag = "meshca-plan-digest-v1\n";

nlohmann::json to_canonical(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();  // std::map: keys sorted
      for (auto it = node.begin(); it != node.end(); ++it) object[it->first.Scalar()] = to_canonical(it->second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node) array.push_back(to_canonical(item));
      return array;
    }
    case YAML::NodeType::Scalar:
      return node.Scalar();
    default:
      return nullptr;
  }
}

}  // namespace

std::string canonical_plan_json(std::string_view yaml_text, const std::string& source_name) {
  try {
    return to_canonical(YAML::Load(std::string(yaml_text))).dump();
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::invalid_input, "YAML syntax error: " + e.msg,
                source_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1));
  }
}

std::string plan_digest(std::string_view yaml_text, const std::string& source_name) {
  return sha256_hex(std::string(kDomainTag) + canonical_plan_json(yaml_text, source_name));
}

}  // namespace meshca::ceremony
