// The plan digest an auditor signs off on.
//
// The digest is SHA-256 over a canonical JSON form of the plan's YAML tree
// (mapping keys sorted, every scalar as its string, no comments or layout),
// prefixed with a domain-separation tag. Reordering keys, re-indenting,
// switching between flow and block style or editing comments leaves it
// unchanged; any change of a value, key or list order changes it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace meshca::ceremony {

// Canonical JSON of a YAML document. Error(invalid_input) on a YAML error.
std::string canonical_plan_json(std::string_view yaml_text, const std::string& source_name);

// Lowercase hex SHA-256 of "meshca-plan-digest-v1\n" + canonical JSON.
std::string plan_digest(std::string_view yaml_text, const std::string& source_name);

// How many of the digest's first characters the operator types to confirm
// it before a signing session (ceremony/issuance.hpp approve_plan).
inline constexpr std::size_t kConfirmDigestChars = 8;

}  // namespace meshca::ceremony
