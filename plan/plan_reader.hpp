// Reading a plan (plan format v1, docs/plan-reference.md), in three stages:
//
//   decode    YAML -> PlanDocument, every field typed and located
//             (plan_decode.hpp)
//   resolve   profiles, defaults and subject templates -> the Plan, with
//             where each value came from (plan_resolve.hpp, a pure function)
//   validate  rules between fields and what the layouts require
//             (plan_validate.hpp)
//
// Unknown keys, wrong types, missing fields, duplicates, bad names, bad
// durations and impossible hierarchies are all collected in one pass; the
// result is either a fully resolved Plan or a MultiError (exit 3) whose
// details each read "file:line:column: field.path: what is wrong", in line
// order.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "plan/plan.hpp"

namespace meshca::ceremony {

// Whether plan reading opens the pinned CSRs (`intermediate.csr`,
// plan/pinned_keys.hpp). `meshca csr create` reads a plan whose CSR it is
// about to make, so it skips them; every other reader reads them.
enum class PinnedKeyFiles { read, skip };

// `source_name` is used in messages; `base_dir` resolves relative paths.
// `now` is the reference time for checking durations against each other.
Plan parse_plan(std::string_view yaml_text, const std::string& source_name, const std::filesystem::path& base_dir, UnixTime now,
                PinnedKeyFiles pinned_key_files = PinnedKeyFiles::read);

// The fields the strict decoder accepted while reading `yaml_text`, valid or
// not, as paths such as "meshes[].clusters[].name": the test that keeps
// docs/plan-reference.md complete compares the two.
enum class DocumentKind { plan, profile };
std::set<std::string> accepted_fields(std::string_view yaml_text, DocumentKind kind);

// Reads and parses a plan file (at most 4 MiB).
Plan load_plan(const std::filesystem::path& path, UnixTime now, PinnedKeyFiles pinned_key_files = PinnedKeyFiles::read);

bool is_dns1123_label(std::string_view s);
// Returns "" when `s` is a valid SPIFFE trust domain, else the reason.
std::string trust_domain_problem(std::string_view s);

}  // namespace meshca::ceremony
