// What a plan will do, resolved for people: the auditor's view.
//
// plan_view() turns a Plan into the list of certificates the ceremony will
// issue (subject, key and where it lives, absolute validity if the ceremony
// ran at `at`, extensions, output paths) plus the policy warnings an auditor
// should weigh. The renderers print that view as text, Markdown, JSON, a
// Graphviz diagram or one self-contained HTML page with an inline SVG tree;
// plan_diff() compares two views field by field. Each resolved field names
// where its value came from (text, Markdown, JSON, HTML). Every format
// escapes what is not printable (control, bidirectional and invisible
// characters) so the auditor reads what the certificates will hold.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.hpp"
#include "plan/rotation_phases.hpp"

namespace meshca::ceremony {

struct CertificateView {
  std::string id;    // "root" or "<mesh>/<cluster>"
  std::string role;  // "root" | "intermediate"
  std::string mesh, cluster;
  std::vector<std::pair<std::string, std::string>> fields;  // in display order
  // Where the plan's precedence took a field's value from (plan.hpp
  // SourceLevel), for the fields that have more than one possible source.
  std::map<std::string, ValueSource> sources;
  const std::string& field(const std::string& name) const;
};

struct PolicyWarning {
  std::string subject;  // what it is about ("root", "prod/us-east-1", "plan")
  std::string message;
};

// The plan's root rotation: the successor root as it will be issued, and
// what the operator does in each phase (rotation.hpp).
struct RotationView {
  std::vector<std::pair<std::string, std::string>> fields;  // in display order
  std::vector<RotationPhase> phases;
};

struct PlanView {
  std::string name, description, organization;
  std::string digest;
  UnixTime resolved_at = 0;
  std::vector<std::pair<std::string, std::string>> settings;  // plan-wide: outputs, namespace...
  std::vector<std::pair<std::string, std::string>> meshes;    // name, trust domain
  std::vector<CertificateView> certificates;                  // root first
  std::vector<PolicyWarning> warnings;
  std::optional<RotationView> rotation;
};

PlanView plan_view(const Plan& plan, UnixTime at);

// Where the root key lives and where its secret comes from, as the views and
// the ceremony script (ceremony_script.hpp) name it.
std::string root_key_location(const hsm::RootKeyRef& key);

enum class ViewFormat { text, markdown, json, html, dot };
std::optional<ViewFormat> parse_view_format(std::string_view name);
std::string render_plan_view(const PlanView& view, ViewFormat format);

struct FieldChange {
  std::string id;     // certificate id
  std::string field;  // "" for added/removed certificates
  std::string before, after;
  std::string kind;  // "added" | "removed" | "changed"
};
std::vector<FieldChange> plan_diff(const PlanView& before, const PlanView& after);
std::string render_diff_text(const std::vector<FieldChange>& changes);
nlohmann::json diff_to_json(const std::vector<FieldChange>& changes);

}  // namespace meshca::ceremony
