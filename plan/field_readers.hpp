// Decoding of the fields plans and certificate profiles share: key
// algorithm, validity, subject (with templates), CA extensions, DNS names
// and names. Each reads one field of a MapReader's mapping and reports what
// is wrong with it as a finding where it is written; nothing here compares
// fields of different sections (that is validation, plan_validate.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "plan/yaml_reader.hpp"

namespace meshca::ceremony {

inline constexpr int kMaxPathLen = 8;
inline constexpr const char* kDnsLabelRule =
    "is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 "
    "characters)";

// `algorithm` of a key mapping (required).
std::optional<pki::KeyAlgorithm> read_algorithm(MapReader& key);

// `validity` (a duration) or `not_before`/`not_after`, checked against `now`.
std::optional<ValiditySpec> read_validity(MapReader& m, bool required, UnixTime now);

// The subject mapping at `node`: each attribute's value, checked. With
// `templates` (intermediates) values may hold placeholders, parsed here once.
SubjectTemplates read_subject(const YAML::Node& node, const std::string& path, Findings& findings, bool templates);

// path_len (a number from `min_path_len`, or `unlimited`) and key_usage.
CaExtensionsSpec read_ca_extensions(MapReader& m, int min_path_len);

// dns_names: DNS subjectAltName entries an intermediate carries.
std::vector<std::string> read_dns_names(MapReader& m);

// A required name that must be a DNS-1123 label (metadata.name).
std::optional<std::string> read_label(MapReader& m, const std::string& key);

}  // namespace meshca::ceremony
