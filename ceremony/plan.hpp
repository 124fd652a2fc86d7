// The ceremony plan model: what the auditor approved, fully resolved.
//
// A Plan is what plan_parser produces from YAML after strict validation:
// every default applied, every subject template expanded, every cluster's
// intermediate spelled out. The ceremony runner and the renderers read only
// this model, never raw YAML.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "hsm/key_store.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace meshca::ceremony {

// Where something was written in the plan, for messages.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_string() const;  // "plan.yaml:12:7"
};

// Either a duration from the ceremony's start, or absolute bounds.
struct ValiditySpec {
  std::optional<Duration> duration;
  std::optional<UnixTime> not_before;
  std::optional<UnixTime> not_after;

  struct Window {
    UnixTime not_before;
    UnixTime not_after;
  };
  Window resolve(UnixTime ceremony_time) const;
  std::string to_string() const;
};

struct RootPlan {
  pki::DistinguishedName subject;
  hsm::RootKeyRef key;
  ValiditySpec validity;
  int path_len = 1;
};

enum class NameConstraintsMode { none, trust_domain };

struct IntermediatePlan {
  pki::KeyAlgorithm algorithm = pki::KeyAlgorithm::ecdsa_p256;
  ValiditySpec validity;
  pki::DistinguishedName subject;  // placeholders already expanded
  NameConstraintsMode name_constraints = NameConstraintsMode::none;
};

struct ClusterPlan {
  std::string name;
  std::string field_path;  // "meshes[0].clusters[1]"
  SourceLocation location;
  IntermediatePlan intermediate;
};

struct MeshPlan {
  std::string name;
  std::string trust_domain;
  std::vector<ClusterPlan> clusters;
};

inline constexpr std::string_view kLayoutIstioCacerts = "istio-cacerts";
inline constexpr std::string_view kLayoutK8sSecret = "k8s-secret";

struct OutputPlan {
  std::vector<std::string> layouts{std::string(kLayoutIstioCacerts), std::string(kLayoutK8sSecret)};
  std::string namespace_name = "istio-system";
  bool has_layout(std::string_view layout) const;
};

struct Plan {
  std::filesystem::path source;    // the plan file
  std::filesystem::path base_dir;  // relative paths in the plan resolve here
  std::string text;                // the plan exactly as read
  std::string name;
  std::string description;
  std::string organization;
  RootPlan root;
  std::vector<MeshPlan> meshes;
  OutputPlan outputs;

  std::size_t cluster_count() const;
};

}  // namespace meshca::ceremony
