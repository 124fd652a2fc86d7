// Stage one of plan reading: YAML text -> PlanDocument.
//
// Every key is checked against the fields its section accepts, every value
// against its type and format (names, durations, times, algorithms, key
// references, layouts, subject templates); each problem is a finding at the
// line that writes it. Nothing here looks at another section: defaults and
// profiles are resolve's (plan_resolve.hpp), rules between fields are
// validate's (plan_validate.hpp).
#pragma once

#include <string_view>

#include "plan/findings.hpp"
#include "plan/plan_document.hpp"
#include "plan/yaml_reader.hpp"

namespace meshca::ceremony {

inline constexpr std::string_view kApiVersion = "meshca/v1";

// The document, as far as it could be read; findings in `findings`. A
// document that is not YAML at all throws MultiError at once.
PlanDocument decode_plan(std::string_view text, Findings& findings, UnixTime now);

// Section decoders shared by the plan's sections (plan_decode_sections.cpp).
RootSection decode_root(const YAML::Node& node, const std::string& path, Findings& findings, UnixTime now);
std::optional<RotationSection> decode_rotation(const YAML::Node& node, Findings& findings, UnixTime now);
std::optional<RevocationSection> decode_revocation(const YAML::Node& node, Findings& findings, UnixTime now);
OutputsSection decode_outputs(const YAML::Node& node, const std::string& path, Findings& findings);
std::vector<FederationSection> decode_federation(const YAML::Node& node, Findings& findings);  // plan/federation.cpp

// "ab12…" or "AB:12:…" (64 hex digits) as pki::sha256_fingerprint prints
// it, normalized to the latter; "" when `text` is not a SHA-256 fingerprint.
std::string normalized_sha256_fingerprint(std::string_view text);

// apiVersion and kind of a meshca document (`kind`: CeremonyPlan or
// CertificateProfile).
void check_document_type(MapReader& top, std::string_view kind);

}  // namespace meshca::ceremony
